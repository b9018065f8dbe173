"""Stages built from their factories against a real nats-server."""
from __future__ import annotations

import nats
import pytest

from weft.detect.app import build_app as build_detect
from weft.detect.config import DetectConfig
from weft.enforce.app import build_app as build_enforce
from weft.enforce.config import EnforceConfig
from weft.posture.app import build_app as build_posture
from weft.posture.config import PostureConfig

FACTORIES = {"detect": (DetectConfig, build_detect), "posture": (PostureConfig, build_posture),
             "enforce": (EnforceConfig, build_enforce)}


@pytest.fixture
async def nats_client(nats_server):
    nc = await nats.connect(nats_server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    yield nc
    await nc.close()


@pytest.fixture
def build_stage(tmp_path, nats_server):
    """build_stage("detect") -> an unstarted stage with its own data dir and any free HTTP port."""
    def build(name: str, **settings):
        config_cls, build_app = FACTORIES[name]
        return build_app(config_cls(data_dir=tmp_path / name, nats_url=nats_server.url, http_port=0, **settings))
    return build
