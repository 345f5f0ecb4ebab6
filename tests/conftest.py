"""Shared test settings and fixtures: the hypothesis profile, and real
nats-server processes for the NATS backend (fastbridge.nats.local: free
loopback ports, a store directory each, stopped by PID).

nats-server comes from Debian (`make install` fetches it when missing).
Where it cannot be found the NATS tests are skipped with that reason —
unless FASTBRIDGE_REQUIRE_NATS=1 (as in CI), where that is a failure.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from fastbridge.nats import NatsBus
from fastbridge.nats.local import NATS_SERVER, Node, cluster

# CI runs the property tests with a fixed seed, so a red CI is reproducible
# (`CI=true make check`); local runs explore new examples every time.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

_prefixes = itertools.count(1)


def need_nats_server() -> None:
    if NATS_SERVER is None:
        reason = "nats-server is not installed (make install fetches it from Debian)"
        if os.environ.get("FASTBRIDGE_REQUIRE_NATS") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def nats_shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """One server for the whole run; tests on it keep apart by prefix."""
    need_nats_server()
    node = Node("shared", tmp_path_factory.mktemp("nats") / "shared").start()
    yield node
    node.stop()


@pytest.fixture
def nats_bus(request: pytest.FixtureRequest) -> Iterator[Callable[..., NatsBus]]:
    """Makes NatsBus objects on the shared server, each with streams and
    buckets of its own (a fresh prefix); deletes them and closes the buses
    after the test."""
    made: list[NatsBus] = []

    def make(**options: Any) -> NatsBus:
        url = request.getfixturevalue("nats_shared").url
        made.append(NatsBus(url, prefix=f"T{next(_prefixes)}", **options))
        return made[-1]

    yield make
    for bus in made:
        if not bus.nats.closed:
            bus.nats.destroy()
        bus.close()


@pytest.fixture
def nats_node(tmp_path: Path) -> Iterator[Node]:
    """A server of this test's own (for tests that kill or restart it)."""
    need_nats_server()
    node = Node("n1", tmp_path / "n1").start()
    yield node
    node.stop()


@pytest.fixture
def nats_cluster(tmp_path: Path) -> Iterator[list[Node]]:
    need_nats_server()
    nodes = cluster(tmp_path)
    for node in nodes:
        node.start()
    yield nodes
    for node in nodes:
        node.stop()
