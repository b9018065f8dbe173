"""Profiles export as Kubescape ApplicationProfile and NetworkNeighborhood objects
(spdx.softwarecomposition.kubescape.io/v1beta1): baseline only, one pair per workload."""
import json

import yaml
from observe_events import Actor, langchain_agent

from weft.discovery.core.classify import Observer
from weft.discovery.core.fingerprints import Catalogue, load_catalogue
from weft.discovery.core.kubescape import API_VERSION, application_profile, export, network_neighborhood, to_yaml
from weft.discovery.core.profiles import LearningWindow, accept

NAME = "agents/support-bot"


def learnt(extra=()):
    bot = Actor("eks", "agents", "support-bot", image="lab/support-bot:1")
    observer = Observer(Catalogue(load_catalogue()), LearningWindow(duration=600))
    observer.observe(langchain_agent("eks") + langchain_agent("aks", t=10) + [
        bot.open(20, "/etc/ssl/certs/ca.pem", "O_RDONLY", "O_CLOEXEC"), bot.accept(21, 8080),
        bot.connect(22, "vault.sec.svc.cluster.local", 8200, ip="10.96.4.4"),
        bot.connect(23, "", 443, ip="10.77.3.10")])
    observer.observe(list(extra))
    return observer.profiles()[NAME]


def test_the_application_profile_has_kubescape_shape_and_the_agent_behaviour():
    ap = application_profile(learnt(), "agents", "Deployment", "support-bot")
    assert (ap["apiVersion"], ap["kind"]) == (API_VERSION, "ApplicationProfile")
    meta = ap["metadata"]
    assert (meta["name"], meta["namespace"]) == ("deployment-support-bot", "agents")
    assert meta["labels"] == {"kubescape.io/workload-api-group": "apps", "kubescape.io/workload-api-version": "v1",
                              "kubescape.io/workload-kind": "Deployment", "kubescape.io/workload-name": "support-bot",
                              "kubescape.io/workload-namespace": "agents"}
    notes = meta["annotations"]
    assert (notes["kubescape.io/status"], notes["kubescape.io/managed-by"], notes["weft.dev/clusters"]) == (
        "learning", "User", "aks,eks")
    assert json.loads(notes["weft.dev/models"]) == ["openai/gpt-4o@api.openai.com"]
    [c] = ap["spec"]["containers"]
    assert (c["name"], c["imageTag"]) == ("support-bot", "lab/support-bot:1")
    assert c["execs"] == [{"path": "/usr/bin/python3", "args": ["python3", "/app/bot.py"]}]
    assert {"path": "/etc/ssl/certs/ca.pem", "flags": ["O_CLOEXEC", "O_RDONLY"]} in c["opens"]
    assert set(c) >= {"capabilities", "syscalls", "endpoints", "imageID"}


def test_the_network_neighborhood_lists_names_addresses_and_ports():
    nn = network_neighborhood(learnt(), "agents", "Deployment", "support-bot")
    assert (nn["apiVersion"], nn["kind"]) == (API_VERSION, "NetworkNeighborhood")
    [c] = nn["spec"]["containers"]
    egress = {(e["dns"], e["ipAddress"]): e for e in c["egress"]}
    openai = egress[("api.openai.com.", "162.159.140.245")]
    assert (openai["type"], openai["dnsNames"], openai["ports"]) == (
        "external", ["api.openai.com."], [{"name": "TCP-443", "protocol": "TCP", "port": 443}])
    assert egress[("vault.sec.svc.cluster.local.", "10.96.4.4")]["type"] == "internal"
    assert egress[("", "10.77.3.10")]["dnsNames"] == [] and egress[("", "10.77.3.10")]["type"] == "internal"
    assert len({e["identifier"] for e in c["egress"]}) == len(c["egress"])
    [ingress] = c["ingress"]
    assert ingress["ports"] == [{"name": "TCP-8080", "protocol": "TCP", "port": 8080}]


def test_a_ready_profile_exports_as_completed_without_pending_deviations_until_accepted():
    bot = Actor("eks", "agents", "support-bot")
    p = learnt([bot.exec(700, "/bin/sh", "-c", "id"), bot.connect(701, "paste.example.net", 443, ip="198.51.100.9")])
    ap, nn = export([p])[:2]
    assert ap["metadata"]["annotations"]["kubescape.io/status"] == "completed"
    assert "/bin/sh" not in [e["path"] for e in ap["spec"]["containers"][0]["execs"]]
    assert "paste.example.net." not in [e["dns"] for e in nn["spec"]["containers"][0]["egress"]]
    ap, nn = export([accept(p)])[:2]
    assert "/bin/sh" in [e["path"] for e in ap["spec"]["containers"][0]["execs"]]
    assert "paste.example.net." in [e["dns"] for e in nn["spec"]["containers"][0]["egress"]]


def test_export_is_yaml_with_one_pair_per_workload_the_same_in_every_cluster():
    label = {"weft.dev/agent": "helpdesk"}
    eks, aks = Actor("eks", "support", "bot", labels=label), Actor("aks", "support", "bot", labels=label)
    eu = Actor("gke", "support-eu", "bot", labels=label, kind="StatefulSet")
    observer = Observer(Catalogue(load_catalogue()))
    observer.observe([eks.llm(0, "api.openai.com"), aks.llm(1, "api.openai.com"), eu.llm(2, "api.openai.com")])
    objects = export(observer.profiles().values())
    docs = list(yaml.safe_load_all(to_yaml(objects)))
    assert docs == objects
    assert [(d["kind"], d["metadata"]["namespace"], d["metadata"]["name"]) for d in docs] == [
        ("ApplicationProfile", "support", "deployment-bot"), ("NetworkNeighborhood", "support", "deployment-bot"),
        ("ApplicationProfile", "support-eu", "statefulset-bot"),
        ("NetworkNeighborhood", "support-eu", "statefulset-bot")]
    assert {d["metadata"]["annotations"]["weft.dev/clusters"] for d in docs} == {"aks,eks,gke"}
