"""Which package a loaded file or an MCP server command belongs to, as a package URL
(purl). Python files under site-packages or dist-packages are PyPI distributions (their
name normalised as PEP 503 and the purl spec say; a version when a `.dist-info` directory
was read); files under node_modules are npm packages (the innermost node_modules).
Pure functions."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable
from urllib.parse import quote

NAMESPACE_PACKAGES = frozenset({"google", "llama_index", "azure"})     # `google/adk` is google-adk
DISTRIBUTIONS = {"agents": "openai-agents", "haystack": "haystack-ai", "llama_cpp": "llama-cpp-python"}
_PYTHON = re.compile(r"/(?:site|dist)-packages/([^/]+)(?:/([^/]+))?")
_NODE = re.compile(r"/node_modules/((?:@[^/]+/)?[^/]+)")
_DIST_INFO = re.compile(r"/(?:site|dist)-packages/([A-Za-z0-9_.]+)-([^/-]+)\.dist-info/")
_HF_MODEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
NPM_LAUNCHERS = frozenset({"npx", "bunx", "pnpx"})
PYPI_LAUNCHERS = frozenset({"uvx", "pipx"})


@dataclass(frozen=True, order=True)
class Package:
    ecosystem: str           # purl type: pypi, npm
    namespace: str           # an npm scope (`@modelcontextprotocol`), else ""
    name: str

    def purl(self, version: str = "") -> str:
        return purl(self.ecosystem, self.namespace, self.name, version)

    @property
    def full_name(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


def purl(kind: str, namespace: str, name: str, version: str = "") -> str:
    path = "/".join(quote(p, safe="") for p in (namespace, name) if p)
    return f"pkg:{kind}/{path}" + (f"@{quote(version, safe='')}" if version else "")


def pypi_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def package_at(path: str) -> Package | None:
    """The package a loaded file is part of, or None."""
    modules = _NODE.findall(path)
    if modules:
        return _npm(modules[-1])
    m = _PYTHON.search(path)
    if not m:
        return None
    top, sub = m.group(1), m.group(2)
    if top.endswith((".dist-info", ".egg-info")):
        name = top.split("-", 1)[0]
    elif top in NAMESPACE_PACKAGES and sub and "." not in sub:
        name = f"{top}-{sub}"
    else:
        name = top[:-3] if top.endswith(".py") else top
    return Package("pypi", "", pypi_name(DISTRIBUTIONS.get(name, name)))


def pypi_versions(paths: Iterable[str]) -> dict[str, str]:
    """Normalised PyPI name -> version, from `.dist-info` directories read; a name seen
    with two versions gets none."""
    seen: dict[str, set[str]] = {}
    for path in paths:
        for name, version in _DIST_INFO.findall(path):
            seen.setdefault(pypi_name(name), set()).add(version)
    return {name: next(iter(vs)) for name, vs in seen.items() if len(vs) == 1}


def command_package(command: str) -> Package | None:
    """The package an MCP server command runs: `npx -y @scope/server-x`, `uvx mcp-server-x`,
    `python -m mcp_server_x`, or the bare name the sensor reports for a stdio server."""
    words = command.split()
    if not words:
        return None
    launcher = words[0].rsplit("/", 1)[-1]
    args = [w for w in words[1:] if not w.startswith("-") and w not in ("run", "exec", "dlx", "x", "tool")]
    if launcher in NPM_LAUNCHERS and args:
        return _npm(_unversioned(args[0]))
    if launcher in PYPI_LAUNCHERS and args:
        return Package("pypi", "", pypi_name(re.split(r"[=<>@\[]", args[0])[0]))
    if launcher.startswith("python") and "-m" in words[:-1]:
        words = [words[words.index("-m") + 1]]
    if len(words) == 1:
        name = words[0]
        if name.startswith("@") and "/" in name:
            return _npm(_unversioned(name))
        if re.match(r"^mcp[-_]server[-_][a-z0-9_.-]+$", name):
            return Package("pypi", "", pypi_name(name))
    return None


def model_purl(model: str) -> str:
    """`pkg:huggingface/<org>/<name>` for a Hugging Face style model id, else ""."""
    if not _HF_MODEL.match(model):
        return ""
    org, name = model.split("/")
    return purl("huggingface", org, name)


def _npm(name: str) -> Package:
    scope, _, bare = name.rpartition("/")
    return Package("npm", scope, bare)


def _unversioned(spec: str) -> str:
    """`@scope/pkg@1.2` -> `@scope/pkg`; `pkg@latest` -> `pkg`."""
    at = spec.find("@", 1)
    return spec[:at] if at > 0 else spec
