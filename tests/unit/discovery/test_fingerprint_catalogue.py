"""The fingerprint catalogue is data: every shipped file loads, a broken file fails loudly
naming itself, and a user's directory extends what is recognised."""
import re

import pytest
from observe_events import Actor

from weft.discovery.core.classify import Observer
from weft.discovery.core.fingerprints import (SHIPPED, Catalogue, CatalogueError, host_regex, load_catalogue,
                                              load_family)

GOOD = """\
family: {family}
role: agent
fingerprints:
  - id: {id}
    name: Acme LLM gateway
    weight: 0.8
    matchers:
      - host: llm.acme.internal
"""


@pytest.mark.parametrize("path", sorted(SHIPPED.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_fingerprint_file_loads(path):
    fingerprints = load_family(path)
    assert fingerprints and all(fp.family == path.stem for fp in fingerprints)


def test_the_shipped_catalogue_covers_what_the_issue_names():
    ids = {fp.id for fp in load_catalogue()}
    assert {"openai", "anthropic", "azure_openai", "bedrock_runtime", "vertex_ai", "gemini", "mistral", "cohere",
            "groq", "together", "huggingface_inference", "sagemaker_runtime"} <= ids
    assert {"ollama", "vllm", "tgi", "triton", "llama_cpp", "lm_studio"} <= ids
    assert {"langchain", "langgraph", "llama_index", "crewai", "autogen", "openai_agents", "semantic_kernel",
            "haystack", "smolagents", "pydantic_ai", "mcp_python_sdk", "mcp_typescript_sdk"} <= ids
    assert {"mcp_reference_server", "mcp_server_command", "llm_traffic", "mcp_traffic"} <= ids


@pytest.mark.parametrize("host, expected", [
    ("x.openai.azure.com", "azure_openai"), ("a.b.openai.azure.com", "azure_openai"), ("openai.azure.com", None),
    ("bedrock-runtime.eu-west-1.amazonaws.com", "bedrock_runtime"), ("s3.eu-west-1.amazonaws.com", None),
    ("bedrock-runtime.a.b.amazonaws.com", None), ("runtime.sagemaker.us-east-1.amazonaws.com", "sagemaker_runtime"),
    ("europe-west4-aiplatform.googleapis.com", "vertex_ai"), ("storage.googleapis.com", None),
    ("huggingface.co", None), ("notapi.openai.com.evil.example", None)])
def test_model_api_hosts_match_exactly_what_they_name(host, expected):
    hits = Catalogue(load_catalogue()).match("host", host)
    assert [h.fingerprint for h in hits] == ([expected] if expected else [])


def test_host_globs_stay_within_dns_labels():
    assert re.match(host_regex("a-*.example.com"), "a-b1.example.com")
    assert not re.match(host_regex("a-*.example.com"), "a-b.c.example.com")


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_an_unknown_field_fails_loudly_naming_the_file_and_line(tmp_path):
    path = write(tmp_path, "acme.yaml", GOOD.format(family="acme", id="acme") + "        colour: red\n")
    with pytest.raises(CatalogueError) as e:
        load_catalogue([tmp_path])
    assert str(e.value).startswith(f"{path}:9: fingerprints[0].matchers[0].colour:")
    assert "'colour' was unexpected" in str(e.value)


@pytest.mark.parametrize("change, says", [
    (("host: llm.acme.internal", "exec: '(unclosed'"), "is not a valid regex"),
    (("host: llm.acme.internal", "host: LLM.Acme"), "is not a lowercase DNS name"),
    (("      - host: llm.acme.internal", "      - weight: 0.5"), "needs exactly one of"),
    (("    weight: 0.8\n", ""), "no weight"),
    (("role: agent", "role: robot"), "'robot' is not one of"),
    (("family: acme", "family: other"), "must equal the file name 'acme'"),
])
def test_a_broken_fingerprint_file_says_what_and_where(tmp_path, change, says):
    path = write(tmp_path, "acme.yaml", GOOD.format(family="acme", id="acme").replace(*change))
    with pytest.raises(CatalogueError, match=re.escape(says)) as e:
        load_family(path)
    assert str(e.value).startswith(str(path))


def test_a_duplicate_id_names_both_files(tmp_path):
    path = write(tmp_path, "acme.yaml", GOOD.format(family="acme", id="openai"))
    with pytest.raises(CatalogueError, match=re.escape(f"{path}: fingerprint id 'openai' is already defined in "
                                                       f"{SHIPPED / 'model_apis.yaml'}")):
        load_catalogue([tmp_path])


def test_a_missing_extra_directory_fails(tmp_path):
    with pytest.raises(CatalogueError, match="no such fingerprint file or directory"):
        load_catalogue([tmp_path / "nope"])


def test_a_user_directory_extends_what_is_recognised(tmp_path):
    write(tmp_path, "acme.yml", GOOD.format(family="acme", id="acme_gateway"))
    app = Actor("aks", "apps", "claims")
    events = [app.dns(0, "llm.acme.internal"), app.connect(0, "llm.acme.internal", 443)]

    def kind(extra):
        observer = Observer(Catalogue(load_catalogue(extra)))
        observer.observe(events)
        return [(d.kind, d.classification.evidence[0].fingerprint if d.classification.evidence else None)
                for d in observer.inventory()]
    assert kind([]) == [("none", None)]
    assert kind([tmp_path]) == [("agent", "acme_gateway")]
