"""Identity chains: the lab agent's service account resolves end to end to its AWS role,
its Azure managed identity and its GCP principal, each link with the declarations and
log records that show it; where declarations and logs disagree the link says so; the
published form is stable and reads back; service accounts linked without an agent get
chains too."""
from __future__ import annotations

import json
import random
from dataclasses import replace

from posture_lab import (AGENT, CLIENT_ID, DATA, ISSUERS, OBJECT_ID, PRINCIPAL, ROLE, SUBJECT, lab, profile)

from weft.posture.core.chains import (AgentIdentity, LinkStatus, Via, agents_from_profiles, chain_from_dict,
                                      chain_to_dict, resolve_chains)
from weft.posture.core.declarations.model import LinkKind, ServiceAccountLink, WorkloadServiceAccount
from weft.posture.core.load import load_files
from weft.posture.core.model import Cloud, KubernetesSubject


def _lab_chain(agents=(AGENT,), issuers=ISSUERS):
    loaded = lab()
    resolved = resolve_chains(agents, loaded.declarations, loaded.observations, cluster_issuers=issuers)
    return {r.chain.subject.service_account: r for r in resolved}


def test_the_lab_agent_resolves_to_its_role_identity_and_principal_each_declared_and_seen_used():
    chain = _lab_chain()["support-bot"].chain
    assert chain.agent == "agents/support-bot" and chain.subject == SUBJECT
    assert [(link.cloud, link.identity, link.via, link.parent, link.status) for link in chain.links] == [
        (Cloud.AWS, ROLE, Via.IRSA, SUBJECT.sub, LinkStatus.CONFIRMED),
        (Cloud.AZURE, CLIENT_ID, Via.AZURE_WORKLOAD_IDENTITY, SUBJECT.sub, LinkStatus.CONFIRMED),
        (Cloud.GCP, PRINCIPAL, Via.OIDC_FEDERATION, SUBJECT.sub, LinkStatus.CONFIRMED),
    ]
    assert all(link.disagreements == () for link in chain.links)
    aws, azure, gcp = chain.links
    assert ("session", "arn:aws:sts::111122223333:assumed-role/support-bot/botocore-session-1741685100") in aws.aliases
    assert ("object_id", OBJECT_ID) in azure.aliases and ("name", "support-bot-data") in azure.aliases
    assert ("pool", "eks-agents") in gcp.aliases


def test_each_link_names_the_declarations_and_log_records_that_show_it():
    aws, azure, gcp = _lab_chain()["support-bot"].chain.links
    def sources(link, kind):
        return {(e.what.split(" ")[0], e.source.split(":")[0].rsplit("/", 1)[-1], e.count)
                for e in link.evidence if e.kind == kind}
    assert sources(aws, "declaration") == {("ServiceAccount", "k8s-support-bot.yaml", 1),
                                           ("trust", "aws-iam-role-support-bot.json", 1)}
    assert sources(aws, "observation") == {("AssumeRoleWithWebIdentity", "cloudtrail-support-bot.json", 1)}
    assert sources(azure, "declaration") == {("ServiceAccount", "k8s-support-bot.yaml", 1),
                                             ("federated", "azure-federated-credential-support-bot.json", 1)}
    assert sources(azure, "observation") == {("sign-in", "entra-support-bot-sign-ins.jsonl", 3)}
    [signed_in] = [e for e in azure.evidence if e.kind == "observation"]
    assert (signed_in.first, signed_in.last) == ("2025-03-11T09:25:04.118034Z", "2025-03-12T08:02:41.008721Z")
    assert sources(gcp, "declaration") == {("binding", "gcp-iam-policy-support-gcp.json", 1)}
    assert sources(gcp, "observation") == {("token", "gcp-audit-support-bot.json", 1),
                                           ("calls", "gcp-audit-support-bot.json", 3)}


def test_a_link_carries_the_grants_and_the_calls_of_its_identity_only():
    facts = _lab_chain()["support-bot"].facts
    aws, azure, gcp = facts
    assert len(aws.calls) == 11 and {c.access_key_id for c in aws.calls} == {"ASIAQ3EGSUPPORTBOT01"}
    assert [type(g).__name__ for g in aws.grants] == ["AwsPolicy"]
    assert [a.principal_id for a in azure.grants] == [OBJECT_ID] and len(azure.sign_ins) == 3
    assert [d.role_name for d in azure.definitions] == ["Support Bot Data"]
    assert [b.role for b in gcp.grants] == ["roles/storage.admin"] and len(gcp.calls) == 3


def test_another_service_account_that_tried_the_role_gets_its_own_chain_with_an_attempted_link():
    chains = _lab_chain()
    intruder = chains["intruder"].chain
    assert intruder.agent == "" and intruder.subject == KubernetesSubject("agents", "intruder", "eks")
    [link] = intruder.links
    assert (link.identity, link.status) == (ROLE, LinkStatus.ATTEMPTED)
    assert link.disagreements == (
        f"system:serviceaccount:agents:intruder tried to assume {ROLE} but no annotation or association names it",
        "1 role session(s) failed to start (AccessDenied)")
    assert chains["intruder"].facts[0].calls == ()


def test_an_agent_in_a_cluster_whose_issuer_no_trust_names_gets_no_working_link():
    other = AgentIdentity("agents/support-bot", KubernetesSubject("agents", "support-bot", "aks"))
    chains = resolve_chains([other], lab().declarations, lab().observations,
                            cluster_issuers={**ISSUERS, "aks": "https://westeurope.oic.prod-aks.azure.com/t/c/"})
    [chain] = [r.chain for r in chains if r.chain.agent]
    aws, azure = chain.links
    assert aws.status is LinkStatus.DECLARED and not any(e.kind == "observation" for e in aws.evidence)
    assert aws.disagreements == (f"no trust statement of {ROLE} admits system:serviceaccount:agents:support-bot "
                                 "from westeurope.oic.prod-aks.azure.com/t/c",)
    assert azure.disagreements[0].startswith("no federated credential admits system:serviceaccount:agents:support-bot")
    assert [c.subject.cluster for c in (r.chain for r in chains) if c.subject.service_account == "support-bot"] == [
        "aks", "eks"]


def test_without_the_cluster_issuer_the_link_says_the_cluster_was_not_checked():
    [aws, *_] = _lab_chain(issuers=None)["support-bot"].chain.links
    assert aws.status is LinkStatus.CONFIRMED
    assert aws.disagreements == ("cluster not checked: the issuer of eks is not known",)


def test_an_annotation_whose_role_is_not_in_the_inputs_is_a_declared_link_that_says_so():
    result = load_files([DATA / "declarations" / "k8s-agents.yaml"])
    chains = {r.chain.subject.service_account: r for r in resolve_chains([], result.declarations)}
    [aws, *_] = chains["planner"].chain.links
    assert (aws.identity, aws.status, chains["planner"].chain.agent) == (
        "arn:aws:iam::111122223333:role/agents-planner", LinkStatus.DECLARED, "")
    assert aws.disagreements == ("the trust policy of arn:aws:iam::111122223333:role/agents-planner is not in the "
                                 "inputs: not checked",)
    assert chains["planner"].facts[0].missing == ("role arn:aws:iam::111122223333:role/agents-planner is not in the "
                                                  "inputs",)


def test_pod_identity_chains_through_the_association_the_target_role_and_an_aws_federated_gcp_principal():
    names = ["declarations/eks-pod-identity-association.json", "auditlogs/cloudtrail-pod-identity.jsonl",
             "declarations/gcp-iam-policy.json", "declarations/gcp-wif-provider-aws.json",
             "auditlogs/gcp-audit-workload-identity.json"]
    result = load_files([DATA / n for n in names])
    agent = AgentIdentity("agents/retriever", KubernetesSubject("agents", "retriever", "agents-prod"))
    [chain] = [r.chain for r in resolve_chains([agent], result.declarations, result.observations) if r.chain.agent]
    links = [(link.cloud, link.identity.rsplit(":", 1)[-1], link.via, link.parent.rsplit("/", 1)[-1], link.status)
             for link in chain.links if link.via is not Via.GKE_WORKLOAD_IDENTITY]
    assert links == [
        (Cloud.AWS, "role/agents-retriever", Via.POD_IDENTITY, "system:serviceaccount:agents:retriever",
         LinkStatus.CONFIRMED),
        (Cloud.AWS, "role/shared-vector-store-reader", Via.POD_IDENTITY, "agents-retriever", LinkStatus.CONFIRMED),
        (Cloud.GCP, "assumed-role/agents-retriever", Via.AWS_FEDERATION, "agents-retriever", LinkStatus.CONFIRMED),
    ]
    [gcp] = [link for link in chain.links if link.via is Via.AWS_FEDERATION]
    assert [e.what for e in gcp.evidence] == [
        "binding of roles/storage.objectViewer to principalSet://iam.googleapis.com/projects/1234567890123/locations/"
        "global/workloadIdentityPools/aws-agents/attribute.aws_role/arn:aws:sts::111122223333:assumed-role/"
        "agents-retriever", "calls as the principal succeeded", "token exchange in aws-agents succeeded"]


def test_the_published_chain_reads_back_and_does_not_depend_on_input_order():
    loaded = lab()
    first = [chain_to_dict(r.chain) for r in resolve_chains([AGENT], loaded.declarations, loaded.observations,
                                                             cluster_issuers=ISSUERS)]
    shuffled_d, shuffled_o = list(loaded.declarations), list(loaded.observations)
    random.Random(7).shuffle(shuffled_d)
    random.Random(7).shuffle(shuffled_o)
    again = [chain_to_dict(r.chain) for r in resolve_chains([AGENT], shuffled_d, shuffled_o, cluster_issuers=ISSUERS)]
    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)
    data = json.loads(json.dumps(first[0]))
    assert chain_to_dict(chain_from_dict(data)) == data
    assert data["id"].startswith("ch-") and data["agentId"].startswith("ag-")
    assert {"cloud": "azure", "id": OBJECT_ID} in data["identities"]
    assert {"cloud": "kubernetes", "id": SUBJECT.sub} in data["identities"]


def test_a_tampered_chain_id_is_refused():
    data = chain_to_dict(_lab_chain()["support-bot"].chain)
    data["agent"] = "agents/other"
    try:
        chain_from_dict(data)
    except ValueError as e:
        assert "is not the id of this chain" in str(e)
    else:
        raise AssertionError("a chain whose id does not match its content was accepted")


def test_agents_are_mapped_to_service_accounts_through_their_workload_manifest():
    workloads = [d for d in lab().declarations if isinstance(d, WorkloadServiceAccount)]
    p = profile()
    p.workloads.add(("eks", "agents", "Deployment", "unknown-bot"))
    agents, unknown = agents_from_profiles([p], workloads)
    assert agents == [AGENT]
    assert unknown == ["eks/agents/unknown-bot"]


def test_an_azure_credential_without_the_annotation_is_a_link_that_cannot_be_used():
    declarations = [d for d in lab().declarations
                    if not (isinstance(d, ServiceAccountLink) and d.kind is LinkKind.AZURE_WORKLOAD_IDENTITY)]
    [chain] = [r.chain for r in resolve_chains([AGENT], declarations, [], cluster_issuers=ISSUERS) if r.chain.agent]
    [azure] = [link for link in chain.links if link.cloud is Cloud.AZURE]
    assert azure.status is LinkStatus.DECLARED and azure.identity.endswith("/userAssignedIdentities/support-bot-data")
    assert "no azure.workload.identity/client-id annotation" in azure.disagreements[0]


def test_a_failed_sign_in_is_reported_on_the_link():
    failed = [replace(s, success=False, status_code=700213, failure_reason="No matching federated identity record")
              if type(s).__name__ == "AzureSignIn" else s for s in lab().observations]
    [chain] = [r.chain for r in resolve_chains([AGENT], lab().declarations, failed, cluster_issuers=ISSUERS)
               if r.chain.agent]
    azure = chain.links[1]
    assert azure.status is LinkStatus.DECLARED
    assert azure.disagreements == ("3 sign-in(s) failed: 700213 No matching federated identity record",)


def test_a_gke_service_account_annotation_chains_to_the_google_service_account_it_may_act_as():
    names = ["declarations/k8s-agents.yaml", "declarations/gcp-iam-policy.json", "declarations/gcp-iam-search-result.json"]
    result = load_files([DATA / n for n in names])
    indexer = {r.chain.subject.service_account: r for r in resolve_chains([], result.declarations)}["indexer"]
    principal, gsa = indexer.chain.links
    assert principal.via is Via.GKE_WORKLOAD_IDENTITY and principal.identity.endswith("/subject/ns/agents/sa/indexer")
    assert (gsa.identity, gsa.via, gsa.parent, gsa.status, gsa.disagreements) == (
        "agents-indexer@agents-gcp.iam.gserviceaccount.com", Via.IMPERSONATION, principal.identity,
        LinkStatus.DECLARED, ())
    assert [(b.role, b.condition.title) for b in indexer.facts[1].grants] == [("roles/storage.objectAdmin",
                                                                              "embeddings only")]


def test_a_pod_identity_role_whose_trust_does_not_admit_the_eks_service_says_so():
    names = ["declarations/eks-pod-identity-association.json", "declarations/aws-iam-role-irsa.json"]
    result = load_files([DATA / n for n in names])
    declarations = [replace(d, arn="arn:aws:iam::111122223333:role/agents-retriever", name="agents-retriever")
                    if type(d).__name__ == "AwsRole" else d for d in result.declarations]
    [chain] = [r.chain for r in resolve_chains([], declarations) if r.chain.subject.service_account == "retriever"]
    assert chain.links[0].disagreements == ("the trust policy of arn:aws:iam::111122223333:role/agents-retriever does "
                                            "not let pods.eks.amazonaws.com assume it",)
    assert chain.links[1].disagreements == ()       # the target role trusts the first role, not the EKS service
