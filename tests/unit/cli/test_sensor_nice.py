"""`weft sensor --nice`: yields at nice 10 unless told otherwise, 0 never yields, and
anything that is not a nice value is refused before the sensor starts."""
from __future__ import annotations

import pytest

from weft.cli.main import build_parser


def parse(*argv: str):
    argv = ["sensor", "--cluster", "c1", *argv]
    return build_parser(argv).parse_args(argv)


def test_the_default_yields_and_the_environment_or_flag_changes_it(monkeypatch):
    monkeypatch.delenv("WEFT_SENSOR_NICE", raising=False)
    assert parse().nice == 10
    assert parse("--nice", "0").nice == 0
    monkeypatch.setenv("WEFT_SENSOR_NICE", "5")
    assert parse().nice == 5


@pytest.mark.parametrize("value", ["20", "-1", "high"])
def test_what_is_not_a_nice_value_is_refused(value, capsys):
    with pytest.raises(SystemExit) as exited:
        parse("--nice", value)
    assert exited.value.code == 2
    assert f"'{value}' is not a nice value from 0 to 19" in capsys.readouterr().err
