"""Permissions granted and never used: the lab agent's role grants dozens of actions, its
Azure role broad data actions, its GCP binding Storage Admin on the whole project, and
its logs show a handful used. Every unused permission is reported, and the
least-privilege replacement of each link — applied — still allows every call the logs
show, as evaluators written apart from the generator check (AWS actions expanded by
policyuniverse); and allows nothing the original did not."""
from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import datetime, timezone

from policyuniverse.expander_minimizer import get_actions_from_statement
from posture_evaluators import aws_allows, authorised_on, azure_allows, azure_data_plane, gcp_allows
from posture_lab import AGENT, ISSUERS, LAB, OBJECT_ID, PRINCIPAL, ROLE, SUBSCRIPTION, analyse_lab, lab

from weft.posture.core.auditlogs.model import ApiCall, AzureSignIn
from weft.posture.core.declarations.aws_policy import POLICY_SCHEMA
from weft.posture.core.declarations.model import (AwsRole, Effect, GcpBinding, LinkKind, PolicyStatement,
                                                  ServiceAccountLink)
from weft.posture.core.findings import analyse, finding_to_dict
from weft.posture.core.findings.model import Kind, Severity
from weft.posture.core.load import load_bytes
from weft.posture.core.model import Cloud, KubernetesSubject, Source
from weft.posture.core.schema import check

RAW_POLICY = json.loads((LAB / "aws-iam-role-policy-support-bot.json").read_text())["PolicyDocument"]
RG = f"{SUBSCRIPTION}/resourceGroups/support-data"
ACCOUNT = f"{RG}/providers/Microsoft.Storage/storageAccounts/supportdocs"
BLOB = f"{ACCOUNT}/blobServices/default/containers/kb/blobs/faq/refunds.md"
BLOB_READ = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"


def _findings(posture, kind=Kind.UNUSED_PERMISSIONS):
    return {f.subject: f for f in posture.findings if f.kind is kind}


def _calls(cloud):
    return [o for o in lab().observations if isinstance(o, ApiCall) and o.cloud is cloud and o.success and o.actions]


# --- AWS -------------------------------------------------------------------------------

def test_every_unused_action_of_the_role_is_reported_with_the_statement_that_grants_it():
    finding = _findings(analyse_lab())[ROLE]
    granted = set().union(*(get_actions_from_statement(s) for s in RAW_POLICY["Statement"] if s["Effect"] == "Allow"))
    used = {"s3:getobject", "s3:listbucket", "dynamodb:getitem", "dynamodb:query", "dynamodb:updateitem",
            "sqs:sendmessage", "bedrock:invokemodel", "secretsmanager:getsecretvalue"}
    d = finding.details
    assert (d["declared"], d["used"], d["unused"]) == (len(granted), 8, len(granted) - 8) == (62, 8, 54)
    assert {p.lower() for p in d["usedPermissions"]} == used
    assert {p["name"].lower() for p in d["unusedPermissions"]} == granted - used
    assert {"name": "iam:PassRole", "level": "Permissions", "grantedBy": "support-bot-data/HandOff"} in \
        d["unusedPermissions"]
    assert {"name": "s3:DeleteObject", "level": "Write", "grantedBy": "support-bot-data/KnowledgeBase"} in \
        d["unusedPermissions"]                        # the logged call was denied: not a use
    assert finding.severity is Severity.HIGH and finding.agent == "agents/support-bot"


def test_the_aws_replacement_allows_every_logged_call_and_nothing_the_original_did_not():
    [policy] = _findings(analyse_lab())[ROLE].fix.documents
    assert check(policy, POLICY_SCHEMA, Source("replacement")) == []
    calls = _calls(Cloud.AWS)
    assert len(calls) == 9
    for call in calls:
        resources = authorised_on(call.service, call.resources)
        for action in call.actions:
            assert all(aws_allows(RAW_POLICY, action, r) for r in resources), (action, resources)
            assert all(aws_allows(policy, action, r) for r in resources), (action, resources)
            if not resources:
                assert aws_allows(policy, action), action
    for st in policy["Statement"]:
        for action in get_actions_from_statement(st):
            for resource in st["Resource"]:
                assert aws_allows(RAW_POLICY, action, resource), (action, resource)


def test_the_aws_replacement_refuses_what_was_never_used():
    [policy] = _findings(analyse_lab())[ROLE].fix.documents
    refused = [("s3:DeleteBucket", "arn:aws:s3:::support-kb"), ("s3:PutObject", "arn:aws:s3:::support-kb/faq/x.md"),
               ("iam:PassRole", "arn:aws:iam::111122223333:role/support-admin"),
               ("dynamodb:DeleteTable", "arn:aws:dynamodb:us-west-2:111122223333:table/support-tickets"),
               ("sqs:PurgeQueue", "arn:aws:sqs:us-west-2:111122223333:support-escalations"),
               ("bedrock:InvokeModel", "arn:aws:bedrock:us-west-2::foundation-model/amazon.titan-text-express-v1")]
    assert [aws_allows(RAW_POLICY, a, r) for a, r in refused] == [True] * 6
    assert [aws_allows(policy, a, r) for a, r in refused] == [False] * 6
    assert not aws_allows(policy, "s3:GetObject", "arn:aws:s3:::another-bucket/faq/refunds.md")


def test_an_unconditional_deny_takes_actions_out_of_the_count_and_stays_in_the_replacement():
    deny = PolicyStatement(Effect.DENY, sid="NoSecretsWrite", actions=("secretsmanager:Put*", "s3:GetObject"),
                           resources=("*",))
    declarations = [replace(d, statements=d.statements + (deny,)) if type(d).__name__ == "AwsPolicy" else d
                    for d in lab().declarations]
    posture = analyse([AGENT], declarations, lab().observations, cluster_issuers=ISSUERS)
    d = _findings(posture)[ROLE].details
    assert (d["declared"], d["used"]) == (62 - 2, 7)     # s3:GetObject and secretsmanager:PutSecretValue denied
    [policy] = _findings(posture)[ROLE].fix.documents
    assert policy["Statement"][-1] == {"Sid": "NoSecretsWrite", "Effect": "Deny",
                                       "Action": ["secretsmanager:Put*", "s3:GetObject"], "Resource": "*"}


def test_a_role_whose_unused_permissions_are_only_reads_is_a_low_finding():
    at = Source("typed")
    role = "arn:aws:iam::111122223333:role/reader"
    declarations = [
        ServiceAccountLink(source=at, subject=KubernetesSubject("agents", "reader"), cloud=Cloud.AWS,
                           kind=LinkKind.IRSA, target=role),
        AwsRole(source=at, arn=role, name="reader", trust=(), permissions=(PolicyStatement(
            Effect.ALLOW, actions=("s3:GetObject", "s3:ListBucket"), resources=("*",)),))]
    call = ApiCall(source=at, time=datetime(2025, 3, 11, tzinfo=timezone.utc), cloud=Cloud.AWS, success=True,
                   principal="arn:aws:sts::111122223333:assumed-role/reader/s", service="s3.amazonaws.com",
                   operation="GetObject", actions=("s3:GetObject",), resources=("arn:aws:s3:::kb/a.md",),
                   role_arn=role)
    posture = analyse([], declarations, [call])
    finding = _findings(posture)[role]
    assert finding.severity is Severity.LOW
    assert [p["name"] for p in finding.details["unusedPermissions"]] == ["s3:ListBucket"]
    assert any("attributed by role" in x for x in posture.chains[0].chain.links[0].disagreements)


# --- Azure -----------------------------------------------------------------------------

def test_azure_entries_of_services_the_identity_never_got_tokens_for_are_unused():
    finding = _findings(analyse_lab())["2b4d6f80-1a3c-4e5f-8a7b-9c0d1e2f3a4b"]
    d = finding.details
    assert (d["declared"], d["used"], d["granularity"]) == (11, 4, "sign-in")
    assert sorted(p["name"] for p in d["unusedPermissions"]) == [
        "Microsoft.KeyVault/vaults/keys/*", "Microsoft.KeyVault/vaults/read", "Microsoft.KeyVault/vaults/secrets/*",
        "Microsoft.Resources/subscriptions/resourceGroups/read",
        "Microsoft.Storage/storageAccounts/blobServices/containers/*",
        "Microsoft.Storage/storageAccounts/listKeys/action", "Microsoft.Storage/storageAccounts/read"]
    assert finding.severity is Severity.HIGH             # listKeys: every key of the account
    assert any("not which operations it ran" in n for n in d["notes"])


def test_the_azure_replacement_keeps_the_data_plane_the_sign_ins_show_and_nothing_else():
    finding = _findings(analyse_lab())["2b4d6f80-1a3c-4e5f-8a7b-9c0d1e2f3a4b"]
    docs = list(finding.fix.documents)
    for s in (o for o in lab().observations if isinstance(o, AzureSignIn) and o.success):
        assert s.resource_name == "Azure Storage"
        assert azure_data_plane(docs, "Microsoft.Storage")
        assert azure_allows(docs, OBJECT_ID, BLOB_READ, BLOB, data=True)
    assert not azure_allows(docs, OBJECT_ID, "Microsoft.Storage/storageAccounts/listKeys/action", ACCOUNT, data=False)
    assert not azure_allows(docs, OBJECT_ID, "Microsoft.KeyVault/vaults/secrets/getSecret/action",
                            f"{RG}/providers/Microsoft.KeyVault/vaults/support-kv/secrets/zendesk", data=True)
    assert not azure_allows(docs, OBJECT_ID, "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/"
                            "deleteBlobVersion/action", BLOB, data=True)   # the original's notDataActions stays
    parsed = load_bytes(json.dumps(docs).encode(), "replacement.json")
    assert parsed.errors == [] and sorted(type(x).__name__ for x in parsed.declarations) == [
        "AzureRoleAssignment", "AzureRoleDefinition"]


def test_with_logged_operations_the_azure_replacement_names_them_and_narrows_the_scope():
    at = Source("storage-resource-log")
    when = datetime(2025, 3, 11, 9, 30, tzinfo=timezone.utc)
    ops = [ApiCall(source=at, time=when, cloud=Cloud.AZURE, success=True, principal=OBJECT_ID,
                   service="Microsoft.Storage", operation="GetBlob", actions=(BLOB_READ,), resources=(BLOB,)),
           ApiCall(source=at, time=when, cloud=Cloud.AZURE, success=True, principal=OBJECT_ID,
                   service="Microsoft.Storage", operation="ListBlobs",
                   actions=("Microsoft.Storage/storageAccounts/blobServices/containers/read",),
                   resources=(f"{ACCOUNT}/blobServices/default/containers/kb",))]
    posture = analyse([AGENT], lab().declarations, lab().observations + ops, cluster_issuers=ISSUERS)
    finding = _findings(posture)["2b4d6f80-1a3c-4e5f-8a7b-9c0d1e2f3a4b"]
    assert (finding.details["used"], finding.details["granularity"]) == (2, "operation")
    role, assignment = finding.fix.documents
    assert role["properties"]["permissions"] == [{
        "actions": ["Microsoft.Storage/storageAccounts/blobServices/containers/read"], "notActions": [],
        "dataActions": [BLOB_READ],
        "notDataActions": ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/deleteBlobVersion/action"]}]
    assert assignment["properties"]["scope"] == f"{ACCOUNT}/blobServices/default/containers/kb"   # both calls' resource
    assert role["properties"]["assignableScopes"] == [RG]
    docs = list(finding.fix.documents)
    assert azure_allows(docs, OBJECT_ID, BLOB_READ, BLOB, data=True)
    assert azure_allows(docs, OBJECT_ID, ops[1].actions[0], ops[1].resources[0], data=False)
    assert not azure_allows(docs, OBJECT_ID, "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
                            BLOB, data=True)
    other = f"{RG}/providers/Microsoft.Storage/storageAccounts/archive/blobServices/default/containers/kb/blobs/a"
    assert not azure_allows(docs, OBJECT_ID, BLOB_READ, other, data=True)


# --- GCP -------------------------------------------------------------------------------

def test_every_unused_permission_of_the_project_wide_binding_is_reported():
    finding = _findings(analyse_lab())[PRINCIPAL]
    d = finding.details
    assert (d["declared"], d["used"], d["usedPermissions"]) == (72, 2, ["storage.objects.get", "storage.objects.list"])
    unused = {p["name"]: p for p in d["unusedPermissions"]}
    assert len(unused) == 70
    assert unused["storage.buckets.setIamPolicy"] == {
        "name": "storage.buckets.setIamPolicy", "level": "Permissions",
        "grantedBy": "roles/storage.admin on //cloudresourcemanager.googleapis.com/projects/support-gcp"}
    assert finding.severity is Severity.HIGH


def test_the_gcp_replacement_binds_a_custom_role_on_the_bucket_and_allows_every_logged_call():
    finding = _findings(analyse_lab())[PRINCIPAL]
    role, *policies = finding.fix.documents
    assert role["includedPermissions"] == ["storage.objects.get", "storage.objects.list"]
    assert role["name"].startswith("projects/support-gcp/roles/weft_")
    assert [p["resource"] for p in policies] == ["//storage.googleapis.com/projects/_/buckets/support-archive"]
    docs = list(finding.fix.documents)
    calls = _calls(Cloud.GCP)
    assert len(calls) == 3
    for call in calls:
        for permission in call.actions:
            for resource in call.resources:
                assert gcp_allows(docs, call.principal, permission, resource, call.account), (permission, resource)
    assert not gcp_allows(docs, PRINCIPAL, "storage.objects.delete", calls[0].resources[0], "support-gcp")
    assert not gcp_allows(docs, PRINCIPAL, "storage.objects.get", "projects/_/buckets/payroll/objects/a", "support-gcp")
    assert not gcp_allows(docs, PRINCIPAL.replace("support-bot", "intruder"), "storage.objects.get",
                          calls[0].resources[0], "support-gcp")
    parsed = load_bytes(json.dumps(policies).encode(), "replacement.json")
    assert parsed.errors == [] and [b.role for b in parsed.declarations if isinstance(b, GcpBinding)] == [role["name"]]


def test_a_role_weft_has_no_permissions_for_is_named_not_guessed():
    extra = GcpBinding(source=Source("typed"), resource="//cloudresourcemanager.googleapis.com/projects/support-gcp",
                       role="roles/bigquery.dataViewer",
                       members=tuple(m for d in lab().declarations if isinstance(d, GcpBinding) for m in d.members
                                     if m.raw == PRINCIPAL))
    posture = analyse([AGENT], lab().declarations + [extra], lab().observations, cluster_issuers=ISSUERS)
    d = _findings(posture)[PRINCIPAL].details
    assert d["declared"] == 72
    assert "roles/bigquery.dataViewer is not in weft's table of role permissions: not judged" in d["notes"]


# --- the chain -------------------------------------------------------------------------

def test_the_chain_finding_adds_up_its_links_and_carries_every_replacement():
    posture = analyse_lab()
    [chain] = [f for f in posture.findings if f.kind is Kind.UNUSED_PERMISSIONS_CHAIN and f.agent]
    assert (chain.details["declared"], chain.details["used"]) == (62 + 11 + 72, 8 + 4 + 2)
    assert [(x["cloud"], x["declared"], x["used"]) for x in chain.details["links"]] == [
        ("aws", 62, 8), ("azure", 11, 4), ("gcp", 72, 2)]
    assert [x["format"] for x in chain.fix.documents] == ["aws_iam_policy", "azure_role_definition", "gcp_iam_policy"]
    assert chain.details["window"] == {"from": "2025-03-11T09:25:00Z", "to": "2025-03-12T08:02:41.008721Z"}
    assert chain.severity is Severity.HIGH and chain.chain == posture.chains[0].chain.id


def test_findings_do_not_depend_on_input_order_and_have_content_derived_ids():
    first = [finding_to_dict(f) for f in analyse_lab().findings]
    declarations, observations = list(lab().declarations), list(lab().observations)
    random.Random(3).shuffle(declarations)
    random.Random(3).shuffle(observations)
    again = [finding_to_dict(f) for f in analyse([AGENT], declarations, observations, cluster_issuers=ISSUERS).findings]
    assert json.dumps(first) == json.dumps(again)
    assert len({f["id"] for f in first}) == len(first) and all(f["id"].startswith("pf-") for f in first)
    ranks = [list(Severity).index(Severity(f["severity"])) for f in first]
    assert ranks == sorted(ranks, reverse=True)


def test_an_attempted_link_grants_nothing_so_it_has_no_unused_permissions():
    posture = analyse_lab()
    assert not [f for f in posture.findings if f.kind in (Kind.UNUSED_PERMISSIONS, Kind.UNUSED_PERMISSIONS_CHAIN)
                and f.subject.endswith(":agents:intruder")]
    assert {f.details["cloud"] for f in posture.findings if f.kind is Kind.UNUSED_PERMISSIONS} == {
        "aws", "azure", "gcp"}
