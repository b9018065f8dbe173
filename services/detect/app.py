"""detect as a service: build_app(config) is the one factory __main__ and tests call."""
from __future__ import annotations

from pathlib import Path

from weft.common import subjects
from weft.common.consuming import ConsumingStage
from weft.detect import store
from weft.detect.config import DetectConfig
from weft.detect.handlers import Handlers


class DetectStage(ConsumingStage):
    name = "detect"
    migrations = Path(__file__).parent / "migrations"
    reads = (subjects.all_of(subjects.EVENTS), subjects.all_of(subjects.SIGNALS), subjects.INVENTORY,
             subjects.all_of(subjects.PROFILES), subjects.IDENTITY)
    received = store.Received
    handlers_factory = Handlers


def build_app(config: DetectConfig) -> DetectStage:
    return DetectStage(config)
