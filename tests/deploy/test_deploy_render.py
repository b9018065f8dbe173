"""Every kustomization in deploy/ renders with `kubectl kustomize`, every object it
renders is valid against the real Kubernetes v1.30 JSON schema of its kind (strict:
unknown fields fail), and the objects refer to each other consistently."""
from __future__ import annotations

import copy
import json
import re
from functools import lru_cache
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from weft.v1 import event_pb2

SCHEMAS = (Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "schemas"
           / "kubernetes" / "v1.30.0-local-strict")
DEFINITIONS_ID = "https://kubernetes.io/api/_definitions.json"
CLUSTER_SCOPED = {"Namespace", "PriorityClass", "ClusterRole", "ClusterRoleBinding"}
README = Path(__file__).resolve().parents[2] / "deploy" / "README.md"
PROVIDERS = {"eks": "AWS", "aks": "AZURE", "gke": "GCP"}


# --- schemas -------------------------------------------------------------------------
def _gvk(api_version: str, kind: str) -> tuple[str, str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version, kind


@lru_cache(maxsize=1)
def _schemas() -> tuple[Registry, dict, dict]:
    """(registry, gvk -> definition name, gvk -> standalone schema document)."""
    if not (SCHEMAS / "_definitions.json").is_file():
        pytest.fail(f"Kubernetes schemas not found at {SCHEMAS}")
    defs = json.loads((SCHEMAS / "_definitions.json").read_text())
    resources = [(DEFINITIONS_ID, Resource.from_contents(defs))]
    by_gvk = {}
    for name, d in defs["$defs"].items():
        for g in d.get("x-kubernetes-group-version-kind", []):
            by_gvk[(g["group"], g["version"], g["kind"])] = name
    standalone = {}
    for f in SCHEMAS.glob("*.json"):
        if f.name == "_definitions.json":
            continue
        doc = json.loads(f.read_text())
        resources.append((doc["$id"], Resource.from_contents(doc)))
        for g in doc.get("x-kubernetes-group-version-kind", []):
            standalone[(g["group"], g["version"], g["kind"])] = doc
    return Registry().with_resources(resources), by_gvk, standalone


def schema_errors(obj: dict) -> list[str]:
    """Why `obj` is not a valid object of its kind; a kind with no schema is an error
    (a CRD-backed kind, such as a ServiceMonitor, cannot be checked offline)."""
    registry, by_gvk, standalone = _schemas()
    gvk = _gvk(obj.get("apiVersion", ""), obj.get("kind", ""))
    if gvk in standalone:
        schema = standalone[gvk]
    elif gvk in by_gvk:
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                  "$ref": f"{DEFINITIONS_ID}#/$defs/{by_gvk[gvk]}"}
    else:
        return [f"no Kubernetes schema for {obj.get('apiVersion')}/{obj.get('kind')} "
                "(CRD-backed kinds are not allowed in deploy/)"]
    validator = Draft202012Validator(schema, registry=registry)
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in validator.iter_errors(obj)]


def describe(obj: dict) -> str:
    m = obj.get("metadata", {})
    return f"{obj.get('kind')} {m.get('namespace', '-')}/{m.get('name')}"


# --- rendering and schemas -----------------------------------------------------------------
def test_every_object_is_valid_against_its_kubernetes_schema(renders, target):
    r = renders(target)
    assert r.objects, f"{target} rendered nothing"
    problems = {describe(o): errs for o in r.objects if (errs := schema_errors(o))}
    assert problems == {}


def test_the_schema_check_rejects_unknown_fields_wrong_types_and_unknown_kinds(renders):
    deployment = copy.deepcopy(renders("base").get("Deployment", "weft-detect"))
    assert schema_errors(deployment) == []
    typo = copy.deepcopy(deployment)
    typo["spec"]["template"]["spec"]["containers"][0]["readinessprobe"] = {}
    assert schema_errors(typo), "an unknown field must fail the strict schema"
    wrong = copy.deepcopy(deployment)
    wrong["spec"]["template"]["spec"]["hostPID"] = "yes"
    assert schema_errors(wrong), "a string where a boolean belongs must fail"
    policy = copy.deepcopy(renders("base").get("NetworkPolicy", "nats", "weft"))
    policy["spec"]["ingress"][0]["from"][0]["podSelecter"] = {}
    assert schema_errors(policy), "NetworkPolicy validates against its own schema file too"
    monitor = {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
               "metadata": {"name": "weft"}, "spec": {}}
    assert any("no Kubernetes schema" in e for e in schema_errors(monitor))


def test_objects_live_in_weft_namespaces(renders, target):
    for o in renders(target).objects:
        ns = o["metadata"].get("namespace")
        if o["kind"] in CLUSTER_SCOPED:
            assert ns is None, f"{describe(o)} is cluster-scoped"
        else:
            assert ns in ("weft", "weft-sensor"), f"{describe(o)} has no weft namespace"


def test_only_the_sensor_runs_in_the_privileged_namespace(renders, target):
    r = renders(target)
    assert [w["metadata"]["name"] for w in r.workloads()
            if w["metadata"]["namespace"] == "weft-sensor"] == ["weft-sensor"]


# --- references between objects ------------------------------------------------------------
def _labels_match(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def test_services_select_a_workload_and_target_its_named_ports(renders, target):
    r = renders(target)
    for svc in r.of_kind("Service"):
        ns = svc["metadata"]["namespace"]
        pods = [w for w in r.workloads() if w["metadata"]["namespace"] == ns
                and _labels_match(svc["spec"]["selector"], w["spec"]["template"]["metadata"]["labels"])]
        assert len(pods) == 1, f"{describe(svc)} selects {len(pods)} workloads"
        names = {p["name"] for c in pods[0]["spec"]["template"]["spec"]["containers"]
                 for p in c.get("ports", [])}
        for port in svc["spec"]["ports"]:
            assert port["targetPort"] in names, f"{describe(svc)}: no container port {port['targetPort']}"


def test_autoscalers_and_disruption_budgets_point_at_real_workloads(renders, target):
    r = renders(target)
    for hpa in r.of_kind("HorizontalPodAutoscaler"):
        ref = hpa["spec"]["scaleTargetRef"]
        r.get(ref["kind"], ref["name"], hpa["metadata"]["namespace"])
    for pdb in r.of_kind("PodDisruptionBudget"):
        sel = pdb["spec"]["selector"]["matchLabels"]
        hits = [w for w in r.workloads() if w["metadata"]["namespace"] == pdb["metadata"]["namespace"]
                and _labels_match(sel, w["spec"]["template"]["metadata"]["labels"])]
        assert len(hits) == 1, f"{describe(pdb)} covers {len(hits)} workloads"


def test_workloads_refer_only_to_objects_that_exist_or_are_documented(renders, target):
    """ConfigMaps, ServiceAccounts and PriorityClasses are rendered; Secrets are the
    ones deploy/README.md tells the operator to create (never generated here)."""
    r = renders(target)
    readme = README.read_text()
    for w in r.workloads():
        ns = w["metadata"]["namespace"]
        spec = w["spec"]["template"]["spec"]
        r.get("ServiceAccount", spec["serviceAccountName"], ns)
        if "priorityClassName" in spec:
            r.get("PriorityClass", spec["priorityClassName"])
        secrets = set()
        for v in spec.get("volumes", []):
            if "configMap" in v:
                r.get("ConfigMap", v["configMap"]["name"], ns)
            if "secret" in v:
                secrets.add(v["secret"]["secretName"])
        for c in spec.get("initContainers", []) + spec["containers"]:
            volumes = {v["name"] for v in spec.get("volumes", [])}
            claims = {t["metadata"]["name"] for t in w["spec"].get("volumeClaimTemplates", [])}
            for m in c.get("volumeMounts", []):
                assert m["name"] in volumes | claims, f"{describe(w)}: mount {m['name']} has no volume"
            for e in c.get("env", []):
                ref = e.get("valueFrom", {})
                if "configMapKeyRef" in ref:
                    cm = r.get("ConfigMap", ref["configMapKeyRef"]["name"], ns)
                    assert ref["configMapKeyRef"]["key"] in cm["data"]
                if "secretKeyRef" in ref:
                    secrets.add(ref["secretKeyRef"]["name"])
            for src in c.get("envFrom", []):
                r.get("ConfigMap", src["configMapRef"]["name"], ns)
        for s in secrets:
            assert s not in {o["metadata"]["name"] for o in r.of_kind("Secret")}, \
                f"{s} must not be generated: apply would overwrite real credentials"
            assert re.search(rf"(?<![\w-]){ns}/{re.escape(s)}(?![\w-])", readme), \
                f"{describe(w)} needs Secret {ns}/{s}, which deploy/README.md does not explain"


def test_images_are_pinned_and_overlays_name_their_registry(renders, target):
    r = renders(target)
    for w in r.workloads():
        spec = w["spec"]["template"]["spec"]
        for c in spec.get("initContainers", []) + spec["containers"]:
            image = c["image"]
            name, _, tag = image.rpartition(":")
            assert name and "/" not in tag and tag not in ("", "latest"), f"{image}: pin a tag"
            if target != "base" and c["image"].split("/")[-1].startswith("weft-"):
                assert "/" in name, f"{target}: {image} must come from the overlay's registry"


def test_the_sensor_and_discovery_share_one_cluster_identity(renders, overlay):
    """WEFT_CLUSTER/PROVIDER/REGION come from one file per overlay, in both namespaces."""
    r = renders(overlay)
    sensor_cm = r.configmap("weft-cluster", "weft-sensor")["data"]
    assert r.configmap("weft-cluster", "weft")["data"] == sensor_cm
    assert sensor_cm["WEFT_PROVIDER"] == PROVIDERS[overlay]
    assert sensor_cm["WEFT_PROVIDER"] in event_pb2.Node.Provider.keys()
    assert sensor_cm["WEFT_CLUSTER"] and sensor_cm["WEFT_REGION"]
    assert r.env("sensor")["WEFT_CLUSTER"] == r.env("discovery")["WEFT_DEFAULT_CLUSTER"]
