"""OCSF 1.7 objects, built small: every builder drops what the source did not give, so
a finding carries no empty attribute, and returns None when nothing is left.

Only attribute names and enum values of the OCSF dictionary appear here; the tests
validate every converted finding against the JSON Schema of class 2004 generated from
the OCSF 1.7.0 schema (ocsf-json-schema), with the profiles the finding declares.
"""
from __future__ import annotations

import re
from typing import Any

OCSF_VERSION = "1.7.0"
FINDINGS_CATEGORY = 2
DETECTION_FINDING = 2004

ACTIVITY_CREATE, ACTIVITY_UPDATE, ACTIVITY_CLOSE = 1, 2, 3
ACTIVITY_CAPTIONS = {ACTIVITY_CREATE: "Create", ACTIVITY_UPDATE: "Update", ACTIVITY_CLOSE: "Close"}
STATUS_NEW, STATUS_IN_PROGRESS, STATUS_SUPPRESSED, STATUS_RESOLVED, STATUS_ARCHIVED = 1, 2, 3, 4, 5
STATUS_OTHER = 99
STATUS_CAPTIONS = {STATUS_NEW: "New", STATUS_IN_PROGRESS: "In Progress", STATUS_SUPPRESSED: "Suppressed",
                   STATUS_RESOLVED: "Resolved", STATUS_ARCHIVED: "Archived", STATUS_OTHER: "Other"}
ROLE_TARGET, ROLE_ACTOR, ROLE_AFFECTED, ROLE_RELATED = 1, 2, 3, 4

# account.type_id
AWS_ACCOUNT, AZURE_AD_ACCOUNT, GCP_PROJECT, AZURE_SUBSCRIPTION = 10, 6, 11, 13
# user.type_id
USER, ADMIN, SYSTEM, SERVICE = 1, 2, 3, 4
# file.type_id, fingerprint.algorithm_id
REGULAR_FILE = 1
HASH_ALGORITHMS = {"md5": 1, "sha1": 2, "sha-1": 2, "sha256": 3, "sha-256": 3, "sha512": 4, "sha-512": 4}

_ENDPOINT_IDS = frozenset({"ip", "domain", "hostname", "name", "instance_uid"})
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_DIRECTIONS = {"inbound": 1, "ingress": 1, "outbound": 2, "egress": 2, "lateral": 3, "local": 4}
_PROTOCOLS = {"icmp": 1, "tcp": 6, "udp": 17, "icmpv6": 58, "sctp": 132}
# An evidence must carry at least one of these (OCSF `evidences` constraint).
EVIDENCE_KEYS = frozenset({"actor", "api", "connection_info", "data", "database", "databucket", "device",
                           "dst_endpoint", "email", "file", "process", "query", "src_endpoint", "url", "user",
                           "job", "script"})


_KEPT_WHEN_FALSY = frozenset({int, float, bool})   # 0 and False are values; None, "", [], {} are not


def compact(**fields: Any) -> dict:
    """The fields that hold something: None, "", [] and {} are left out."""
    return {k: v for k, v in fields.items() if v or (v is not None and type(v) in _KEPT_WHEN_FALSY)}


def or_none(d: dict) -> dict | None:
    return d or None


def endpoint(*, ip: str | None = None, port: int | None = None, domain: str | None = None,
             hostname: str | None = None, name: str | None = None, instance_uid: str | None = None,
             country: str | None = None, city: str | None = None, place: str | None = None,
             asn: int | None = None, asn_org: str | None = None, isp: str | None = None) -> dict | None:
    """`country` is an ISO 3166-1 alpha-2 code; `place` describes a location a source only names."""
    location = compact(country=country, city=city, desc=place) if country or city or place else None
    system = compact(number=asn, name=asn_org) if asn is not None or asn_org else None
    found = compact(ip=ip, port=port, domain=domain, hostname=hostname, name=name,
                    instance_uid=instance_uid, location=location, autonomous_system=system, isp=isp)
    # OCSF needs an address or a name: a port, location or ISP alone identifies no endpoint
    return None if _ENDPOINT_IDS.isdisjoint(found) else found


def connection(direction: str | None = None, protocol: str | int | None = None) -> dict | None:
    if direction is None and protocol is None:
        return None
    direction_id = _DIRECTIONS.get(str(direction).lower(), 0) if direction else 0
    if isinstance(protocol, int):
        return compact(direction_id=direction_id, protocol_num=protocol)
    name = str(protocol).lower().removeprefix("ipproto_") if protocol else None
    return compact(direction_id=direction_id, protocol_name=name, protocol_num=_PROTOCOLS.get(name or ""))


def fingerprint(algorithm: str, value: str | None) -> dict | None:
    """A hash; OCSF hashes are hex, so a placeholder ("Sample-SHA") is left out."""
    if not value or not _HEX.match(value):
        return None
    algorithm_id = HASH_ALGORITHMS.get(algorithm.lower(), 99)
    return compact(algorithm_id=algorithm_id, algorithm=algorithm if algorithm_id == 99 else None, value=value)


def file(*, path: str | None = None, name: str | None = None, hashes: list[dict | None] = (),
         size: int | None = None) -> dict | None:
    if not (path or name):
        return None
    if not name and path:
        name = path.rstrip("/").rsplit("/", 1)[-1] or path
    return compact(type_id=REGULAR_FILE, path=path, name=name, size=size, hashes=[h for h in hashes if h])


def image(reference: str | None, uid: str | None = None) -> dict | None:
    """A container image. OCSF requires its uid: the digest or image id when the source
    gives one, otherwise the image reference itself, which names it in its registry."""
    if not (reference or uid):
        return None
    name, tag = _split_reference(reference) if reference else (None, None)
    return compact(uid=uid or reference, name=name, tag=tag)


def _split_reference(reference: str) -> tuple[str, str | None]:
    if "@" in reference:
        return reference.split("@", 1)[0], None
    head, _, tail = reference.rpartition(":")
    return (head, tail) if head and "/" not in tail else (reference, None)


def container(*, uid: str | None = None, name: str | None = None, image: dict | None = None,
              runtime: str | None = None, orchestrator: str | None = None, pod_uuid: str | None = None,
              labels: dict[str, str] | None = None) -> dict | None:
    if not (uid or name):
        return None
    return compact(uid=uid, name=name, image=image, runtime=runtime, orchestrator=orchestrator,
                   pod_uuid=pod_uuid, tags=tags(labels))


def tags(labels: dict[str, Any] | None) -> list[dict]:
    return [{"name": str(k), "value": str(v)} for k, v in labels.items()] if labels else []


def user(*, name: str | None = None, uid: str | None = None, type: str | None = None,
         type_id: int | None = None, email: str | None = None, credential_uid: str | None = None,
         account: dict | None = None, groups: list[str] = (), domain: str | None = None) -> dict | None:
    if not (name or uid or account):
        return None
    return compact(name=name, uid=uid, type=type, type_id=type_id, email_addr=email,
                   credential_uid=credential_uid, account=account, domain=domain,
                   groups=[{"name": g} for g in groups if g])


def account(uid: str | None, type_id: int, name: str | None = None) -> dict | None:
    return compact(uid=uid, name=name, type_id=type_id) if (uid or name) else None


def session(*, issuer: str | None = None, uid: str | None = None, created_time: int | None = None,
            is_mfa: bool | None = None) -> dict | None:
    return or_none(compact(issuer=issuer, uid=uid, created_time=created_time, is_mfa=is_mfa))


def actor(*, user: dict | None = None, session: dict | None = None, process: dict | None = None,
          app_uid: str | None = None, app_name: str | None = None, invoked_by: str | None = None) -> dict | None:
    return or_none(compact(user=user, session=session, process=process, app_uid=app_uid,
                           app_name=app_name, invoked_by=invoked_by))


def process(*, name: str | None = None, pid: int | None = None, cmd_line: str | None = None,
            path: str | None = None, sha256: str | None = None, uid: str | None = None,
            parent: dict | None = None, user: dict | None = None, cwd: str | None = None,
            created_time: int | None = None, container: dict | None = None,
            namespace_pid: int | None = None, lineage: list[str] = ()) -> dict | None:
    """A process; OCSF asks for a pid, uid or cpid, so one without any of them is left out."""
    if name is None and path:
        name = path.rstrip("/").rsplit("/", 1)[-1]
    found = compact(name=name, pid=pid, uid=uid, cmd_line=cmd_line,
                    file=file(path=path, hashes=[fingerprint("sha256", sha256)] if sha256 else ()),
                    parent_process=parent, user=user, working_directory=cwd, created_time=created_time,
                    container=container, namespace_pid=namespace_pid, lineage=list(lineage))
    return found if ("pid" in found or "uid" in found) else None


def api(operation: str | None, *, service: str | None = None, error: str | None = None,
        code: int | None = None) -> dict | None:
    if not operation:
        return None
    return compact(operation=operation, service=compact(name=service) or None,
                   response=compact(error=error, code=code) or None)


def resource(*, uid: str | None = None, name: str | None = None, type: str | None = None,
             region: str | None = None, namespace: str | None = None, role_id: int | None = None,
             labels: dict[str, Any] | None = None, cloud_partition: str | None = None,
             hostname: str | None = None, ip: str | None = None) -> dict | None:
    if not (uid or name):
        return None
    return compact(uid=uid, name=name, type=type, region=region, namespace=namespace, role_id=role_id,
                   tags=tags(labels), cloud_partition=cloud_partition, hostname=hostname, ip=ip)


def evidence(**parts: Any) -> dict | None:
    """An evidence artifact, or None when it holds none of the attributes OCSF requires one of."""
    found = compact(**parts)
    return None if EVIDENCE_KEYS.isdisjoint(found) else found


def device(*, hostname: str | None = None, name: str | None = None, uid: str | None = None,
           instance_uid: str | None = None, ip: str | None = None, region: str | None = None,
           type_id: int = 0) -> dict | None:
    found = compact(hostname=hostname, name=name, uid=uid, instance_uid=instance_uid, ip=ip)
    return {**found, **compact(region=region), "type_id": type_id} if found else None


def cloud(provider: str, *, region: str | None = None, account: dict | None = None,
          project_uid: str | None = None, partition: str | None = None, org: str | None = None,
          zone: str | None = None) -> dict:
    return compact(provider=provider, region=region, account=account, project_uid=project_uid,
                   cloud_partition=partition, org=compact(uid=org) or None, zone=zone)
