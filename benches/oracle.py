"""Answers of the pure-Python reference matcher, ``tests/reference.py``.

Every engine's answers are checked against these. The reference is slow
(hundreds of microseconds per citylots event), so this module

- compiles each pattern once and groups an event's leaves by path, handing
  ``reference.sub_pattern_matches`` only the leaves of the paths a
  sub-pattern names (it looks at no others, so the answer is the same);
- skips sub-patterns naming a path the event lacks, or a one- or two-leaf
  path none of whose leaves passes the field's predicates (such a field has
  no candidate leaf, so the reference would say no);
- optionally indexes rules by a top-level exact field (the bus rules' account);
- checks itself against ``reference.rules_for_event`` on a sample first;
- spreads the work over the machine's cores and caches the answers on disk,
  keyed by the data's SHA-256, the rules and the reference's own source.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import multiprocessing
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from benches.config import ROOT, cache_dir

ORACLE_VERSION = 2
REFERENCE_PATH = ROOT / "tests" / "reference.py"

Answer = tuple[int, ...] | None
"""Indices (into the oracle's rules) of the rules an event matches; None for an invalid event."""

_reference: ModuleType | None = None


def reference() -> ModuleType:
    """``tests/reference.py``, imported by path (it is not a package)."""
    global _reference
    if _reference is None:
        name = "fastbridge_bench_reference"
        spec = importlib.util.spec_from_file_location(name, REFERENCE_PATH)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load the reference matcher from {REFERENCE_PATH}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        _reference = module
    return _reference


class Oracle:
    """The reference's answers for one list of rules."""

    def __init__(self, rules: Sequence[tuple[str, str]], shard_field: str | None = None) -> None:
        self.rules = list(rules)
        self.names = [name for name, _ in rules]
        self.shard_field = shard_field
        self._compiled = False
        Entry = tuple[int, tuple[str, ...], tuple[str, ...], Any]
        self._all: list[Entry] = []
        self._by_shard: dict[str, list[Entry]] = {}

    def compile(self) -> None:
        """Compiles every pattern with the reference (once; answers are cached
        on disk, so a run that finds them there never needs this)."""
        if self._compiled:
            return
        ref = reference()
        shard_field = self.shard_field
        for index, (_, text) in enumerate(self.rules):
            compiled = ref.compile_pattern(text)
            entries = [
                (index, tuple(sub.fields), tuple({*sub.fields, *sub.absent}), sub)
                for sub in compiled.sub_patterns
            ]
            if shard_field is None:
                self._all.extend(entries)
                continue
            keys = _shard_keys(text, shard_field)
            for key in keys:
                self._by_shard.setdefault(key, []).extend(entries)
        self._compiled = True

    def answer(self, event: bytes) -> Answer:
        self.compile()
        ref = self._ref
        try:
            leaves = ref.flatten(event)
        except ref.EventError:
            return None
        by_path: dict[str, list[Any]] = {}
        for leaf in leaves:
            by_path.setdefault(leaf.path, []).append(leaf)
        if self.shard_field is None:
            entries = self._all
        else:
            entries = []
            for leaf in by_path.get(self.shard_field, ()):
                if isinstance(leaf.value, str):
                    entries.extend(self._by_shard.get(leaf.value, ()))
        matched: set[int] = set()
        matches = ref.sub_pattern_matches
        for index, needed, relevant, sub in entries:
            if index in matched:
                continue
            if not all(path in by_path for path in needed):
                continue
            if not _cheap_fields_hold(sub, by_path):
                continue
            subset = [leaf for path in relevant for leaf in by_path.get(path, ())]
            if matches(sub, subset):
                matched.add(index)
        return tuple(sorted(matched))

    @property
    def _ref(self) -> ModuleType:
        return reference()

    def self_check(self, events: Sequence[bytes], max_rules: int = 300) -> None:
        """Compares this wrapper with ``reference.rules_for_event`` itself on
        ``events`` (and at most ``max_rules`` rules). Raises on a difference:
        that would be a bug in the benchmark suite, not in an engine."""
        ref = self._ref
        subset = dict(self.rules[:max_rules])
        for event in events:
            try:
                expected = ref.rules_for_event(subset, event)
            except ref.EventError:
                expected = None
            got = self.answer(event)
            got_names = None if got is None else sorted(
                self.names[i] for i in got if i < max_rules)
            if got_names != expected:
                raise RuntimeError(
                    "benchmark suite bug: the fast reference wrapper disagrees with "
                    f"reference.rules_for_event: {got_names} != {expected} on {event[:300]!r}"
                )


def _cheap_fields_hold(sub: Any, by_path: dict[str, list[Any]]) -> bool:
    """False when some field of ``sub`` with one or two leaves in the event has
    no leaf passing its predicates: ``sub_pattern_matches`` would find no
    candidate for it and say no. (Fields with more leaves are left to it.)"""
    for path, predicates in sub.fields.items():
        group = by_path[path]
        if len(group) <= 2 and not any(p.test(leaf.value) for leaf in group for p in predicates):
            return False
    return True


def _shard_keys(text: str, field: str) -> list[str]:
    pattern = json.loads(text)
    values = pattern.get(field)
    if (not isinstance(values, list) or not values
            or not all(isinstance(v, str) for v in values)):
        raise ValueError(f"rule {text} has no top-level exact {field!r} to index it by")
    for branch in pattern.get("$or", ()):
        if field in branch:
            raise ValueError(f"rule {text} names {field!r} inside $or")
    return list(values)


# --------------------------------------------------------------------------
# Running it over a data set, in parallel, with a cache
# --------------------------------------------------------------------------

_JOB: tuple[Oracle, Sequence[bytes]] | None = None


def _run_span(span: tuple[int, int]) -> list[Answer]:
    assert _JOB is not None
    oracle, events = _JOB
    return [oracle.answer(events[i]) for i in range(span[0], span[1])]


def _sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def answers(
    oracle: Oracle,
    events: Sequence[bytes],
    data_key: str,
    progress: Callable[[int], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> list[Answer]:
    """The reference's answer for every event; cached under ``data_key`` (the
    data's SHA-256 plus whatever selects ``events``)."""
    key = _sha256_text(json.dumps({
        "version": ORACLE_VERSION,
        "data": data_key,
        "events": len(events),
        "rules": oracle.rules,
        "shard": oracle.shard_field,
        "reference": hashlib.sha256(REFERENCE_PATH.read_bytes()).hexdigest(),
    }))
    path = cache_dir() / "reference" / f"{key}.json"
    if path.exists():
        try:
            cached = json.loads(path.read_text())
            if cached.get("names") == oracle.names and len(cached["answers"]) == len(events):
                if progress:
                    progress(len(events))
                return [None if a is None else tuple(a) for a in cached["answers"]]
        except (OSError, ValueError, KeyError):
            pass
    oracle.self_check(events[:: max(1, len(events) // 25)][:25])
    result = _compute(oracle, events, progress, log)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"names": oracle.names, "answers": result}, separators=(",", ":")))
    tmp.replace(path)
    return result


def _compute(
    oracle: Oracle,
    events: Sequence[bytes],
    progress: Callable[[int], None] | None,
    log: Callable[[str], None] | None,
) -> list[Answer]:
    global _JOB
    oracle.compile()  # before forking: the workers inherit the compiled patterns
    n = len(events)
    workers = min(os.cpu_count() or 1, 4)
    step = 2_000
    spans = [(i, min(n, i + step)) for i in range(0, n, step)]
    if log:
        log(f"reference matcher: {n:,} events x {len(oracle.rules):,} rules "
            f"({workers} processes; cached afterwards)")
    out: list[Answer] = []
    if workers > 1 and n > step and "fork" in multiprocessing.get_all_start_methods():
        _JOB = (oracle, events)
        try:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                for part in pool.imap(_run_span, spans):
                    out.extend(part)
                    if progress:
                        progress(len(part))
        finally:
            _JOB = None
        return out
    for span in spans:
        part = [oracle.answer(events[i]) for i in range(*span)]
        out.extend(part)
        if progress:
            progress(len(part))
    return out


def restrict(all_answers: Sequence[Answer], keep: Sequence[int]) -> list[Answer]:
    """Answers for a subset of the oracle's rules, renumbered 0.. in ``keep`` order."""
    position = {rule: i for i, rule in enumerate(keep)}
    return [
        None if a is None else tuple(sorted(position[i] for i in a if i in position))
        for a in all_answers
    ]


def reference_sha256() -> str:
    return hashlib.sha256(Path(REFERENCE_PATH).read_bytes()).hexdigest()
