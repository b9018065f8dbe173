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
    argv = sensors.argv(cluster, "127.0.0.1:7443", tmp_path)
    assert argv[1:4] == ["-m", "weft.cli.main", "sensor"]
    args = sensor_parser().parse_args(argv[4:])
    assert (args.source, args.gateway, args.cluster) == ("ebpf", "127.0.0.1:7443", cluster.name)
    assert (args.provider, args.region, args.node) == (cluster.provider, cluster.region, cluster.node)
    assert args.egress_ip == [cluster.egress_ip]
    assert args.watch_cgroup[0].endswith(f"/weft-lab/{cluster.name}")
    assert args.metadata_file == str(tmp_path / f"{cluster.name}-workloads.json")
    assert sensors.marker(cluster, tmp_path) in " ".join(argv)
