"""Where the suite keeps its data, and the two run profiles (full and quick)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
"""The repository root (``benches/`` lives right under it)."""

CACHE_ENV = "FASTBRIDGE_BENCH_CACHE"


def cache_dir() -> Path:
    """Generated data and reference answers: ``$FASTBRIDGE_BENCH_CACHE``, else
    ``$XDG_CACHE_HOME/fastbridge-bench``, else ``~/.cache/fastbridge-bench``.
    Never inside the repository."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fastbridge-bench"


@dataclass(frozen=True)
class Profile:
    """How much of everything one run does."""

    name: str
    citylots_lines: int
    """Lines of citylots / citylots2 (a prefix of the full 213,068-line file)."""
    bus_events: int
    rule_counts: tuple[int, ...]
    """Bus rule-set sizes for the rule-count scaling curve."""
    sizes_kb: tuple[float, ...]
    """Event sizes (KB) for the event-size scaling curve."""
    size_bytes_per_point: int
    """Event text matched per size point."""
    repeats: int
    """Timed passes per figure; the best one is reported."""
    seconds_per_set: float
    """No new round of passes starts after this long on one rule set."""
    peer_seconds: float
    """Time budget per pure-Python peer and rule set."""
    peer_max_rules: int
    """Pure-Python peers evaluate one pattern at a time: skip bigger rule sets."""
    peer_positives: int
    """Extra (untimed) events per peer and rule set that the reference says match."""
    build_rules: int
    """Exact rules compiled for the rules-per-second and memory figures."""
    reference_check_events: int
    """Bus / size events checked against the reference matcher (all citylots lines are)."""
    thread_seconds: float
    """Each thread figure times at least this long, its events repeated as
    needed: a shorter run measures thread start-up and scheduling."""
    rust_events: int
    """Events per rule set in the Rust bench (0: all of them)."""
    rust_pass_seconds: float
    """Fewer events per Rust pass when fastbridge would take longer than this."""
    rust_measure_seconds: float
    rust_warmup_seconds: float
    rust_build_timeout: float
    """Seconds allowed for building the Rust bench before it is skipped."""
    rust_run_timeout: float


FULL = Profile(
    name="full",
    citylots_lines=213_068,
    bus_events=20_000,
    rule_counts=(1, 10, 100, 1_000, 10_000, 100_000),
    sizes_kb=(0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256),
    size_bytes_per_point=16 << 20,
    repeats=5,
    seconds_per_set=60.0,
    peer_seconds=3.0,
    peer_max_rules=1_000,
    peer_positives=40,
    build_rules=100_000,
    reference_check_events=2_000,
    thread_seconds=1.0,
    rust_events=0,
    rust_pass_seconds=1.5,
    rust_measure_seconds=3.0,
    rust_warmup_seconds=1.0,
    rust_build_timeout=1800.0,
    rust_run_timeout=3600.0,
)

QUICK = Profile(
    name="quick",
    citylots_lines=20_000,
    bus_events=2_000,
    rule_counts=(1, 10, 100, 1_000, 10_000),
    sizes_kb=(0.5, 2, 8, 32, 128, 256),
    size_bytes_per_point=2 << 20,
    repeats=3,
    seconds_per_set=0.5,
    peer_seconds=0.12,
    peer_max_rules=100,
    peer_positives=15,
    build_rules=10_000,
    reference_check_events=300,
    thread_seconds=0.25,
    rust_events=2_000,
    rust_pass_seconds=0.03,
    rust_measure_seconds=0.2,
    rust_warmup_seconds=0.05,
    rust_build_timeout=15.0,
    rust_run_timeout=60.0,
)
