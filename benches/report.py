"""Progress bar, tables, the bar of BENCHMARKS.md, results JSON and the plot."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benches.measure import Figure
    from benches.suite import RuleSetResult, State

# --------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------


class Progress:
    """A tqdm bar over the run's steps (plain lines on stderr without tqdm)."""

    def __init__(self) -> None:
        try:
            from tqdm import tqdm
        except ImportError:
            self._tqdm: Any = None
        else:
            # No monitor thread: the reference step forks worker processes.
            tqdm.monitor_interval = 0
            self._tqdm = tqdm
        self._bar: Any = None
        self._total = 0
        self._done = 0
        self._current: str | None = None

    def start(self, total: int) -> None:
        self._total = total
        if self._tqdm is not None:
            self._bar = self._tqdm(total=total, unit="step", file=sys.stderr, dynamic_ncols=True,
                                   bar_format="{desc:<48.48}{percentage:3.0f}%|{bar}| "
                                              "{n_fmt}/{total_fmt} [{elapsed}<{remaining}]")

    def retotal(self, total: int) -> None:
        self._total = total
        if self._bar is not None:
            self._bar.total = total
            self._bar.refresh()

    def step(self, name: str) -> None:
        if self._current is not None:
            self._done += 1
            if self._bar is not None:
                self._bar.update(1)
        self._current = name
        if self._bar is not None:
            self._bar.set_description_str(name)
        else:
            print(f"[{self._done + 1}/{self._total}] {name}", file=sys.stderr, flush=True)

    def log(self, text: str) -> None:
        if self._bar is not None:
            self._bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr, flush=True)

    @contextmanager
    def sub(self, total: int, desc: str) -> Iterator[Callable[[int], None]]:
        if self._tqdm is None:
            yield lambda n: None
            return
        inner = self._tqdm(total=total, desc=desc, position=1, leave=False, unit="ev",
                           file=sys.stderr, dynamic_ncols=True)
        try:
            yield inner.update
        finally:
            inner.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.update(1)
            self._bar.close()


# --------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------


def rate(x: float) -> str:
    return f"{x:,.0f}"


def ns(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:,.1f}"


def mbs(x: float) -> str:
    return f"{x:,.1f}"


def ratio(r: float) -> str:
    if r >= 100:
        return f"{r:,.0f}×"
    if r >= 10:
        return f"{r:.1f}×"
    return f"{r:.2f}×"


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


# --------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------

ENGINE_COLUMNS = (
    ("fastbridge-one", "one-event"),
    ("rust-fastbridge", "Rust API"),
    ("rust-quamina", "quamina"),
    ("orjson", "orjson"),
    ("moto", "moto"),
    ("localstack", "localstack"),
    ("event-ruler", "event-ruler"),
)


def ruleset_table(result: RuleSetResult) -> str:
    rs = result.ruleset
    base = result.row("fastbridge-batch")
    base_rate = base.figure.events_per_s if base and base.figure else None
    lines = [
        "",
        f"━━ {rs.id} — {rs.title}: {len(rs.rules):,} rules · {result.events:,} events · "
        f"{result.bytes / 1e6:,.1f} MB",
    ]
    counts_note = _counts_note(result)
    if counts_note:
        lines.append(f"   {counts_note}")
    head = (f"   {'engine':<46} {'events/s':>12} {'ns/event':>12} {'MB/s':>9} "
            f"{'fastbridge ×':>13}  answers")
    lines.append(head)
    for row in result.rows:
        if row.figure is None:
            lines.append(f"   {_short(row.label, 46):<46} {row.status:>12}  "
                         f"{_short(row.note, 90)}")
            continue
        f = row.figure
        r = "—" if row.key == "fastbridge-batch" or base_rate is None else ratio(
            base_rate / f.events_per_s)
        mark = "✗ " if row.status == "wrong" else ""
        lines.append(
            f"   {_short(row.label, 46):<46} {rate(f.events_per_s):>12} {ns(f.ns_per_event):>12} "
            f"{mbs(f.mb_per_s):>9} {r:>13}  {mark}{_short(row.note, 60)}"
            + (f" (on {f.events:,} events)" if f.events != result.events else "")
        )
    return "\n".join(lines)


def _counts_note(result: RuleSetResult) -> str:
    rs = result.ruleset
    same = result.counts == result.reference_counts
    if len(rs.rules) <= 5:
        counts = ", ".join(f"{name} {result.counts.get(name, 0):,}" for name, _ in rs.rules)
        note = f"matches per rule: {counts} ({'= reference' if same else 'REFERENCE DIFFERS'})"
    else:
        total = sum(result.counts.values())
        note = (f"{total:,} rule matches over {len(rs.rules):,} rules "
                f"({'= reference' if same else 'REFERENCE DIFFERS'})")
    if result.planted is not None:
        ok = all(want == have for want, have in result.planted.values())
        planted = "/".join(str(want) for want, _ in result.planted.values())
        note += f"; planted {planted} {'✓' if ok else '✗ MISSED'}"
    return note


def summary_table(state: State) -> str:
    lines = ["", "━━ Summary: fastbridge batch events/s, and how many times faster than each "
             "engine (✗ = answers differ from the reference, n/s = rejects a pattern, "
             "– = not run)"]
    head = f"   {'rule set':<26} {'fastbridge':>12}" + "".join(
        f" {title:>11}" for _, title in ENGINE_COLUMNS)
    lines.append(head)
    for rs in state.rulesets:
        result = state.results.get(rs.id)
        if result is None:
            continue
        base = result.row("fastbridge-batch")
        if base is None or base.figure is None:
            continue
        base_rate = base.figure.events_per_s
        cells = []
        for key, _ in ENGINE_COLUMNS:
            row = result.row(key)
            if row is None or row.status == "skipped":
                cells.append("–")
            elif row.status == "unsupported":
                cells.append("n/s")
            elif row.figure is None:
                cells.append("?")
            else:
                cells.append(ratio(base_rate / row.figure.events_per_s)
                             + ("✗" if row.status == "wrong" else ""))
        lines.append(f"   {rs.id:<26} {rate(base_rate):>12}" + "".join(f" {c:>11}" for c in cells))
    return "\n".join(lines)


def scaling_tables(state: State) -> str:
    lines = ["", "━━ Throughput against rule count (bus events, rules mixing every operator)"]
    bus = [rs for rs in state.rulesets if rs.dataset == "bus"]
    ten = state.results.get("bus-10")
    ten_rate = None
    if ten is not None:
        row = ten.row("fastbridge-batch")
        ten_rate = row.figure.events_per_s if row and row.figure else None
    lines.append(f"   {'rules':>9} {'fastbridge ev/s':>16} {'vs 10 rules':>12} {'MB/s':>9} "
                 f"{'Rust API ev/s':>14} {'quamina ev/s':>13} {'states':>10}")
    for rs in bus:
        result = state.results.get(rs.id)
        if result is None:
            continue
        row = result.row("fastbridge-batch")
        if row is None or row.figure is None:
            continue
        f = row.figure
        rust_fb = result.row("rust-fastbridge")
        quam = result.row("rust-quamina")
        vs = f"{f.events_per_s / ten_rate:.0%}" if ten_rate else "?"
        lines.append(
            f"   {len(rs.rules):>9,} {rate(f.events_per_s):>16} {vs:>12} {mbs(f.mb_per_s):>9} "
            f"{_cell(rust_fb):>14} {_cell(quam):>13} {result.stats.get('states', 0):>10,}"
        )
    if state.sizes:
        lines += ["", "━━ Throughput against event size (order events, 100 bus rules)"]
        lines.append(f"   {'size':>8} {'mean bytes':>11} {'fastbridge ev/s':>16} {'MB/s':>9} "
                     f"{'orjson ev/s':>12} {'fastbridge ×':>13}  answers")
        for p in state.sizes:
            fb = p["fastbridge"]
            oj = p["orjson"]
            lines.append(
                f"   {p['kb']:>6g}KB {p['mean_bytes']:>11,.0f} {rate(fb['events_per_s']):>16} "
                f"{mbs(fb['mb_per_s']):>9} "
                f"{rate(oj['events_per_s']) if oj else '–':>12} "
                f"{ratio(fb['events_per_s'] / oj['events_per_s']) if oj else '–':>13}  "
                f"{'✗ ' + str(p['wrong']) + ' wrong' if p['wrong'] else '= reference'}"
                f" ({p['checked']} checked)"
            )
    if state.calls:
        lines += ["", "━━ Per-call cost from Python (rules_for_event; events the engine has "
                      "next to nothing to do for)"]
        lines.append(f"   {'call':<44} {'ns/call':>8} {'beyond the loop':>16}")
        for c in state.calls:
            lines.append(f"   {c['call']:<44} {c['ns_per_call']:>8,.0f} "
                         f"{c['ns_beyond_loop']:>16,.0f}")
    if state.threads:
        lines += ["", "━━ Threads (rules_for_events on separate slices, concurrently)"]
        lines.append(f"   {'workload':<28} {'1 thread ev/s':>14} {'2 threads ev/s':>15} "
                     f"{'speedup':>8}   {'threads=2 in one call':>22}")
        for t in state.threads:
            split = t.get("rules_for_events_threads_2")
            inner = (f"{rate(split['events_per_s'])} ({split['speedup']:.2f}×)" if split
                     else "not in this build")
            lines.append(f"   {t['workload']:<28} {rate(t['threads']['1']['events_per_s']):>14} "
                         f"{rate(t['threads']['2']['events_per_s']):>15} {t['speedup']:>7.2f}×"
                         f"   {inner:>22}")
        if state.cpu_ceiling is not None:
            lines.append(f"   this machine's ceiling: two CPU-bound processes run "
                         f"{state.cpu_ceiling:.2f}× as fast as one")
    b = state.build
    if b:
        lines += ["", "━━ Building"]
        e = b.get("exact_add_rules")
        if e:
            mem = (f"{e['bytes_per_rule']:,.0f} bytes/rule RSS" if e["bytes_per_rule"] is not None
                   else "RSS not measurable here")
            lines.append(f"   {e['rules']:,} exact rules, add_rules: {rate(e['rules_per_s'])} "
                         f"rules/s; {mem}; {e['states']:,} states "
                         f"({e['states_per_rule']:.2f}/rule)")
        o = b.get("exact_add_rule_one_by_one")
        if o:
            lines.append(f"   {o['rules']:,} exact rules, add_rule one by one: "
                         f"{rate(o['rules_per_s'])} rules/s")
        m = b.get("bus_add_rules")
        if m:
            mem = (f"{m['bytes_per_rule']:,.0f} bytes/rule RSS" if m["bytes_per_rule"] is not None
                   else "")
            lines.append(f"   {m['rules']:,} mixed bus rules, add_rules: {rate(m['rules_per_s'])} "
                         f"rules/s; {mem}; {m['states']:,} states "
                         f"({m['states_per_rule']:.2f}/rule)")
        for key, r in sorted(b.get("rust", {}).items()):
            if key.startswith("bus-") and r["rules"] >= 1000:
                lines.append(f"   Rust, {key}: {r['rules']:,} rules in {r['build_seconds']:.3f} s "
                             f"({rate(r['rules_per_s'])} rules/s, add_rule one by one)")
    return "\n".join(lines)


def _cell(row: Any) -> str:
    if row is None:
        return "–"
    if row.figure is None:
        return "n/s" if row.status == "unsupported" else "–"
    return rate(row.figure.events_per_s) + ("✗" if row.status == "wrong" else "")


# --------------------------------------------------------------------------
# The bar (shared/BENCHMARKS.md)
# --------------------------------------------------------------------------


def _rate_of(state: State, ruleset: str, key: str = "fastbridge-batch") -> float | None:
    result = state.results.get(ruleset)
    if result is None:
        return None
    row = result.row(key)
    if row is None or row.figure is None or row.status == "unsupported":
        return None
    return row.figure.events_per_s


def bar_checks(state: State) -> list[tuple[str, str, bool | None]]:
    """(what, measured, met?) for each line of the bar; None when not measured."""
    checks: list[tuple[str, str, bool | None]] = []
    q4 = _rate_of(state, "quamina4")
    checks.append(("citylots, Quamina's four: ≥ 1,500,000 events/s (batch, from Python)",
                   rate(q4) if q4 else "not measured", None if q4 is None else q4 >= 1.5e6))
    quam = _rate_of(state, "quamina4", "rust-quamina")
    checks.append(("citylots, Quamina's four: ≥ 2× the quamina crate (same run)",
                   ratio(q4 / quam) if q4 and quam else "not measured",
                   None if not (q4 and quam) else q4 / quam >= 2))
    oj = _rate_of(state, "quamina4", "orjson")
    checks.append(("citylots, Quamina's four: ≥ 2.4× orjson.loads of the same bytes",
                   ratio(q4 / oj) if q4 and oj else "not measured",
                   None if not (q4 and oj) else q4 / oj >= 2.4))
    from benches.rulesets import CL2_ORDER

    misses = []
    measured = 0
    for kind in (*CL2_ORDER, "COMBO"):
        r = _rate_of(state, kind)
        if r is None:
            continue
        measured += 1
        need = 3e5 if kind in ("COMPLEX_ARRAYS", "COMBO") else 1e6
        if r < need:
            misses.append(f"{kind} {rate(r)}")
    checks.append(("every CL2 type ≥ 1,000,000 events/s (COMPLEX_ARRAYS, COMBO ≥ 300,000)",
                   "all met" if measured and not misses else "; ".join(misses) or "not measured",
                   None if not measured else not misses))
    bus = [rs for rs in state.rulesets if rs.dataset == "bus"]
    ten = _rate_of(state, "bus-10")
    top = bus[-1] if bus else None
    top_rate = _rate_of(state, top.id) if top else None
    label = f"{len(top.rules):,}" if top else "100k"
    checks.append((f"{label} rules at ≥ 80% of the 10-rule throughput"
                   + ("" if top and len(top.rules) >= 100_000 else " (the bar says 100k)"),
                   f"{top_rate / ten:.0%}" if ten and top_rate else "not measured",
                   None if not (ten and top_rate) else top_rate / ten >= 0.8))
    e = state.build.get("exact_add_rules")
    checks.append(("≥ 100,000 exact rules compiled per second",
                   rate(e["rules_per_s"]) if e else "not measured",
                   None if not e else e["rules_per_s"] >= 1e5))
    per_rule = e.get("bytes_per_rule") if e else None
    checks.append(("≤ 2 KB of memory per exact rule (RSS)",
                   f"{per_rule:,.0f} bytes" if per_rule is not None else "not measured",
                   None if per_rule is None else per_rule <= 2048))
    t = state.threads[0] if state.threads else None
    ceiling = (f" (this machine: 2 CPU-bound processes {state.cpu_ceiling:.2f}×)"
               if state.cpu_ceiling is not None else "")
    checks.append(("2 threads ≥ 1.8× one thread (batch API, citylots)",
                   f"{t['speedup']:.2f}×{ceiling}" if t else "not measured",
                   None if not t else t["speedup"] >= 1.8))
    return checks


def render(state: State, environment: dict[str, Any]) -> str:
    parts = [
        f"fastbridge bench — {environment['profile']} — fastbridge {environment['fastbridge']} "
        f"({environment['git']}), Python {environment['python']}, {environment['cpu']} × "
        f"{environment['cores']}, {environment['date']}",
        "events/s, ns/event and MB/s (of event text) are the best of "
        f"{state.profile.repeats} passes over all events, single thread, garbage collector off; "
        "'fastbridge ×' is fastbridge's batch API events/s divided by that engine's "
        "(above 1: fastbridge is faster). Pure-Python peers run against a time budget on a "
        "random sample; Rust figures are criterion medians.",
    ]
    parts.append(f"extension: {environment['extension']}")
    for f in state.files.values():
        parts.append(f"data: {f.name} {f.lines:,} lines, sha256 {f.sha256}")
    for rs in state.rulesets:
        result = state.results.get(rs.id)
        if result is not None:
            parts.append(ruleset_table(result))
    parts.append(summary_table(state))
    parts.append(scaling_tables(state))
    parts.append("")
    parts.append("━━ Peers")
    parts.append(f"   orjson: {'ran (' + state.orjson[1] + ')' if state.orjson[0] else 'skipped: ' + state.orjson[1]}")  # noqa: E501
    for peer in state.peers:
        if peer.available:
            unsupported = sorted({r.ruleset.id for r in state.results.values()
                                  if (row := r.row(peer.key)) and row.status == "unsupported"})
            parts.append(f"   {peer.title} ({peer.kind}): ran"
                         + (f"; rejects a pattern of: {', '.join(unsupported)}" if unsupported
                            else ""))
        else:
            parts.append(f"   {peer.label}: skipped: {peer.reason} — {peer.install}")
    if state.rust is not None:
        if state.rust.results:
            unsupported = sorted(rid for rid, doc in state.rust.results.items()
                                 if doc["quamina"]["status"] != "ok")
            parts.append(f"   quamina {state.rust.quamina_version} crate (Rust): ran on "
                         f"{len(state.rust.results)} rule sets (bench built "
                         f"{state.rust.built_at}, from the Rust sources of then)"
                         + (f"; rejects a pattern of: {', '.join(unsupported)}" if unsupported
                            else ""))
        if state.rust.reason:
            parts.append(f"   Rust bench: {state.rust.reason.splitlines()[0]}"
                         + (f" (log: {state.rust.log_path})" if state.rust.log_path else ""))
        if state.rust.stale:
            parts.append(f"   Rust bench: STALE: {state.rust.stale} (fastbridge's Rust API "
                         "figures are of older sources; the quamina crate's are unaffected)")
    elif not state.peers:
        parts.append("   (peers not run)")
    parts.append("")
    parts.append("━━ The bar (shared/BENCHMARKS.md)"
                 + (" — quick run: indicative only" if state.profile.name == "quick" else ""))
    for what, measured, met in bar_checks(state):
        mark = "·" if met is None else ("✓" if met else "✗")
        parts.append(f"   {mark} {what}: {measured}")
    parts.append("")
    if not state.disagreements:
        parts.append("━━ Correctness: every engine that ran agrees with the reference matcher "
                     "on every event it was checked on"
                     + (" and the planted counts hold" if any(
                         r.planted for r in state.results.values()) else "") + ".")
    else:
        parts.append("━━ CORRECTNESS: DISAGREEMENTS WITH THE REFERENCE MATCHER")
        for d in state.disagreements:
            kind = "FATAL (fastbridge)" if d.fatal else "peer"
            parts.append(f"   ✗ [{kind}] {d.engine} on {d.ruleset}: {d.events_wrong:,} of "
                         f"{d.events_checked:,} checked events differ; e.g. {d.examples[0]}")
            if d.repro:
                parts.append(f"       reproduce: {d.repro}")
    return "\n".join(parts)


# --------------------------------------------------------------------------
# JSON
# --------------------------------------------------------------------------


def _figure(f: Figure | None) -> dict[str, Any] | None:
    return None if f is None else f.as_dict()


def results_json(state: State, environment: dict[str, Any]) -> dict[str, Any]:
    return {
        "environment": environment,
        "profile": dataclasses.asdict(state.profile),
        "data": {name: {"path": str(f.path), "sha256": f.sha256, "lines": f.lines,
                        "bytes": f.bytes} for name, f in state.files.items()},
        "rulesets": {
            rid: {
                "title": r.ruleset.title, "dataset": r.ruleset.dataset,
                "rules": len(r.ruleset.rules), "events": r.events, "bytes": r.bytes,
                "counts": r.counts, "reference_counts": r.reference_counts,
                "planted": r.planted,
                "rows": [{"key": row.key, "label": row.label, "status": row.status,
                          "note": row.note, "checked": row.checked,
                          "figure": _figure(row.figure)} for row in r.rows],
            }
            for rid, r in state.results.items()
        },
        "sizes": state.sizes,
        "threads": state.threads,
        "calls": state.calls,
        "cpu_ceiling": state.cpu_ceiling,
        "build": state.build,
        "peers": {p.key: {"label": p.label, "version": p.version, "available": p.available,
                          "reason": p.reason} for p in state.peers},
        "orjson": {"available": state.orjson[0] is not None, "version_or_reason": state.orjson[1]},
        "rust": None if state.rust is None else {
            "ok": state.rust.ok, "reason": state.rust.reason,
            "quamina_version": state.rust.quamina_version, "results": state.rust.results,
            "seconds": {f"{k[0]}/{k[1]}": v for k, v in state.rust.seconds.items()},
        },
        "bar": [{"what": w, "measured": m, "met": ok} for w, m, ok in bar_checks(state)],
        "disagreements": [dataclasses.asdict(d) for d in state.disagreements],
        "step_seconds": state.step_seconds,
    }


# --------------------------------------------------------------------------
# Plot
# --------------------------------------------------------------------------


def plot(state: State, path: Path) -> Path | str:
    """The scaling curves as a PNG; returns the path, or why it was not drawn."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        return f"matplotlib is not installed ({e}); pip install 'fastbridge[bench]'"

    fig, axes = plt.subplots(2, 2, figsize=(14, 10))
    fig.suptitle(f"fastbridge bench ({state.profile.name})")

    ax = axes[0][0]
    bus = [rs for rs in state.rulesets if rs.dataset == "bus" and rs.id in state.results]
    series: dict[str, list[tuple[int, float]]] = {}
    for rs in bus:
        for row in state.results[rs.id].rows:
            if row.figure is not None and row.key != "orjson":
                series.setdefault(row.label, []).append((len(rs.rules), row.figure.events_per_s))
    for label, points in series.items():
        xs, ys = zip(*points, strict=True)
        ax.plot(xs, ys, marker="o", label=_short(label, 40))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("rules")
    ax.set_ylabel("events/s")
    ax.set_title("Throughput against rule count (bus events)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)

    ax = axes[0][1]
    if state.sizes:
        kb = [p["kb"] for p in state.sizes]
        ax.plot(kb, [p["fastbridge"]["events_per_s"] for p in state.sizes], marker="o",
                label="fastbridge events/s")
        if all(p["orjson"] for p in state.sizes):
            ax.plot(kb, [p["orjson"]["events_per_s"] for p in state.sizes], marker="s",
                    label="orjson.loads events/s")
        ax.set_xscale("log", base=2)
        ax.set_xticks(kb)
        ax.set_xticklabels([f"{k:g}" for k in kb])
        ax.set_yscale("log")
        ax.set_xlabel("event size (KB)")
        ax.set_ylabel("events/s")
        ax2 = ax.twinx()
        ax2.plot(kb, [p["fastbridge"]["mb_per_s"] for p in state.sizes], "g--", marker="^",
                 label="fastbridge MB/s")
        ax2.set_ylabel("MB/s")
        lines = ax.get_legend_handles_labels()
        lines2 = ax2.get_legend_handles_labels()
        ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize=7)
    ax.set_title("Throughput against event size (100 rules)")
    ax.grid(True, which="both", alpha=0.3)

    ax = axes[1][0]
    if state.threads:
        names = [t["workload"] for t in state.threads]
        one = [t["threads"]["1"]["events_per_s"] for t in state.threads]
        two = [t["threads"]["2"]["events_per_s"] for t in state.threads]
        inner = [t.get("rules_for_events_threads_2") for t in state.threads]
        xs = range(len(names))
        ax.bar([x - 0.27 for x in xs], one, width=0.27, label="1 thread")
        ax.bar([x for x in xs], two, width=0.27, label="2 Python threads, separate slices")
        for x, t in zip(xs, state.threads, strict=True):
            ax.annotate(f"{t['speedup']:.2f}×", (x, t["threads"]["2"]["events_per_s"]),
                        ha="center", va="bottom")
        if all(inner):
            ax.bar([x + 0.27 for x in xs], [i["events_per_s"] for i in inner if i], width=0.27,
                   label="rules_for_events(threads=2)")
            for x, i in zip(xs, inner, strict=True):
                if i:
                    ax.annotate(f"{i['speedup']:.2f}×", (x + 0.27, i["events_per_s"]),
                                ha="center", va="bottom")
        ax.set_xticks(list(xs))
        ax.set_xticklabels(names)
        ax.set_ylabel("events/s")
        ax.legend(fontsize=7)
    ax.set_title("Threads (batch API; speedup over one thread)")

    ax = axes[1][1]
    ids = [rs.id for rs in state.rulesets if rs.dataset != "bus" and rs.id in state.results]
    keys = [("fastbridge-batch", "fastbridge"), ("rust-quamina", "quamina crate"),
            ("orjson", "orjson.loads")]
    width = 0.8 / len(keys)
    for k, (key, label) in enumerate(keys):
        ys = []
        for rid in ids:
            row = state.results[rid].row(key)
            ys.append(row.figure.events_per_s if row and row.figure else 0)
        ax.bar([i + (k - 1) * width for i in range(len(ids))], ys, width=width, label=label)
    ax.set_xticks(range(len(ids)))
    ax.set_xticklabels([i.replace("_", " ").replace("EQUALS IGNORE CASE", "EIC") for i in ids],
                       rotation=60, ha="right", fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("events/s")
    ax.set_title("citylots rule sets")
    ax.legend(fontsize=7)

    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
