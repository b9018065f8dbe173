"""AWS IAM roles and policies, and EKS Pod Identity associations: who may assume a role
(and under which conditions), what each policy grants."""
from __future__ import annotations

import json

import pytest

from weft.posture.core.declarations.model import (AwsCondition, AwsPolicy, AwsPrincipal, AwsRole, Effect,
                                                  PodIdentityAssociation, PolicyStatement)
from weft.posture.core.load import load_bytes
from weft.posture.core.model import KubernetesSubject

ISSUER = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"


def test_a_role_from_get_role_with_its_irsa_trust(load):
    [role] = load("declarations/aws-iam-role-irsa.json").declarations
    assert isinstance(role, AwsRole)
    assert (role.arn, role.name) == ("arn:aws:iam::111122223333:role/agents-planner", "agents-planner")
    [trust] = role.trust
    assert trust.principals == (AwsPrincipal("Federated", f"arn:aws:iam::111122223333:oidc-provider/{ISSUER}"),)
    assert trust.actions == ("sts:AssumeRoleWithWebIdentity",)
    assert trust.conditions_on(":sub") == (
        AwsCondition("StringEquals", f"{ISSUER}:sub", ("system:serviceaccount:agents:planner",)),)
    assert trust.conditions_on(f"{ISSUER.upper()}:AUD")[0].values == ("sts.amazonaws.com",)   # keys ignore case


def test_a_namespace_wide_trust_keeps_its_operator_and_wildcard(load):
    [role] = load("declarations/aws-iam-trust-namespace-wide.json").declarations
    assert (role.arn, role.name) == ("", "")                      # a bare document names no role
    [sub] = role.trust[0].conditions_on(":sub")
    assert (sub.operator, sub.values) == ("StringLike", ("system:serviceaccount:tools:*",))


def test_the_pod_identity_trust_is_a_trust_policy(load):
    [role] = load("declarations/aws-iam-trust-pod-identity.json").declarations
    assert isinstance(role, AwsRole)
    assert role.trust == (PolicyStatement(
        effect=Effect.ALLOW, sid="AllowEksAuthToAssumeRoleForPodIdentity", actions=("sts:AssumeRole", "sts:TagSession"),
        principals=(AwsPrincipal("Service", "pods.eks.amazonaws.com"),)),)


def test_an_inline_policy_keeps_its_role_and_every_statement(load):
    [policy] = load("declarations/aws-iam-role-policy.json").declarations
    assert isinstance(policy, AwsPolicy)
    assert (policy.name, policy.role_name) == ("retriever-data", "agents-retriever")
    assert [(s.effect, s.actions, s.not_actions, s.resources) for s in policy.statements] == [
        (Effect.ALLOW, ("s3:ListAllMyBuckets",), (), ("*",)),
        (Effect.ALLOW, ("s3:GetObject", "s3:GetObjectTagging"), (), ("*",)),
        (Effect.ALLOW, ("bedrock:InvokeModel",), (),
         ("arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0",)),
        (Effect.DENY, (), ("s3:*", "bedrock:*"), ("*",)),
    ]
    assert policy.statements[1].conditions == (AwsCondition(
        "StringEquals", "s3:ExistingObjectTag/eks-cluster-name", ("${aws:PrincipalTag/eks-cluster-name}",)),)


@pytest.mark.parametrize("document, kind", [
    ({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}}, AwsRole),   # object form
    ({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
                     "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}, AwsPolicy),  # a resource policy
    ({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}, AwsPolicy),  # no principal
])
def test_a_bare_document_is_a_trust_policy_only_when_it_lets_principals_start_sessions(document, kind):
    [declaration] = load_bytes(json.dumps(document).encode(), "p.json").declarations
    assert isinstance(declaration, kind)


def test_statement_values_are_normalised():
    document = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::1:root", "arn:aws:iam::2:root"], "Service": "x"},
        "Action": "sts:AssumeRole",
        "Condition": {"Bool": {"aws:MultiFactorAuthPresent": True}, "NumericLessThan": {"aws:MultiFactorAuthAge": 3600},
                      "ForAnyValue:StringLike": {"aws:PrincipalTag/team": ["a*", "b*"]}}}]}
    [role] = load_bytes(json.dumps(document).encode(), "t.json").declarations
    statement = role.trust[0]
    assert statement.principals == (AwsPrincipal("AWS", "arn:aws:iam::1:root"),
                                    AwsPrincipal("AWS", "arn:aws:iam::2:root"), AwsPrincipal("Service", "x"))
    assert statement.conditions == (AwsCondition("Bool", "aws:MultiFactorAuthPresent", ("true",)),
                                    AwsCondition("NumericLessThan", "aws:MultiFactorAuthAge", ("3600",)),
                                    AwsCondition("ForAnyValue:StringLike", "aws:PrincipalTag/team", ("a*", "b*")))


def test_a_role_with_inline_and_attached_policies():
    role = {"RoleName": "r", "Arn": "arn:aws:iam::111122223333:role/service-role/r",
            "AssumeRolePolicyDocument": json.dumps({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                                   "Principal": {"Service": "ec2.amazonaws.com"}}]}),
            "RolePolicyList": [{"PolicyName": "p", "PolicyDocument": {"Statement": [
                {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": "*"}]}}],
            "AttachedManagedPolicies": [{"PolicyName": "ReadOnlyAccess",
                                         "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}]}
    [parsed] = load_bytes(json.dumps(role).encode(), "r.json").declarations
    assert parsed.trust[0].principals == (AwsPrincipal("Service", "ec2.amazonaws.com"),)   # JSON text, decoded
    assert parsed.permissions[0].actions == ("kms:Decrypt",)
    assert parsed.attached_policy_arns == ("arn:aws:iam::aws:policy/ReadOnlyAccess",)


def test_list_roles_output_is_one_role_per_item():
    trust = {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "x"}}]}
    listing = {"Roles": [{"RoleName": name, "Arn": f"arn:aws:iam::111122223333:role/{name}",
                          "AssumeRolePolicyDocument": trust} for name in ("a", "b")], "IsTruncated": False}
    result = load_bytes(json.dumps(listing).encode(), "roles.json")
    assert [(r.name, r.source.pointer) for r in result.declarations] == [("a", "/Roles/0"), ("b", "/Roles/1")]


def test_a_role_whose_trust_document_is_not_json_is_an_error():
    role = {"Role": {"RoleName": "r", "Arn": "arn:aws:iam::111122223333:role/r", "AssumeRolePolicyDocument": "{oops"}}
    result = load_bytes(json.dumps(role).encode(), "r.json")
    [error] = result.errors
    assert (error.path, error.expected) == ("/Role/AssumeRolePolicyDocument",
                                            "a policy document (a JSON object, or JSON text)")


def test_a_pod_identity_association(load):
    [association] = load("declarations/eks-pod-identity-association.json").declarations
    assert association == PodIdentityAssociation(
        source=association.source, subject=KubernetesSubject("agents", "retriever", "agents-prod"),
        role_arn="arn:aws:iam::111122223333:role/agents-retriever",
        target_role_arn="arn:aws:iam::444455556666:role/shared-vector-store-reader",
        association_arn="arn:aws:eks:us-west-2:111122223333:podidentityassociation/agents-prod/a-1abcdefghijklmnop",
        association_id="a-1abcdefghijklmnop", session_tags_disabled=False,
        external_id="3c1b2a4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")
