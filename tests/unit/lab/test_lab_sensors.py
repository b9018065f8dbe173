"""The command line the lab starts each cluster's sensor with, checked against `weft sensor`'s
own parser so a renamed flag fails here rather than in a running lab."""
import argparse
from pathlib import Path

import pytest

from weft.lab import sensors, topology

pytest.importorskip("weft.cli.sensor", reason="`weft sensor` is not built yet")
if "cgroup2" not in Path("/proc/self/mountinfo").read_text():
    pytest.skip("no cgroup2 mounted: the sensor's watch path is taken from it", allow_module_level=True)


def sensor_parser() -> argparse.ArgumentParser:
    from weft.cli import sensor
    p = argparse.ArgumentParser()
    sensor.register(p)
    return p


@pytest.mark.parametrize("cluster", topology.CLUSTERS, ids=lambda c: c.name)
def test_each_cluster_sensor_carries_its_identity(cluster, tmp_path):
    argv = sensors.argv(cluster, sensors.Gateway("127.0.0.1:7443"), tmp_path)
    assert argv[1:4] == ["-m", "weft.cli.main", "sensor"]
    args = sensor_parser().parse_args(argv[4:])
    assert (args.source, args.gateway, args.cluster) == ("ebpf", "127.0.0.1:7443", cluster.name)
    assert (args.provider, args.region, args.node) == (cluster.provider, cluster.region, cluster.node)
    assert args.egress_ip == [cluster.egress_ip]
    assert args.watch_cgroup[0].endswith(f"/weft-lab/{cluster.name}")
    assert args.metadata_file == str(tmp_path / f"{cluster.name}-workloads.json")
    assert sensors.marker(cluster, tmp_path) in " ".join(argv)
    assert not (args.tls_cert or args.tls_key or args.tls_ca)


@pytest.mark.parametrize("cluster", topology.CLUSTERS, ids=lambda c: c.name)
def test_with_mutual_tls_each_cluster_sensor_presents_its_own_certificate(cluster, tmp_path):
    from weft.cli import certstore
    from weft.common import devca
    certs = tmp_path / "certs"
    certstore.init(certs, certstore.default_sensors())
    gateway = sensors.Gateway("127.0.0.1:7443", str(certs / "ca.pem"), str(certs))
    args = sensor_parser().parse_args(sensors.argv(cluster, gateway, tmp_path)[4:])
    assert args.tls_ca == gateway.ca
    assert devca.sensor_identity(Path(args.tls_cert).read_bytes()) == (cluster.name, cluster.node) == (
        args.cluster, args.node)
    assert Path(args.tls_key).stat().st_mode & 0o777 == 0o600
