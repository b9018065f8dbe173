"""enforce as a service: build_app(config) is the one factory __main__ and tests call."""
from __future__ import annotations

from pathlib import Path

from weft.common import subjects
from weft.common.consuming import ConsumingStage
from weft.enforce import store
from weft.enforce.config import EnforceConfig


class EnforceStage(ConsumingStage):
    name = "enforce"
    migrations = Path(__file__).parent / "migrations"
    reads = (subjects.INVENTORY, subjects.all_of(subjects.PROFILES), subjects.STORIES)
    received = store.Received


def build_app(config: EnforceConfig) -> EnforceStage:
    return EnforceStage(config)
