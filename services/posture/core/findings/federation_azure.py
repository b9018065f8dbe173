"""Federation gaps on Azure federated identity credentials: one whose subject is a
Kubernetes service account no workload runs as (declared or seen), which lets whoever
can create that account in the issuer's cluster become the identity; and one whose
audiences include another cloud's token-exchange audience (Entra's own is
api://AzureADTokenExchange), so a token minted for AWS or GCP gets in too."""
from __future__ import annotations

from typing import TYPE_CHECKING

from weft.posture.core.chain.azure import TOKEN_EXCHANGE_AUDIENCE
from weft.posture.core.chain.clusters import Clusters
from weft.posture.core.chain.evidence import declared
from weft.posture.core.chain.inventory import Inventory
from weft.posture.core.chain.model import AgentIdentity
from weft.posture.core.declarations.model import AzureFederatedCredential
from weft.posture.core.findings.audiences import foreign_to
from weft.posture.core.findings.model import Finding, Fix, Kind, Severity
from weft.posture.core.model import KubernetesSubject

if TYPE_CHECKING:
    from weft.posture.core.findings.federation import Owners


def azure_gaps(inventory: Inventory, agents: list[AgentIdentity], clusters: Clusters,
               owners: Owners) -> list[Finding]:
    found = []
    running = {}
    for a in agents:
        running.setdefault((a.subject.namespace, a.subject.service_account), set()).add(a.subject.cluster)
    for c in sorted(inventory.credentials, key=lambda c: (c.id, c.name, str(c.source))):
        subject = KubernetesSubject.from_sub(c.subject, clusters.cluster(c.issuer))
        chains = owners.chains(c.identity_id or c.identity_name)
        label = c.id or f"{c.identity_name}/{c.name}"
        evidence = (declared(f"federated credential {c.name} for {c.subject} from {c.issuer}", c),)
        if subject is not None and not _runs(subject, inventory, running):
            found.append(Finding(
                Kind.UNUSED_CREDENTIAL, Severity.MEDIUM, chains[0] if chains else "", label,
                f"Federated credential {c.name} on {c.identity_name or 'its identity'} admits {c.subject}, "
                "which no workload runs as", "", evidence,
                {"subject": c.subject, "issuer": c.issuer, "identity": c.identity_id or c.identity_name},
                Fix(f"Delete the federated credential {c.name}" + (f" (DELETE {c.id})" if c.id else ""))))
        if shared := [a for a in c.audiences if foreign_to("azure", a)]:
            found.append(Finding(
                Kind.OPEN_AUDIENCE, Severity.MEDIUM, chains[0] if chains else "", label,
                f"Federated credential {c.name} accepts tokens minted for another cloud's exchange "
                f"({', '.join(shared)})", "", evidence, {"audiences": list(c.audiences)},
                Fix(f"Accept only {TOKEN_EXCHANGE_AUDIENCE}", "azure_federated_credential",
                    (_with_audience(c),))))
    return found


def _runs(subject: KubernetesSubject, inventory: Inventory, running: dict[tuple[str, str], set[str]]) -> bool:
    """A declared workload runs as the account, or an agent does in the issuer's cluster."""
    account = (subject.namespace, subject.service_account)
    if inventory.workloads.get(account):
        return True
    clusters = running.get(account, set())
    return bool(clusters) and (not subject.cluster or "" in clusters or subject.cluster in clusters)


def _with_audience(c: AzureFederatedCredential) -> dict:
    return {"name": c.name, "type": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
            "properties": {"issuer": c.issuer, "subject": c.subject, "audiences": [TOKEN_EXCHANGE_AUDIENCE]}}
