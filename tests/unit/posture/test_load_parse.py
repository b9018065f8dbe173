"""load_files: formats recognised by content or forced with --format; broken or partial
input gives errors that name the file, the document, the path inside and what was
expected, and everything else still loads."""
from __future__ import annotations

import importlib
import json

import pytest

from jsonschema import Draft202012Validator

from weft.discovery.core.records import UnknownFormat
from weft.posture.core.declarations.model import AwsPolicy, GcpBinding, ServiceAccountLink
from weft.posture.core.load import load_bytes, load_files
from weft.posture.core.model import ParseError, Source
from weft.posture.core.parsers import load_all


def _errors(result):
    return [(e.line, e.document, e.path, e.expected, e.found) for e in result.errors]


def test_a_broken_manifest_names_each_problem_and_the_good_document_still_loads(load):
    result = load("declarations/k8s-broken.yaml")
    assert _errors(result) == [
        (2, 1, "/metadata/annotations/eks.amazonaws.com~1role-arn",
         "an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)", '"arn:aws:iam::12345:role/agents-planner"'),
        (11, 2, "/spec/template/metadata/labels/azure.workload.identity~1use",
         "a string value (quote true, false and numbers in YAML)", "true"),
        (25, 3, "", "valid YAML", "mapping values are not allowed in this context at line 28"),
        (40, 5, "/metadata", "metadata with a name (or generateName)",
         '{"namespace": "agents", "annotations": {"azure.workload.i...'),
    ]
    assert all(e.file.endswith("k8s-broken.yaml") for e in result.errors)
    [link] = result.declarations
    assert isinstance(link, ServiceAccountLink) and link.subject.service_account == "indexer"
    assert (link.source.line, link.source.document) == (31, 4)


def test_a_broken_policy_line_is_an_error_and_the_next_line_loads(load):
    result = load("declarations/aws-iam-broken.jsonl")
    assert _errors(result) == [
        (1, 1, "/Statement/0/Effect", 'Effect "Allow" or "Deny"', '"Alow"'),
        (2, 2, "/Statement/0/Condition/StringEqual", "a condition operator such as StringEquals, StringLike or "
         "ArnLike (optionally ForAnyValue:/ForAllValues: ... IfExists)", '"StringEqual"'),
    ]
    [policy] = result.declarations
    assert isinstance(policy, AwsPolicy) and policy.statements[0].actions == ("s3:ListBucket",)


def test_a_broken_binding_is_an_error_and_the_other_bindings_load(load):
    result = load("declarations/gcp-iam-broken.json")
    assert [(e.path, e.found) for e in result.errors] == [
        ("/bindings/0/members/0", '"alice@example.com"'), ("/bindings/1/role", '"storage.objectViewer"')]
    assert "user:EMAIL" in result.errors[0].expected
    assert [b.role for b in result.declarations if isinstance(b, GcpBinding)] == ["roles/logging.viewer"]


def test_a_partial_record_says_which_field_is_missing(load):
    result = load("declarations/eks-pod-identity-associations-list.json")
    [error] = result.errors
    assert (error.path, error.found) == ("/associations/0/roleArn", "nothing")
    assert error.expected.startswith("an IAM role ARN")
    assert result.declarations == []


def test_format_forces_what_content_does_not_reveal(load):
    unforced = load("declarations/aws-iam-policy-version.json")
    assert [e.expected for e in unforced.errors] == ["a record of a format weft recognises (or name one with --format)"]
    forced = load("declarations/aws-iam-policy-version.json", force_format="aws_iam")
    assert forced.errors == []
    [policy] = forced.declarations
    assert policy.statements[0].actions == ("sqs:SendMessage", "sqs:ReceiveMessage")   # URL-encoded JSON, decoded


def test_a_forced_format_that_does_not_fit_gives_errors_not_a_crash(load):
    result = load("declarations/k8s-agents.yaml", force_format="eks_pod_identity")
    assert result.declarations == [] and result.observations == []
    assert {e.document for e in result.errors} == set(range(1, 8))
    assert {e.path for e in result.errors} >= {"/clusterName", "/roleArn"}


@pytest.mark.parametrize("name, message", [
    ("no_such_format", "unknown format 'no_such_format'"),
    ("guardduty", "format 'guardduty' is a signal format; posture reads: aws_iam, azure_federated_credential"),
])
def test_format_must_name_a_format_posture_reads(name, message, data):
    with pytest.raises(UnknownFormat, match=message):
        load_files([data / "declarations/k8s-agents.yaml"], force_format=name)


def test_an_unreadable_file_is_an_error_and_the_other_files_load(data, tmp_path):
    missing = tmp_path / "missing.json"
    result = load_files([missing, data / "declarations/gcp-wif-provider-aws.json"])
    [error] = result.errors
    assert (error.file, error.expected, error.found) == (str(missing), "a readable file", "No such file or directory")
    assert len(result.declarations) == 1


def test_records_of_other_stages_are_skipped_with_a_reason():
    alert = {"rule": "Terminal shell in container", "priority": "Notice", "output": "a shell",
             "time": "2025-03-04T09:00:00Z"}
    result = load_bytes(json.dumps(alert).encode(), "falco.json")
    assert result.errors == [] and result.observations == []
    [skipped] = result.skipped
    assert (skipped.format, skipped.reason) == ("falco", "a signal record; posture reads declarations and audit logs")


def test_records_inside_envelopes_carry_their_pointer(load):
    result = load("declarations/k8s-serviceaccounts-list.yaml")
    [link] = result.declarations
    assert link.source == Source(link.source.file, 2, 1, "/items/1")
    assert [s.source.pointer for s in result.skipped] == ["/items/0"]   # the default SA links nothing


def test_an_error_reads_as_one_line_a_user_can_act_on():
    error = ParseError("deploy.yaml", 11, 2, "/metadata/name", "the object's name (a non-empty string)", "nothing")
    assert str(error) == ("deploy.yaml:11 (document 2) at /metadata/name: "
                          "expected the object's name (a non-empty string); found nothing")


def test_every_parser_schema_is_a_valid_json_schema():
    modules = {fn.__module__ for fn in load_all().values()} | {"weft.posture.core.declarations.aws_policy"}
    constants = [(key, value) for name in modules for key, value in vars(importlib.import_module(name)).items()]
    schemas = [value for key, value in constants if key.endswith("SCHEMA") and isinstance(value, dict)]
    schemas += [s for key, value in constants if key.endswith("SCHEMAS") for s in value.values()]
    assert len(schemas) >= 20
    for schema in schemas:
        Draft202012Validator.check_schema(schema)
