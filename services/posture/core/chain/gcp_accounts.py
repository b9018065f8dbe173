"""Google service accounts a chain acts as: the one GKE's iam.gke.io/gcp-service-account
annotation names, one on which a principal of the chain holds Workload Identity User or
Service Account Token Creator, and one the logs show a principal of the chain minting
tokens for. Its grants are the bindings to serviceAccount:EMAIL; its calls, those the
audit logs attribute to that email."""
from __future__ import annotations

from dataclasses import dataclass, field

from weft.posture.core.chain.evidence import declared, grouped, outcome
from weft.posture.core.chain.gcp_index import GcpIndex
from weft.posture.core.chain.inventory import Inventory
from weft.posture.core.chain.model import Evidence, Link, LinkFacts, LinkStatus, Via
from weft.posture.core.declarations.model import LinkKind
from weft.posture.core.model import Cloud, KubernetesSubject


@dataclass
class _Account:
    email: str
    parent: str
    evidence: list[Evidence] = field(default_factory=list)
    may_act: bool = False          # a binding lets the chain act as it
    annotated: bool = False
    mints: list = field(default_factory=list)


def service_account_links(subject: KubernetesSubject, principals: list[Link], index: GcpIndex,
                          inventory: Inventory) -> list[tuple[Link, LinkFacts]]:
    accounts: dict[str, _Account] = {}
    parent = principals[0].identity if principals else subject.sub
    for a in inventory.annotations.get((subject.namespace, subject.service_account), []):
        if a.kind is LinkKind.GKE_SERVICE_ACCOUNT:
            entry = accounts.setdefault(a.target.lower(), _Account(a.target.lower(), parent))
            entry.annotated = True
            entry.evidence.append(declared("ServiceAccount annotation iam.gke.io/gcp-service-account", a))
    for link in principals:
        for member in _names(link):
            for email, binding in index.granted_on.get(member, []):
                entry = accounts.setdefault(email, _Account(email, link.identity))
                entry.may_act = True
                entry.evidence.append(declared(f"binding of {binding.role} on {email} to {member}", binding))
            for mint in index.mints.get(member, []):
                accounts.setdefault(mint.service_account.lower(), _Account(mint.service_account.lower(),
                                                                           link.identity)).mints.append(mint)
    return [_link(a, inventory, index) for _, a in sorted(accounts.items())]


def _names(link: Link) -> list[str]:
    return [link.identity] + [v for k, v in link.aliases if k == "member"]


def _link(a: _Account, inventory: Inventory, index: GcpIndex) -> tuple[Link, LinkFacts]:
    calls = inventory.gcp_calls.get(a.email, [])
    evidence = a.evidence + grouped(a.mints, lambda m: f"{m.method} {outcome(m.success)}")
    evidence += grouped(calls, lambda c: f"calls as {a.email} {outcome(c.success)}")
    disagreements = []
    if a.annotated and not a.may_act:
        disagreements.append(f"annotated, but no binding in the inputs lets the chain act as {a.email}")
    if a.mints and not (a.annotated or a.may_act):
        disagreements.append(f"tokens were minted for {a.email} though no declaration links the chain to it")
    used = any(m.success for m in a.mints) or any(c.success for c in calls)
    declared_ = a.annotated or a.may_act
    status = LinkStatus.CONFIRMED if declared_ and used else LinkStatus.OBSERVED if used else LinkStatus.DECLARED
    grants = tuple(dict.fromkeys(b for b, _ in index.granted_to.get(a.email, [])))
    link = Link(Cloud.GCP, a.email, Via.IMPERSONATION, a.parent, status, tuple(evidence), tuple(disagreements),
                (("member", f"serviceAccount:{a.email}"),))
    return link, LinkFacts(grants=grants, calls=tuple(calls))
