"""Real nats-server processes for the JetStream tests (fastbridge.nats.local):
started by the tests on free loopback ports, each with its own store
directory, stopped by PID.

nats-server comes from Debian (`make install` fetches it when missing); where
it cannot be found the tests are skipped with that reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fastbridge.nats.local import NATS_SERVER, Node, cluster


@pytest.fixture
def nats_node(tmp_path: Path) -> Iterator[Node]:
    if NATS_SERVER is None:
        pytest.skip("nats-server is not installed (make install fetches it from Debian)")
    node = Node("n1", tmp_path / "n1").start()
    yield node
    node.stop()


@pytest.fixture
def nats_cluster(tmp_path: Path) -> Iterator[list[Node]]:
    if NATS_SERVER is None:
        pytest.skip("nats-server is not installed (make install fetches it from Debian)")
    nodes = cluster(tmp_path)
    for node in nodes:
        node.start()
    yield nodes
    for node in nodes:
        node.stop()
