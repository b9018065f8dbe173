"""The four stages built from their factories on either store: SQLite (the default)
or a database of its own on the session's throwaway PostgreSQL server."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import nats
import pytest

import postgres_support
from weft.detect.app import build_app as build_detect
from weft.detect.config import DetectConfig
from weft.discovery.app import build_app as build_discovery
from weft.discovery.config import DiscoveryConfig
from weft.enforce.app import build_app as build_enforce
from weft.enforce.config import EnforceConfig
from weft.posture.app import build_app as build_posture
from weft.posture.config import PostureConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "stages"))   # stagekit: bus data, polling

FACTORIES = {"discovery": (DiscoveryConfig, build_discovery), "posture": (PostureConfig, build_posture),
             "detect": (DetectConfig, build_detect), "enforce": (EnforceConfig, build_enforce)}


@pytest.fixture(scope="session")
def postgres_server():
    """One PostgreSQL server for the session, stopped and removed afterwards. Skipped only
    where its binaries (or the driver) are absent; under CI, where `make setup` installs
    them, their absence fails instead of hiding every PostgreSQL test behind a skip."""
    why = postgres_support.missing()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL store tests cannot run under CI: {why}")
        pytest.skip(why)
    server = postgres_support.PostgresServer(postgres_support.bin_dir()).start()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server):
    """A new, empty database for this test alone; dropped afterwards."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path) -> str:
    """The store every stage of this test uses: one SQLite file, or one PostgreSQL
    database (stages share it as in production: each owns its tables)."""
    if request.param == "postgres":
        return request.getfixturevalue("postgres_url")
    return f"sqlite:///{tmp_path / 'store' / 'weft.db'}"


@pytest.fixture
async def nats_client(nats_server):
    nc = await nats.connect(nats_server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    yield nc
    await nc.close()


@pytest.fixture
def build_stage(tmp_path, nats_server, db_url):
    """build_stage("detect") -> an unstarted stage on this test's store; each call builds
    a new instance (a restart), on the same data dir and store."""
    def build(name: str, **settings):
        config_cls, build_app = FACTORIES[name]
        return build_app(config_cls(data_dir=tmp_path / name, nats_url=nats_server.url, http_port=0,
                                    db_url=db_url, **settings))
    return build
