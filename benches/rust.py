"""Runs the Rust bench (``benches/quamina_peer.rs``) and reads its figures.

The suite writes a manifest (data files, rule sets), builds the bench with
``cargo bench --no-run`` (its own target directory, so it neither waits for
nor disturbs other cargo builds), runs it, and reads back

- ``results.json`` written by the bench: build seconds and per-rule match
  counts for fastbridge's Rust API and for the ``quamina`` crate, or why an
  engine refused a rule set;
- criterion's ``estimates.json`` for each (rule set, engine): the median time
  of one pass over the events.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benches.config import ROOT

BENCH = "quamina_peer"
TARGET_DIR = ROOT / "target" / "bench-peer"


@dataclass
class RustRun:
    ok: bool
    reason: str = ""
    results: dict[str, Any] = field(default_factory=dict)
    """Rule set id -> {"events", "bytes", "fastbridge": {...}, "quamina": {...}}."""
    seconds: dict[tuple[str, str], float] = field(default_factory=dict)
    """(rule set id, engine) -> median seconds per pass."""
    quamina_version: str = "?"
    log_path: Path | None = None
    stale: str = ""
    """Set when the executable is older than the sources (the build was skipped)."""
    built_at: str = ""
    """When the executable that ran was built (fastbridge's Rust sources as of then)."""


def _run(cmd: list[str], env: dict[str, str], timeout: float, log: Path) -> tuple[int | None, str]:
    """Runs ``cmd`` in its own process group; on timeout kills that group.
    Returns (exit status or None on timeout, the output's tail)."""
    with open(log, "ab") as out:
        out.write(f"$ {' '.join(cmd)}\n".encode())
        out.flush()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            status: int | None = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            status = None
    tail = log.read_text(errors="replace").splitlines()[-25:]
    return status, "\n".join(tail)


def build(timeout: float, log: Path) -> tuple[bool, str, float]:
    """``cargo bench --no-run``: (built, why not, seconds)."""
    cargo = shutil.which("cargo")
    if cargo is None:
        return False, "cargo is not on PATH", 0.0
    env = dict(os.environ, CARGO_TARGET_DIR=str(TARGET_DIR))
    start = time.perf_counter()
    status, tail = _run([cargo, "bench", "--bench", BENCH, "--no-run"], env, timeout, log)
    seconds = time.perf_counter() - start
    if status is None:
        return False, (
            f"building the Rust bench took longer than {timeout:.0f} s (stopped; what was "
            f"compiled is kept, so a later run goes on from there). Build it once with "
            f"`CARGO_TARGET_DIR=target/bench-peer cargo bench --bench {BENCH} --no-run`"
        ), seconds
    if status != 0:
        return False, f"cargo bench --no-run failed (status {status}):\n{tail}", seconds
    return True, "", seconds


def sources_newer_than(path: Path) -> bool:
    """Whether any input of the bench (fastbridge's Rust sources, the bench,
    the manifests) changed after ``path`` was written."""
    built = path.stat().st_mtime
    inputs = [*(ROOT / "rust").rglob("*.rs"), ROOT / "benches" / f"{BENCH}.rs",
              ROOT / "Cargo.toml", ROOT / "Cargo.lock"]
    return any(p.exists() and p.stat().st_mtime > built for p in inputs)


def newest_binary() -> Path | None:
    """The most recently built bench executable, if any."""
    deps = TARGET_DIR / "release" / "deps"
    found = [p for p in deps.glob(f"{BENCH}-*")
             if p.is_file() and not p.suffix and os.access(p, os.X_OK)]
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def run(manifest: dict[str, Any], out_dir: Path, run_timeout: float,
        stale: str = "") -> RustRun:
    """Runs the newest bench executable on ``manifest``. ``stale`` says why a
    fresh build is missing (the run then reports it: the quamina figures are
    unaffected, fastbridge's Rust API figures are of older sources)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    log = out_dir / "cargo.log"
    binary = newest_binary()
    if binary is None:
        return RustRun(False, stale or "the Rust bench is not built", log_path=log)
    results_path = out_dir / "results.json"
    manifest = dict(manifest, results=str(results_path))
    manifest_path = out_dir / "manifest.json"
    manifest_path.write_text(json.dumps(manifest))
    criterion_home = out_dir / "criterion"
    env = dict(os.environ, FASTBRIDGE_BENCH_MANIFEST=str(manifest_path),
               CRITERION_HOME=str(criterion_home))
    status, tail = _run([str(binary), "--bench"], env, run_timeout, log)
    if status is None:
        reason = f"the Rust bench took longer than {run_timeout:.0f} s (stopped)"
    elif status != 0:
        reason = f"the Rust bench failed (status {status}):\n{tail}"
    else:
        reason = ""
    if not results_path.exists():
        return RustRun(False, reason or "the Rust bench wrote no results", log_path=log)
    doc = json.loads(results_path.read_text())
    seconds: dict[tuple[str, str], float] = {}
    for ruleset_id in doc.get("rulesets", {}):
        for engine in ("fastbridge", "quamina"):
            estimates = criterion_home / ruleset_id / engine / "new" / "estimates.json"
            if estimates.exists():
                est = json.loads(estimates.read_text())
                seconds[(ruleset_id, engine)] = est["median"]["point_estimate"] / 1e9
    built_at = time.strftime("%Y-%m-%d %H:%M", time.localtime(binary.stat().st_mtime))
    return RustRun(
        ok=not reason,
        reason=reason,
        results=doc.get("rulesets", {}),
        seconds=seconds,
        quamina_version=doc.get("quamina_version", "?"),
        log_path=log,
        stale=f"{stale.splitlines()[0]} — ran the build of {built_at}" if stale else "",
        built_at=built_at,
    )
