"""What `weft up` starts, in what order, with what, and how `weft down` decides what is still its own."""
from pathlib import Path

import pytest

from weft.cli import cgroup
from weft.common import cgroupfs
from weft.cli.supervisor import (NATS, SENSOR, SUPERVISOR, Options, Ports, Security, child_env, cmdline_matches,
                                 exit_reason, plan, run_record, start_waves, still_running, stop_order, stop_waves)

PORTS = Ports(nats=4222, nats_monitor=8222, grpc=7000,
              http={"discovery": 7001, "posture": 7002, "detect": 7003, "enforce": 7004})
PY = "/venv/bin/python"


def names(waves):
    return [[p.name for p in w] for w in waves]


def test_start_order_nats_then_gateway_then_stages_then_sensor():
    parts = plan(Options(python=PY), PORTS)
    assert names(start_waves(parts)) == [[NATS], ["discovery"], ["posture", "detect", "enforce"], [SENSOR]]


def test_stop_order_is_the_reverse_so_nats_goes_last():
    parts = plan(Options(python=PY), PORTS)
    assert names(stop_waves(parts)) == [[SENSOR], ["posture", "detect", "enforce"], ["discovery"], [NATS]]


def test_every_service_gets_the_ports_picked_for_it():
    by = {p.name: p for p in plan(Options(python=PY), PORTS)}
    assert by["discovery"].argv == (PY, "-m", "weft.discovery", "--http-port", "7001",
                                    "--grpc-host", "127.0.0.1", "--grpc-port", "7000")
    assert by["detect"].argv == (PY, "-m", "weft.detect", "--http-port", "7003")
    assert by["enforce"].ready_url == "http://127.0.0.1:7004/readyz"


def test_sensor_dials_the_gateway_and_leaves_out_wefts_own_cgroup():
    opts = Options(python=PY, sensor_cluster="eks", provider="aws", region="eu-west-1",
                   exclude_cgroups=("/sys/fs/cgroup/weft", "/sys/fs/cgroup/weft-lab"))
    sensor = next(p for p in plan(opts, PORTS) if p.name == SENSOR)
    assert sensor.argv == (PY, "-m", "weft.cli.main", "sensor", "--source", "ebpf", "--gateway", "127.0.0.1:7000",
                           "--cluster", "eks", "--exclude-cgroup", "/sys/fs/cgroup/weft",
                           "--exclude-cgroup", "/sys/fs/cgroup/weft-lab",
                           "--provider", "aws", "--region", "eu-west-1")
    assert sensor.optional and not sensor.ready_url


def test_no_sensor_plans_none_and_unset_flags_are_not_passed():
    assert SENSOR not in [p.name for p in plan(Options(python=PY, sensor=False), PORTS)]
    sensor = next(p for p in plan(Options(python=PY), PORTS) if p.name == SENSOR)
    assert not {"--exclude-cgroup", "--provider", "--region"} & set(sensor.argv)


SEC = Security.under(Path("/d"))
BASE = {"PATH": "/bin", "WEFT_HTTP_PORT": "9", "WEFT_ENDPOINT": "/x", "WEFT_NATS_TOKEN": "old",
        "WEFT_NATS_NKEY_SEED_FILE": "/elsewhere/admin.nk", "WEFT_GRPC_TLS_KEY": "/k", "WEFT_SENSOR_TLS_CERT": "/c"}


def env_of(part, opts=Options(python=PY)):
    return child_env(BASE, part, Path("/d"), PORTS, "DEBUG", SEC, opts)


@pytest.mark.parametrize("stage", ["posture", "detect", "enforce"])
def test_each_stage_gets_its_own_nats_user_over_tls_and_nothing_from_the_callers_environment(stage):
    assert env_of(stage) == {"PATH": "/bin", "WEFT_DATA_DIR": "/d", "WEFT_LOG_LEVEL": "DEBUG",
                             "WEFT_NATS_URL": "tls://127.0.0.1:4222", "WEFT_NATS_CA": "/d/certs/ca.pem",
                             "WEFT_NATS_NKEY_SEED_FILE": f"/d/secrets/nats/{stage}.nk", "WEFT_API_TOKEN": ""}


def test_discovery_also_gets_the_gateways_certificate_for_mutual_tls():
    env = env_of("discovery")
    assert env["WEFT_NATS_NKEY_SEED_FILE"] == "/d/secrets/nats/discovery.nk"
    assert (env["WEFT_GRPC_TLS_CERT"], env["WEFT_GRPC_TLS_KEY"], env["WEFT_GRPC_TLS_CA"]) == (
        "/d/certs/gateway.pem", "/d/certs/gateway.key", "/d/certs/ca.pem")


def test_the_sensor_gets_its_client_certificate_and_no_nats_at_all():
    env = env_of(SENSOR, Options(python=PY, sensor_cluster="eks", sensor_node="node-a"))
    assert not [k for k in env if k.startswith("WEFT_NATS_")]
    assert (env["WEFT_SENSOR_TLS_CERT"], env["WEFT_SENSOR_TLS_KEY"], env["WEFT_SENSOR_TLS_CA"]) == (
        "/d/certs/sensors/eks/node-a.pem", "/d/certs/sensors/eks/node-a.key", "/d/certs/ca.pem")
    sensor = next(p for p in plan(Options(python=PY, sensor_node="node-a"), PORTS) if p.name == SENSOR)
    assert sensor.argv[sensor.argv.index("--node") + 1] == "node-a"


def test_no_seed_or_credential_is_ever_on_a_command_line():
    parts = plan(Options(python=PY), PORTS)
    assert not any(".nk" in a or "secrets" in a for p in parts for a in p.argv)


def test_run_record_names_every_service_and_the_gateway():
    parts = plan(Options(python=PY, sensor=False), PORTS)
    ep = run_record(parts, PORTS, {SUPERVISOR: 1, "discovery": 2}, {"discovery": ["py"]}, Path("/d"), SEC,
                    Options(python=PY))
    assert ep.nats_url == "tls://127.0.0.1:4222" and ep.gateway == "127.0.0.1:7000"
    assert ep.ingest == "http://127.0.0.1:7001"
    assert ep.services == {NATS: "http://127.0.0.1:8222", "discovery": "http://127.0.0.1:7001",
                           "posture": "http://127.0.0.1:7002", "detect": "http://127.0.0.1:7003",
                           "enforce": "http://127.0.0.1:7004"}


def test_run_record_carries_the_clis_credentials_only():
    sec = Security.under(Path("/d"), api_token="t0k")
    ep = run_record(plan(Options(python=PY), PORTS), PORTS, {}, {}, Path("/d"), sec, Options(python=PY))
    assert (ep.nats_ca, ep.nats_seed_file, ep.certs_dir) == ("/d/certs/ca.pem", "/d/secrets/nats/cli.nk", "/d/certs")
    assert ep.gateway_ca == "/d/certs/ca.pem" and ep.api_token == "t0k" and not ep.nats_token
    assert not [v for v in vars(ep).values() if isinstance(v, str) and v.endswith(".nk") and "cli.nk" not in v]


def test_an_insecure_gateway_is_plaintext_for_gateway_and_sensor_alike():
    opts = Options(python=PY, gateway_tls=False, sensor_node="n")
    assert not [k for k in env_of("discovery", opts) if k.startswith("WEFT_GRPC_TLS_")]
    assert not [k for k in env_of(SENSOR, opts) if k.startswith("WEFT_SENSOR_TLS_")]
    assert run_record(plan(opts, PORTS), PORTS, {}, {}, Path("/d"), SEC, opts).gateway_ca == ""


def test_every_service_gets_the_runs_api_token_and_the_sensor_none():
    sec = Security.under(Path("/d"), api_token="t0k")
    envs = {p: child_env(BASE | {"WEFT_API_TOKEN": "caller's"}, p, Path("/d"), PORTS, "INFO", sec,
                         Options(python=PY, sensor_node="n")) for p in ("discovery", "posture", "detect", "enforce")}
    assert {e["WEFT_API_TOKEN"] for e in envs.values()} == {"t0k"}
    assert "WEFT_API_TOKEN" not in child_env(BASE | {"WEFT_API_TOKEN": "x"}, SENSOR, Path("/d"), PORTS, "INFO", sec,
                                             Options(python=PY, sensor_node="n"))


@pytest.mark.parametrize("recorded, actual, ours", [
    (["py", "-m", "weft.detect"], ["py", "-m", "weft.detect"], True),
    (["py", "-m", "weft.detect"], ["sleep", "60"], False),     # the pid was reused
    (["py", "-m", "weft.detect"], None, False),                # gone
    (["py", "-m", "weft.detect"], [], False),                  # a zombie
    (None, ["py", "-m", "weft.detect"], False),                # nothing recorded: never signal
])
def test_a_pid_is_ours_only_while_it_runs_what_was_recorded(recorded, actual, ours):
    assert cmdline_matches(recorded, actual) is ours


def test_still_running_keeps_only_matching_pids():
    procs = {10: ["py", "-m", "weft.posture"], 11: ["sleep", "60"]}
    running = still_running({"posture": 10, "detect": 11, "enforce": 12},
                            {"posture": ["py", "-m", "weft.posture"], "detect": ["py", "-m", "weft.detect"],
                             "enforce": ["py", "-m", "weft.enforce"]}, procs.get)
    assert running == {"posture": 10}


def test_down_without_a_supervisor_stops_producers_first_and_nats_last():
    assert stop_order([NATS, "discovery", "detect", SENSOR, SUPERVISOR]) == \
        [SUPERVISOR, SENSOR, "detect", "discovery", NATS]


def test_exit_reasons_read_as_english():
    assert exit_reason(1) == "exited with code 1"
    assert exit_reason(-9) == "was killed by SIGKILL"


HYBRID = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
UNIFIED = "29 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"


@pytest.mark.parametrize("mountinfo, mount", [
    (HYBRID, Path("/sys/fs/cgroup/unified")), (UNIFIED, Path("/sys/fs/cgroup")), (HYBRID.splitlines()[1], None)])
def test_wefts_cgroup_lives_under_the_cgroup2_mount(mountinfo, mount):
    assert cgroupfs.v2_mount_in(mountinfo) == mount


def test_own_cgroup_path_is_the_v2_line():
    assert cgroup.v2_path("4:memory:/x\n0::/user.slice/session-1.scope\n") == "/user.slice/session-1.scope"
    assert cgroup.v2_path("4:memory:/x\n") == "/"
