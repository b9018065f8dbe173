"""posture as a service: build_app(config) is the one factory __main__ and tests call."""
from __future__ import annotations

from pathlib import Path

from weft.common import subjects
from weft.common.consuming import ConsumingStage
from weft.posture import store
from weft.posture.config import PostureConfig


class PostureStage(ConsumingStage):
    name = "posture"
    migrations = Path(__file__).parent / "migrations"
    reads = (subjects.DECLARATIONS, subjects.all_of(subjects.AUDIT), subjects.INVENTORY,
             subjects.all_of(subjects.PROFILES))
    received = store.Received


def build_app(config: PostureConfig) -> PostureStage:
    return PostureStage(config)
