"""What every fuzz target here shares: writing a seed corpus, and the
command line (``--seeds DIR`` writes the seeds; anything else is atheris's).

A target defines ``TestOneInput(data)`` and ``seeds()`` (the texts or bytes
of its seed corpus) and ends with ``harness.main(TestOneInput, seeds)``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable

import atheris


def write_seeds(directory: str, seeds: Iterable[bytes | str]) -> int:
    """One file per seed (text as UTF-8, lone surrogates kept); how many."""
    os.makedirs(directory, exist_ok=True)
    n = 0
    for n, seed in enumerate(seeds, 1):
        data = seed if isinstance(seed, bytes) else seed.encode("utf-8", "surrogatepass")
        with open(os.path.join(directory, f"seed-{n - 1:04d}"), "wb") as f:
            f.write(data)
    return n


def main(test_one_input: Callable[[bytes], None],
         seeds: Callable[[], Iterable[bytes | str]],
         check: Callable[[], None] | None = None) -> None:  # fmt: skip
    """``--seeds DIR``: write the seed corpus and stop. Otherwise run
    ``check`` (the target's premises), then fuzz."""
    if len(sys.argv) == 3 and sys.argv[1] == "--seeds":
        print(f"{write_seeds(sys.argv[2], seeds())} seeds written to {sys.argv[2]}")
        sys.exit(0)
    if check is not None:
        check()
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
