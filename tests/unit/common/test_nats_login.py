"""How a service logs in to NATS: settings from the environment, checked at load, and
the nats.connect options they become."""
from __future__ import annotations

import argparse
import ssl

import pytest

from weft.common import bus
from weft.common.config import ServiceConfig, add_common_flags, common_kwargs


def parsed(monkeypatch, **env) -> dict:
    for k in ("WEFT_NATS_TOKEN", "WEFT_NATS_CA", "WEFT_NATS_NKEY_SEED_FILE"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    p = argparse.ArgumentParser()
    add_common_flags(p)
    return common_kwargs(p.parse_args([]))


def test_the_ca_and_the_seed_file_come_from_the_environment_only(monkeypatch, tmp_path):
    (tmp_path / "ca.pem").write_text("x")
    (tmp_path / "detect.nk").write_text("x")
    kw = parsed(monkeypatch, WEFT_NATS_CA=str(tmp_path / "ca.pem"), WEFT_NATS_NKEY_SEED_FILE=str(tmp_path / "detect.nk"))
    cfg = ServiceConfig(service="detect", **kw)
    assert (cfg.nats_ca, cfg.nats_seed_file, cfg.nats_token) == (str(tmp_path / "ca.pem"), str(tmp_path / "detect.nk"), "")


@pytest.mark.parametrize("env, error", [
    ({"WEFT_NATS_CA": "/nowhere/ca.pem"}, "WEFT_NATS_CA: /nowhere/ca.pem is not a file"),
    ({"WEFT_NATS_NKEY_SEED_FILE": "/nowhere/x.nk"}, "WEFT_NATS_NKEY_SEED_FILE: /nowhere/x.nk is not a file"),
    ({"WEFT_NATS_TOKEN": "t", "WEFT_NATS_NKEY_SEED_FILE": __file__}, "set one, not both"),
])
def test_bad_login_settings_fail_at_load_by_name(monkeypatch, env, error):
    with pytest.raises(ValueError, match=error):
        ServiceConfig(service="detect", **parsed(monkeypatch, **env))


def test_a_login_becomes_connect_options():
    assert bus.Login(token="t").options() == {"token": "t", "inbox_prefix": "_INBOX"}
    seeded = bus.login_as("posture", seed_file="/s/posture.nk").options()
    assert seeded == {"nkeys_seed": "/s/posture.nk", "inbox_prefix": "_INBOX_posture"}


def test_a_ca_makes_a_verifying_tls_context(tmp_path):
    from weft.cli import certstore
    certstore.init(tmp_path, [])
    ctx = bus.Login(ca=str(tmp_path / "ca.pem")).options()["tls"]
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    with pytest.raises(ValueError, match="NATS CA"):
        bus.tls_context(str(tmp_path / "ca.key.missing"))
