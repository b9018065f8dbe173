"""The lab's topology: three clusters with fixed identities and non-overlapping addresses."""
import ipaddress

import pytest

from weft.lab import topology
from weft.lab.topology import CLUSTERS, LAB_SUPERNET


def test_three_clusters_with_their_cloud_identity():
    assert [(c.name, c.provider, c.region, c.node) for c in CLUSTERS] == [
        ("eks", "AWS", "us-east-1", "eks-node-1"),
        ("aks", "AZURE", "westeurope", "aks-node-1"),
        ("gke", "GCP", "us-central1", "gke-node-1"),
    ]


def test_addresses_sit_in_their_own_subnet_inside_the_lab_range():
    lab = ipaddress.ip_network(LAB_SUPERNET)
    subnets = [ipaddress.ip_network(c.subnet) for c in CLUSTERS]
    for c, subnet in zip(CLUSTERS, subnets):
        assert subnet.subnet_of(lab)
        assert ipaddress.ip_address(c.address) in subnet
        assert ipaddress.ip_address(c.gateway) in subnet
        assert c.egress_ip == c.address
    assert not any(a.overlaps(b) for i, a in enumerate(subnets) for b in subnets[i + 1:])
    dns = ipaddress.ip_address(topology.DNS_ADDRESS)
    assert dns in lab and not any(dns in s for s in subnets)


def test_lab_range_is_private_and_checked():
    assert ipaddress.ip_network(LAB_SUPERNET).is_private


def test_names_fit_the_kernel_and_do_not_collide():
    names = [c.netns for c in CLUSTERS] + [topology.CORE_NETNS]
    assert len(set(names)) == 4 and all(n.startswith("weft-lab-") for n in names)
    assert all(len(c.core_veth) <= 15 for c in CLUSTERS)   # IFNAMSIZ - 1
    assert [c.cgroup for c in CLUSTERS] == ["weft-lab/eks", "weft-lab/aks", "weft-lab/gke"]
    assert not topology.NAME.match(topology.SYSTEM_CGROUP.rsplit("/", 1)[1])


def test_dns_names():
    assert topology.service_name("gke", "tools", "storage-mcp") == "storage-mcp.tools.svc.gke.lab"
    assert topology.workload_cgroup("aks", "payments", "api") == "weft-lab/aks/payments/api"
    records = topology.static_records()
    assert records["dns.lab"] == topology.DNS_ADDRESS
    assert records["eks-node-1.eks.lab"] == "10.77.1.10"
    assert records["api.payments.svc.aks.lab"] == topology.cluster("aks").address


def test_resolv_conf_points_at_the_lab_dns():
    text = topology.resolv_conf(topology.cluster("eks"))
    assert f"nameserver {topology.DNS_ADDRESS}\n" in text
    assert "search svc.eks.lab eks.lab\n" in text


def test_unknown_cluster_and_bad_names_are_refused():
    with pytest.raises(KeyError, match="eks, aks, gke"):
        topology.cluster("openshift")
    for bad in ("Payments", "a_b", "-x", "", "x" * 64):
        with pytest.raises(ValueError):
            topology.check_name("namespace", bad)
    assert topology.check_name("namespace", "payments-2") == "payments-2"


def test_deterministic():
    assert topology.static_records() == topology.static_records()
    assert [c.subnet for c in CLUSTERS] == ["10.77.1.0/24", "10.77.2.0/24", "10.77.3.0/24"]
