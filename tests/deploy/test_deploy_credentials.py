"""Who holds which credential in deploy/: each stage its own NATS seed and no other's,
the streams Job the operator's, every stage the API token, the gateway a certificate
and the sensor CA it requires clients to present, and each sensor a certificate issued
at start for its own node, without the CA's key ever reaching the sensor container."""
from __future__ import annotations

import shlex
from urllib.parse import urlsplit

import pytest
from cryptography import x509

from weft.cli import sensor_cert
from weft.common import devca, natsauth
from weft.sensor.issuer import config as issuer_config_module

STAGES = ("discovery", "posture", "detect", "enforce")
NATS_ENV = ("WEFT_NATS_URL", "WEFT_NATS_CA", "WEFT_NATS_NKEY_SEED_FILE")
SEED_SECRETS = {f"weft-nats-{u}" for u in natsauth.USERS}


def pod(r, component: str) -> dict:
    return r.workload(component)["spec"]["template"]["spec"]


def containers(spec: dict) -> list[dict]:
    return spec.get("initContainers", []) + spec["containers"]


def env_of(container: dict) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container.get("env", [])}


def seeds_mounted(spec: dict) -> dict[str, dict]:
    """Seed Secret name -> its volume, for every NATS user Secret the pod mounts."""
    return {v["secret"]["secretName"]: v for v in spec.get("volumes", [])
            if "secret" in v and v["secret"]["secretName"] in SEED_SECRETS}


# --- NATS seeds ----------------------------------------------------------------------------------
@pytest.mark.parametrize("component,user", [(s, s) for s in STAGES] + [("streams", natsauth.OPERATOR)])
def test_each_nats_client_mounts_its_own_seed_and_no_other(renders, target, component, user):
    r = renders(target)
    spec = pod(r, component)
    mounted = seeds_mounted(spec)
    assert set(mounted) == {f"weft-nats-{user}"}
    volume = mounted[f"weft-nats-{user}"]
    assert volume["secret"]["items"] == [{"key": "seed", "path": "seed.nk"}], "the seed alone"
    for c in containers(spec):
        env = env_of(c)
        mounts = {m["name"]: m for m in c.get("volumeMounts", [])}
        if volume["name"] in mounts:
            assert mounts[volume["name"]].get("readOnly") is True
        if "WEFT_NATS_NKEY_SEED_FILE" in env:
            assert r.mounted_secret_file(component, env["WEFT_NATS_NKEY_SEED_FILE"], c) == \
                (f"weft-nats-{user}", "seed"), c["name"]
            assert r.mounted_secret_file(component, env["WEFT_NATS_CA"], c) == ("weft-nats-tls", "ca.crt")
    # and nothing hands it another user's credentials through the environment
    for c in containers(spec):
        for e in c.get("env", []):
            ref = e.get("valueFrom", {}).get("secretKeyRef", {})
            assert ref.get("name") not in SEED_SECRETS, f"{component}/{c['name']}: {e['name']}"


def test_no_pod_but_its_owner_gets_a_seed(renders, target):
    r = renders(target)
    holders = {}
    for w in r.workloads():
        for name in seeds_mounted(w["spec"]["template"]["spec"]):
            holders.setdefault(name, []).append(w["metadata"]["name"])
    assert holders == {**{f"weft-nats-{s}": [f"weft-{s}"] for s in STAGES}, "weft-nats-cli": ["weft-streams"]}


# --- streams ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_waits_for_its_streams_as_its_own_user(renders, target, stage):
    r = renders(target)
    spec = pod(r, stage)
    [init] = spec["initContainers"]
    assert init["command"] == ["python", "-m", "weft.cli.ensure_streams", "--wait-as", stage]
    assert stage in natsauth.SERVICES
    assert init["image"] == r.container(stage)["image"]
    main = env_of(r.container(stage))
    assert {k: env_of(init)[k] for k in NATS_ENV} == {k: main[k] for k in NATS_ENV}


def test_the_streams_job_creates_them_as_the_operator(renders, target):
    r = renders(target)
    job = r.workload("streams")
    assert job["kind"] == "Job"
    [c] = pod(r, "streams")["containers"]
    assert c["command"] == ["python", "-m", "weft.cli.ensure_streams"], "no --wait-as: the operator creates"
    assert pod(r, "streams")["restartPolicy"] == "OnFailure"
    assert job["spec"]["ttlSecondsAfterFinished"] > 0, "so that the next apply runs it again"
    stage = env_of(r.container("posture"))
    assert {k: env_of(c)[k] for k in ("WEFT_NATS_URL", "WEFT_NATS_CA")} == \
        {k: stage[k] for k in ("WEFT_NATS_URL", "WEFT_NATS_CA")}


def test_stream_retention_is_the_same_for_the_job_and_every_stage(renders, target):
    """A stage whose streams differ from its configuration tries to update them, which
    only the operator may: every NATS client must agree on WEFT_EVENTS_RETENTION."""
    r = renders(target)
    values = {(comp, c["name"]): env_of(c).get("WEFT_EVENTS_RETENTION")
              for comp in (*STAGES, "streams") for c in containers(pod(r, comp))}
    assert len(set(values.values())) == 1, values


# --- HTTP ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_has_the_api_token_from_its_secret(renders, target, stage):
    assert renders(target).env(stage)["WEFT_API_TOKEN"] == "secret:weft-api-token/token"


# --- gRPC mutual TLS -------------------------------------------------------------------------------
def test_the_gateway_requires_client_certificates_from_the_sensor_ca(renders, target):
    r = renders(target)
    env = r.env("discovery")
    # discovery serves mutual TLS (require_client_auth) exactly when all three are set
    assert r.mounted_secret_file("discovery", env["WEFT_GRPC_TLS_CERT"]) == ("weft-gateway-tls", "tls.crt")
    assert r.mounted_secret_file("discovery", env["WEFT_GRPC_TLS_KEY"]) == ("weft-gateway-tls", "tls.key")
    assert r.mounted_secret_file("discovery", env["WEFT_GRPC_TLS_CA"]) == ("weft-sensor-ca", "ca.crt")
    volume, _ = r.mounted_volume("discovery", env["WEFT_GRPC_TLS_CA"])
    assert [i["key"] for i in volume["secret"]["items"]] == ["ca.crt"], "the CA's certificate, never its key"


def certificate_init(r) -> dict:
    [init] = pod(r, "sensor")["initContainers"]
    assert init["command"][:3] == ["python", "-m", "weft.cli.sensor_cert"]
    return init


def flag(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def issuer_env(r, monkeypatch) -> dict[str, str]:
    """The sensor issuer's environment, set in this process so its own parser reads it."""
    env = r.env("sensor-issuer")
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


def test_each_sensor_gets_its_certificate_from_the_issuer_for_its_own_node(renders, target, monkeypatch):
    r = renders(target)
    init = certificate_init(r)
    args = sensor_cert.parse(init["command"][3:])
    # it dials the issuer's Service, which reaches the issuer's HTTPS port
    url = urlsplit(args.issuer)
    name, ns = url.hostname.split(".")[:2]
    assert url.hostname == f"{name}.{ns}.svc"
    svc = r.get("Service", name, ns)
    [port] = [p for p in svc["spec"]["ports"] if p["port"] == url.port]
    assert r.port("sensor-issuer", port["targetPort"]) == issuer_config(r, monkeypatch).port
    # with a token for the issuer's audience alone, from a projected volume of its own
    token_volume, rel = r.mounted_volume("sensor", str(args.token_file), init)
    [source] = token_volume["projected"]["sources"]
    token = source["serviceAccountToken"]
    assert token["path"] == rel and token["audience"] == issuer_config(r, monkeypatch).audience
    assert token["expirationSeconds"] <= 3600
    assert token["audience"] not in ("", "https://kubernetes.default.svc"), "good at the issuer only"
    # checking the issuer against the CA of weft's servers before it sends the token
    assert r.mounted_secret_file("sensor", str(args.issuer_ca), init) == ("weft-gateway-ca", "ca.crt")
    issued, _ = r.mounted_volume("sensor", f"{args.out}/tls.crt", init)
    assert issued["emptyDir"]["medium"] == "Memory"
    # the sensor presents what was issued, and checks the gateway against the gateway's CA
    sensor = r.container("sensor")["command"]
    for flag_name in ("--tls-cert", "--tls-key"):
        volume, rel = r.mounted_volume("sensor", flag(sensor, flag_name))
        assert volume is issued and rel in ("tls.crt", "tls.key")
    assert r.mounted_secret_file("sensor", flag(sensor, "--tls-ca")) == ("weft-gateway-ca", "ca.crt")
    assert token_volume["name"] not in {m["name"] for m in r.container("sensor")["volumeMounts"]}, \
        "the sensor container never holds the issuer's token"


def issuer_config(r, monkeypatch):
    issuer_env(r, monkeypatch)
    return issuer_config_module.parse(r.container("sensor-issuer")["command"][3:])


def test_the_issuer_signs_for_the_sensors_account_in_the_cluster_they_report(renders, target, monkeypatch):
    r = renders(target)
    cfg = issuer_config(r, monkeypatch)
    sensor_pod = pod(r, "sensor")
    assert cfg.service_account == f"{r.workload('sensor')['metadata']['namespace']}:{sensor_pod['serviceAccountName']}"
    assert cfg.cluster == r.env("sensor")["WEFT_CLUSTER"]
    assert cfg.host == "0.0.0.0" and not cfg.kube_api, "the API server of its own cluster"
    # its certificate from weft-ca's Secret, and the sensor CA, certificate and key
    assert r.mounted_secret_file("sensor-issuer", str(cfg.tls_cert)) == ("weft-sensor-issuer-tls", "tls.crt")
    assert r.mounted_secret_file("sensor-issuer", str(cfg.tls_key)) == ("weft-sensor-issuer-tls", "tls.key")
    for key in ("tls.crt", "tls.key"):
        assert r.mounted_secret_file("sensor-issuer", f"{cfg.ca_dir}/{key}") == ("weft-sensor-issuer", key)


def test_the_sensor_ca_key_is_mounted_by_the_issuer_alone(renders, target):
    r = renders(target)
    holders = {w["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
               for w in r.workloads() for v in w["spec"]["template"]["spec"].get("volumes", [])
               if v.get("secret", {}).get("secretName") == "weft-sensor-issuer"}
    assert holders == {"sensor-issuer"}
    assert r.workload("sensor-issuer")["metadata"]["namespace"] == "weft", "off the sensors' namespace"
    assert r.workload("sensor-issuer")["spec"]["replicas"] == 1
    assert "WEFT_SENSOR_TLS_CERT" not in r.env("sensor"), "flags, one source"


def test_sensor_cert_issues_the_identity_the_gateway_reads(tmp_path, monkeypatch):
    ca = devca.create_ca("weft sensor CA")
    (tmp_path / "ca").mkdir()
    devca.save(ca, tmp_path / "ca" / "tls.crt", tmp_path / "ca" / "tls.key")
    monkeypatch.setenv("WEFT_CLUSTER", "prod-eks")
    monkeypatch.setenv("WEFT_NODE_NAME", "ip-10-0-3-17.ec2.internal")
    argv = shlex.split(f"--ca-dir {tmp_path / 'ca'} --out {tmp_path / 'out'}")
    assert sensor_cert.main(argv) == 0
    pem = (tmp_path / "out" / "tls.crt").read_bytes()
    assert devca.sensor_identity(pem) == ("prod-eks", "ip-10-0-3-17.ec2.internal")
    leaf, issuer = x509.load_pem_x509_certificates(pem)
    leaf.verify_directly_issued_by(ca.cert)
    assert issuer == ca.cert
    assert (tmp_path / "out" / "tls.key").stat().st_mode & 0o077 == 0
    key = devca.load(tmp_path / "out" / "tls.crt", tmp_path / "out" / "tls.key")
    assert key.key.public_key() == leaf.public_key()


def test_sensor_cert_needs_a_node_and_a_cluster(tmp_path, monkeypatch):
    monkeypatch.delenv("WEFT_CLUSTER", raising=False)
    monkeypatch.delenv("WEFT_NODE_NAME", raising=False)
    with pytest.raises(SystemExit):
        sensor_cert.main(["--ca-dir", str(tmp_path), "--out", str(tmp_path / "out")])
    assert sensor_cert.main(["--ca-dir", str(tmp_path), "--out", str(tmp_path / "out"),
                             "--cluster", "c", "--node", "n"]) == 1, "no CA there: a message, exit 1"
