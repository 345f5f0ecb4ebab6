"""``fastbridge serve`` as users run it: a process that prints its endpoint and
credentials, stops cleanly on SIGTERM, and loses no accepted event; and two
such processes serving one bus on NATS JetStream."""

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
from typing import TYPE_CHECKING, Any

import boto3
import botocore.config

if TYPE_CHECKING:
    from fastbridge.nats.local import Node


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(store: Path, port: int, *more: str, keys: tuple[str, str] = ("", ""),
          cwd: Path | None = None) -> tuple[subprocess.Popen[str], dict[str, str]]:  # fmt: skip
    where = ["--store", str(store)] if not more else list(more)
    proc = subprocess.Popen(
        [sys.executable, "-m", "fastbridge.cli", "serve", *where, "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
        env={**os.environ, "FASTBRIDGE_ACCESS_KEY_ID": keys[0],
             "FASTBRIDGE_SECRET_ACCESS_KEY": keys[1]},
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
            printed["endpoint_line"] = line
        if len(printed) == 4:
            break
    assert len(printed) == 4, (printed, proc.stderr.read() if proc.poll() is not None else "")
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


class Hook:
    """A webhook on loopback that records the ids of the events posted to it."""

    def __init__(self, port: int) -> None:
        self.got: list[str] = []
        got = self.got

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"])))["id"])
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.port = port
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, ids: list[str], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not set(ids) <= set(self.got) and time.monotonic() < deadline:
            time.sleep(0.1)
        missing = set(ids) - set(self.got)
        assert not missing, f"{len(missing)} accepted events never arrived"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def api_destination(events: Any, port: int) -> str:
    conn = events.create_connection(
        Name="c",
        AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}},
    )
    dest = events.create_api_destination(
        Name="hook",
        ConnectionArn=conn["ConnectionArn"],
        HttpMethod="POST",
        InvocationEndpoint=f"http://127.0.0.1:{port}/in",
    )
    return str(dest["ApiDestinationArn"])


def test_sigterm_keeps_every_accepted_event(tmp_path: Path) -> None:
    store = tmp_path / "bus.db"
    hook_port = free_port()  # the webhook is down while the first server runs
    proc, printed = start(store, free_port())
    try:
        events = events_client(printed)
        dest = api_destination(events, hook_port)
        events.put_rule(Name="all", EventPattern='{"source": ["shop"]}')
        events.put_targets(Rule="all", Targets=[{"Id": "h", "Arn": dest}])
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
    hook = Hook(hook_port)
    proc, again = start(store, free_port())
    try:
        assert again["key"] == printed["key"]  # the generated key pair is kept with the store
        hook.wait_for(ids)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        hook.close()


def test_two_servers_share_one_bus_on_nats(nats_node: Node, tmp_path: Path) -> None:
    """Rules made through one front, events put through another: one bus."""
    hook = Hook(free_port())
    keys = ("AKIDSHARED", "shared-secret")
    fronts = [start(tmp_path, free_port(), "--backend", nats_node.url, keys=keys, cwd=tmp_path)
              for _ in range(2)]  # fmt: skip
    try:
        a, b = (events_client(printed) for _, printed in fronts)
        assert "store nats://" in fronts[0][1]["endpoint_line"]
        a.put_rule(Name="all", EventPattern='{"source": ["shop"]}')
        a.put_targets(Rule="all", Targets=[{"Id": "h", "Arn": api_destination(a, hook.port)}])
        assert b.describe_rule(Name="all")["EventPattern"] == '{"source": ["shop"]}'
        ids = []
        for i in range(10):
            entries = [{"Source": "shop", "DetailType": "t", "Detail": json.dumps({"n": i})}] * 5
            ids += [e["EventId"] for e in b.put_events(Entries=entries)["Entries"]]
        hook.wait_for(ids)
    finally:
        for proc, _ in fronts:
            proc.send_signal(signal.SIGTERM)
        for proc, _ in fronts:
            assert proc.wait(30) == 0
        hook.close()
