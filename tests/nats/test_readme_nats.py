"""The README's NATS example, as printed: worker processes started as the
README starts them, the Python snippet run against them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from fastbridge.nats import NatsBus

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_nats_example(nats_node: Any, tmp_path: Path) -> None:
    section = README.read_text().split("## Across processes: NATS JetStream", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    workers = [
        subprocess.Popen([sys.executable, "-m", "fastbridge.nats", role, "--servers",
                          nats_node.url, "--log-dir", str(tmp_path / "logs")],
                         stdout=subprocess.PIPE, text=True)
        for role in ("router", "deliver")
    ]  # fmt: skip
    try:
        for w in workers:
            assert w.stdout is not None and "running" in w.stdout.readline()
        namespace: dict[str, object] = {}
        exec(compile(code.group(1).replace("nats://127.0.0.1:4222", nats_node.url),
                     "README.md", "exec"), namespace)  # fmt: skip
        bus = namespace["bus"]
        assert isinstance(bus, NatsBus)
        log = tmp_path / "logs" / "orders.jsonl"
        deadline = time.monotonic() + 20
        while not log.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        (line,) = log.read_text().splitlines()
        assert json.loads(line)["detail"] == {"total": 250}
        bus.close()
    finally:
        for w in workers:
            w.terminate()
            w.wait(20)
