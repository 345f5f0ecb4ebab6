"""The README's bus example runs as printed, and does what it says."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_bus_example(tmp_path: Path) -> None:
    section = README.read_text().split("## The bus", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    source = code.group(1)
    assert len(source.strip().splitlines()) <= 12
    cwd = os.getcwd()
    os.chdir(tmp_path)
    out = io.StringIO()
    try:
        namespace: dict[str, object] = {}
        with contextlib.redirect_stdout(out):
            exec(compile(source, "README.md", "exec"), namespace)
            bus = namespace["bus"]
            assert bus.wait_idle(10)  # type: ignore[attr-defined]
            bus.close()  # type: ignore[attr-defined]
    finally:
        os.chdir(cwd)
    assert out.getvalue() == "big order 7\n"
    assert (tmp_path / "events.db").exists()
