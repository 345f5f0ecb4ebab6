"""The README's boto3 snippet works against a running server, as printed
(only the endpoint and the keys are filled in)."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from fastbridge.bus import EventBridge
from fastbridge.serve import Credentials, Server

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_boto3_snippet(tmp_path: Path) -> None:
    section = README.read_text().split("## `fastbridge serve`", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    bus = EventBridge(tmp_path / "r.db", durability="normal")
    server = Server(bus, port=0, credentials=[Credentials("AKREADME", "readme-secret")]).start()
    try:
        source = (match.group(1)
                  .replace("http://127.0.0.1:4010", server.endpoint)
                  .replace('"ACCESS_KEY"', '"AKREADME"')
                  .replace('"SECRET_KEY"', '"readme-secret"'))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(source, "README.md", "exec"), {})
        assert out.getvalue() == "big\n"
        assert bus.describe_rule(Name="big", EventBusName="orders")["State"] == "ENABLED"
    finally:
        server.close()
        bus.close()
