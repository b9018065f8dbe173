"""The node's pods as a workload metadata document (the one attribution.py describes),
from the Kubernetes API server and the cgroup v2 tree.

`document` is the pure core: a PodList and the cgroup directories in, the document out.
`KubeMetadata` is the shell: it lists the node's pods with the pod's service-account
token, then watches them from that list's version (as an informer does), walks the
cgroup tree, and replaces the metadata file the Attributor and the enforcer read when
the document changed. A pod that starts is in the file within a second of its
container running, not at the next list. When the watch ends (the server closes it
every few minutes) the pods are listed again; when it fails, every `interval` seconds.
On an error it keeps the last good file.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import aiohttp

from weft.common import http, privatefile
from weft.common.kubeapi import ApiServer, KubeApiError

log = logging.getLogger(__name__)

MAX_BODY = 32 << 20   # bytes of PodList: ~110 pods a node fit in well under 1 MiB
TIMEOUT_S = 10.0
INTERVAL_S = 10.0
WATCH_S = 300          # the server ends a watch after this (timeoutSeconds); it is listed again
SETTLE_S = 0.2         # changes arriving together make one rewrite
MAX_EVENT = 4 << 20    # bytes of one watch event (one pod)
RUNTIMES = ("containerd", "cri-o", "docker")
# The container's own cgroup, systemd driver (`cri-containerd-<id>.scope`, `crio-<id>.scope`,
# `docker-<id>.scope`) or cri-o on cgroupfs (`crio-<id>`); `crio-conmon-<id>` is its monitor.
SCOPE = re.compile(r"(?:cri-containerd|crio|docker)-([0-9a-f]+)(?:\.scope)?")
# A CronJob names its Jobs <cronjob>-<scheduled time in minutes since the epoch>.
CRONJOB_SUFFIX = re.compile(r"-\d{8,}$")


# --- the pure core ---------------------------------------------------------------------
@dataclass(frozen=True)
class Container:
    """A running container of a running pod, with what its metadata entry says."""
    id: str
    pod: dict
    name: str
    image: str


def document(pods: dict, cgroup_dirs: Iterable[str]) -> dict:
    """The metadata document: one entry per running container whose cgroup directory is
    among `cgroup_dirs`; running containers whose directory is not, under "unplaced";
    pods without the fields of a pod, under "malformed" (the others still count)."""
    by_id = cgroups_by_container_id(cgroup_dirs)
    doc: dict = {"workloads": [], "unplaced": []}
    for pod in pods.get("items") or []:
        try:
            placed = [(c, by_id.get(c.id)) for c in running_containers(pod)]
            entries = [entry(c, path) for c, path in placed if path]
        except (KeyError, TypeError, AttributeError) as e:
            doc.setdefault("malformed", []).append(f"{pod_label(pod)}: {type(e).__name__}: {e}")
            continue
        doc["workloads"] += entries
        doc["unplaced"] += [f"{_ns(pod)}/{_name(pod)}/{c.name}" for c, path in placed if not path]
    return doc


def running_containers(pod: dict) -> Iterator[Container]:
    if pod.get("status", {}).get("phase") != "Running":
        return
    status = pod["status"]
    for s in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []) \
            + (status.get("ephemeralContainerStatuses") or []):
        cid = container_id(s.get("containerID", ""))
        if cid and "running" in (s.get("state") or {}):
            yield Container(cid, pod, s["name"], s.get("image") or _spec_image(pod, s["name"]))


def pod_uid(pod) -> str | None:
    """A pod's uid, or None for what is not a pod."""
    try:
        uid = pod["metadata"]["uid"]
    except (KeyError, TypeError):
        return None
    return uid if isinstance(uid, str) and uid else None


def pod_label(pod) -> str:
    """namespace/name for a log line, whatever the pod is missing."""
    meta = pod.get("metadata") if isinstance(pod, dict) else None
    meta = meta if isinstance(meta, dict) else {}
    return f"{meta.get('namespace', '?')}/{meta.get('name', '?')}"


def container_id(runtime_id: str) -> str | None:
    """`containerd://<id>` (or cri-o, docker) -> `<id>`; None for an empty or unknown runtime."""
    runtime, sep, cid = runtime_id.partition("://")
    return cid if sep and runtime in RUNTIMES and cid else None


def cgroups_by_container_id(cgroup_dirs: Iterable[str]) -> dict[str, str]:
    """Container id -> its cgroup directory: a runtime scope (systemd driver), or a
    directory named by the id inside `pod<uid>` (cgroupfs driver)."""
    found = {}
    for d in sorted(cgroup_dirs):
        parent, name = os.path.split(os.path.normpath(d))
        if m := SCOPE.fullmatch(name):
            found.setdefault(m.group(1), os.path.normpath(d))
        elif os.path.basename(parent).startswith("pod"):
            found.setdefault(name, os.path.normpath(d))
    return found


def entry(c: Container, cgroup_path: str) -> dict:
    kind, name = workload_of(c.pod)
    return {"cgroupPath": cgroup_path, "namespace": _ns(c.pod), "pod": _name(c.pod), "container": c.name,
            "containerId": c.id, "kind": kind, "name": name,
            "serviceAccount": c.pod.get("spec", {}).get("serviceAccountName") or "default",
            "image": c.image, "labels": dict(c.pod["metadata"].get("labels") or {})}


def workload_of(pod: dict) -> tuple[str, str]:
    """(kind, name) of what runs the pod: its controller, seen through the ReplicaSet a
    Deployment made and the Job a CronJob made; a bare pod is its own workload."""
    meta = pod["metadata"]
    owner = next((o for o in meta.get("ownerReferences") or [] if o.get("controller")), None)
    if owner is None:
        return "Pod", meta["name"]
    kind, name = owner["kind"], owner["name"]
    template_hash = (meta.get("labels") or {}).get("pod-template-hash")
    if kind == "ReplicaSet" and template_hash and name.endswith(f"-{template_hash}"):
        return "Deployment", name[:-len(template_hash) - 1]
    if kind == "Job" and CRONJOB_SUFFIX.search(name):
        return "CronJob", CRONJOB_SUFFIX.sub("", name)
    return kind, name


def _spec_image(pod: dict, container: str) -> str:
    spec = pod.get("spec", {})
    for c in (spec.get("initContainers") or []) + (spec.get("containers") or []) \
            + (spec.get("ephemeralContainers") or []):
        if c.get("name") == container:
            return c.get("image", "")
    return ""


def _ns(pod: dict) -> str:
    return pod["metadata"].get("namespace", "")


def _name(pod: dict) -> str:
    return pod["metadata"]["name"]


# --- the shell -------------------------------------------------------------------------
def cgroup_dirs(root: str | os.PathLike) -> list[str]:
    """Every directory of the cgroup tree under `root`."""
    return [dirpath for dirpath, _dirs, _files in os.walk(root)]


class KubeMetadataError(KubeApiError):
    """The pods could not be listed (said without the token)."""


class KubeMetadata:
    """Keeps `path` the metadata document of the pods on `node`."""

    def __init__(self, api: ApiServer, node: str, path: str | os.PathLike,
                 cgroup_root: str | os.PathLike | None = None, interval: float = INTERVAL_S):
        self.api, self.node, self.path, self.interval = api, node, Path(path), interval
        self._cgroup_root = cgroup_root
        self._pods: dict[str, dict] = {}   # uid -> pod, as of the last list and the watch since
        self._version = ""                 # the resourceVersion the watch goes on from
        self.counts = {"refreshes": 0, "writes": 0, "errors": 0, "watched": 0, "malformed": 0}

    async def run(self, stop: asyncio.Event) -> None:
        """Watch from the last list, list again when the watch ends, until `stop` is set;
        without a watch, list every `interval` seconds (call `refresh_logged` first to
        have the file at once)."""
        while not stop.is_set():
            if self._version and await self.watch_logged(stop):
                await self.refresh_logged()   # the server ended the watch: go on from a new list
                continue
            try:
                await asyncio.wait_for(stop.wait(), self.interval)
            except asyncio.TimeoutError:
                await self.refresh_logged()

    async def watch_logged(self, stop: asyncio.Event) -> bool:
        """`watch`: True when the server ended it, False when it failed (said and counted)."""
        try:
            await self.watch(stop)
            return True
        except (KubeMetadataError, OSError) as e:
            self.counts["errors"] += 1
            log.error("kube metadata: watching the pods: %s; listing them every %gs", e, self.interval)
            self._version = ""   # a new list, and a watch from it, after the interval
            return False

    async def refresh_logged(self) -> bool:
        """`refresh`, its failure logged and counted: the last good file stays."""
        try:
            return await self.refresh()
        except (KubeMetadataError, OSError) as e:
            self.counts["errors"] += 1
            log.error("kube metadata: %s; keeping %s as it was, trying again in %gs", e, self.path, self.interval)
            if not self.path.exists():
                self._write_empty()
            return False

    def _write_empty(self) -> None:
        """No pods known yet: an empty document rather than none, which the enforcer's
        selection could not read."""
        try:
            privatefile.write(self.path, _encoded({"workloads": [], "unplaced": []}))
        except OSError as e:
            log.error("kube metadata: cannot write %s: %s", self.path, e)

    async def refresh(self) -> bool:
        """List the pods, walk the cgroups, write the document if it changed (True)."""
        self.counts["refreshes"] += 1
        pods = await self.list_pods()
        listed = {}
        for p in pods.get("items") or []:
            if uid := pod_uid(p):
                listed[uid] = p
            else:
                self._not_a_pod(p)
        if not listed:
            log.warning("kube metadata: the API server lists no pods on node %r (is WEFT_NODE_NAME "
                        "the node's name?)", self.node)
        changed = await self._publish(listed)
        self._pods, self._version = listed, str((pods.get("metadata") or {}).get("resourceVersion") or "")
        return changed

    async def watch(self, stop: asyncio.Event) -> None:
        """Follow the node's pods from the last list's version until the server ends the
        watch or `stop` is set, rewriting the file as they change."""
        params = {"fieldSelector": f"spec.nodeName={self.node}", "watch": "true",
                  "resourceVersion": self._version, "timeoutSeconds": str(WATCH_S)}
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=TIMEOUT_S, sock_read=WATCH_S + TIMEOUT_S)
        try:
            async with self._request("/api/v1/pods", params, timeout) as resp:
                await self._follow(_lines(resp.content), stop)
        except asyncio.TimeoutError:
            raise KubeMetadataError(f"{self.api.url} sent nothing on the watch for {WATCH_S + TIMEOUT_S:g}s") from None
        except aiohttp.ClientError as e:
            raise KubeMetadataError(f"watching pods on {self.api.url}: {type(e).__name__}: {e}") from None

    async def _follow(self, lines, stop: asyncio.Event) -> None:
        """Apply watch events; changes that come together (within SETTLE_S) are written once."""
        pods, pending = dict(self._pods), False
        next_line = asyncio.ensure_future(anext(lines, b""))
        stopped = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                done, _ = await asyncio.wait({next_line, stopped}, timeout=SETTLE_S if pending else None,
                                             return_when=asyncio.FIRST_COMPLETED)
                if not done:
                    await self._publish(pods)
                    self._pods, pending = dict(pods), False
                    continue
                if next_line not in done:
                    break
                line = next_line.result()
                if not line:
                    break
                next_line = asyncio.ensure_future(anext(lines, b""))
                pending |= self._apply(pods, line)
        finally:
            next_line.cancel()
            stopped.cancel()
        if pending:
            await self._publish(pods)
            self._pods = pods

    def _apply(self, pods: dict[str, dict], line: bytes) -> bool:
        """One watch event applied to pods; True when it changed them."""
        try:
            event = json.loads(line)
            kind, pod = event["type"], event["object"]
        except (ValueError, KeyError, TypeError) as e:
            raise KubeMetadataError(f"{self.api.url} sent a watch event that is not one: {e!r}") from None
        if kind == "ERROR":   # a Status, as 410 Gone when the version is too old: list again
            why = (pod.get("message") or pod.get("reason")) if isinstance(pod, dict) else None
            raise KubeMetadataError(f"the watch ended: {why or pod}")
        meta = pod.get("metadata") if isinstance(pod, dict) else None
        self._version = (meta.get("resourceVersion") if isinstance(meta, dict) else None) or self._version
        self.counts["watched"] += 1
        if kind == "BOOKMARK":
            return False   # only the version moves
        uid = pod_uid(pod)
        if uid is None:
            self._not_a_pod(pod)
        elif kind in ("ADDED", "MODIFIED"):
            pods[uid] = pod
            return True
        elif kind == "DELETED":
            return pods.pop(uid, None) is not None
        return False

    def _not_a_pod(self, pod) -> None:
        """Said and counted, and left out: the node's other pods are still written."""
        self.counts["malformed"] += 1
        log.warning("kube metadata: %s from %s has no metadata.uid: not a pod, left out", pod_label(pod), self.api.url)

    async def _publish(self, pods: dict[str, dict]) -> bool:
        """The document of these pods and the cgroup tree now, written if it changed."""
        dirs = await asyncio.to_thread(cgroup_dirs, self._root())
        ordered = sorted(pods.values(), key=pod_label)
        return await asyncio.to_thread(self._write_if_changed, document({"items": ordered}, dirs))

    async def list_pods(self) -> dict:
        try:
            body = await self._get("/api/v1/pods", {"fieldSelector": f"spec.nodeName={self.node}"})
        except asyncio.TimeoutError:
            raise KubeMetadataError(f"{self.api.url} did not list the pods within {TIMEOUT_S:g}s") from None
        except aiohttp.ClientError as e:
            raise KubeMetadataError(f"listing pods from {self.api.url}: {type(e).__name__}: {e}") from None
        try:
            pods = json.loads(body)
        except ValueError as e:
            raise KubeMetadataError(f"{self.api.url} answered a pod list that is not JSON: {e}") from None
        if not isinstance(pods, dict) or pods.get("kind") != "PodList":
            raise KubeMetadataError(f"{self.api.url} answered no PodList")
        return pods

    async def _get(self, path: str, params: dict) -> bytes:
        async with self._request(path, params, aiohttp.ClientTimeout(total=TIMEOUT_S)) as resp:
            return await http.read_capped(resp, MAX_BODY, lambda why: KubeMetadataError(f"the pod list: {why}"))

    @asynccontextmanager
    async def _request(self, path: str, params: dict, timeout: aiohttp.ClientTimeout):
        """A GET with the service account's token (read now: the kubelet rotates it); its
        response, once it said 200."""
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.get(self.api.url + path, params=params, ssl=self.api.tls(),
                                   headers=self.api.headers()) as resp:
                if resp.status != 200:
                    reason = (await resp.content.read(512)).decode(errors="replace")
                    raise KubeMetadataError(f"{self.api.url}{path}: HTTP {resp.status}: {reason}")
                yield resp

    def _root(self) -> str | os.PathLike:
        if self._cgroup_root is None:
            from weft.common import cgroupfs
            self._cgroup_root = cgroupfs.v2_mount()
        return self._cgroup_root

    def _write_if_changed(self, doc: dict) -> bool:
        data = _encoded(doc)
        try:
            if self.path.read_bytes() == data:
                return False
        except FileNotFoundError:
            pass
        privatefile.write(self.path, data)
        self.counts["writes"] += 1
        log.info("kube metadata: %d containers of node %r in %s%s", len(doc["workloads"]), self.node, self.path,
                 f"; no cgroup found for {', '.join(doc['unplaced'])}" if doc["unplaced"] else "")
        if doc.get("malformed"):
            log.warning("kube metadata: pods left out, without the fields of a pod: %s", "; ".join(doc["malformed"]))
        return True


def _encoded(doc: dict) -> bytes:
    return (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode()


async def _lines(stream: aiohttp.StreamReader):
    """The newline-separated JSON of a watch, each line up to MAX_EVENT bytes (aiohttp's
    own readline stops at 64 KiB, and a pod with large annotations is more)."""
    buffered = b""
    async for chunk in stream.iter_any():
        buffered += chunk
        *lines, buffered = buffered.split(b"\n")
        for line in lines:
            if line.strip():
                yield line
        if len(buffered) > MAX_EVENT:
            raise KubeMetadataError(f"a watch event over {MAX_EVENT} bytes")
    if buffered.strip():
        yield buffered
