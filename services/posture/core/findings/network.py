"""Network reach declared and never used: the cloud services a chain's grants open
(each service's endpoints) that the agent's behaviour profile never connected to or
resolved, and whose permissions the audit logs never show used either — two
independent observations agree the reach is dead. Services the profile shows traffic to
while the logs show no call are listed too: the logs may be incomplete there (S3 and
DynamoDB data events are off in CloudTrail unless enabled).

Endpoints: AWS `SERVICE[-…].REGION.amazonaws.com` and S3's virtual-hosted names (AWS
General Reference, "Service endpoints"); Azure Storage's blob/queue/table/file hosts,
Key Vault's vault.azure.net, Cosmos DB's documents.azure.com and Resource Manager
(Azure docs for each service); Google's SERVICE.googleapis.com."""
from __future__ import annotations

from weft.discovery.core.profiles import Profile
from weft.posture.core.chain.model import IdentityChain
from weft.posture.core.findings.judgement import Judgement
from weft.posture.core.findings.model import Finding, Fix, Kind, Severity
from weft.posture.core.model import Cloud

NO_ENDPOINT = {"iam:PassRole"}                   # checked when passing a role, not an API of its own
_AWS_NAMES = {"cloudwatch": "monitoring", "ses": "email"}
_AZURE_DATA = (("microsoft.storage/storageaccounts/blobservices", (".blob.core.windows.net", ".dfs.core.windows.net")),
               ("microsoft.storage/storageaccounts/queueservices", (".queue.core.windows.net",)),
               ("microsoft.storage/storageaccounts/tableservices", (".table.core.windows.net",)),
               ("microsoft.storage/storageaccounts/fileservices", (".file.core.windows.net",)),
               ("microsoft.keyvault", (".vault.azure.net",)), ("microsoft.documentdb", (".documents.azure.com",)),
               ("microsoft.cognitiveservices", (".cognitiveservices.azure.com", ".openai.azure.com")))
_GCP_NAMES = {"resourcemanager": "cloudresourcemanager"}


def network_finding(chain: IdentityChain, judgements: list[Judgement], profile: Profile) -> Finding | None:
    hosts = {k[0].lower().rstrip(".") for k in profile.items["egress"]} | {
        k[0].lower().rstrip(".") for k in profile.items["dns"]}
    dead, unlogged = [], []
    for j in judgements:
        used = set(j.proven_used)
        for service, (endpoints, permissions) in sorted(_services(j).items()):
            contacted = sorted(h for h in hosts if _reaches(h, endpoints))
            logged = any(p in used for p in permissions)
            entry = {"cloud": j.link.cloud.value, "identity": j.link.identity, "service": service,
                     "endpoints": list(endpoints), "permissions": len(permissions)}
            if not contacted and not logged:
                dead.append(entry)
            elif contacted and not logged and j.granularity == "operation":   # sign-ins cannot tell
                unlogged.append(entry | {"contacted": contacted})
    if not dead:
        return None
    who = chain.agent or chain.subject.sub
    services = ", ".join(f"{d['cloud']}:{d['service']}" for d in dead)
    return Finding(Kind.UNUSED_NETWORK_REACH, Severity.LOW, chain.id, chain.subject.sub,
                   f"{who} is granted {len(dead)} services it never reached on the network nor used ({services})",
                   chain.agent, (), {"unreached": dead, "reachedWithoutLogs": unlogged,
                                     "profile": {"agent": profile.agent, "firstSeen": profile.first_seen,
                                                 "lastSeen": profile.last_seen}},
                   Fix("Drop the grants of these services (the unused-permission findings of the same links give "
                       "the replacement policies)"))


def _services(j: Judgement) -> dict[str, tuple[tuple[str, ...], set[str]]]:
    """Service -> (endpoint patterns, the link's declared permissions for it)."""
    out: dict[str, tuple[tuple[str, ...], set[str]]] = {}
    for p in j.declared:
        found = _endpoints(j.link.cloud, p.name, p.where)
        if found is not None:
            out.setdefault(found[0], (found[1], set()))[1].add(p.name)
    return out


def _endpoints(cloud: Cloud, permission: str, where: str) -> tuple[str, tuple[str, ...]] | None:
    if cloud is Cloud.AWS:
        if permission in NO_ENDPOINT:
            return None
        prefix = permission.split(":", 1)[0].lower()
        return prefix, (f"aws:{_AWS_NAMES.get(prefix, prefix)}",)
    if cloud is Cloud.AZURE:
        if "(actions)" in where:
            return "resource manager", ("management.azure.com",)
        lowered = permission.lower()
        return next(((s.split("/")[-1], e) for s, e in _AZURE_DATA if lowered.startswith(s)), None)
    service = permission.split(".", 1)[0]
    return service, (f"{_GCP_NAMES.get(service, service)}.googleapis.com",)


def _reaches(host: str, endpoints: tuple[str, ...]) -> bool:
    for e in endpoints:
        if e.startswith("aws:"):
            name = e[4:]
            labels = host.split(".")
            if host.endswith((".amazonaws.com", ".amazonaws.com.cn")) and any(
                    label == name or label.startswith(name + "-") for label in labels[:-2]):
                return True
        elif host.endswith(e) if e.startswith(".") else host == e or host.endswith(("." + e, "-" + e)):
            return True
    return False
