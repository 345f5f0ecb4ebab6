"""Pure-Python peers, each behind the same small interface.

A peer that does not import here is skipped with the reason. A peer that
rejects one of a rule set's patterns is skipped for that rule set, with the
pattern and its error. These engines evaluate one pattern at a time, so each
event costs the sum over every rule: they are given a time budget per rule
set, not the whole data set.
"""

from __future__ import annotations

import importlib.metadata
import json
from collections.abc import Callable, Sequence
from typing import Any


class Unsupported(Exception):
    """The peer cannot take this rule set (a pattern it rejects)."""


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


class Peer:
    key = ""
    label = ""
    kind = "pure Python"
    install = ""
    """How to get it (printed when it is missing)."""
    repro = ""
    """Python lines printing the peer's answer for ``pattern`` (str) and ``event``
    (bytes): written into a disagreement's ``repro.py``."""

    def __init__(self) -> None:
        self.version = "?"
        self.reason: str | None = None
        try:
            self._load()
        except Exception as e:  # any import failure: the peer is skipped with the reason
            self.reason = f"{type(e).__name__}: {e}"

    def _load(self) -> None:
        raise NotImplementedError

    @property
    def available(self) -> bool:
        return self.reason is None

    @property
    def title(self) -> str:
        return f"{self.label} {self.version}"

    def compile(self, rules: Sequence[tuple[str, str]]) -> Callable[[bytes], list[str]]:
        """A matcher for ``rules``: event bytes -> names of matching rules.
        Raises ``Unsupported`` naming the first rule the peer rejects."""
        raise NotImplementedError


class Moto(Peer):
    """moto's EventBridge mock: ``moto.events.models.EventPattern``
    (``EventPattern.load(text).matches_event(event_dict)``)."""

    key = "moto"
    label = "moto"
    install = "pip install moto"
    repro = ("from moto.events.models import EventPattern\n"
             "print('moto:', EventPattern.load(pattern).matches_event(json.loads(event)))")

    def _load(self) -> None:
        from moto.events.models import EventPattern

        self._pattern = EventPattern
        self.version = _version("moto")

    def compile(self, rules: Sequence[tuple[str, str]]) -> Callable[[bytes], list[str]]:
        compiled = []
        for name, text in rules:
            try:
                compiled.append((name, self._pattern.load(text)))
            except Exception as e:
                raise Unsupported(f"rejects {name} {text}: {type(e).__name__}: {e}") from None
        loads = json.loads

        def match(event: bytes) -> list[str]:
            body = loads(event)
            return [name for name, pattern in compiled if pattern.matches_event(body)]

        return match


class LocalStack(Peer):
    """LocalStack's EventBridge rule engine:
    ``localstack.services.events.event_rule_engine`` (``EventPatternCompiler``
    then ``EventRuleEngine.evaluate_pattern_on_event``)."""

    key = "localstack"
    label = "localstack-core"
    install = "pip install localstack-core rolo"
    repro = ("from localstack.services.events.event_rule_engine import (\n"
             "    EventPatternCompiler, EventRuleEngine)\n"
             "compiled = EventPatternCompiler().compile_event_pattern(pattern)\n"
             "print('localstack:', EventRuleEngine().evaluate_pattern_on_event("
             "compiled, json.loads(event)))")

    def _load(self) -> None:
        from localstack.services.events.event_rule_engine import (
            EventPatternCompiler,
            EventRuleEngine,
        )

        self._compiler = EventPatternCompiler
        self._engine = EventRuleEngine
        self.version = _version("localstack-core")

    def compile(self, rules: Sequence[tuple[str, str]]) -> Callable[[bytes], list[str]]:
        compiler = self._compiler()
        compiled = []
        for name, text in rules:
            try:
                compiled.append((name, compiler.compile_event_pattern(text)))
            except Exception as e:
                raise Unsupported(f"rejects {name} {text}: {type(e).__name__}: {e}") from None
        evaluate = self._engine().evaluate_pattern_on_event
        loads = json.loads

        def match(event: bytes) -> list[str]:
            body = loads(event)
            return [name for name, pattern in compiled if evaluate(pattern, body)]

        return match


class EventRuler(Peer):
    """``event-ruler`` 0.3.0 from PyPI: a gopy binding to Go Quamina with one
    call, ``test_event_pattern(event, pattern)`` (a fresh matcher per call)."""

    key = "event-ruler"
    label = "event-ruler"
    kind = "Go Quamina via gopy"
    install = "pip install event-ruler==0.3.0 (wheels for CPython 3.10/3.11 only)"
    repro = ("import event_ruler\n"
             "print('event-ruler:', event_ruler.test_event_pattern(event.decode(), pattern))")

    def _load(self) -> None:
        import event_ruler

        self._test = event_ruler.test_event_pattern
        self.version = _version("event-ruler")

    def compile(self, rules: Sequence[tuple[str, str]]) -> Callable[[bytes], list[str]]:
        test = self._test
        for name, text in rules:
            try:
                test('{"__probe__": 1}', text)
            except Exception as e:
                raise Unsupported(f"rejects {name} {text}: {type(e).__name__}: {e}") from None
        pairs = list(rules)

        def match(event: bytes) -> list[str]:
            text = event.decode("utf-8")
            return [name for name, pattern in pairs if test(text, pattern)]

        return match


PEERS: tuple[type[Peer], ...] = (Moto, LocalStack, EventRuler)


def load_peers() -> list[Peer]:
    return [cls() for cls in PEERS]


def orjson_loads() -> tuple[Any, str] | tuple[None, str]:
    """(``orjson.loads``, version) or (None, why not)."""
    try:
        import orjson
    except ImportError as e:
        return None, f"ImportError: {e} (pip install orjson)"
    return orjson.loads, _version("orjson")
