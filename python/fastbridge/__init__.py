"""fastbridge: EventBridge-style event-pattern matching with a Rust engine.

>>> import fastbridge
>>> m = fastbridge.Machine()
>>> m.add_rule("ec2-running", {"source": ["aws.ec2"], "detail": {"state": ["running"]}})
>>> m.rules_for_event(b'{"source": "aws.ec2", "detail": {"state": "running"}}')
['ec2-running']
>>> fastbridge.matches({"detail": {"total": [{"numeric": [">", 100]}]}}, {"detail": {"total": 250}})
True
"""

from fastbridge._core import (
    InvalidEventError,
    InvalidPatternError,
    LimitError,
    Machine,
    __version__,
    matches,
    validate_pattern,
)

__all__ = [
    "EventBridge",
    "InvalidEventError",
    "InvalidPatternError",
    "LimitError",
    "Machine",
    "__version__",
    "matches",
    "validate_pattern",
]


def __getattr__(name: str) -> object:
    # The bus is imported on first use, so the matcher alone stays light.
    if name == "EventBridge":
        from fastbridge.bus import EventBridge

        return EventBridge
    raise AttributeError(f"module 'fastbridge' has no attribute {name!r}")
