"""The benchmark suite behind ``fastbridge bench``.

Order of a run:

1. generate (or load from the cache) the data sets, printing their SHA-256;
2. compute the reference matcher's answer for every event (cached);
3. build the Rust bench (so compiling does not overlap any timing);
4. per rule set: check fastbridge's answers on every event against the
   reference (and, on the full citylots file, the planted counts), then time
   the batch API, the one-event API and ``orjson.loads`` side by side;
5. the pure-Python peers, time-budgeted, their answers checked the same way;
6. scaling: event size, threads; building: rules/s and memory per rule;
7. the Rust bench (fastbridge's Rust API and the ``quamina`` crate);
8. tables, the bar, results JSON and the PNG plot.

Exit status: 0 when every engine agrees with the reference; 1 when fastbridge
(Python or Rust API) disagrees or misses a planted count (its figures are then
void); 3 when only a peer disagrees (0 with ``--allow-peer-disagreement``).
"""

from __future__ import annotations

import datetime
import itertools
import json
import math
import os
import platform
import random
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fastbridge
from benches import data as datamod
from benches import oracle as oraclemod
from benches import peers as peermod
from benches import report
from benches import rulesets as rsmod
from benches import rust as rustmod
from benches.config import FULL, QUICK, ROOT, Profile, cache_dir
from benches.measure import Figure, budgeted, interleaved, threaded

BATCH = 4096
"""Events per ``rules_for_events`` call (the CLI's default batch)."""
CHUNK_BYTES = 8 << 20
"""...and at most this much event text per call."""
RUST_QUICK_SETS = ("quamina4", "EXACT", "WILDCARD", "NUMERIC", "COMPLEX_ARRAYS",
                   "ANYTHING_BUT", "COMBO", "bus-100", "bus-1k")


# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------


@dataclass
class Row:
    key: str
    label: str
    figure: Figure | None = None
    status: str = "ok"
    """ok | wrong | unsupported | skipped"""
    note: str = ""
    checked: int = 0
    """Events whose answers were compared with the reference."""


@dataclass
class Disagreement:
    engine: str
    ruleset: str
    fatal: bool
    events_wrong: int
    events_checked: int
    examples: list[dict[str, Any]]
    repro: str = ""


@dataclass
class RuleSetResult:
    ruleset: rsmod.RuleSet
    events: int
    bytes: int
    rows: list[Row] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    reference_counts: dict[str, int] = field(default_factory=dict)
    planted: dict[str, tuple[int, int]] | None = None
    """rule -> (planted count, fastbridge count); full citylots only."""
    stats: dict[str, int] = field(default_factory=dict)
    """``Machine.stats()`` of the rule set's machine."""

    def row(self, key: str) -> Row | None:
        return next((r for r in self.rows if r.key == key), None)


@dataclass
class State:
    profile: Profile
    out: Path
    ui: report.Progress
    files: dict[str, datamod.DataFile] = field(default_factory=dict)
    events: dict[str, list[bytes]] = field(default_factory=dict)
    universes: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    answers: dict[str, list[oraclemod.Answer]] = field(default_factory=dict)
    order: dict[str, list[int]] = field(default_factory=dict)
    rulesets: list[rsmod.RuleSet] = field(default_factory=list)
    results: dict[str, RuleSetResult] = field(default_factory=dict)
    disagreements: list[Disagreement] = field(default_factory=list)
    sizes: list[dict[str, Any]] = field(default_factory=list)
    threads: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    """The per-call cost from Python of the one-event API (``step_calls``)."""
    cpu_ceiling: float | None = None
    """How much faster two CPU-bound processes run than one on this machine."""
    build: dict[str, Any] = field(default_factory=dict)
    peers: list[peermod.Peer] = field(default_factory=list)
    peer_notes: dict[str, str] = field(default_factory=dict)
    rust: rustmod.RustRun | None = None
    rust_built: tuple[bool, str] | None = None
    orjson: tuple[Any, str] = (None, "")
    step_seconds: dict[str, float] = field(default_factory=dict)

    def log(self, text: str) -> None:
        self.ui.log(text)


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def _chunks(events: Sequence[bytes]) -> list[list[bytes]]:
    out: list[list[bytes]] = []
    current: list[bytes] = []
    size = 0
    for e in events:
        if current and (len(current) >= BATCH or size + len(e) > CHUNK_BYTES):
            out.append(current)
            current, size = [], 0
        current.append(e)
        size += len(e)
    if current:
        out.append(current)
    return out


def _machine(rules: Sequence[tuple[str, str]]) -> fastbridge.Machine:
    m = fastbridge.Machine()
    m.add_rules(list(rules))
    return m


def _ruleset_answers(state: State, rs: rsmod.RuleSet) -> list[oraclemod.Answer]:
    """The reference's answers for ``rs`` (indices into ``rs.rules``)."""
    universe = state.universes[rs.dataset]
    position = {name: i for i, (name, _) in enumerate(universe)}
    keep = [position[name] for name, _ in rs.rules]
    if keep == list(range(len(universe))):
        return state.answers[rs.dataset]
    return oraclemod.restrict(state.answers[rs.dataset], keep)


def _names(rs: rsmod.RuleSet, answer: oraclemod.Answer) -> frozenset[str] | None:
    return None if answer is None else frozenset(rs.rules[i][0] for i in answer)


def _compare(
    state: State,
    engine: str,
    label: str,
    rs: rsmod.RuleSet,
    got: Sequence[tuple[int, object]],
    expected: Sequence[oraclemod.Answer],
    fatal: bool,
    repro_code: str,
) -> int:
    """Compares (event index, result) pairs with the reference; records and
    prints a disagreement. Returns the number of events answered wrongly."""
    wrong = 0
    examples: list[dict[str, Any]] = []
    for index, result in got:
        want = _names(rs, expected[index])
        if isinstance(result, BaseException):
            have: frozenset[str] | None = None
            error = f"{type(result).__name__}: {result}"
        else:
            have = frozenset(result)  # type: ignore[arg-type]
            error = ""
        if have == want:
            continue
        wrong += 1
        if len(examples) < 5:
            missing = sorted((want or frozenset()) - (have or frozenset()))
            extra = sorted((have or frozenset()) - (want or frozenset()))
            examples.append({"line": index + 1, "missing": missing, "extra": extra,
                             "error": error or None, "expected_invalid": want is None})
    if not wrong:
        return 0
    repro = _write_repro(state, engine, rs, examples[0], repro_code)
    d = Disagreement(engine=label, ruleset=rs.id, fatal=fatal, events_wrong=wrong,
                     events_checked=len(got), examples=examples, repro=repro)
    state.disagreements.append(d)
    first = examples[0]
    state.log(
        f"{'!' * 3} DISAGREEMENT: {label} on {rs.id}: {wrong:,} of {len(got):,} events answered "
        f"differently from the reference matcher (first: line {first['line']} of "
        f"{state.files[rs.dataset].path.name}, missing {first['missing']}, extra "
        f"{first['extra']}{', ' + first['error'] if first['error'] else ''}); "
        f"reproduce: {repro}"
    )
    return wrong


def _write_repro(state: State, engine: str, rs: rsmod.RuleSet, example: dict[str, Any],
                 code: str) -> str:
    """Writes event.json, pattern.json and repro.py for one wrong answer."""
    rule = (example["missing"] or example["extra"] or [rs.rules[0][0]])[0]
    pattern = dict(rs.rules)[rule]
    directory = state.out / "disagreements" / f"{engine}-{rs.id}"
    directory.mkdir(parents=True, exist_ok=True)
    event = state.events[rs.dataset][example["line"] - 1]
    (directory / "event.json").write_bytes(event + b"\n")
    (directory / "pattern.json").write_text(pattern + "\n")
    (directory / "repro.py").write_text(
        "# Rule {rule} of rule set {rs}, line {line} of {data}.\n"
        "import json, sys\n"
        "sys.path.insert(0, {tests!r})\n"
        "import reference\n"
        "pattern = open('pattern.json').read()\n"
        "event = open('event.json', 'rb').read().strip()\n"
        "print('reference:', reference.matches(pattern, event))\n"
        "{code}\n".format(rule=rule, rs=rs.id, line=example["line"],
                          data=state.files[rs.dataset].path, tests=str(ROOT / "tests"),
                          code=code)
    )
    return f"cd {directory} && python repro.py"


def _git_describe() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "rust", "python"],
                               cwd=ROOT, capture_output=True, text=True,
                               timeout=10).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "?"


def _extension_built() -> str:
    """Where the compiled module is and when it was built: the Python figures
    measure that build, which may be older than the Rust sources."""
    core = getattr(fastbridge, "_core", None)
    path = Path(getattr(core, "__file__", "") or "")
    if not path.is_file():
        return "?"
    built = datetime.datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    return f"{path} (built {built})"


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


# --------------------------------------------------------------------------
# Steps
# --------------------------------------------------------------------------


def step_data(state: State) -> None:
    files = datamod.generate_all(
        state.profile, log=lambda text: state.log(text) if "cached" not in text else None)
    for f in files.values():
        state.log(f"data {f.name:<9} {f.lines:>9,} lines {f.bytes / 1e6:>8.1f} MB  "
                  f"sha256 {f.sha256}  {f.path}")
    state.files = files
    for name in ("citylots", "citylots2", "bus"):
        state.events[name] = files[name].read_lines()
        order = list(range(len(state.events[name])))
        random.Random(17).shuffle(order)
        state.order[name] = order


def step_rulesets(state: State) -> None:
    cl2 = rsmod.cl2_rulesets()
    bus = rsmod.bus_rulesets(state.profile.rule_counts)
    state.rulesets = [rsmod.QUAMINA_FOUR, *cl2, *bus]
    state.universes = {
        "citylots": rsmod.QUAMINA_FOUR.rules,
        "citylots2": next(r for r in cl2 if r.id == "COMBO").rules,
        "bus": bus[-1].rules,
    }


def step_reference(state: State, dataset: str) -> None:
    rules = state.universes[dataset]
    oracle = oraclemod.Oracle(rules, shard_field="account" if dataset == "bus" else None)
    events = state.events[dataset]
    with state.ui.sub(len(events), f"reference · {dataset}") as advance:
        state.answers[dataset] = oraclemod.answers(
            oracle, events, state.files[dataset].sha256, progress=advance, log=state.log)


def step_rust_build(state: State) -> None:
    log = state.out / "rust" / "cargo.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    binary = rustmod.newest_binary()
    if state.profile is QUICK and binary is not None:
        # A rebuild after a change to the Rust sources takes minutes (fat LTO):
        # --quick runs the last build, and says so when it is stale.
        if rustmod.sources_newer_than(binary):
            state.rust_built = (False, "the Rust sources changed since the last build of the "
                                       "bench, and --quick does not rebuild it; build it with "
                                       "`CARGO_TARGET_DIR=target/bench-peer cargo bench "
                                       f"--bench {rustmod.BENCH} --no-run`")
            state.log("Rust bench: sources changed since its last build; --quick runs that build")
        else:
            state.rust_built = (True, "")
        return
    built, reason, seconds = rustmod.build(state.profile.rust_build_timeout, log)
    state.rust_built = (built, reason)
    if built:
        state.log(f"Rust bench built ({seconds:.0f} s)")
    else:
        state.log(f"Rust bench not built: {reason.splitlines()[0]}")


def step_ruleset(state: State, rs: rsmod.RuleSet) -> None:
    events = state.events[rs.dataset]
    total_bytes = state.files[rs.dataset].bytes - len(events)  # without the newlines
    result = RuleSetResult(rs, len(events), total_bytes)
    state.results[rs.id] = result
    expected = _ruleset_answers(state, rs)
    result.reference_counts = _counts(rs, expected)
    machine = _machine(rs.rules)
    result.stats = machine.stats()
    chunks = _chunks(events)

    # Correctness first: every event, through the batch API.
    got: list[tuple[int, object]] = []
    for chunk in chunks:
        for r in machine.rules_for_events(chunk, errors="return"):
            got.append((len(got), r))
    wrong = _compare(state, "fastbridge", "fastbridge (Python)", rs, got, expected, fatal=True,
                     repro_code="import fastbridge\nprint('fastbridge:', "
                                "fastbridge.matches(pattern, event))")
    counts: dict[str, int] = dict.fromkeys((n for n, _ in rs.rules), 0)
    for _, r in got:
        if isinstance(r, list):
            for name in r:
                counts[name] += 1
    result.counts = counts
    if rs.planted and len(events) == datamod.FULL_LINES:
        result.planted = {name: (want, counts.get(name, 0)) for name, want in rs.planted.items()}
        for name, (want, have) in result.planted.items():
            if want != have:
                state.disagreements.append(Disagreement(
                    "fastbridge (Python)", rs.id, True, abs(want - have), len(events),
                    [{"rule": name, "planted": want, "counted": have}]))
                state.log(f"!!! PLANTED COUNT MISSED: {rs.id} {name}: planted {want}, "
                          f"fastbridge counted {have}")
    del got

    # Timing: batch, one event at a time, and orjson.loads on the same bytes.
    one = machine.rules_for_event
    batch = machine.rules_for_events

    def run_batch() -> None:
        for chunk in chunks:
            batch(chunk)

    def run_one() -> None:
        for e in events:
            one(e)

    passes: dict[str, Callable[[], object]] = {"batch": run_batch, "one": run_one}
    loads = state.orjson[0]
    if loads is not None:
        def run_orjson() -> None:
            for e in events:
                loads(e)

        passes["orjson"] = run_orjson
    sizes = dict.fromkeys(passes, (len(events), total_bytes))
    figures = interleaved(passes, state.profile.repeats, sizes, state.profile.seconds_per_set)
    status = "wrong" if wrong else "ok"
    note = f"{wrong:,} events wrong" if wrong else "= reference"
    result.rows.append(Row("fastbridge-batch", "fastbridge  rules_for_events (batch)",
                           figures["batch"], status, note, len(events)))
    result.rows.append(Row("fastbridge-one", "fastbridge  rules_for_event (one)",
                           figures["one"], status, "", len(events)))
    if loads is not None:
        result.rows.append(Row("orjson", f"orjson.loads {state.orjson[1]} (parse only)",
                               figures["orjson"]))
    else:
        result.rows.append(Row("orjson", "orjson.loads (parse only)", None, "skipped",
                               state.orjson[1]))


def _counts(rs: rsmod.RuleSet, answers: Sequence[oraclemod.Answer]) -> dict[str, int]:
    counts = dict.fromkeys((n for n, _ in rs.rules), 0)
    for a in answers:
        if a:
            for i in a:
                counts[rs.rules[i][0]] += 1
    return counts


def step_peers(state: State, rs: rsmod.RuleSet) -> None:
    result = state.results[rs.id]
    events = state.events[rs.dataset]
    order = state.order[rs.dataset]
    expected: list[oraclemod.Answer] = []
    positives: list[int] = []
    for peer in state.peers:
        label = f"{peer.title} ({peer.kind})"
        if not peer.available:
            result.rows.append(Row(peer.key, label, None, "skipped", "not installed"))
            continue
        if len(rs.rules) > state.profile.peer_max_rules:
            result.rows.append(Row(peer.key, label, None, "skipped",
                                   f"> {state.profile.peer_max_rules:,} rules (one pattern "
                                   "at a time: too slow)"))
            continue
        try:
            match = peer.compile(rs.rules)
        except peermod.Unsupported as e:
            result.rows.append(Row(peer.key, label, None, "unsupported", str(e)))
            continue
        if not expected:
            expected = _ruleset_answers(state, rs)
            positives = _positives(rs, expected, order, state.profile.peer_positives)

        def safe(event: bytes, match: Callable[[bytes], list[str]] = match) -> object:
            try:
                return match(event)
            except Exception as e:  # a peer's crash is a wrong answer, reported
                return e

        figure, timed = budgeted(safe, events, order, state.profile.peer_seconds)
        seen = {i for i, _ in timed}
        extra = [(i, safe(events[i])) for i in positives if i not in seen]
        wrong = _compare(state, peer.key, label, rs, timed + extra, expected, fatal=False,
                         repro_code=peer.repro)
        checked = len(timed) + len(extra)
        result.rows.append(Row(
            peer.key, label, figure, "wrong" if wrong else "ok",
            f"{wrong:,} of {checked:,} events wrong" if wrong else "= reference", checked))


def _positives(rs: rsmod.RuleSet, expected: Sequence[oraclemod.Answer],
               order: Sequence[int], limit: int) -> list[int]:
    """Up to ``limit`` events the reference says match, spread over the rules."""
    by_rule: dict[int, list[int]] = {}
    for i in order:
        a = expected[i]
        for r in a or ():
            picks = by_rule.setdefault(r, [])
            if len(picks) < 3:
                picks.append(i)
    out: list[int] = []
    for group in itertools.zip_longest(*by_rule.values()):
        for i in group:
            if i is not None and i not in out:
                out.append(i)
    return out[:limit]


def step_sizes(state: State) -> None:
    rules = rsmod.bus_rules(100)
    machine = _machine(rules)
    oracle = oraclemod.Oracle(rules, shard_field="account")
    rs = rsmod.RuleSet("sizes", "bus · 100 rules, order events by size", "sizes", rules)
    points = datamod.load_sized(state.files["sizes"])
    loads = state.orjson[0]
    for kb, events in points.items():
        check = events[: max(2, min(len(events), state.profile.reference_check_events // 50))]
        expected = oraclemod.answers(oracle, check, f"{state.files['sizes'].sha256}/{kb}")
        got = list(enumerate(machine.rules_for_events(check, errors="return")))
        state.events["sizes"] = check  # for a reproduction, should one be needed
        wrong = _compare(state, "fastbridge", "fastbridge (Python)", rs, got, expected,
                         fatal=True, repro_code="import fastbridge\nprint('fastbridge:', "
                                                "fastbridge.matches(pattern, event))")
        chunks = _chunks(events)

        def run_batch(chunks: list[list[bytes]] = chunks,
                      batch: Callable[..., object] = machine.rules_for_events) -> None:
            for chunk in chunks:
                batch(chunk)

        passes: dict[str, Callable[[], object]] = {"batch": run_batch}
        if loads is not None:
            def run_orjson(events: list[bytes] = events) -> None:
                for e in events:
                    loads(e)

            passes["orjson"] = run_orjson
        n_bytes = sum(len(e) for e in events)
        figures = interleaved(passes, state.profile.repeats,
                              dict.fromkeys(passes, (len(events), n_bytes)),
                              state.profile.seconds_per_set)
        state.sizes.append({
            "kb": kb, "events": len(events), "mean_bytes": n_bytes / len(events),
            "checked": len(check), "wrong": wrong,
            "fastbridge": figures["batch"].as_dict(),
            "orjson": figures["orjson"].as_dict() if "orjson" in figures else None,
        })


def _spin(n: int) -> int:
    """Pure arithmetic, no memory traffic: what one CPU can do alone."""
    x = 0
    for i in range(n):
        x = (x * 31 + i) & 0xFFFFFFFF
    return x


def cpu_ceiling(n: int = 2_000_000) -> float:
    """Two CPU-bound processes against one, the median of five tries: about
    the most a two-thread speedup can be here (virtual CPUs may share a
    physical core; on this project's machines it is about 1.25×)."""
    import multiprocessing
    import statistics

    tries = []
    with multiprocessing.get_context("fork").Pool(2) as pool:
        pool.map(_spin, [1000, 1000])
        for _ in range(5):
            t0 = time.perf_counter()
            pool.map(_spin, [n])
            one = time.perf_counter() - t0
            t0 = time.perf_counter()
            pool.map(_spin, [n, n], chunksize=1)
            two = time.perf_counter() - t0
            tries.append(2 * one / two)
    return float(statistics.median(tries))


def step_threads(state: State) -> None:
    state.cpu_ceiling = cpu_ceiling()
    workloads = [
        ("citylots · Quamina's four", state.events["citylots"], rsmod.QUAMINA_FOUR.rules),
        ("bus · 1,000 rules", state.events["bus"], rsmod.bus_rules(1000)),
    ]
    for label, events, rules in workloads:
        machine = _machine(rules)
        chunks = _chunks(events)
        # A pass shorter than the profile's thread_seconds is repeated so that
        # the figure is matching, not thread start-up and scheduling.
        started = time.perf_counter()
        for chunk in chunks:
            machine.rules_for_events(chunk)
        once = time.perf_counter() - started
        passes = max(1, math.ceil(state.profile.thread_seconds / max(once, 1e-9)))
        chunks = chunks * passes

        def work(part: Sequence[list[bytes]],
                 batch: Callable[..., object] = machine.rules_for_events) -> None:
            for chunk in part:
                batch(chunk)

        def work_split(part: Sequence[list[bytes]],
                       batch: Callable[..., object] = machine.rules_for_events) -> None:
            for chunk in part:
                batch(chunk, threads=2)

        try:  # rules_for_events(threads=N): newer builds split a batch in Rust
            machine.rules_for_events(chunks[0][:2], threads=2)
            split = True
        except TypeError:
            split = False
        half = len(chunks) // 2
        one: list[float] = []
        two: list[float] = []
        inner: list[float] = []
        for _ in range(state.profile.repeats):
            one.append(threaded(work, [chunks]))
            two.append(threaded(work, [chunks[:half], chunks[half:]]))
            if split:
                inner.append(threaded(work_split, [chunks]))
        n = len(events) * passes
        doc: dict[str, Any] = {
            "workload": label, "events": n, "passes": passes,
            "threads": {"1": {"seconds": one, "events_per_s": n / min(one)},
                        "2": {"seconds": two, "events_per_s": n / min(two)}},
            "speedup": min(one) / min(two),
        }
        if inner:
            doc["rules_for_events_threads_2"] = {"seconds": inner, "events_per_s": n / min(inner),
                                                 "speedup": min(one) / min(inner)}
        state.threads.append(doc)


_BUILD_PROBE = """
import gc, json, sys, time
import fastbridge
from benches import rulesets
from benches.measure import rss_bytes
kind, n = sys.argv[1], int(sys.argv[2])
rules = rulesets.exact_rules(n) if kind.startswith("exact") else dict(rulesets.bus_rules(n))
gc.collect()
gc.disable()
rss0 = rss_bytes()
start = time.perf_counter()
m = fastbridge.Machine()
if kind == "exact-one-by-one":
    for name, pattern in rules.items():
        m.add_rule(name, pattern)
else:
    m.add_rules(rules)
seconds = time.perf_counter() - start
rss1 = rss_bytes()
print(json.dumps({"rules": n, "seconds": seconds, "rss_before": rss0, "rss_after": rss1,
                  "stats": m.stats()}))
"""


def _build_probe(kind: str, n: int) -> dict[str, Any]:
    """Builds a machine in a fresh interpreter (so the RSS delta is the
    machine's alone, not memory freed earlier in this run and reused)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    proc = subprocess.run([sys.executable, "-c", _BUILD_PROBE, kind, str(n)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        return {"rules": n, "error": proc.stderr.strip().splitlines()[-1:] or ["failed"]}
    doc: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    doc["rules_per_s"] = n / doc["seconds"]
    before, after = doc.pop("rss_before"), doc.pop("rss_after")
    doc["rss_delta_bytes"] = None if before is None or after is None else after - before
    doc["bytes_per_rule"] = None if before is None or after is None else (after - before) / n
    doc["states"] = doc["stats"]["states"]
    doc["states_per_rule"] = doc["stats"]["states"] / n
    return doc


def step_calls(state: State) -> None:
    """What a call from Python costs beside the matching: the one-event API on
    events the engine has next to nothing to do for (`{}`), given as bytes,
    str and dict (argument conversion), and on an event that eight rules
    match against one that none does (the result list); the batch API's
    share per event on the same `{}`. Best of the profile's repeats."""
    empty = b"{}"
    machine = _machine([(f"rule-{i:02d}", '{"a": [1]}') for i in range(8)])
    assert machine.rules_for_event(b'{"a": 1}') == [f"rule-{i:02d}" for i in range(8)]
    assert machine.rules_for_event(b'{"a": 2}') == []
    n = 20_000
    one = machine.rules_for_event
    batch = [empty] * 4096
    passes: dict[str, Callable[[], object]] = {
        "bytes `{}`": lambda: [one(empty) for _ in range(n)],
        "str `{}`": lambda: [one("{}") for _ in range(n)],
        "dict `{}`": lambda: [one({}) for _ in range(n)],
        "no match": lambda: [one(b'{"a": 2}') for _ in range(n)],
        "8 matches": lambda: [one(b'{"a": 1}') for _ in range(n)],
        "loop only": lambda: [len(empty) for _ in range(n)],
    }
    sizes = dict.fromkeys(passes, (n, 2 * n))
    figures = interleaved(passes, state.profile.repeats, sizes)
    batches = n // len(batch) + 1
    batch_figure = interleaved({"batch": lambda: [machine.rules_for_events(batch)
                                                    for _ in range(batches)]},
                               state.profile.repeats, {"batch": (batches * len(batch), 0)})
    loop = figures.pop("loop only").ns_per_event
    state.calls = [
        {"call": name, "ns_per_call": f.ns_per_event, "ns_beyond_loop": f.ns_per_event - loop}
        for name, f in figures.items()
    ]
    state.calls.append({"call": "rules_for_events, per event (`{}` × 4,096)",
                        "ns_per_call": batch_figure["batch"].ns_per_event,
                        "ns_beyond_loop": batch_figure["batch"].ns_per_event})


def step_build(state: State) -> None:
    n = state.profile.build_rules
    state.build["exact_add_rules"] = _build_probe("exact", n)
    state.build["exact_add_rule_one_by_one"] = _build_probe("exact-one-by-one", min(n, 10_000))
    state.build["bus_add_rules"] = _build_probe("bus", len(state.universes["bus"]))
    for key, doc in state.build.items():
        if isinstance(doc, dict) and "error" in doc:
            state.log(f"build figure {key}: {doc['error']}")


def _rust_limit(state: State, rs: rsmod.RuleSet) -> int:
    """Events per pass in the Rust bench: all of them, unless fastbridge's
    Python figure says a pass would take longer than the profile's
    ``rust_pass_seconds`` (criterion times at least ten passes)."""
    n = len(state.events[rs.dataset])
    if state.profile.rust_events:
        n = min(n, state.profile.rust_events)
    result = state.results.get(rs.id)
    row = result.row("fastbridge-batch") if result else None
    if row is not None and row.figure is not None:
        n = min(n, max(200, int(row.figure.events_per_s * state.profile.rust_pass_seconds)))
    return n


def step_rust_run(state: State) -> None:
    stale = "" if state.rust_built is None or state.rust_built[0] else state.rust_built[1]
    wanted = [rs for rs in state.rulesets
              if state.profile is not QUICK or rs.id in RUST_QUICK_SETS]
    manifest = {
        "measure_seconds": state.profile.rust_measure_seconds,
        "warmup_seconds": state.profile.rust_warmup_seconds,
        "rulesets": [{"id": rs.id, "data": str(state.files[rs.dataset].path),
                      "limit": _rust_limit(state, rs), "rules": rs.rules} for rs in wanted],
    }
    run = rustmod.run(manifest, state.out / "rust", state.profile.rust_run_timeout, stale)
    state.rust = run
    if not run.ok:
        state.log(f"Rust bench: {run.reason.splitlines()[0] if run.reason else 'failed'}")
    if run.stale:
        state.log(f"Rust bench: stale: {run.stale}")
    for rs in wanted:
        doc = run.results.get(rs.id)
        result = state.results.get(rs.id)
        if doc is None or result is None:
            continue
        n = int(doc["events"])
        expected = _ruleset_answers(state, rs)[:n]
        want = _counts(rs, expected)
        for engine, label, fatal in (
            ("fastbridge", "fastbridge  Rust API (criterion)", not run.stale),
            ("quamina", f"quamina {run.quamina_version} crate (Rust, criterion)", False),
        ):
            entry = doc[engine]
            key = f"rust-{engine}"
            if engine == "fastbridge" and run.stale:
                label += " [STALE BUILD]"
            if entry["status"] != "ok":
                result.rows.append(Row(key, label, None, "unsupported", entry.get("reason", "")))
                continue
            have = {name: int(c) for name, c in entry["counts"].items()}
            diff = {name: (want.get(name, 0), have.get(name, 0))
                    for name in want if want.get(name, 0) != have.get(name, 0)}
            diff.update({name: (0, c) for name, c in have.items() if name not in want})
            seconds = run.seconds.get((rs.id, engine))
            figure = Figure(n, int(doc["bytes"]), [seconds]) if seconds else None
            if diff or entry.get("errors"):
                examples = [{"rule": name, "reference": w, "engine": h}
                            for name, (w, h) in list(diff.items())[:5]]
                if entry.get("errors"):
                    examples.append({"errors": entry["errors"], "first": entry["first_error"]})
                state.disagreements.append(Disagreement(
                    label, rs.id, fatal, sum(abs(w - h) for w, h in diff.values()), n, examples,
                    f"per-rule counts over the first {n:,} events; see {run.log_path}"))
                state.log(f"!!! DISAGREEMENT: {label} on {rs.id}: per-rule counts differ from "
                          f"the reference: {examples[:3]}")
                result.rows.append(Row(key, label, figure, "wrong",
                                       f"counts differ on {len(diff)} rules", n))
            else:
                result.rows.append(Row(key, label, figure, "ok", "= reference (counts)", n))
            if entry.get("build_seconds"):
                state.build.setdefault("rust", {})[f"{rs.id}/{engine}"] = {
                    "rules": len(rs.rules), "build_seconds": entry["build_seconds"],
                    "rules_per_s": len(rs.rules) / entry["build_seconds"],
                }


# --------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------


def run(
    quick: bool = False,
    out: str | os.PathLike[str] | None = None,
    rust: bool = True,
    peers: bool = True,
    allow_peer_disagreement: bool = False,
) -> int:
    profile = QUICK if quick else FULL
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = Path(out) if out is not None else cache_dir() / "results" / f"{stamp}-{profile.name}"
    out_dir.mkdir(parents=True, exist_ok=True)

    plan: list[tuple[str, Callable[[State], None]]] = [
        ("data", step_data),
        ("rule sets", step_rulesets),
        ("reference · citylots", lambda s: step_reference(s, "citylots")),
        ("reference · citylots2", lambda s: step_reference(s, "citylots2")),
        ("reference · bus", lambda s: step_reference(s, "bus")),
    ]
    if rust:
        plan.append(("build the Rust bench", step_rust_build))
    # Rule sets are known only after step_rulesets; their steps are added then.
    ui = report.Progress()
    state = State(profile=profile, out=out_dir, ui=ui)
    state.orjson = peermod.orjson_loads()
    if peers:
        state.peers = peermod.load_peers()
    environment = {
        "date": stamp, "profile": profile.name, "python": sys.version.split()[0],
        "fastbridge": fastbridge.__version__, "git": _git_describe(), "cpu": _cpu(),
        "cores": os.cpu_count(), "platform": platform.platform(),
        "reference_sha256": oraclemod.reference_sha256(), "cache": str(cache_dir()),
        "extension": _extension_built(),
    }
    state.log(f"fastbridge bench ({profile.name}) · fastbridge {fastbridge.__version__} "
              f"({environment['git']}) · Python {environment['python']} · {environment['cpu']}"
              f" × {environment['cores']} · results in {out_dir}")
    state.log(f"extension: {environment['extension']}")
    for peer in state.peers:
        if not peer.available:
            state.log(f"peer {peer.label}: skipped: {peer.reason} ({peer.install})")
    if state.orjson[0] is None:
        state.log(f"peer orjson: skipped: {state.orjson[1]}")

    ui.start(len(plan) + 40)
    for name, fn in plan:
        ui.step(name)
        started = time.perf_counter()
        fn(state)
        state.step_seconds[name] = time.perf_counter() - started
    tail: list[tuple[str, Callable[[State], None]]] = []
    for rs in state.rulesets:
        tail.append((f"fastbridge · {rs.id}", lambda s, rs=rs: step_ruleset(s, rs)))
    if peers:
        for rs in state.rulesets:
            tail.append((f"peers · {rs.id}", lambda s, rs=rs: step_peers(s, rs)))
    tail += [("event size", step_sizes), ("per-call cost", step_calls), ("threads", step_threads),
             ("rules compiled per second, memory", step_build)]
    if rust:
        tail.append(("Rust bench (fastbridge Rust API, quamina crate)", step_rust_run))
    ui.retotal(len(plan) + len(tail) + 1)
    for name, fn in tail:
        ui.step(name)
        started = time.perf_counter()
        fn(state)
        state.step_seconds[name] = time.perf_counter() - started
    if not peers:
        state.log("peers: skipped (--no-peers)")
    ui.step("report")
    text = report.render(state, environment)
    doc = report.results_json(state, environment)
    (out_dir / "results.json").write_text(json.dumps(doc, indent=1, default=str))
    png = report.plot(state, out_dir / "scaling.png")
    ui.close()
    print(text)
    total = sum(state.step_seconds.values())
    slowest = sorted(state.step_seconds.items(), key=lambda kv: -kv[1])[:4]
    print(f"\nwall time {total:,.0f} s (slowest steps: "
          + ", ".join(f"{name} {sec:.0f} s" for name, sec in slowest) + ")")
    print(f"\nresults: {out_dir / 'results.json'}")
    print(f"plot:    {png}" if isinstance(png, Path) else f"plot:    not drawn: {png}")

    fatal = [d for d in state.disagreements if d.fatal]
    peer_only = [d for d in state.disagreements if not d.fatal]
    if fatal:
        return 1
    if peer_only and not allow_peer_disagreement:
        return 3
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m benches``: the same as ``fastbridge bench``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benches", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run_from_args(args)


def add_arguments(parser: Any) -> None:
    parser.add_argument("--quick", action="store_true",
                        help="20k citylots lines, short timings (under a minute once the "
                             "data, reference answers and Rust bench are cached)")
    parser.add_argument("--out", metavar="DIR",
                        help="where results.json and scaling.png go "
                             "(default: a new folder under the cache)")
    parser.add_argument("--no-rust", action="store_true", help="skip the Rust bench")
    parser.add_argument("--no-peers", action="store_true", help="skip the pure-Python peers")
    parser.add_argument("--allow-peer-disagreement", action="store_true",
                        help="exit 0 even when a peer disagrees with the reference")


def run_from_args(args: Any) -> int:
    return run(quick=args.quick, out=args.out, rust=not args.no_rust, peers=not args.no_peers,
               allow_peer_disagreement=args.allow_peer_disagreement)

