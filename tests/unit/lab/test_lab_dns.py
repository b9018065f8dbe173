"""The lab DNS's answers, on wire-format queries, and its registry of workloads."""
from dnslib import QTYPE, RCODE, DNSRecord

from weft.lab import metadata, topology
from weft.lab.dns import Registry, answer

RECORDS = {"api.payments.svc.aks.lab": "10.77.2.10", "dns.lab": "10.77.0.53"}


def ask(name: str, qtype: str = "A") -> DNSRecord:
    return DNSRecord.parse(answer(DNSRecord.question(name, qtype).pack(), RECORDS))


def test_known_name_gets_an_authoritative_a_record():
    reply = ask("API.payments.svc.aks.lab.")
    assert reply.header.rcode == RCODE.NOERROR and reply.header.aa
    assert [(str(rr.rdata), rr.rtype) for rr in reply.rr] == [("10.77.2.10", QTYPE.A)]


def test_unknown_name_in_the_zone_is_nxdomain_with_the_zone_soa():
    reply = ask("db.payments.svc.aks.lab")
    assert reply.header.rcode == RCODE.NXDOMAIN and not reply.rr
    assert reply.auth[0].rtype == QTYPE.SOA


def test_known_name_without_that_record_type_is_nodata():
    for name, qtype in (("api.payments.svc.aks.lab", "AAAA"), ("svc.aks.lab", "A"), ("lab", "A")):
        reply = ask(name, qtype)
        assert reply.header.rcode == RCODE.NOERROR and not reply.rr, name


def test_names_outside_the_zone_are_not_answered():
    reply = ask("example.com")
    assert reply.header.rcode == RCODE.NXDOMAIN and not reply.header.aa and not reply.rr


def test_garbage_gets_no_reply():
    assert answer(b"\x00\x01", RECORDS) is None


def test_registry_adds_workloads_from_the_metadata_files(tmp_path):
    registry = Registry(tmp_path)
    assert "storage-mcp.tools.svc.gke.lab" in registry.records()          # a reference service
    assert "shell.tools.svc.gke.lab" not in registry.records()
    metadata.write(metadata.file_for(tmp_path, "gke"), [metadata.entry("gke", "tools", "shell")])
    assert registry.records()["shell.tools.svc.gke.lab"] == topology.cluster("gke").address
