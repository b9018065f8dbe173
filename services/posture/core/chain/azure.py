"""The Azure link of a service account: the app or managed identity its
azure.workload.identity/client-id annotation names, the federated identity credentials
that admit its token (issuer and subject equal, as Entra compares them), and the
sign-ins of that client id. Role assignments name an object id, which no declaration
weft reads joins to a client id; the sign-in logs do (appId with servicePrincipalId)."""
from __future__ import annotations

from weft.posture.core.chain.clusters import Clusters
from weft.posture.core.chain.evidence import declared, grouped, outcome
from weft.posture.core.chain.inventory import Inventory
from weft.posture.core.chain.model import Link, LinkFacts, LinkStatus, Via
from weft.posture.core.chain.trust import normalise_issuer
from weft.posture.core.declarations.model import AzureFederatedCredential, AzureRoleDefinition, LinkKind
from weft.posture.core.model import Cloud, KubernetesSubject

TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"


def azure_links(subject: KubernetesSubject, inventory: Inventory, clusters: Clusters) -> list[tuple[Link, LinkFacts]]:
    account = (subject.namespace, subject.service_account)
    annotations = [a for a in inventory.annotations.get(account, []) if a.kind is LinkKind.AZURE_WORKLOAD_IDENTITY]
    credentials = admitting_credentials(subject, inventory, clusters)
    clients = sorted({a.target.lower() for a in annotations})
    if not clients and credentials:   # a credential admits the account, nothing tells the pod to use it
        return [_unannotated(subject, credentials)]
    return [_link(client, subject, annotations, credentials, inventory) for client in clients]


def admitting_credentials(subject: KubernetesSubject, inventory: Inventory,
                          clusters: Clusters) -> list[AzureFederatedCredential]:
    return [c for c in inventory.credentials_by_subject.get(subject.sub, [])
            if clusters.admits(subject.cluster, c.issuer)]


def _link(client: str, subject: KubernetesSubject, annotations, credentials, inventory: Inventory
          ) -> tuple[Link, LinkFacts]:
    sign_ins = inventory.sign_ins.get(client, [])
    succeeded = [s for s in sign_ins if s.success]
    principals = sorted({s.service_principal_id.lower() for s in sign_ins if s.service_principal_id})
    names = sorted({s.service_principal_name for s in sign_ins if s.service_principal_name})
    evidence = [declared("ServiceAccount annotation azure.workload.identity/client-id", a)
                for a in annotations if a.target.lower() == client]
    evidence += [declared(f"federated credential {c.name} on {c.identity_name or 'its identity'} admits "
                          f"{c.subject} from {normalise_issuer(c.issuer)}", c) for c in credentials]
    evidence += grouped(sign_ins, lambda s: f"sign-in to {s.resource_name or s.resource_id} {outcome(s.success)}")
    disagreements = _disagreements(subject, credentials, sign_ins, names, inventory)
    assignments = [a for p in principals for a in inventory.assignments.get(p, [])]
    definitions, missing = _definitions(assignments, inventory)
    if not principals:
        missing.append(f"no sign-in of {client} names its object id: its role assignments are not joined")
    status = LinkStatus.CONFIRMED if credentials and succeeded else (
        LinkStatus.OBSERVED if succeeded else LinkStatus.DECLARED)
    aliases = [("object_id", p) for p in principals] + [("name", n) for n in names]
    aliases += [("identity", c.identity_id or c.identity_name) for c in credentials if c.identity_id or c.identity_name]
    calls = [c for p in principals for c in inventory.azure_calls.get(p, [])]
    link = Link(Cloud.AZURE, client, Via.AZURE_WORKLOAD_IDENTITY, subject.sub, status, tuple(evidence),
                tuple(disagreements), tuple(sorted(set(aliases))))
    return link, LinkFacts(grants=tuple(assignments), definitions=tuple(definitions), calls=tuple(calls),
                           sign_ins=tuple(sign_ins), missing=tuple(missing))


def _disagreements(subject, credentials, sign_ins, names, inventory: Inventory) -> list[str]:
    out = []
    if not credentials:
        out.append(f"no federated credential admits {subject.sub}: the client id cannot get a token for it")
    workloads = inventory.workloads.get((subject.namespace, subject.service_account), [])
    if workloads and not any(w.azure_workload_identity for w in workloads):
        out.append("no workload running as the service account has the label azure.workload.identity/use: \"true\"")
    if failed := [s for s in sign_ins if not s.success]:
        reasons = sorted({f"{s.status_code} {s.failure_reason}".strip() for s in failed})
        out.append(f"{len(failed)} sign-in(s) failed: {'; '.join(reasons)}")
    on = {c.identity_name for c in credentials if c.identity_name}
    if on and names and not on & set(names):
        out.append(f"the credentials are on {', '.join(sorted(on))} but the client id signs in as "
                   f"{', '.join(names)}")
    return out


def _unannotated(subject: KubernetesSubject, credentials: list[AzureFederatedCredential]) -> tuple[Link, LinkFacts]:
    identity = sorted(c.identity_id or c.identity_name or c.id or c.name for c in credentials)[0]
    evidence = tuple(declared(f"federated credential {c.name} admits {c.subject}", c) for c in credentials)
    note = ("a federated credential admits the service account but it has no azure.workload.identity/client-id "
            "annotation naming the identity")
    return (Link(Cloud.AZURE, identity, Via.AZURE_WORKLOAD_IDENTITY, subject.sub, LinkStatus.DECLARED, evidence,
                 (note,)), LinkFacts())


def _definitions(assignments, inventory: Inventory) -> tuple[list[AzureRoleDefinition], list[str]]:
    found, missing = [], []
    for guid in sorted({a.role_definition_guid.lower() for a in assignments}):
        if definition := inventory.definitions.get(guid):
            found.append(definition)
        else:
            missing.append(f"role definition {guid} is not in the inputs")
    return found, missing
