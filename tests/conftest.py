"""Shared fixtures: a real nats-server with JetStream per test (fast: ~15 ms to start)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from weft.common import natsserver

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FIXTURES = SHARED / "fixtures"


@pytest.fixture
def nats_server(tmp_path):
    """A fresh nats-server; yields an object with .url, .restart() and .stop()."""
    class Server:
        def __init__(self):
            self.port = natsserver.free_port()
            self.dir = tmp_path / "nats"
            self.proc, self.url = natsserver.start(self.dir, self.port)

        def stop(self):
            natsserver.stop(self.proc)

        def restart(self):
            self.stop()
            self.proc, self.url = natsserver.start(self.dir, self.port)

    server = Server()
    yield server
    server.stop()


@pytest.fixture
def fixtures_dir() -> Path:
    if not FIXTURES.exists():
        pytest.fail(f"shared fixtures not found at {FIXTURES}")
    return FIXTURES
