"""A wheel carries every package under services/ (pyproject lists them by hand) and
the code `make proto` generates."""
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

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


@pytest.mark.slow
def test_a_wheel_carries_the_generated_protobuf_code(tmp_path):
    """Built from a copy of the tree as `make proto` leaves it: every generated module is
    in the wheel, beside weft.common, where weft/__init__.py puts it on weft's path."""
    generated = sorted(p.name for p in (ROOT / "services/common/generated/weft/v1").glob("*.py*"))
    assert any(n.endswith("_pb2_grpc.py") for n in generated), "run make proto first"
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(ROOT / "pyproject.toml", src)
    shutil.copytree(ROOT / "services", src / "services", ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                            "--no-cache-dir", "--wheel-dir", str(tmp_path / "out"), str(src)],
                           capture_output=True, text=True, timeout=240)
    assert built.returncode == 0, built.stderr[-2000:]
    [wheel] = (tmp_path / "out").glob("weft-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"weft/common/generated/weft/v1/{n}" for n in generated} <= names
    assert "weft/sensor/bpf/tls.c" in names
