"""The compiled engine. Import from `fastbridge`, not from here."""

from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias

Event: TypeAlias = bytes | bytearray | str | dict[str, Any]
"""An event: raw JSON (bytes or str) or a dict, written as JSON in Rust."""

Pattern: TypeAlias = str | bytes | dict[str, Any]
"""A pattern: JSON text or a dict."""

__version__: str

class InvalidPatternError(ValueError):
    """A pattern EventBridge would reject.

    ``str(e)`` is EventBridge's full message,
    ``Event pattern is not valid. Reason: <reason>``.
    """

    reason: str

class InvalidEventError(ValueError):
    """An event that is not a JSON object within the machine's limits."""

    offset: int
    """Byte offset in the event text where the problem was found."""
    kind: str
    """One of ``invalid_utf8``, ``syntax``, ``not_an_object``, ``lone_surrogate``,
    ``too_deep``, ``too_large``, ``too_complex``."""

class LimitError(ValueError):
    """A configured size limit of the machine would be exceeded."""

    limit_name: str
    given: int
    limit: int

class Machine:
    """Many patterns compiled into one automaton.

    Safe to share between threads: matching never blocks, and sees either the
    rules before a change or after it, never half of one.
    """

    def __init__(
        self,
        *,
        max_fields_per_pattern: int = 256,
        max_subpatterns_per_pattern: int = 1024,
        max_states: int = 50_000_000,
        max_event_bytes: int = 1 << 20,
        max_depth: int = 1000,
        max_consistency_steps: int = 1_000_000,
    ) -> None: ...
    def add_rule(self, name: str, pattern: Pattern) -> None:
        """Adds ``pattern`` under ``name``; a name's patterns are OR-ed."""
    def add_rules(self, rules: Mapping[str, Pattern] | Iterable[tuple[str, Pattern]]) -> None:
        """Adds many rules, compiled together; all or none are added."""
    def delete_rule(self, name: str, pattern: Pattern | None = None) -> int:
        """Removes the name's pattern equal to ``pattern``, or all of its patterns.

        Returns how many patterns were removed.
        """
    def rules_for_event(self, event: Event) -> list[str]:
        """Names of the rules that match ``event``, sorted."""
    def rules_for_events(self, events: Iterable[Event]) -> list[list[str]]:
        """``rules_for_event`` for many events, with the GIL released while matching."""
    def rule_names(self) -> list[str]:
        """Every rule name, sorted."""
    def rules(self) -> list[tuple[str, str]]:
        """Every ``(name, pattern JSON)`` pair."""
    def stats(self) -> dict[str, int]:
        """Size figures: rules, patterns, subpatterns, fields, segments, states, trie_nodes."""
    def config(self) -> dict[str, int]:
        """The limits this machine was built with."""
    def __len__(self) -> int: ...
    def __contains__(self, name: str) -> bool: ...
    def __reduce__(self) -> tuple[Any, tuple[dict[str, int], list[tuple[str, str]]]]: ...

def matches(pattern: Pattern, event: Event) -> bool:
    """Does ``pattern`` match ``event``? Like EventBridge's TestEventPattern."""

def validate_pattern(pattern: Pattern) -> None:
    """Raises ``InvalidPatternError`` when EventBridge would reject ``pattern``."""

def _machine_from_state(config: dict[str, int], rules: list[tuple[str, str]]) -> Machine: ...
