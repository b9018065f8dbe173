"""Is an HTTP request a model call, to which provider, for which model?

The provider comes from the host (the public model APIs) or, for any other
host, from the API shape of the path (OpenAI-compatible servers, Ollama, ...).
The model comes from the body's "model" field or, for the APIs that name it in
the path, from the path. An agent calls few hosts and paths, over and over: what
they say is remembered."""
from __future__ import annotations

import re
from functools import lru_cache

# Host suffix -> provider.
HOSTS = (
    ("api.openai.com", "openai"), ("openai.azure.com", "azure-openai"),
    ("api.anthropic.com", "anthropic"), ("generativelanguage.googleapis.com", "gemini"),
    ("aiplatform.googleapis.com", "vertex-ai"), ("api.mistral.ai", "mistral"),
    ("api.cohere.com", "cohere"), ("api.cohere.ai", "cohere"), ("api.groq.com", "groq"),
    ("api.together.xyz", "together"), ("api.together.ai", "together"),
    ("huggingface.co", "huggingface"), ("hf.space", "huggingface"),
)
_BEDROCK = re.compile(r"^bedrock-runtime[.-][a-z0-9-]+\.amazonaws\.com$")
_SAGEMAKER = re.compile(r"^runtime\.sagemaker\.[a-z0-9-]+\.amazonaws\.com$")

# Path shapes of model APIs, for any host (local inference servers included).
_PATHS = re.compile(
    r"(/v1/chat/completions|/v1/completions|/v1/responses|/v1/messages|/v1/embeddings"
    r"|/chat/completions$|/api/chat$|/api/generate$|/api/embed|/v1/chat$|/generate$"
    r"|/invoke$|/converse$|/invoke-with-response-stream$|/converse-stream$"
    r"|:generateContent$|:streamGenerateContent$|:predict$|/invocations$)")
_MODEL_IN_PATH = (
    re.compile(r"/model/([^/]+)/(?:invoke|converse)"),           # Bedrock
    re.compile(r"/models/([^/:]+):(?:stream)?[gG]enerateContent"),  # Gemini, Vertex
    re.compile(r"/openai/deployments/([^/]+)/"),                   # Azure OpenAI
    re.compile(r"/endpoints/([^/]+)/invocations"),                 # SageMaker
)
_MODEL_FIELD = re.compile(rb'"model"\s*:\s*"([^"\\]{1,200})"')


@lru_cache(maxsize=1024)
def provider_of(host: str, path: str) -> str | None:
    """The provider of a model call, or None when this is not one."""
    name = host.rsplit(":", 1)[0].lower() if host.count(":") == 1 else host.lower()
    for suffix, provider in HOSTS:
        if name == suffix or name.endswith(("." + suffix, "-" + suffix)):   # regional: us-central1-aiplatform
            return provider
    if _BEDROCK.match(name):
        return "bedrock"
    if _SAGEMAKER.match(name):
        return "sagemaker"
    if not _PATHS.search(path):
        return None
    return "ollama" if path.startswith("/api/") else "openai-compatible"


def model_of(path: str, body: bytes) -> str:
    if named := _model_in_path(path):
        return named
    m = _MODEL_FIELD.search(body)
    return m.group(1).decode(errors="replace") if m else ""


@lru_cache(maxsize=1024)
def _model_in_path(path: str) -> str:
    for pattern in _MODEL_IN_PATH:
        m = pattern.search(path)
        if m:
            return m.group(1)
    return ""
