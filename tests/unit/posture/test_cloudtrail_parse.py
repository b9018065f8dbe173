"""CloudTrail: how each role session started (IRSA, Pod Identity, services, chaining),
for which Kubernetes subject, and which IAM actions the session's calls needed."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from weft.posture.core.auditlogs.aws_actions import iam_actions
from weft.posture.core.auditlogs.model import ApiCall, AssumptionMethod, RoleAssumption
from weft.posture.core.load import load_bytes
from weft.posture.core.model import KubernetesSubject

PROVIDER = ("arn:aws:iam::111122223333:oidc-provider/"
            "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE")
SESSION = "arn:aws:sts::111122223333:assumed-role/agents-planner/botocore-session-1741079561"


def test_irsa_session_and_the_calls_made_with_it(load):
    assumed, call, denied = load("auditlogs/cloudtrail-irsa.json").observations
    assert isinstance(assumed, RoleAssumption)
    assert (assumed.method, assumed.role_arn, assumed.session_arn, assumed.kubernetes, assumed.identity_provider,
            assumed.audience, assumed.access_key_id, assumed.source_ip, assumed.success) == (
        AssumptionMethod.IRSA, "arn:aws:iam::111122223333:role/agents-planner", SESSION,
        KubernetesSubject("agents", "planner"), PROVIDER, "sts.amazonaws.com", "ASIAIOSFODNN7EXAMPLE", "192.0.2.44",
        True)
    assert assumed.time == datetime(2025, 3, 4, 9, 12, 41, tzinfo=timezone.utc)
    assert isinstance(call, ApiCall)
    assert (call.principal, call.role_arn, call.action, call.access_key_id, call.federated_provider) == (
        SESSION, "arn:aws:iam::111122223333:role/agents-planner", "s3:GetObject", assumed.access_key_id, PROVIDER)
    assert call.resources == ("arn:aws:s3:::agent-knowledge/runbooks/rotate-keys.md", "arn:aws:s3:::agent-knowledge")
    assert (denied.success, denied.error_code, denied.kubernetes, denied.session_arn) == (
        False, "AccessDenied", KubernetesSubject("tools", "scraper"), "")


def test_pod_identity_session_with_its_tags_and_what_follows(load):
    node_call, assumed, invoke, chained, chained_call = load("auditlogs/cloudtrail-pod-identity.jsonl").observations
    assert (node_call.action, node_call.role_arn) == ("eks-auth:AssumeRoleForPodIdentity",
                                                       "arn:aws:iam::111122223333:role/agents-eks-node-group")
    assert (assumed.method, assumed.kubernetes, assumed.pod_name, assumed.caller) == (
        AssumptionMethod.POD_IDENTITY, KubernetesSubject("agents", "retriever", "agents-prod"),
        "retriever-7d9c6b5f4-x2k8q", "pods.eks.amazonaws.com")
    assert assumed.session_tags["eks-cluster-arn"] == "arn:aws:eks:us-west-2:111122223333:cluster/agents-prod"
    assert (invoke.action, invoke.access_key_id) == ("bedrock:InvokeModel", assumed.access_key_id)
    # The pod's session chains into another account; the transitive tags still name the pod.
    assert (chained.method, chained.caller, chained.kubernetes, chained.role_arn) == (
        AssumptionMethod.ROLE, assumed.session_arn, assumed.kubernetes,
        "arn:aws:iam::444455556666:role/shared-vector-store-reader")
    assert (chained_call.action, chained_call.principal) == ("sts:AssumeRole", assumed.session_arn)


def test_service_assumptions_and_role_chaining_in_the_real_samples(fixtures_dir):
    logs = fixtures_dir / "identity-logs/aws-cloudtrail"
    ec2 = load_bytes((logs / "elastic-integrations/test-assume-role-aws-service-json.log").read_bytes(), "ec2.log")
    [assumed] = ec2.observations     # an AWS service calls no API as a principal of this account
    assert (assumed.method, assumed.caller, assumed.session_name) == (
        AssumptionMethod.AWS_SERVICE, "ec2.amazonaws.com", "i-0123456789abcdef0")
    chained = load_bytes((logs / "elastic-integrations/test-assume-role-json.log").read_bytes(), "chain.log")
    assumed, call = chained.observations[:2]
    assert (assumed.method, assumed.caller, assumed.session_tags) == (
        AssumptionMethod.ROLE, "arn:aws:sts::111111111111:assumed-role/JohnDoe/JohnRole1",
        {"Department": "Engineering", "Email": "johndoe@example.com", "CostCenter": "12345"})
    assert assumed.kubernetes is None
    assert (call.action, call.role_arn) == ("sts:AssumeRole", "arn:aws:iam::111111111111:role/JohnRole1")


def test_a_network_activity_event_names_the_object_from_its_request(fixtures_dir):
    data = (fixtures_dir / "identity-logs/aws-cloudtrail/panther-analysis/"
            "aws_vpce_external_principal__same-account-access.json").read_bytes()
    [call] = load_bytes(data, "vpce.json").observations
    assert (call.principal, call.action, call.resources, call.role_arn) == (
        "AROAEXAMPLE:session-name", "s3:GetObject", ("arn:aws:s3:::example-bucket/sensitive-file.txt",), "")


@pytest.mark.parametrize("source, name, actions", [
    ("s3.amazonaws.com", "GetObject", ("s3:GetObject",)),
    ("s3.amazonaws.com", "HeadObject", ("s3:GetObject",)),
    ("s3.amazonaws.com", "ListObjectsV2", ("s3:ListBucket",)),
    ("s3.amazonaws.com", "CompleteMultipartUpload", ("s3:PutObject",)),
    ("lambda.amazonaws.com", "ListFunctions20150331", ("lambda:ListFunctions",)),
    ("lambda.amazonaws.com", "GetFunctionConfiguration20150331v2", ("lambda:GetFunctionConfiguration",)),
    ("lambda.amazonaws.com", "Invoke", ("lambda:InvokeFunction",)),
    ("monitoring.amazonaws.com", "PutMetricData", ("cloudwatch:PutMetricData",)),
    ("kms.amazonaws.com", "ReEncrypt", ("kms:ReEncryptFrom", "kms:ReEncryptTo")),
    ("ec2.amazonaws.com", "DescribeInstances", ("ec2:DescribeInstances",)),
    ("sts.amazonaws.com", "GetCallerIdentity", ()),          # IAM does not authorise it
    ("secretsmanager.amazonaws.com", "GetSecretValue", ("secretsmanager:GetSecretValue",)),
])
def test_iam_actions_of_calls(source, name, actions):
    assert iam_actions(source, name) == actions


def test_console_sign_ins_and_service_events_are_not_api_calls():
    record = {"eventVersion": "1.05", "eventTime": "2014-07-16T15:49:27Z", "eventSource": "signin.amazonaws.com",
              "eventName": "ConsoleLogin", "eventType": "AwsConsoleSignIn",
              "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/JohnDoe"}}
    result = load_bytes(json.dumps(record).encode(), "signin.json")
    assert result.observations == [] and result.errors == []


@pytest.mark.parametrize("record, path, found", [
    ({"eventSource": "s3.amazonaws.com", "eventName": "GetObject", "eventTime": "yesterday"},
     "/eventTime", '"yesterday"'),
    ({"eventSource": "s3.amazonaws.com", "eventName": "GetObject", "eventVersion": "1.08"}, "/eventTime", "nothing"),
])
def test_a_record_without_a_usable_time_is_an_error(record, path, found):
    [error] = load_bytes(json.dumps(record).encode(), "ct.json").errors
    assert (error.path, error.found) == (path, found)
