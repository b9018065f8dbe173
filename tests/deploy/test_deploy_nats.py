"""deploy/'s NATS: TLS to clients, one nkey user per service with exactly the permissions
weft.common.natsauth gives it (the committed authorization.conf is what
`python -m weft.cli.deploy_nats authorization` prints), no shared token, a configuration
nats-server accepts, and streams made by the operator's user alone."""
from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path

import nkeys
import pytest

from weft.cli import deploy_nats, ensure_streams
from weft.common import bus, devca, natsauth, natscreds, natsserver, subjects

AUTHORIZATION = Path(__file__).resolve().parents[2] / "deploy" / "base" / "nats" / "authorization.conf"


def nats_files(r) -> dict[str, str]:
    return r.configmap("weft-nats-config", "weft")["data"]


def public_key() -> str:
    kp = nkeys.from_seed(nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER))
    return kp.public_key.decode()


def tls_mount(r) -> str:
    [m] = [m for m in r.container("nats")["volumeMounts"] if m["name"] == "tls"]
    return m["mountPath"]


# --- the users -------------------------------------------------------------------------------
def test_committed_authorization_is_what_natsauth_renders(renders, target):
    expected = deploy_nats.authorization()
    assert AUTHORIZATION.read_text() == expected, \
        "regenerate: python -m weft.cli.deploy_nats authorization > deploy/base/nats/authorization.conf"
    assert nats_files(renders(target))["authorization.conf"] == expected
    assert "include ./authorization.conf" in nats_files(renders(target))["nats.conf"].splitlines()


def test_every_user_and_permission_of_natsauth_is_in_the_block():
    text = AUTHORIZATION.read_text()
    for user in natsauth.USERS:
        assert f'"nkey": ${deploy_nats.env_var(user)},' in text
        for subject in (natsauth.permissions(user)["publish"]["allow"]
                        + natsauth.permissions(user)["subscribe"]["allow"]):
            assert f'"{subject}"' in text


def test_rendering_with_written_in_keys_is_natsauth_s_own_block(tmp_path):
    keys = deploy_nats.make_seeds(tmp_path)
    assert set(keys) == set(natsauth.USERS)
    for user, key in keys.items():
        assert natscreds.public_key(tmp_path / f"{user}.nk") == key
        assert (tmp_path / f"{user}.pub").read_text() == key
        assert (tmp_path / f"{user}.nk").stat().st_mode & 0o077 == 0
    rendered = deploy_nats.authorization(deploy_nats.read_public_keys(tmp_path))
    assert rendered == deploy_nats.HEADER + natsauth.authorization_block(keys) + "\n"


def test_the_servers_get_each_user_s_public_key_and_no_seed(renders, target):
    r = renders(target)
    env = r.env("nats")
    keys = {k: v for k, v in env.items() if k.startswith("NKEY_")}
    assert keys == {deploy_nats.env_var(u): f"secret:weft-nats-{u}/nkey" for u in natsauth.USERS}
    spec = r.workload("nats")["spec"]["template"]["spec"]
    mounted = {v["secret"]["secretName"] for v in spec["volumes"] if "secret" in v}
    assert mounted == {"weft-nats-tls"}


# --- TLS, and no token -----------------------------------------------------------------------
def test_nats_speaks_tls_to_clients_and_has_no_shared_token(renders, target):
    r = renders(target)
    files = nats_files(r)
    conf = files["nats.conf"]
    tls = conf[conf.index("\ntls {"):]
    tls = tls[:tls.index("}")]
    mount = tls_mount(r)
    assert f"cert_file: {mount}/tls.crt" in tls and f"key_file: {mount}/tls.key" in tls
    [volume] = [v for v in r.workload("nats")["spec"]["template"]["spec"]["volumes"] if v["name"] == "tls"]
    assert volume["secret"]["secretName"] == "weft-nats-tls"
    assert "verify" not in tls, "clients prove who they are with nkeys, not certificates"
    for name, text in files.items():
        assert "token" not in text.lower(), f"{name} still has a token"
    for w in r.workloads():
        spec = w["spec"]["template"]["spec"]
        for c in spec.get("initContainers", []) + spec["containers"]:
            for e in c.get("env", []):
                assert e["name"] != "WEFT_NATS_TOKEN", f"{w['metadata']['name']}/{c['name']}"
                ref = e.get("valueFrom", {}).get("secretKeyRef", {})
                assert ref.get("name") != "weft-nats", "the shared NATS token Secret is gone"


def check(files: dict[str, str], env: dict[str, str], tmp_path: Path, mount: str) -> subprocess.CompletedProcess:
    """`nats-server -t` on the ConfigMap's files, the TLS Secret's files (tls.crt, tls.key,
    ca.crt, as cert-manager writes them) at a stand-in path."""
    tls_dir = tmp_path / "tls"
    tls_dir.mkdir(exist_ok=True)
    ca = devca.create_ca()
    devca.save(devca.issue_peer(ca, ["weft-nats.weft.svc", "*.weft-nats-headless"]),
               tls_dir / "tls.crt", tls_dir / "tls.key")
    (tls_dir / "ca.crt").write_bytes(ca.cert_pem())
    conf_dir = tmp_path / "etc-nats"
    conf_dir.mkdir(exist_ok=True)
    for name, text in files.items():
        (conf_dir / name).write_text(text.replace(f"{mount}/", f"{tls_dir}/"))
    return subprocess.run([natsserver.binary(), "-t", "-c", str(conf_dir / "nats.conf")], capture_output=True,
                          text=True, timeout=30, env={"PATH": os.environ.get("PATH", ""), **env})


def test_nats_config_is_accepted_by_nats_server_with_the_pod_environment(renders, target, tmp_path):
    r = renders(target)
    files, mount = nats_files(r), tls_mount(r)
    assert set(files) == {"nats.conf", "authorization.conf"}
    env = {"POD_NAME": "weft-nats-0", **{deploy_nats.env_var(u): public_key() for u in natsauth.USERS}}
    assert set(env) == {k for k in r.env("nats") if k in env}, "the pod sets every variable the config reads"
    ok = check(files, env, tmp_path, mount)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # the keys really come from the pod's environment, and nats-server checks them
    missing = check(files, {k: v for k, v in env.items() if k != "NKEY_POSTURE"}, tmp_path, mount)
    assert missing.returncode != 0 and "NKEY_POSTURE" in missing.stdout + missing.stderr
    bad = check(files, {**env, "NKEY_DETECT": "not-a-key"}, tmp_path, mount)
    assert bad.returncode != 0 and "nkey" in bad.stdout + bad.stderr
    # the routes' CA is read from the Secret too (cluster { tls { ca_file } })
    (tmp_path / "tls" / "ca.crt").unlink()
    no_ca = subprocess.run([natsserver.binary(), "-t", "-c", str(tmp_path / "etc-nats" / "nats.conf")],
                           capture_output=True, text=True, timeout=30, env={"PATH": "", **env})
    assert no_ca.returncode != 0 and "ca.crt" in no_ca.stdout + no_ca.stderr


# --- streams: the operator creates, the stages wait ---------------------------------------------
@pytest.fixture
def secured_nats(tmp_path):
    """nats-server with TLS and the deploy's users (keys written in): (url, seeds dir, CA)."""
    seeds = tmp_path / "seeds"
    keys = deploy_nats.make_seeds(seeds)
    ca = devca.create_ca()
    devca.save(ca, tmp_path / "ca.pem", tmp_path / "ca.key")
    devca.save(devca.issue_server(ca, ["127.0.0.1"]), tmp_path / "nats.pem", tmp_path / "nats.key")
    block = deploy_nats.authorization(keys)
    proc, url = natsserver.start(tmp_path / "nats", tls=natsserver.Tls(tmp_path / "nats.pem", tmp_path / "nats.key"),
                                 authorization=block[len(deploy_nats.HEADER):])
    yield url, seeds, str(tmp_path / "ca.pem")
    natsserver.stop(proc)


def test_streams_are_made_by_the_operator_and_awaited_by_each_stage(secured_nats):
    url, seeds, ca = secured_nats

    def run(user: str, timeout: float) -> bool:
        login = bus.login_as(user, seed_file=str(natscreds.seed_file(seeds, user)), ca=ca)
        return asyncio.run(ensure_streams.run(url, user, login, timeout))

    assert not run("posture", 0.5), "no streams yet: a stage waits, and cannot make them"
    assert run(natsauth.OPERATOR, 30)
    for service in natsauth.SERVICES:
        assert run(service, 10), service

    async def names() -> set[str]:
        login = bus.login_as(natsauth.OPERATOR, seed_file=str(natscreds.seed_file(seeds, natsauth.OPERATOR)), ca=ca)
        nc = await bus.connect(url, "check", login)
        try:
            return {s.config.name for s in await nc.jetstream().streams_info()}
        finally:
            await nc.close()
    assert asyncio.run(names()) == {s.name for s in subjects.STREAMS} | {f"KV_{b}" for b in natsauth.BUCKETS}


def test_ensure_streams_gives_up_in_time_when_nats_never_answers():
    url = f"tls://127.0.0.1:{natsserver.free_port()}"
    started = time.monotonic()
    assert not asyncio.run(ensure_streams.run(url, "detect", bus.login_as("detect"), timeout=0.1))
    assert time.monotonic() - started < 15, "a refused connection is one failed attempt, not a hang"
