"""deploy/ rendered once per test session with `kubectl kustomize`, and the small
lookups every deploy test needs. Tests here skip only when kubectl is missing."""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
OVERLAYS = ("eks", "aks", "gke")
TARGETS = ("base",) + OVERLAYS          # everything kustomize can build
STAGES = ("discovery", "posture", "detect", "enforce")
COMPONENT = "app.kubernetes.io/component"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job")


def pytest_generate_tests(metafunc):
    if "overlay" in metafunc.fixturenames:
        metafunc.parametrize("overlay", OVERLAYS)
    if "target" in metafunc.fixturenames:
        metafunc.parametrize("target", TARGETS)


def target_dir(name: str) -> Path:
    return DEPLOY / "base" if name == "base" else DEPLOY / "overlays" / name


@dataclass
class Rendered:
    """The objects one kustomization renders to, with lookups by kind and name."""
    name: str
    objects: list[dict]

    def of_kind(self, kind: str) -> list[dict]:
        return [o for o in self.objects if o["kind"] == kind]

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict:
        found = [o for o in self.of_kind(kind) if o["metadata"]["name"] == name
                 and (namespace is None or o["metadata"].get("namespace") == namespace)]
        assert len(found) == 1, f"{self.name}: expected one {kind} {name}, found {len(found)}"
        return found[0]

    def configmap(self, prefix: str, namespace: str) -> dict:
        """A generated ConfigMap (kustomize appends a content hash to its name)."""
        found = [o for o in self.of_kind("ConfigMap") if o["metadata"].get("namespace") == namespace
                 and o["metadata"]["name"].rsplit("-", 1)[0] == prefix]
        assert len(found) == 1, f"{self.name}: expected one ConfigMap {prefix}-<hash> in {namespace}"
        return found[0]

    def workloads(self) -> list[dict]:
        return [o for o in self.objects if o["kind"] in WORKLOAD_KINDS]

    def workload(self, component: str) -> dict:
        found = [w for w in self.workloads()
                 if w["spec"]["template"]["metadata"]["labels"].get(COMPONENT) == component]
        assert len(found) == 1, f"{self.name}: expected one workload for {component}, found {len(found)}"
        return found[0]

    def container(self, component: str) -> dict:
        containers = self.workload(component)["spec"]["template"]["spec"]["containers"]
        assert len(containers) == 1, f"{component}: one container expected"
        return containers[0]

    def env(self, component: str) -> dict[str, str]:
        """The environment the component's container starts with: literal values,
        ConfigMap keys looked up in this render, Secret keys and downward-API fields
        as stand-in values (`secret:<name>/<key>`, `field:<path>`)."""
        ns = self.workload(component)["metadata"]["namespace"]
        c = self.container(component)
        env: dict[str, str] = {}
        for src in c.get("envFrom", []):
            ref = src["configMapRef"]["name"]
            env.update(self._configmap_named(ref, ns)["data"])
        for e in c.get("env", []):
            if "value" in e:
                env[e["name"]] = e["value"]
                continue
            ref = e["valueFrom"]
            if "configMapKeyRef" in ref:
                k = ref["configMapKeyRef"]
                env[e["name"]] = self._configmap_named(k["name"], ns)["data"][k["key"]]
            elif "secretKeyRef" in ref:
                k = ref["secretKeyRef"]
                env[e["name"]] = f"secret:{k['name']}/{k['key']}"
            elif "fieldRef" in ref:
                env[e["name"]] = f"field:{ref['fieldRef']['fieldPath']}"
            else:
                raise AssertionError(f"{component}: unexpected env source {ref}")
        return env

    def _configmap_named(self, name: str, namespace: str) -> dict:
        return self.get("ConfigMap", name, namespace)

    def mounted_volume(self, component: str, path: str, container: dict | None = None) -> tuple[dict, str]:
        """(volume, path inside it) of a file path inside a container of the component
        (its main one unless given)."""
        spec = self.workload(component)["spec"]["template"]["spec"]
        for m in (container or self.container(component))["volumeMounts"]:
            if path.startswith(m["mountPath"].rstrip("/") + "/"):
                volume = next(v for v in spec["volumes"] if v["name"] == m["name"])
                return volume, path[len(m["mountPath"]):].lstrip("/")
        raise AssertionError(f"{component}: nothing is mounted at {path}")

    def mounted_secret_file(self, component: str, path: str, container: dict | None = None) -> tuple[str, str]:
        """(Secret name, key) a file path inside a container of the component comes from."""
        volume, rel = self.mounted_volume(component, path, container)
        assert "secret" in volume, f"{path} is not on a Secret volume"
        items = {i["path"]: i["key"] for i in volume["secret"].get("items", [])}
        assert not items or rel in items, f"{path}: the Secret volume projects no {rel}"
        return volume["secret"]["secretName"], items.get(rel, rel)

    def port(self, component: str, name: str) -> int:
        """The container port the component names `name`."""
        ports = {p["name"]: p["containerPort"] for p in self.container(component).get("ports", [])}
        assert name in ports, f"{component} has no port named {name!r}: {ports}"
        return ports[name]


def render(name: str) -> Rendered:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not on PATH: deploy/ cannot be rendered (`kubectl kustomize`)")
    out = subprocess.run([kubectl, "kustomize", str(target_dir(name))],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"kubectl kustomize {target_dir(name)} failed:\n{out.stderr}"
    return Rendered(name, [d for d in yaml.safe_load_all(out.stdout) if d])


@pytest.fixture(scope="session")
def renders():
    """name -> Rendered, built on first use (each kustomization is rendered once)."""
    cache: dict[str, Rendered] = {}

    def get(name: str) -> Rendered:
        if name not in cache:
            cache[name] = render(name)
        return cache[name]
    return get


@pytest.fixture
def rendered(renders, overlay) -> Rendered:
    return renders(overlay)
