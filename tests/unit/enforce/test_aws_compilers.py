"""AWS: the permissions boundary, the IRSA trust policy conditioned on :sub and :aud of
each selected EKS cluster's issuer, and Pod Identity associations with a session policy."""
from __future__ import annotations

import json

from enforce_intents import policy
from weft.enforce.compilers.aws_boundary import AwsBoundaryCompiler
from weft.enforce.compilers.aws_irsa import AwsIrsaCompiler
from weft.enforce.compilers.aws_pod_identity import AwsPodIdentityCompiler

ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/ABCDEF0123456789"
CLUSTERS = [{"name": "eks-prod", "provider": "aws", "accountId": "111122223333", "oidcIssuer": ISSUER},
            {"name": "eks-dr", "provider": "aws", "accountId": "111122223333",
             "oidcIssuer": "https://oidc.eks.us-west-2.amazonaws.com/id/99"}]
GRANTS = {"aws": {"allow": [{"actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::b/*"]},
                            {"actions": ["bedrock:InvokeModel"], "resources": ["*"]}]}}
STATEMENTS = [{"Sid": "WeftAllow0", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/*"]},
              {"Sid": "WeftAllow1", "Effect": "Allow", "Action": ["bedrock:InvokeModel"], "Resource": ["*"]}]


def test_permissions_boundary():
    out = AwsBoundaryCompiler().compile(policy(cloud=GRANTS))
    assert out.documents == [{"Version": "2012-10-17", "Statement": STATEMENTS}]


def test_irsa_trust_policy_per_cluster():
    p = policy(clusters=CLUSTERS)
    assert AwsIrsaCompiler().missing(p) == []
    assert AwsIrsaCompiler().compile(p).documents == [{"Version": "2012-10-17", "Statement": [
        {"Sid": "WeftIrsaEksProd", "Effect": "Allow",
         "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/"
                                    "ABCDEF0123456789"},
         "Action": "sts:AssumeRoleWithWebIdentity",
         "Condition": {"StringEquals": {
             "oidc.eks.us-east-1.amazonaws.com/id/ABCDEF0123456789:sub": "system:serviceaccount:agents:bot-sa",
             "oidc.eks.us-east-1.amazonaws.com/id/ABCDEF0123456789:aud": "sts.amazonaws.com"}}},
        {"Sid": "WeftIrsaEksDr", "Effect": "Allow",
         "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/99"},
         "Action": "sts:AssumeRoleWithWebIdentity",
         "Condition": {"StringEquals": {
             "oidc.eks.us-west-2.amazonaws.com/id/99:sub": "system:serviceaccount:agents:bot-sa",
             "oidc.eks.us-west-2.amazonaws.com/id/99:aud": "sts.amazonaws.com"}}}]}]


def test_irsa_says_what_context_is_missing():
    p = policy(clusters=[{"name": "eks-prod", "provider": "aws"}],
               selector={"namespace": "agents", "workload": "bot"})
    assert AwsIrsaCompiler().missing(p) == [
        "needs oidcIssuer on each selected aws cluster in spec.clusters (the cluster's OIDC issuer URL)",
        "needs spec.cloud.aws.accountId, or accountId on the selected aws clusters",
        "needs spec.selector.serviceAccount"]


def test_pod_identity_associations_carry_the_session_policy():
    out = AwsPodIdentityCompiler().compile(policy(clusters=CLUSTERS[:1], cloud=GRANTS))
    [doc] = out.documents
    assert {k: v for k, v in doc.items() if k != "policy"} == {
        "clusterName": "eks-prod", "namespace": "agents", "serviceAccount": "bot-sa",
        "roleArn": "arn:aws:iam::111122223333:role/weft-bot", "disableSessionTags": True}
    assert json.loads(doc["policy"]) == {"Version": "2012-10-17", "Statement": STATEMENTS}
