"""Posture parsing tests: the hand-built data beside them, and loading one data file."""
from __future__ import annotations

from pathlib import Path

import pytest

from weft.posture.core.load import LoadResult, load_files

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def data() -> Path:
    return DATA


@pytest.fixture
def load():
    """load("declarations/x.json") -> LoadResult of that file in tests/unit/posture/data."""
    def _load(name: str, **kwargs) -> LoadResult:
        return load_files([DATA / name], **kwargs)
    return _load
