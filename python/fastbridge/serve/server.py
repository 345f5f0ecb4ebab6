"""The HTTP server behind ``fastbridge serve``: waitress running
:class:`~fastbridge.serve.app.EventsApp` over a bus.

waitress is a production WSGI server in pure Python with the limits we need
built in (connections, header size, body size, idle channels) and a thread
pool, which suits a bus whose storage is a SQLite connection.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import waitress
import waitress.server

from fastbridge.bus import EventBridge
from fastbridge.serve.app import EventsApp, Limits
from fastbridge.serve.sigv4 import Credentials, Verifier

ENV_KEY_ID = "FASTBRIDGE_ACCESS_KEY_ID"
ENV_SECRET = "FASTBRIDGE_SECRET_ACCESS_KEY"


class Server:
    """Serve ``bus`` on ``host:port`` (port 0: any free port).

    With ``auth=True`` every request must be signed (SigV4) with one of
    ``credentials``."""

    def __init__(
        self,
        bus: EventBridge,
        *,
        host: str = "127.0.0.1",
        port: int = 4010,
        credentials: Sequence[Credentials] = (),
        auth: bool = True,
        threads: int = 8,
        limits: Limits | None = None,
        connection_limit: int = 200,
    ) -> None:
        if auth and not credentials:
            raise ValueError("auth needs at least one access key (or pass auth=False)")
        self.bus = bus
        verifier = Verifier(list(credentials), region=bus.region) if auth else None
        limits = limits or Limits()
        self.app = EventsApp(bus, verifier, limits)
        # waitress refuses bodies above its own limit before reading them;
        # between our limit and its, the app answers with AWS's error shape.
        self._server: Any = waitress.server.create_server(
            self.app, host=host, port=port, threads=threads, ident="fastbridge",
            max_request_body_size=4 * limits.max_body_bytes, connection_limit=connection_limit,
            channel_timeout=60, clear_untrusted_proxy_headers=True,
        )  # fmt: skip
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return str(self._server.effective_host)

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def serve_forever(self) -> None:
        """Serve in this thread until SystemExit or KeyboardInterrupt (which
        a SIGTERM handler may raise); requests in progress then finish."""
        self._server.run()

    def start(self) -> Server:
        """Serve from a background thread."""
        self._thread = threading.Thread(target=self._server.run, name="fastbridge-serve",
                                        daemon=True)  # fmt: skip
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop accepting, let requests in progress finish, stop the pool."""
        if self._thread is None:  # serve_forever has returned: nothing else runs
            self._close_sockets()
            self._server.task_dispatcher.shutdown()
            return
        # Sockets are closed by the serving thread itself (closing one under
        # its select() from here raised EBADF there); then its map is emptied
        # of the trigger, so its loop ends, and the trigger closed after it.
        closed = threading.Event()
        trigger = self._server.trigger
        def in_loop() -> None:
            self._close_sockets()
            closed.set()

        trigger.pull_trigger(in_loop)
        closed.wait(10)
        for fd, channel in list(self._server._map.items()):
            if channel is trigger:
                del self._server._map[fd]
        self._server.task_dispatcher.shutdown()
        self._thread.join(10)
        self._thread = None
        trigger.close()

    def _close_sockets(self) -> None:
        self._server.close()
        for channel in list(self._server._map.values()):
            if channel is not self._server.trigger:
                channel.close()


def load_credentials(path: Path | None, store: Path | None) -> tuple[list[Credentials], str]:
    """Access keys, and where they came from: ``path`` (JSON: one object or a
    list of ``{"AccessKeyId", "SecretAccessKey"}``), else the environment
    (``FASTBRIDGE_ACCESS_KEY_ID`` / ``FASTBRIDGE_SECRET_ACCESS_KEY``), else a
    key pair generated once and kept beside the store (mode 0600)."""
    if path is not None:
        doc = json.loads(path.read_text())
        items = doc if isinstance(doc, list) else [doc]
        return [Credentials(i["AccessKeyId"], i["SecretAccessKey"]) for i in items], str(path)
    if os.environ.get(ENV_KEY_ID) and os.environ.get(ENV_SECRET):
        return [Credentials(os.environ[ENV_KEY_ID], os.environ[ENV_SECRET])], "environment"
    keep = Path(f"{store}.credentials.json") if store is not None else None
    if keep is not None and keep.exists():
        return load_credentials(keep, None)
    made = Credentials("FB" + secrets.token_hex(9).upper(), secrets.token_urlsafe(30))
    if keep is not None:
        fd = os.open(keep, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"AccessKeyId": made.access_key_id,
                       "SecretAccessKey": made.secret_access_key}, f)  # fmt: skip
        return [made], str(keep)
    return [made], "generated for this run"
