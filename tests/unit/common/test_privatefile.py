"""privatefile.write: 0600 from creation, replaced whole, nothing left behind on failure."""
import os
import stat

import pytest

from weft.common import privatefile


def test_a_file_is_written_owner_only_and_replaced_whole(tmp_path):
    old = os.umask(0o022)
    try:
        path = tmp_path / "run" / "weft.json"
        privatefile.write(path, b"first")
        privatefile.write(path, b"second")
    finally:
        os.umask(old)
    assert path.read_bytes() == b"second"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["weft.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "seed.nk"
    privatefile.write(path, b"good")
    with pytest.raises(TypeError):
        privatefile.write(path, "not bytes")   # type: ignore[arg-type]
    assert path.read_bytes() == b"good" and [p.name for p in tmp_path.iterdir()] == ["seed.nk"]
