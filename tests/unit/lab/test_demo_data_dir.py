"""Where `weft lab demo` runs: a data dir of its own, emptied at each start, unless told
where; a demo kept with --keep is never emptied from under itself."""
import pytest

from weft.cli.lab import _demo_data_dir
from weft.cli.main import CliError
from weft.common.config import default_data_dir
from weft.lab import state


@pytest.fixture
def state_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.delenv("WEFT_DATA_DIR", raising=False)
    return tmp_path


def test_by_default_the_demo_gets_its_own_dir_emptied_of_an_earlier_run(state_home):
    own = state_home / "weft-demo"
    (own / "detect.db").parent.mkdir(parents=True)
    (own / "detect.db").write_text("stories of an earlier run")
    assert _demo_data_dir(default_data_dir()) == own
    assert not own.exists()


def test_a_dir_named_by_flag_or_environment_is_used_as_it_is(state_home, monkeypatch):
    mine = state_home / "mine"
    mine.mkdir()
    (mine / "detect.db").write_text("kept")
    assert _demo_data_dir(mine) == mine and (mine / "detect.db").exists()
    monkeypatch.setenv("WEFT_DATA_DIR", str(default_data_dir()))
    assert _demo_data_dir(default_data_dir()) == default_data_dir()


def test_a_kept_demo_still_up_is_not_emptied(state_home):
    own = state_home / "weft-demo"
    state.save(state.lab_dir(own), state.LabState(namespaces=["weft-eks"]))
    with pytest.raises(CliError, match="still up"):
        _demo_data_dir(default_data_dir())
    assert state.load(state.lab_dir(own)) is not None
