"""Chain-level reach: what a compromise of the agent reaches across every provider, as
resources with the access each gives and the path of identities that make it possible;
and the network reach its grants open that neither its behaviour profile nor its logs
show it ever used."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from posture_lab import AGENT, ISSUERS, ROLE, SUBJECT, SUBSCRIPTION, analyse_lab, lab, profile

from weft.posture.core.auditlogs.model import ApiCall
from weft.posture.core.declarations.model import (AwsPolicy, AwsRole, Effect, LinkKind, PolicyStatement,
                                                  ServiceAccountLink)
from weft.posture.core.findings import analyse
from weft.posture.core.findings.model import Kind, Severity
from weft.posture.core.model import Cloud, KubernetesSubject, Source

PROJECT = "//cloudresourcemanager.googleapis.com/projects/support-gcp"


def _reach(posture, agent="agents/support-bot"):
    [finding] = [f for f in posture.findings if f.kind is Kind.CHAIN_REACH and f.agent == agent]
    return finding


def test_a_compromise_of_the_lab_agent_reaches_resources_in_all_three_clouds():
    finding = _reach(analyse_lab())
    resources = {(r["cloud"], r["resource"]): r for r in finding.details["resources"]}
    assert sorted(resources) == [
        ("aws", "*"),
        ("aws", "arn:aws:dynamodb:us-west-2:111122223333:table/support-tickets"),
        ("aws", "arn:aws:dynamodb:us-west-2:111122223333:table/support-tickets/index/*"),
        ("aws", "arn:aws:iam::111122223333:role/support-*"),
        ("aws", "arn:aws:s3:::support-kb"), ("aws", "arn:aws:s3:::support-kb/*"),
        ("aws", "arn:aws:secretsmanager:us-west-2:111122223333:secret:support-bot/*"),
        ("aws", "arn:aws:sqs:us-west-2:111122223333:support-escalations"),
        ("azure", f"{SUBSCRIPTION}/resourceGroups/support-data"),
        ("gcp", PROJECT)]
    assert finding.details["clouds"] == ["aws", "azure", "gcp"]
    assert finding.severity is Severity.CRITICAL        # permission changes reachable, across three clouds
    assert finding.chain == analyse_lab().chains[0].chain.id and finding.subject == SUBJECT.sub


def test_each_reached_resource_says_how_it_is_reached_and_whether_it_was_used():
    resources = {(r["cloud"], r["resource"]): r for r in _reach(analyse_lab()).details["resources"]}
    passrole = resources[("aws", "arn:aws:iam::111122223333:role/support-*")]
    assert (passrole["access"], passrole["grantedBy"], passrole["used"]) == (
        ["Permissions"], "support-bot-data/HandOff", False)
    assert passrole["path"] == [SUBJECT.sub, ROLE]
    assert resources[("aws", "arn:aws:s3:::support-kb/*")]["used"] is True
    assert resources[("aws", "arn:aws:dynamodb:us-west-2:111122223333:table/support-tickets/index/*")]["used"] is False
    gcp = resources[("gcp", PROJECT)]
    assert (gcp["grantedBy"], gcp["strongest"], gcp["used"]) == ("roles/storage.admin", "Permissions", True)
    assert gcp["path"] == [SUBJECT.sub, "principal://iam.googleapis.com/projects/987654321098/locations/global/"
                           "workloadIdentityPools/eks-agents/subject/system:serviceaccount:agents:support-bot"]
    azure = resources[("azure", f"{SUBSCRIPTION}/resourceGroups/support-data")]
    assert azure["grantedBy"] == f"Support Bot Data assigned at {SUBSCRIPTION}/resourceGroups/support-data"


def test_a_chain_that_only_reads_in_one_cloud_is_a_low_finding():
    at = Source("typed")
    role = "arn:aws:iam::111122223333:role/reader"
    declarations = [
        ServiceAccountLink(source=at, subject=KubernetesSubject("agents", "reader"), cloud=Cloud.AWS,
                           kind=LinkKind.IRSA, target=role),
        AwsRole(source=at, arn=role, name="reader", trust=(), permissions=(PolicyStatement(
            Effect.ALLOW, actions=("s3:GetObject",), resources=("arn:aws:s3:::kb/*",)),))]
    call = ApiCall(source=at, time=datetime(2025, 3, 11, tzinfo=timezone.utc), cloud=Cloud.AWS, success=True,
                   principal="arn:aws:sts::111122223333:assumed-role/reader/s", service="s3.amazonaws.com",
                   operation="GetObject", actions=("s3:GetObject",), resources=("arn:aws:s3:::kb/a.md",),
                   role_arn=role)
    agent = type(AGENT)("agents/reader", KubernetesSubject("agents", "reader", "eks"))
    finding = _reach(analyse([agent], declarations, [call]), "agents/reader")
    assert finding.severity is Severity.LOW
    assert [(r["resource"], r["access"], r["used"]) for r in finding.details["resources"]] == [
        ("arn:aws:s3:::kb/*", ["Read"], True)]


def test_a_role_the_service_account_failed_to_get_is_not_part_of_its_reach():
    posture = analyse_lab()
    assert [f for f in posture.findings if f.kind is Kind.CHAIN_REACH and f.subject.endswith(":intruder")] == []


def test_services_granted_and_never_reached_on_the_network_nor_used_are_reported_from_the_profile():
    [finding] = [f for f in analyse_lab(profiles=True).findings if f.kind is Kind.UNUSED_NETWORK_REACH]
    unreached = {(x["cloud"], x["service"]) for x in finding.details["unreached"]}
    assert unreached == {("azure", "resource manager"), ("azure", "microsoft.keyvault"), ("azure", "queueservices"),
                         ("azure", "tableservices"), ("azure", "fileservices"), ("gcp", "firebase"),
                         ("gcp", "orgpolicy"), ("gcp", "recommender"), ("gcp", "resourcemanager")}
    assert finding.details["reachedWithoutLogs"] == []
    assert finding.agent == "agents/support-bot" and finding.severity is Severity.LOW


def test_traffic_to_a_service_the_logs_never_show_used_is_pointed_out():
    p = profile()
    p.items["egress"][("support-kb-archive.s3.us-west-2.amazonaws.com", 443, "TCP")] = p.first_seen
    p.items["egress"][("monitoring.us-west-2.amazonaws.com", 443, "TCP")] = p.first_seen
    metrics = PolicyStatement(Effect.ALLOW, sid="Metrics", actions=("cloudwatch:PutMetricData",), resources=("*",))
    declarations = [replace(d, statements=d.statements + (metrics,)) if isinstance(d, AwsPolicy) else d
                    for d in lab().declarations]
    posture = analyse([AGENT], declarations, lab().observations, profiles=[p], cluster_issuers=ISSUERS)
    [finding] = [f for f in posture.findings if f.kind is Kind.UNUSED_NETWORK_REACH and f.agent]
    assert [(x["service"], x["contacted"]) for x in finding.details["reachedWithoutLogs"]] == [
        ("cloudwatch", ["monitoring.us-west-2.amazonaws.com"])]
    assert ("aws", "cloudwatch") not in {(x["cloud"], x["service"]) for x in finding.details["unreached"]}


def test_without_a_profile_there_is_no_network_reach_finding():
    assert [f for f in analyse_lab().findings if f.kind is Kind.UNUSED_NETWORK_REACH] == []
