"""`weft sensor --kube-metadata`: taught by --help, refused outside a pod, and pointing
attribution and enforcement at the file it keeps."""
from __future__ import annotations

import json

import pytest

from weft.cli import sensor
from weft.cli.main import CliError, build_parser


def parse(*argv: str):
    argv = ["sensor", "--cluster", "c1", *argv]
    return build_parser(argv).parse_args(argv)


def test_help_teaches_the_flag(capsys):
    with pytest.raises(SystemExit):
        parse("--help")
    assert "--kube-metadata" in capsys.readouterr().out


async def test_outside_a_pod_the_flag_is_refused(monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(CliError, match="KUBERNETES_SERVICE_HOST") as raised:
        await sensor._kube_metadata(parse("--kube-metadata"))
    assert raised.value.code == 2


async def test_the_file_defaults_to_the_data_dir_and_exists_after_a_failed_first_refresh(monkeypatch, tmp_path):
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("WEFT_DATA_DIR", str(tmp_path))
    args = parse("--kube-metadata", "--node", "node-a")
    refresher = await sensor._kube_metadata(args)   # no service account here: the refresh fails
    assert args.metadata_file == str(tmp_path / "kube-metadata.json")
    assert refresher.node == "node-a" and refresher.counts["errors"] == 1
    assert json.loads((tmp_path / "kube-metadata.json").read_text()) == {"workloads": [], "unplaced": []}


async def test_an_explicit_metadata_file_is_the_one_kept(monkeypatch, tmp_path):
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    args = parse("--kube-metadata", "--metadata-file", str(tmp_path / "m.json"))
    refresher = await sensor._kube_metadata(args)
    assert args.metadata_file == str(refresher.path) == str(tmp_path / "m.json")
