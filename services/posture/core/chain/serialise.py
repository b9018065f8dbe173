"""A chain as JSON-ready data (what `weft.identity.v1` carries and `weft identity AGENT`
prints) and back. `identities` lists every name of every link (role and session ARNs,
client and object ids, principals and members, service account emails) so that a
reader can find the chain an entity from any provider belongs to."""
from __future__ import annotations

from weft.discovery.core.agents import agent_id
from weft.posture.core.chain.model import Evidence, IdentityChain, Link, LinkStatus, Via
from weft.posture.core.model import Cloud, KubernetesSubject

_EVIDENCE = ("kind", "what", "source", "count", "first", "last")


def chain_to_dict(chain: IdentityChain) -> dict:
    s = chain.subject
    return {
        "id": chain.id, "agent": chain.agent, "agentId": agent_id(chain.agent) if chain.agent else "",
        "subject": {"cluster": s.cluster, "namespace": s.namespace, "serviceAccount": s.service_account, "sub": s.sub},
        "links": [_link(link) for link in chain.links],
        "identities": identities(chain),
    }


def identities(chain: IdentityChain) -> list[dict]:
    found = {(Cloud.KUBERNETES.value, chain.subject.sub)}
    for link in chain.links:
        found.add((link.cloud.value, link.identity))
        found.update((link.cloud.value, value) for _, value in link.aliases)
    return [{"cloud": c, "id": i} for c, i in sorted(found)]


def chain_from_dict(data: dict) -> IdentityChain:
    """The chain `chain_to_dict` described; raises ValueError for anything else."""
    try:
        s = data["subject"]
        chain = IdentityChain(data["agent"], KubernetesSubject(s["namespace"], s["serviceAccount"], s["cluster"]),
                              tuple(_from_link(x) for x in data["links"]))
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"not a weft identity chain: missing or malformed {e}") from None
    if data.get("id", chain.id) != chain.id:
        raise ValueError(f"id {data['id']} is not the id of this chain ({chain.id})")
    return chain


def _link(link: Link) -> dict:
    return {"cloud": link.cloud.value, "identity": link.identity, "via": link.via.value, "parent": link.parent,
            "status": link.status.value,
            "evidence": [{k: getattr(e, k) for k in _EVIDENCE} for e in link.evidence],
            "disagreements": list(link.disagreements),
            "aliases": [{"kind": k, "value": v} for k, v in link.aliases]}


def _from_link(x: dict) -> Link:
    return Link(Cloud(x["cloud"]), x["identity"], Via(x["via"]), x["parent"], LinkStatus(x["status"]),
                tuple(Evidence(**{k: e[k] for k in _EVIDENCE}) for e in x["evidence"]),
                tuple(x["disagreements"]), tuple((a["kind"], a["value"]) for a in x["aliases"]))
