"""Stages built from their factories against a real nats-server: an open one, and one
configured as `weft up`'s (TLS, each stage logged in as its own user, allowed only its
own subjects), so every stage test also proves the stage works under its permissions."""
from __future__ import annotations

import nats
import pytest
from secure_nats import SecureNats

from weft.detect.app import build_app as build_detect
from weft.detect.config import DetectConfig
from weft.enforce.app import build_app as build_enforce
from weft.enforce.config import EnforceConfig
from weft.posture.app import build_app as build_posture
from weft.posture.config import PostureConfig

FACTORIES = {"detect": (DetectConfig, build_detect), "posture": (PostureConfig, build_posture),
             "enforce": (EnforceConfig, build_enforce)}


@pytest.fixture(params=["open", "users"])
def nats_server(request, tmp_path):
    if request.param == "open":
        yield request.getfixturevalue("nats_server")
        return
    server = SecureNats(tmp_path / "secure-nats")
    yield server
    server.stop()
    assert not server.violations(), "a stage went beyond its NATS permissions"


@pytest.fixture
async def connect_as(nats_server):
    """connect_as(user) -> a connection logged in as that NATS user (any user when open);
    the test's own client is the operator, `cli`."""
    opened = []

    async def connect(user: str):
        options = dict(max_reconnect_attempts=-1, reconnect_time_wait=0.2)
        nc = (await nats_server.connect(user, **options) if isinstance(nats_server, SecureNats)
              else await nats.connect(nats_server.url, **options))
        opened.append(nc)
        return nc
    yield connect
    for nc in opened:
        await nc.close()


@pytest.fixture
async def nats_client(connect_as):
    return await connect_as("cli")


@pytest.fixture
def build_stage(tmp_path, nats_server):
    """build_stage("detect") -> an unstarted stage with its own data dir and any free HTTP port."""
    def build(name: str, **settings):
        config_cls, build_app = FACTORIES[name]
        if isinstance(nats_server, SecureNats):
            settings = dict(nats_ca=nats_server.ca, nats_seed_file=nats_server.seed(name), **settings)
        return build_app(config_cls(data_dir=tmp_path / name, nats_url=nats_server.url, http_port=0, **settings))
    return build
