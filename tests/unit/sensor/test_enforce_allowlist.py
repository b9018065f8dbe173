"""The sensor policy as the kernel's allow-list: port classes, CIDR prefixes with their
covering prefixes merged in, name keys, and what the kernel would decide from them."""
import copy
from pathlib import Path

import pytest

from weft.sensor.enforcement.allowlist import (
    MATCH, PolicyError, PortRange, PortSet, Prefix, allows, assign_classes, cidr_classes,
    compile_allowlist, name_classes, port_set, wire_name)

TCP, UDP = 6, 17
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "policies"


def ports(*spec: str) -> list[dict]:
    """'443', '8000-8100', '53/UDP' -> the policy's port objects."""
    out = []
    for s in spec:
        rng, _, proto = s.partition("/")
        first, _, last = rng.partition("-")
        out.append({"first": int(first), "last": int(last or first), "protocol": proto or "TCP"})
    return out


def policy(cidrs=(), fqdns=(), mode="enforce") -> dict:
    return {"apiVersion": "weft.dev/v1alpha1", "kind": "SensorPolicy", "metadata": {"name": "p"},
            "spec": {"mode": mode, "agent": {"namespace": "agents"},
                     "egress": {"cidrs": [{"cidr": c, "ports": ports(*p)} for c, p in cidrs],
                                "fqdns": [{"name": n, "match": m, "ports": ports(*p)} for n, m, p in fqdns]},
                     "executables": [], "files": []}}


@pytest.mark.parametrize("given, expected", [
    ([], ()),                                                     # no ports: every port, both protocols
    (["443"], ((443, 443, TCP),)),
    (["8000-8100", "8050-8200", "8201"], ((8000, 8201, TCP),)),   # overlapping and adjacent merge
    (["53/UDP", "53"], ((53, 53, TCP), (53, 53, UDP))),          # never across protocols
    (["9000", "80"], ((80, 80, TCP), (9000, 9000, TCP))),
])
def test_port_sets_are_normalized(given, expected):
    assert port_set(ports(*given)) == PortSet(tuple(PortRange(*r) for r in expected))


def test_a_rule_with_more_port_ranges_than_the_kernel_holds_is_refused():
    with pytest.raises(PolicyError, match="17 port ranges"):
        port_set(ports(*[str(p) for p in range(1000, 1034, 2)]))


@pytest.mark.parametrize("ip, port, protocol, allowed", [
    ("10.1.2.3", 5432, TCP, True),      # the /16's own port
    ("10.1.2.3", 443, TCP, True),       # the covering /8's port, though the /16 is the longest match
    ("10.2.0.1", 443, TCP, True),
    ("10.2.0.1", 5432, TCP, False),     # the /16's port does not leak up to the /8
    ("10.1.2.3", 443, UDP, False),
    ("192.0.2.10", 53, UDP, True),
    ("192.0.2.11", 53, UDP, False),
    ("2001:db8::7", 8080, TCP, True),   # IPv6, every port of the rule: no port list
    ("2001:db8::7", 53, UDP, True),
    ("2001:db9::7", 8080, TCP, False),
    ("11.0.0.1", 443, TCP, False),
])
def test_the_longest_prefix_carries_what_every_covering_prefix_allows(ip, port, protocol, allowed):
    allow = compile_allowlist(policy(cidrs=[("10.0.0.0/8", ["443"]), ("10.1.0.0/16", ["5432"]),
                                            ("192.0.2.10/32", ["53/UDP"]), ("2001:db8::/32", [])]))
    assert allows(allow, cidr_classes(allow, ip), port, protocol) is allowed


@pytest.mark.parametrize("cidrs, ip, allowed", [
    (["::/0"], "2001:db8::1", True),
    (["::/0"], "10.0.0.1", False),               # not through the v4-mapped space
    (["::/0", "10.0.0.0/8"], "10.0.0.1", True),
    (["::/0", "10.0.0.0/8"], "11.0.0.1", False),
    (["::/0", "0.0.0.0/0"], "11.0.0.1", True),
    (["0.0.0.0/0"], "2001:db8::1", False),
])
def test_ipv6_prefixes_do_not_allow_ipv4_destinations(cidrs, ip, allowed):
    allow = compile_allowlist(policy(cidrs=[(c, ["443"]) for c in cidrs]))
    assert allows(allow, cidr_classes(allow, ip), 443, TCP) is allowed


def test_ipv4_prefixes_are_keyed_v4_mapped_and_ipv6_as_they_are():
    assert Prefix.parse("10.1.0.0/16") == Prefix(bytes(10) + b"\xff\xff\x0a\x01\x00\x00", 112)
    assert Prefix.parse("10.1.2.3/16") == Prefix.parse("10.1.0.0/16")   # host bits dropped
    assert Prefix.parse("2001:db8::/32").length == 32
    with pytest.raises(PolicyError, match="not-an-ip"):
        Prefix.parse("not-an-ip/8")


@pytest.mark.parametrize("match, question, allowed", [
    ("exact", "api.example.com", True),
    ("exact", "API.Example.COM.", True),        # case and the root dot do not matter
    ("exact", "x.api.example.com", False),
    ("exact", "example.com", False),
    ("one_label", "api.example.com", True),
    ("one_label", "example.com", False),        # not the domain under the wildcard itself
    ("one_label", "a.b.example.com", False),    # exactly one label more
    ("one_label", "badexample.com", False),
    ("any_depth", "a.b.c.example.com", True),
    ("any_depth", "api.example.com", True),
    ("any_depth", "example.com", False),
    ("any_depth", "a.notexample.com", False),
])
def test_question_names_match_as_the_rule_says(match, question, allowed):
    name = "api.example.com" if match == "exact" else "example.com"
    allow = compile_allowlist(policy(fqdns=[(name, match, ["443"])]))
    assert allows(allow, name_classes(allow, question), 443, TCP) is allowed


def test_names_become_wire_keys_and_only_exact_ones_are_looked_up_by_the_sensor():
    allow = compile_allowlist(policy(fqdns=[("API.openai.com", "exact", ["443"]),
                                            ("zendesk.com", "one_label", ["443"]),
                                            ("internal.example", "any_depth", ["8443"])]))
    assert set(allow.names) == {(MATCH["exact"], b"\x03api\x06openai\x03com\x00"),
                                (MATCH["one_label"], b"\x07zendesk\x03com\x00"),
                                (MATCH["any_depth"], b"\x08internal\x07example\x00")}
    assert list(allow.lookups) == ["api.openai.com"]
    assert allows(allow, allow.lookups["api.openai.com"], 443, TCP)
    assert not allows(allow, allow.lookups["api.openai.com"], 8443, TCP)


@pytest.mark.parametrize("bad", ["", ".", "a..b", "x" * 64 + ".com", ".".join(["abcdefgh"] * 29)])
def test_what_is_not_a_dns_name_is_refused(bad):
    with pytest.raises(PolicyError):
        wire_name(bad)


def test_a_name_and_a_cidr_with_the_same_ports_share_one_class():
    allow = compile_allowlist(policy(cidrs=[("10.0.0.0/8", ["443"])],
                                     fqdns=[("api.example.com", "exact", ["443"]),
                                            ("db.example.com", "exact", ["5432"])]))
    assert allow.classes == [port_set(ports("443")), port_set(ports("5432"))]
    assert allow.lookups == {"api.example.com": 1, "db.example.com": 2}


def test_unchanged_port_sets_keep_their_class_and_freed_ones_are_not_reused_at_once():
    a, b, c, d = (port_set(ports(p)) for p in ("80", "443", "5432", "22"))
    assert assign_classes([a, b, c]) == [a, b, c]
    assert assign_classes([c, d, a], previous=[a, b, c]) == [a, None, c, d]   # b freed, d appended
    assert assign_classes([d, b], previous=[a, None, c, d]) == [None, b, None, d]   # b takes the old free slot
    assert assign_classes([a], previous=[None, b]) == [a]


def test_past_the_kernel_limit_freed_classes_are_reused_and_then_refused():
    sets = [port_set(ports(str(p))) for p in range(1, 34)]
    full = assign_classes(sets[:32])
    assert assign_classes(sets[1:33], previous=full)[0] == sets[32]
    with pytest.raises(PolicyError, match="33 distinct port sets"):
        assign_classes(sets)


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_example_policy_compiles_to_a_kernel_allowlist(example):
    from weft.enforce.compilers.sensor import SensorCompiler
    from weft.enforce.core.lowering import load_policy

    doc = SensorCompiler().compile(load_policy(example)[0]).documents[0]
    allow = compile_allowlist(doc)
    assert allow.name == doc["metadata"]["name"] and allow.mode == doc["spec"]["mode"]
    if example.stem == "support-agent":
        assert allows(allow, cidr_classes(allow, "10.20.3.4"), 8050, TCP)
        assert not allows(allow, cidr_classes(allow, "10.20.3.4"), 443, TCP)
        assert allows(allow, name_classes(allow, "acme.zendesk.com"), 443, TCP)
        assert set(allow.lookups) == {"api.openai.com", "mcp.tickets.example.com"}


@pytest.mark.parametrize("mutate, message", [
    (lambda p: p["spec"].update(mode="block"), "spec/mode"),
    (lambda p: p["spec"]["egress"]["cidrs"].append({"cidr": "10.0.0.0/8"}), "ports"),
    (lambda p: p.pop("metadata"), "metadata"),
])
def test_a_policy_that_breaks_the_contract_is_refused_with_where(mutate, message):
    doc = copy.deepcopy(policy())
    mutate(doc)
    with pytest.raises(PolicyError, match=message):
        compile_allowlist(doc)


def test_the_resolvers_a_policy_names_are_single_addresses_it_allows_dns_to():
    allow = compile_allowlist(policy(cidrs=[
        ("10.77.0.53/32", ["53/UDP"]),          # the agent's resolver, as a suggested policy names it
        ("10.77.0.54/32", ["53"]),              # DNS over TCP counts too
        ("10.77.0.53/32", ["443"]),             # named twice: once
        ("fd00::53/128", ["53/UDP", "853"]),
        ("10.0.0.0/8", ["53/UDP"]),             # a range names no server
        ("10.77.0.80/32", ["80", "443"]),       # no DNS
        ("10.77.0.99/32", []),                  # every port: not said to be a resolver
    ]))
    assert allow.resolvers == ("10.77.0.53", "10.77.0.54", "fd00::53")
