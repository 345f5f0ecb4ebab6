"""The compiled engine. Import from `fastbridge`, not from here."""

from collections.abc import Iterable, Mapping
from typing import Any, Literal, TypeAlias, final, overload

import numpy as np
import numpy.typing as npt

_Event: TypeAlias = bytes | bytearray | str | dict[str, Any]
"""An event: raw JSON (bytes or str) or a dict, written as JSON in Rust."""

_Pattern: TypeAlias = str | bytes | dict[str, Any]
"""A pattern: JSON text or a dict."""

__all__ = [
    "Machine",
    "matches",
    "validate_pattern",
    "_machine_from_state",
    "InvalidPatternError",
    "InvalidEventError",
    "LimitError",
    "__version__",
]

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
    index: int
    """Position of the event in a ``rules_for_events`` batch (set there only)."""
    kind: str
    """One of ``invalid_utf8``, ``syntax``, ``not_an_object``, ``lone_surrogate``,
    ``too_deep``, ``too_large``, ``too_complex``."""

class LimitError(ValueError):
    """A configured size limit of the machine would be exceeded."""

    limit_name: str
    given: int
    limit: int

@final
class Machine:
    """Many patterns compiled into one automaton.

    Safe to share between threads: matching never blocks, and sees either the
    rules before a change or after it, never half of one.
    """

    def __new__(
        cls,
        *,
        max_fields_per_pattern: int = 256,
        max_subpatterns_per_pattern: int = 1024,
        max_states: int = 50_000_000,
        max_event_bytes: int = 1_048_576,
        max_depth: int = 1000,
        max_consistency_steps: int = 1_000_000,
    ) -> Machine: ...
    def add_rule(self, name: str, pattern: _Pattern) -> None:
        """Adds ``pattern`` under ``name``; a name's patterns are OR-ed."""
    def add_rules(self, rules: Mapping[str, _Pattern] | Iterable[tuple[str, _Pattern]]) -> None:
        """Adds many rules, compiled together; all or none are added."""
    def delete_rule(self, name: str, pattern: _Pattern | None = None) -> int:
        """Removes the name's pattern equal to ``pattern``, or all of its patterns.

        Returns how many patterns were removed.
        """
    def rules_for_event(self, event: _Event) -> list[str]:
        """Names of the rules that match ``event``, sorted."""
    @overload
    def rules_for_events(
        self,
        events: Iterable[_Event],
        *,
        errors: Literal["raise"] = "raise",
        threads: int = 1,
    ) -> list[list[str]]:
        """``rules_for_event`` for many events, with the GIL released while matching.

        ``threads`` splits the batch over that many threads. With
        ``errors="raise"`` the first bad event raises its ``InvalidEventError``
        (``.index`` tells which); with ``errors="return"`` a bad event's entry
        in the result is its ``InvalidEventError``.
        """
    @overload
    def rules_for_events(
        self, events: Iterable[_Event], *, errors: Literal["return"], threads: int = 1
    ) -> list[list[str] | InvalidEventError]: ...
    def count_matches(self, events: Iterable[_Event], *, threads: int = 1) -> dict[str, int]:
        """How many of ``events`` each rule matches; every rule is listed."""
    def match_matrix(
        self, events: Iterable[_Event], *, threads: int = 1
    ) -> tuple[list[str], npt.NDArray[np.bool_]]:
        """``(rule names, matrix)``: a boolean array with a row per event and a
        column per rule, in the order of the names. Needs numpy."""
    def match_indices(
        self, events: Iterable[_Event], *, threads: int = 1
    ) -> tuple[list[str], npt.NDArray[np.int64], npt.NDArray[np.int32]]:
        """``(rule names, indptr, indices)`` in CSR form: event ``i`` matches
        ``names[j]`` for ``j`` in ``indices[indptr[i]:indptr[i + 1]]``. Needs numpy."""
    def rule_names(self) -> list[str]:
        """Every rule name, sorted."""
    def rules(self) -> list[tuple[str, str]]:
        """Every ``(name, pattern JSON)`` pair."""
    def stats(self) -> dict[str, int]:
        """Size figures: rules, patterns, subpatterns, fields, segments, states, trie_nodes."""
    def config(self) -> dict[str, int]:
        """The limits this machine was built with."""
    def __len__(self) -> int: ...
    def __contains__(self, name: str, /) -> bool: ...
    def __reduce__(self) -> tuple[Any, tuple[dict[str, int], list[tuple[str, str]]]]: ...

def matches(pattern: _Pattern, event: _Event) -> bool:
    """Does ``pattern`` match ``event``? Like EventBridge's TestEventPattern."""

def validate_pattern(pattern: _Pattern) -> None:
    """Raises ``InvalidPatternError`` when EventBridge would reject ``pattern``."""

def _machine_from_state(config: dict[str, int], rules: list[tuple[str, str]]) -> Machine: ...
