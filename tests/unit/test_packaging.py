"""A wheel carries every package under services/ (pyproject lists them by hand)."""
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_is_listed_in_pyproject():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(cfg["packages"])
    found = {"weft" + "".join("." + part for part in p.parent.relative_to(ROOT / "services").parts)
             for p in (ROOT / "services").rglob("__init__.py") if "generated" not in p.parts}
    assert found - listed == set(), "add these to [tool.setuptools] packages"
    assert listed - found == set(), "these listed packages do not exist"


def test_every_stage_ships_its_migrations():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    for stage in ("discovery", "posture", "detect", "enforce"):
        assert (ROOT / "services" / stage / "migrations" / "env.py").exists()
        assert "migrations/versions/*.py" in data[f"weft.{stage}"]
