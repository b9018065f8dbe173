"""What the rendered manifests grant: the sensor's exact privileges and mounts, the
stages' restricted pods, probes on the routes weft really serves, autoscalers and
disruption budgets, the network flows of DESIGN.md and nothing more, and each
provider's identity wiring on discovery alone."""
from __future__ import annotations

import copy
import dataclasses
import ipaddress
import re
from dataclasses import dataclass, field

import pytest

from weft.common.http import make_app
from weft.sensor import errors as sensor_errors

STAGES = ("discovery", "posture", "detect", "enforce")
SENSOR_CAPS = {"BPF", "PERFMON", "SYS_RESOURCE", "SYS_PTRACE", "NET_ADMIN"}
# host path -> (mount path, read-only)
SENSOR_HOST_PATHS = {
    "/sys/kernel/tracing": ("/sys/kernel/tracing", True),
    "/sys/fs/cgroup": ("/sys/fs/cgroup", True),
    "/sys/fs/bpf": ("/sys/fs/bpf", False),
    "/sys/kernel/btf": ("/sys/kernel/btf", True),
    "/lib/modules": ("/lib/modules", True),
    "/usr/src": ("/usr/src", True),
}
IDENTITY_KEYS = ("eks.amazonaws.com/role-arn", "azure.workload.identity/client-id",
                 "iam.gke.io/gcp-service-account")
IDENTITY = {
    "eks": ("eks.amazonaws.com/role-arn", r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+"),
    "aks": ("azure.workload.identity/client-id", r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
    "gke": ("iam.gke.io/gcp-service-account", r"[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]"
                                              r"\.iam\.gserviceaccount\.com"),
}
SCRAPERS = {"base": "monitoring", "eks": "monitoring", "aks": "kube-system", "gke": "gmp-system"}


def pod(r, component: str) -> dict:
    return r.workload(component)["spec"]["template"]["spec"]


# --- the sensor -------------------------------------------------------------------------------
def test_sensor_is_not_privileged_and_has_exactly_its_capabilities(renders, target):
    r = renders(target)
    spec, c = pod(r, "sensor"), r.container("sensor")
    sc = c["securityContext"]
    assert sc.get("privileged") is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert set(sc["capabilities"]["add"]) == SENSOR_CAPS
    assert len(sc["capabilities"]["add"]) == len(SENSOR_CAPS)
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert spec["hostPID"] is True
    assert not spec.get("hostNetwork") and not spec.get("hostIPC")
    # the pod, not every pod of its account, carries the token --kube-metadata lists pods with
    assert spec["automountServiceAccountToken"] is True
    assert r.get("ServiceAccount", spec["serviceAccountName"], "weft-sensor")["automountServiceAccountToken"] is False
    assert {"operator": "Exists"} in spec["tolerations"], "a sensor on every node, tainted or not"


READ = {"get", "list", "watch"}


def granted(r, subject: tuple[str, str]) -> list[tuple[str, str, str]]:
    """(API group, resource, verb) of every rule bound to the ServiceAccount (namespace, name)."""
    bound = [b for b in r.of_kind("ClusterRoleBinding") + r.of_kind("RoleBinding")
             if any(s["kind"] == "ServiceAccount" and (s.get("namespace"), s["name"]) == subject
                    for s in b.get("subjects") or [])]
    rules = []
    for b in bound:
        ref = b["roleRef"]
        role = r.get(ref["kind"], ref["name"], None if ref["kind"] == "ClusterRole" else b["metadata"]["namespace"])
        assert "aggregationRule" not in role, f"{ref['name']}: an aggregated role grants what others add"
        rules += [(g, res, v) for rule in role["rules"] for g in rule.get("apiGroups", [])
                  for res in rule.get("resources", []) for v in rule["verbs"]]
        assert all("nonResourceURLs" not in rule and not rule.get("resourceNames") for rule in role["rules"])
    return rules


def test_the_sensors_token_reads_pods_and_nothing_else(renders, target):
    r = renders(target)
    assert set(granted(r, ("weft-sensor", "weft-sensor"))) == {("", "pods", v) for v in READ}
    # and the check sees grants: a role that also reads Secrets, or writes pods, is caught
    wider = dataclasses.replace(r, objects=copy.deepcopy(r.objects))
    wider.get("ClusterRole", "weft-sensor-pods")["rules"].append(
        {"apiGroups": [""], "resources": ["secrets", "pods"], "verbs": ["get", "patch"]})
    assert {("", "secrets", "get"), ("", "pods", "patch")} <= set(granted(wider, ("weft-sensor", "weft-sensor")))


def test_the_issuers_token_creates_tokenreviews_and_nothing_else(renders, target):
    r = renders(target)
    assert set(granted(r, ("weft", "weft-sensor-issuer"))) == {("authentication.k8s.io", "tokenreviews", "create")}
    spec = pod(r, "sensor-issuer")
    assert spec["serviceAccountName"] == "weft-sensor-issuer" and spec["automountServiceAccountToken"] is True
    assert r.get("ServiceAccount", "weft-sensor-issuer", "weft")["automountServiceAccountToken"] is False


def test_no_other_weft_account_is_bound_to_a_role(renders, target):
    r = renders(target)
    subjects = {(s.get("namespace"), s["name"]) for b in r.of_kind("ClusterRoleBinding") + r.of_kind("RoleBinding")
                for s in b.get("subjects") or []}
    assert subjects == {("weft-sensor", "weft-sensor"), ("weft", "weft-sensor-issuer")}


def test_sensor_mounts_the_kernel_interfaces_and_headers_and_nothing_else_of_the_host(renders, target):
    r = renders(target)
    spec, c = pod(r, "sensor"), r.container("sensor")
    host = {v["name"]: v["hostPath"]["path"] for v in spec["volumes"] if "hostPath" in v}
    mounts = {host[m["name"]]: (m["mountPath"], bool(m.get("readOnly")))
              for m in c["volumeMounts"] if m["name"] in host}
    assert mounts == SENSOR_HOST_PATHS
    # the code's own expectations: tracefs where preflight looks, headers under a mount
    assert mounts["/sys/kernel/tracing"][0] == sensor_errors.TRACEFS
    build = r.env("sensor").get("WEFT_KERNEL_BUILD_DIR", "/lib/modules/RELEASE/build")
    assert any(build.startswith(path + "/") for path, _ in mounts.values())


def test_sensor_has_resources_and_node_identity_from_the_downward_api(renders, target):
    r = renders(target)
    res = r.container("sensor")["resources"]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(res[kind]), f"sensor {kind}"
    assert r.env("sensor")["WEFT_NODE_NAME"] == "field:spec.nodeName"


@pytest.mark.parametrize("provider, expression", [
    ("eks", {"key": "eks.amazonaws.com/compute-type", "operator": "NotIn", "values": ["fargate"]}),
    ("aks", {"key": "kubernetes.azure.com/agentpool", "operator": "Exists"}),
    ("gke", {"key": "cloud.google.com/gke-os-distribution", "operator": "In", "values": ["ubuntu"]}),
])
def test_sensor_is_placed_by_provider_node_labels(renders, provider, expression):
    terms = (pod(renders(provider), "sensor")["affinity"]["nodeAffinity"]
             ["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"])
    assert any(expression in t["matchExpressions"] for t in terms)


# --- the stages and NATS: Pod Security "restricted" -------------------------------------------
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                      "persistentVolumeClaim", "projected", "secret"}


def restricted_violations(spec: dict) -> list[str]:
    """The Pod Security Standards' `restricted` checks this repository's pods touch."""
    bad = []
    psc = spec.get("securityContext", {})
    for flag in ("hostPID", "hostNetwork", "hostIPC"):
        if spec.get(flag):
            bad.append(flag)
    for v in spec.get("volumes", []):
        kinds = set(v) - {"name"}
        if not kinds <= RESTRICTED_VOLUMES:
            bad.append(f"volume {v['name']}: {kinds}")
    for c in spec.get("initContainers", []) + spec["containers"]:
        sc = c.get("securityContext", {})
        name = c["name"]
        if sc.get("privileged"):
            bad.append(f"{name}: privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            bad.append(f"{name}: allowPrivilegeEscalation")
        if sc.get("capabilities", {}).get("drop") != ["ALL"]:
            bad.append(f"{name}: must drop ALL")
        if set(sc.get("capabilities", {}).get("add", [])) - {"NET_BIND_SERVICE"}:
            bad.append(f"{name}: adds capabilities")
        if not sc.get("runAsNonRoot", psc.get("runAsNonRoot")):
            bad.append(f"{name}: runAsNonRoot")
        if sc.get("runAsUser", psc.get("runAsUser")) == 0:
            bad.append(f"{name}: runs as uid 0")
        seccomp = sc.get("seccompProfile", psc.get("seccompProfile", {})).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            bad.append(f"{name}: seccompProfile")
    return bad


def test_every_pod_in_the_weft_namespace_passes_restricted(renders, target):
    r = renders(target)
    ns = r.get("Namespace", "weft")["metadata"]["labels"]
    assert ns["pod-security.kubernetes.io/enforce"] == "restricted"
    pods = {w["metadata"]["name"]: w["spec"]["template"]["spec"] for w in r.workloads()
            if w["metadata"]["namespace"] == "weft"}
    assert len(pods) == 7    # four stages, NATS, the streams Job, the sensor issuer
    assert {name: v for name, spec in pods.items() if (v := restricted_violations(spec))} == {}
    # and the check is not vacuous: the sensor's pod would be refused
    assert restricted_violations(pod(r, "sensor"))


@pytest.mark.parametrize("component", STAGES + ("nats",))
def test_stages_read_only_without_tokens_or_service_links(renders, target, component):
    r = renders(target)
    spec, c = pod(r, component), r.container(component)
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert spec["automountServiceAccountToken"] is False
    assert r.get("ServiceAccount", spec["serviceAccountName"], "weft")["automountServiceAccountToken"] is False
    # Services such as weft-nats would otherwise inject WEFT_NATS_* into every pod
    assert spec["enableServiceLinks"] is False
    assert {"cpu", "memory"} <= set(c["resources"]["requests"])
    assert {"cpu", "memory"} <= set(c["resources"]["limits"])


@pytest.mark.parametrize("component", STAGES + ("sensor",))
def test_the_data_directory_is_a_writable_volume(renders, target, component):
    r = renders(target)
    data_dir = r.env(component)["WEFT_DATA_DIR"]
    mounts = {m["mountPath"]: m for m in r.container(component)["volumeMounts"]}
    assert data_dir in mounts and not mounts[data_dir].get("readOnly")
    volume = next(v for v in pod(r, component)["volumes"] if v["name"] == mounts[data_dir]["name"])
    assert "emptyDir" in volume


def test_every_pod_sets_enable_service_links_false(renders, target):
    assert [w["metadata"]["name"] for w in renders(target).workloads()
            if w["spec"]["template"]["spec"].get("enableServiceLinks") is not False] == []


# --- probes, autoscalers, disruption budgets --------------------------------------------------
def served_paths() -> set[str]:
    app = make_app("probe-check", lambda: True, dict)
    return {res.canonical for res in app.router.resources()}


@pytest.mark.parametrize("stage", STAGES)
def test_stage_probes_hit_real_routes_on_the_http_port(renders, target, stage):
    r = renders(target)
    c = r.container(stage)
    http_port = int(r.env(stage)["WEFT_HTTP_PORT"])
    assert r.port(stage, "http") == http_port
    expected = {"livenessProbe": "/healthz", "readinessProbe": "/readyz", "startupProbe": "/healthz"}
    for probe, path in expected.items():
        get = c[probe]["httpGet"]
        assert get["path"] == path and path in served_paths()
        assert r.port(stage, get["port"]) == http_port


def test_sensor_probes_hit_real_routes_on_its_http_port(renders, target):
    r = renders(target)
    c, env = r.container("sensor"), r.env("sensor")
    http_port = int(env["WEFT_SENSOR_HTTP_PORT"])
    assert r.port("sensor", "http") == http_port and env["WEFT_SENSOR_HTTP_HOST"] == "0.0.0.0"
    expected = {"livenessProbe": "/healthz", "readinessProbe": "/readyz", "startupProbe": "/healthz"}
    for probe, path in expected.items():
        get = c[probe]["httpGet"]
        assert get["path"] == path and path in served_paths()
        assert r.port("sensor", get["port"]) == http_port


def test_issuer_probes_hit_real_routes_on_its_http_port_and_its_pod_is_locked_down(renders, target):
    r = renders(target)
    c, env = r.container("sensor-issuer"), r.env("sensor-issuer")
    assert r.port("sensor-issuer", "https") == int(env["WEFT_ISSUER_PORT"]) and env["WEFT_ISSUER_HOST"] == "0.0.0.0"
    assert r.port("sensor-issuer", "http") == int(env["WEFT_HTTP_PORT"]) and env["WEFT_HTTP_HOST"] == "0.0.0.0"
    expected = {"livenessProbe": "/healthz", "readinessProbe": "/readyz", "startupProbe": "/healthz"}
    for probe, path in expected.items():
        get = c[probe]["httpGet"]
        assert get["path"] == path and path in served_paths()
        assert r.port("sensor-issuer", get["port"]) == int(env["WEFT_HTTP_PORT"])
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert {"cpu", "memory"} <= set(c["resources"]["requests"]) and {"cpu", "memory"} <= set(c["resources"]["limits"])


def test_nats_probes_use_the_monitor_port_of_its_config(renders, target):
    r = renders(target)
    conf = r.configmap("weft-nats-config", "weft")["data"]["nats.conf"]
    monitor = int(re.search(r"^http:\s*[\d.]*:(\d+)\s*$", conf, re.M).group(1))
    c = r.container("nats")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = c[probe]["httpGet"]
        assert get["path"].startswith("/healthz")
        assert r.port("nats", get["port"]) == monitor


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_has_an_autoscaler_and_a_disruption_budget(renders, target, stage):
    r = renders(target)
    dep = r.workload(stage)
    name, labels = dep["metadata"]["name"], dep["spec"]["template"]["metadata"]["labels"]
    assert "replicas" not in dep["spec"], "the HorizontalPodAutoscaler owns the replica count"
    [hpa] = [h for h in r.of_kind("HorizontalPodAutoscaler") if h["spec"]["scaleTargetRef"]["name"] == name]
    assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
    assert 2 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    assert any(m["type"] == "Resource" and m["resource"]["name"] == "cpu" for m in hpa["spec"]["metrics"])
    [pdb] = [p for p in r.of_kind("PodDisruptionBudget")
             if all(labels.get(k) == v for k, v in p["spec"]["selector"]["matchLabels"].items())]
    # with at least two replicas, one may always be evicted and one always stays
    assert pdb["spec"].get("maxUnavailable") == 1


def test_nats_is_a_three_server_cluster_that_keeps_quorum(renders, target):
    r = renders(target)
    sts = r.workload("nats")
    assert sts["kind"] == "StatefulSet" and sts["spec"]["replicas"] == 3
    [pdb] = [p for p in r.of_kind("PodDisruptionBudget") if p["metadata"]["name"] == sts["metadata"]["name"]]
    assert pdb["spec"]["maxUnavailable"] == 1
    spread = {s["topologyKey"]: s for s in sts["spec"]["template"]["spec"]["topologySpreadConstraints"]}
    assert spread["kubernetes.io/hostname"]["whenUnsatisfiable"] == "DoNotSchedule", "one server per node"


# --- network policies -------------------------------------------------------------------------
@dataclass
class Endpoint:
    name: str
    namespace: str | None            # None: outside the cluster
    labels: dict = field(default_factory=dict)
    ip: str = "203.0.113.7"
    ports: dict = field(default_factory=dict)   # port name -> (number, protocol)


def selector_matches(sel: dict, labels: dict) -> bool:
    if any(labels.get(k) != v for k, v in (sel.get("matchLabels") or {}).items()):
        return False
    for e in sel.get("matchExpressions") or []:
        key, op, values = e["key"], e["operator"], e.get("values") or []
        ok = {"In": key in labels and labels[key] in values,
              "NotIn": not (key in labels and labels[key] in values),
              "Exists": key in labels, "DoesNotExist": key not in labels}[op]
        if not ok:
            return False
    return True


def peer_matches(peer: dict, policy_ns: str, ep: Endpoint) -> bool:
    if "ipBlock" in peer:   # read as matching pod addresses too, as some CNIs do
        net, addr = ipaddress.ip_network(peer["ipBlock"]["cidr"]), ipaddress.ip_address(ep.ip)
        return (addr.version == net.version and addr in net
                and not any(addr in ipaddress.ip_network(x) for x in peer["ipBlock"].get("except", [])))
    if ep.namespace is None:
        return False
    if "namespaceSelector" in peer:
        if not selector_matches(peer["namespaceSelector"], {"kubernetes.io/metadata.name": ep.namespace}):
            return False
    elif ep.namespace != policy_ns:
        return False
    return "podSelector" not in peer or selector_matches(peer["podSelector"], ep.labels)


def port_matches(rule_ports: list, port: int, proto: str, dst: Endpoint) -> bool:
    if not rule_ports:
        return True
    for p in rule_ports:
        if p.get("protocol", "TCP") != proto:
            continue
        want = p.get("port")
        if want is None or want == port or (p.get("endPort") and want <= port <= p["endPort"]):
            return True
        if isinstance(want, str) and dst.ports.get(want) == (port, proto):
            return True
    return False


def side_allows(policies: list, me: Endpoint, other: Endpoint, dst: Endpoint, port: int, proto: str,
                direction: str) -> bool:
    if me.namespace is None:       # the world outside is not ours to police
        return True
    key, peers = ("egress", "to") if direction == "Egress" else ("ingress", "from")
    selecting = [p for p in policies if p["metadata"]["namespace"] == me.namespace
                 and selector_matches(p["spec"]["podSelector"], me.labels)
                 and direction in p["spec"].get("policyTypes", ["Ingress"])]
    if not selecting:
        return True
    return any((not rule.get(peers) or any(peer_matches(x, p["metadata"]["namespace"], other)
                                            for x in rule[peers]))
               and port_matches(rule.get("ports", []), port, proto, dst)
               for p in selecting for rule in p["spec"].get(key, []))


def allowed(policies, src: Endpoint, dst: Endpoint, port: int, proto: str = "TCP") -> bool:
    return (side_allows(policies, src, dst, dst, port, proto, "Egress")
            and side_allows(policies, dst, src, dst, port, proto, "Ingress"))


def weft_pods(r) -> dict[str, Endpoint]:
    pods = {}
    for i, w in enumerate(r.workloads()):
        t = w["spec"]["template"]
        comp = t["metadata"]["labels"]["app.kubernetes.io/component"]
        ports = {p["name"]: (p["containerPort"], p.get("protocol", "TCP"))
                 for c in t["spec"]["containers"] for p in c.get("ports", [])}
        pods[comp] = Endpoint(comp, w["metadata"]["namespace"], t["metadata"]["labels"], f"10.8.0.{i + 10}", ports)
    return pods


KUBE_DNS = Endpoint("kube-dns", "kube-system", {"k8s-app": "kube-dns"}, "10.8.1.10",
                    {"dns": (53, "UDP"), "dns-tcp": (53, "TCP")})
WORLD = Endpoint("world", None)

# DESIGN.md: the sensor dials discovery's gateway; every stage reads and writes the bus;
# the streams Job creates the bus's streams; the NATS servers route to each other.
# Between weft's pods, nothing else.
EXPECTED_BETWEEN_WEFT_PODS = ({("sensor", "discovery", 50051), ("sensor", "sensor-issuer", 8443),
                               ("nats", "nats", 6222), ("streams", "nats", 4222)}
                              | {(s, "nats", 4222) for s in STAGES})


def test_between_weft_pods_only_the_design_flows_are_allowed(renders, target):
    r = renders(target)
    policies, pods = r.of_kind("NetworkPolicy"), weft_pods(r)
    assert set(pods) == {"sensor", "sensor-issuer", "nats", "streams", *STAGES}
    flows = {(s.name, d.name, port) for s in pods.values() for d in pods.values()
             for port, proto in d.ports.values() if allowed(policies, s, d, port, proto)}
    assert flows == EXPECTED_BETWEEN_WEFT_PODS


def test_default_deny_covers_both_namespaces(renders, target):
    r = renders(target)
    for ns in ("weft", "weft-sensor"):
        assert any(p["metadata"]["namespace"] == ns and p["spec"]["podSelector"] == {}
                   and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"} and not p["spec"].get("ingress")
                   and not p["spec"].get("egress") for p in r.of_kind("NetworkPolicy")), ns


def test_flows_to_and_from_outside_weft(renders, target):
    r = renders(target)
    policies, pods = r.of_kind("NetworkPolicy"), weft_pods(r)
    scraper = Endpoint("prometheus", SCRAPERS[target], {"app": "prometheus"}, "10.8.2.10")
    for p in pods.values():
        assert allowed(policies, p, KUBE_DNS, 53, "UDP") and allowed(policies, p, KUBE_DNS, 53, "TCP"), p.name
        assert not allowed(policies, p, KUBE_DNS, 80), p.name
        assert not allowed(policies, p, WORLD, 80), p.name
        assert allowed(policies, p, WORLD, 5432) == (p.name in STAGES), f"{p.name} -> PostgreSQL"
    # the ingest endpoint is reachable; the gateway, the bus and the other stages are not
    assert allowed(policies, WORLD, pods["discovery"], 8080)
    assert not allowed(policies, WORLD, pods["discovery"], 50051)
    assert not allowed(policies, WORLD, pods["nats"], 4222)
    for stage in ("posture", "detect", "enforce"):
        assert not allowed(policies, WORLD, pods[stage], 8080)
        assert allowed(policies, scraper, pods[stage], 8080)
    assert allowed(policies, scraper, pods["nats"], 8222)
    assert allowed(policies, scraper, pods["sensor"], 9464) and not allowed(policies, WORLD, pods["sensor"], 9464)
    assert not allowed(policies, scraper, pods["nats"], 4222)
    assert not allowed(policies, scraper, pods["discovery"], 50051)
    # only discovery talks to cloud APIs, and only where an overlay gave it an identity;
    # the sensor and the issuer reach the API server (no NetworkPolicy can name it: 443 and 6443)
    api_server = {"sensor", "sensor-issuer"}
    for p in pods.values():
        cloud_api = target != "base" and p.name == "discovery"
        assert allowed(policies, p, WORLD, 443) == (cloud_api or p.name in api_server), p.name
        assert allowed(policies, p, WORLD, 6443) == (p.name in api_server), p.name
    # the issuer signs for the sensors alone; Prometheus scrapes its plain HTTP port
    assert not allowed(policies, WORLD, pods["sensor-issuer"], 8443)
    assert not allowed(policies, scraper, pods["sensor-issuer"], 8443)
    assert allowed(policies, scraper, pods["sensor-issuer"], 8080)
    assert not allowed(policies, WORLD, pods["sensor-issuer"], 8080)


def test_gke_discovery_reaches_the_metadata_server_for_workload_identity(renders):
    r = renders("gke")
    policies, pods = r.of_kind("NetworkPolicy"), weft_pods(r)
    metadata = Endpoint("gke-metadata", None, ip="169.254.169.254")
    assert allowed(policies, pods["discovery"], metadata, 80)
    assert not allowed(policies, pods["posture"], metadata, 80)
    assert not allowed(policies, pods["sensor"], metadata, 80)


# --- provider identity ----------------------------------------------------------------------
def test_overlay_gives_discovery_and_only_discovery_its_cloud_identity(renders, overlay):
    r = renders(overlay)
    key, pattern = IDENTITY[overlay]
    value = r.get("ServiceAccount", "weft-discovery", "weft")["metadata"]["annotations"][key]
    assert re.fullmatch(pattern, value), f"{key}: {value!r}"
    holders = {(sa["metadata"]["name"], k) for sa in r.of_kind("ServiceAccount")
               for k in (sa["metadata"].get("annotations") or {}) if k in IDENTITY_KEYS}
    assert holders == {("weft-discovery", key)}
    assert pod(r, "discovery")["serviceAccountName"] == "weft-discovery"


def test_aks_pods_opt_into_workload_identity_by_label(renders):
    r = renders("aks")
    using = {w["metadata"]["name"] for w in r.workloads()
             if w["spec"]["template"]["metadata"]["labels"].get("azure.workload.identity/use") == "true"}
    assert using == {"weft-discovery"}


def test_gke_discovery_runs_where_the_metadata_server_does(renders):
    assert pod(renders("gke"), "discovery")["nodeSelector"]["iam.gke.io/gke-metadata-server-enabled"] == "true"


def test_base_carries_no_cloud_identity(renders):
    r = renders("base")
    for sa in r.of_kind("ServiceAccount"):
        assert not set(sa["metadata"].get("annotations") or {}) & set(IDENTITY_KEYS)
