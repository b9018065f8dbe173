"""nkey seeds per NATS user, and the nats-server configuration weft writes."""
from __future__ import annotations

import socket

import pytest

from weft.common import natsauth, natscreds, natsserver


def test_each_user_gets_a_fresh_private_seed_and_only_its_public_key_is_returned(tmp_path):
    first = natscreds.create(tmp_path / "seeds", natsauth.USERS)
    assert set(first) == set(natsauth.USERS) and all(k.startswith("U") and len(k) == 56 for k in first.values())
    for user in natsauth.USERS:
        path = natscreds.seed_file(tmp_path / "seeds", user)
        assert path.stat().st_mode & 0o777 == 0o600 and path.read_text().startswith("SU")
        assert natscreds.public_key(path) == first[user]
    assert (tmp_path / "seeds").stat().st_mode & 0o777 == 0o700
    assert not set(natscreds.create(tmp_path / "seeds", natsauth.USERS).values()) & set(first.values())


def test_a_file_that_is_no_seed_is_refused_by_name(tmp_path):
    (tmp_path / "x.nk").write_text("not a seed")
    with pytest.raises(ValueError, match="x.nk is not an nkey seed"):
        natscreds.public_key(tmp_path / "x.nk")


def test_the_config_speaks_tls_and_carries_the_users(tmp_path):
    conf = tmp_path / "nats.conf"
    tls = natsserver.Tls(tmp_path / "nats.pem", tmp_path / "nats.key")
    natsserver.write_config(conf, 4222, tmp_path / "js", tls=tls, authorization=natsauth.authorization_block({}))
    text = conf.read_text()
    assert f'cert_file: "{tmp_path}/nats.pem"' in text and 'authorization {\n  "users": []\n}' in text
    assert conf.stat().st_mode & 0o777 == 0o600


def test_a_token_and_users_do_not_mix(tmp_path):
    with pytest.raises(ValueError, match="token or users"):
        natsserver.write_config(tmp_path / "c", 1, tmp_path, token="t", authorization="authorization {}")


def test_a_free_port_is_below_the_ephemeral_range_and_never_picked_twice():
    """An outgoing connection takes its local port from the ephemeral range: a port
    picked there can be gone before the server binds it (a route's pool did that in CI)."""
    low = int(natsserver.EPHEMERAL_RANGE.read_text().split()[0])
    picked = [natsserver.free_port() for _ in range(50)]
    assert len(set(picked)) == 50
    assert all(1024 <= p < low for p in picked), picked


def test_a_port_in_use_is_not_picked(monkeypatch):
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        taken = held.getsockname()[1]
        monkeypatch.setattr(natsserver.random, "randrange", lambda a, b: taken)
        got = natsserver.free_port()
    assert got != taken


def test_a_server_that_exits_at_start_says_why(tmp_path):
    """Its port bound (not listening, so nothing answers in its place): the server exits,
    and the error carries its last words."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        with pytest.raises(natsserver.NatsUnavailable, match="(?s)exited with code 1.*address already in use"):
            natsserver.start(tmp_path / "nats", port=port, log_file=tmp_path / "nats.log")


def test_a_server_whose_port_another_server_answers_is_not_taken_for_started(tmp_path):
    """Without its own name checked, the first server's answer would pass for the second's."""
    first, url = natsserver.start(tmp_path / "first")
    try:
        with pytest.raises(natsserver.NatsUnavailable, match="(?s)exited with code 1.*address already in use"):
            natsserver.start(tmp_path / "second", port=int(url.rsplit(":", 1)[1]), log_file=tmp_path / "second.log")
    finally:
        natsserver.stop(first)
