"""``fastbridge serve`` as users run it: a process that prints its endpoint and
credentials, stops cleanly on SIGTERM, and loses no accepted event."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import botocore.config


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(store: Path, port: int) -> tuple[subprocess.Popen[str], dict[str, str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "fastbridge.cli", "serve", "--store", str(store),
         "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "FASTBRIDGE_ACCESS_KEY_ID": "", "FASTBRIDGE_SECRET_ACCESS_KEY": ""},
    )  # fmt: skip
    assert proc.stdout is not None
    printed: dict[str, str] = {}
    for _ in range(5):
        line = proc.stdout.readline()
        if "access key:" in line:
            printed["key"] = line.split(":", 1)[1].strip()
        if "secret key:" in line:
            printed["secret"] = line.split(":", 1)[1].split()[0]
        if line.startswith("fastbridge serve: http://"):
            printed["endpoint"] = line.split()[2]
        if len(printed) == 3:
            break
    assert len(printed) == 3, (printed, proc.stderr.read() if proc.poll() is not None else "")
    return proc, printed


def events_client(printed: dict[str, str]) -> Any:
    return boto3.client(
        "events",
        endpoint_url=printed["endpoint"],
        region_name="us-east-1",
        aws_access_key_id=printed["key"],
        aws_secret_access_key=printed["secret"],
        config=botocore.config.Config(retries={"max_attempts": 1}),
    )


def test_sigterm_keeps_every_accepted_event(tmp_path: Path) -> None:
    store = tmp_path / "bus.db"
    hook_port = free_port()  # the webhook is down while the first server runs
    proc, printed = start(store, free_port())
    try:
        events = events_client(printed)
        conn = events.create_connection(
            Name="c",
            AuthorizationType="API_KEY",
            AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}},
        )
        dest = events.create_api_destination(
            Name="hook",
            ConnectionArn=conn["ConnectionArn"],
            HttpMethod="POST",
            InvocationEndpoint=f"http://127.0.0.1:{hook_port}/in",
        )
        events.put_rule(Name="all", EventPattern='{"source": ["shop"]}')
        events.put_targets(Rule="all", Targets=[{"Id": "h", "Arn": dest["ApiDestinationArn"]}])
        ids = []
        for i in range(20):
            out = events.put_events(
                Entries=[
                    {"Source": "shop", "DetailType": "t", "Detail": json.dumps({"n": i * 5 + k})}
                    for k in range(5)
                ]
            )
            ids += [e["EventId"] for e in out["Entries"]]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    assert proc.stdout is not None
    assert "fastbridge serve: stopped" in proc.stdout.read()
    # the same store, a restarted server, and now the webhook answers
    got: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"])))["id"])
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    hook = ThreadingHTTPServer(("127.0.0.1", hook_port), Handler)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    proc, again = start(store, free_port())
    try:
        assert again["key"] == printed["key"]  # the generated key pair is kept with the store
        deadline = time.monotonic() + 60
        while not set(ids) <= set(got) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert set(ids) <= set(got), f"{len(set(ids) - set(got))} accepted events never arrived"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        hook.shutdown()
        hook.server_close()
