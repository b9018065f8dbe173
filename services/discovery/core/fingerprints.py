"""The fingerprint catalogue: what says a workload is an AI agent, an inference server,
an MCP server or a tool. Data, not code: one YAML file per family in fingerprints/,
plus any directory a user names (`load_catalogue(extra=[dir])`).

A family file:

    family: model_apis            # equal to the file's name, checked
    description: Hosted model APIs.
    role: agent                   # default role of its matchers (optional)
    fingerprints:
      - id: openai                # snake_case, unique across every loaded file
        name: OpenAI API
        weight: 0.7               # default weight of its matchers (optional)
        matchers:
          - host: api.openai.com  # exactly one signal per matcher, a value or a list

Signals: host (a DNS glob: `*.` = any subdomains, `*` inside a label = label characters),
exec (a regex searched in "exe arg0 arg1 …"), path (a regex searched in opened file
paths), image (a regex searched in the container image), listen_port, connect_port
(ints), traffic (llm_client, llm_server, llm_target, mcp_client, mcp_server, mcp_target:
who the decoded LLM and MCP traffic says the workload is). A matcher may override role
and weight. Unknown fields, bad regexes and duplicate ids fail loudly, naming the file.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

# the checked-YAML loader lives in datafiles; its names stay importable from here
from weft.discovery.core.datafiles import CheckedYamlError, Problem, load_checked  # noqa: F401

SHIPPED = Path(__file__).with_name("fingerprints")
ROLES = ("agent", "inference_server", "mcp_server", "tool")
REGEX_SIGNALS = ("exec", "path", "image")
PORT_SIGNALS = ("listen_port", "connect_port")
TRAFFIC = ("llm_client", "llm_server", "llm_target", "mcp_client", "mcp_server", "mcp_target")
SIGNALS = ("host", *REGEX_SIGNALS, *PORT_SIGNALS, "traffic")
MAX_CACHED = 1 << 18     # distinct (signal, value) answers kept; past it the cache starts again

_ONE_OR_MANY_STR = {"oneOf": [{"type": "string", "minLength": 1},
                              {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}}]}
_ONE_OR_MANY_PORT = {"oneOf": [{"type": "integer", "minimum": 1, "maximum": 65535},
                               {"type": "array", "minItems": 1,
                                "items": {"type": "integer", "minimum": 1, "maximum": 65535}}]}
_WEIGHT = {"type": "number", "exclusiveMinimum": 0, "maximum": 1}
_ROLE = {"enum": list(ROLES)}
SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["family", "fingerprints"],
    "properties": {
        "family": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
        "description": {"type": "string"},
        "role": _ROLE,
        "fingerprints": {"type": "array", "minItems": 1, "items": {
            "type": "object", "additionalProperties": False, "required": ["id", "name", "matchers"],
            "properties": {
                "id": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
                "name": {"type": "string", "minLength": 1},
                "description": {"type": "string"},
                "role": _ROLE, "weight": _WEIGHT,
                "matchers": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "additionalProperties": False,
                    "properties": {
                        "host": _ONE_OR_MANY_STR, "exec": _ONE_OR_MANY_STR, "path": _ONE_OR_MANY_STR,
                        "image": _ONE_OR_MANY_STR, "listen_port": _ONE_OR_MANY_PORT,
                        "connect_port": _ONE_OR_MANY_PORT,
                        "traffic": {"oneOf": [{"enum": list(TRAFFIC)},
                                              {"type": "array", "minItems": 1, "items": {"enum": list(TRAFFIC)}}]},
                        "role": _ROLE, "weight": _WEIGHT}}}}}}}}
_HOST_GLOB = re.compile(r"^(\*\.)?([a-z0-9*-]+\.)*[a-z0-9*-]+$")


class CatalogueError(CheckedYamlError):
    """A fingerprint file that cannot be loaded; `str()` names the file and the place."""


@dataclass(frozen=True)
class Matcher:
    signal: str                     # one of SIGNALS
    values: tuple                   # patterns (str) or ports (int) or traffic names
    role: str
    weight: float


@dataclass(frozen=True)
class Fingerprint:
    id: str
    name: str
    family: str
    source: str                     # the file it came from
    matchers: tuple[Matcher, ...]
    description: str = ""


def load_catalogue(extra: Iterable[str | Path] = ()) -> list[Fingerprint]:
    """Every shipped fingerprint, then those of each extra directory (or file) in turn."""
    files = sorted(SHIPPED.glob("*.yaml"))
    for place in map(Path, extra):
        if place.is_dir():
            files += sorted([*place.glob("*.yaml"), *place.glob("*.yml")])
        elif place.is_file():
            files.append(place)
        else:
            raise CatalogueError(f"{place}: no such fingerprint file or directory")
    seen: dict[str, str] = {}
    out: list[Fingerprint] = []
    for path in files:
        for fp in load_family(path):
            if fp.id in seen:
                raise CatalogueError(f"{path}: fingerprint id {fp.id!r} is already defined in {seen[fp.id]}")
            seen[fp.id] = str(path)
            out.append(fp)
    return out


def load_family(path: Path) -> list[Fingerprint]:
    try:
        doc = load_checked(path.read_text(encoding="utf-8"), str(path), SCHEMA)
    except (CheckedYamlError, OSError, UnicodeDecodeError) as e:
        raise CatalogueError(str(e) if isinstance(e, CheckedYamlError) else f"{path}: {e}") from None
    if doc["family"] != path.stem:
        raise CatalogueError(f"{path}: family {doc['family']!r} must equal the file name {path.stem!r}")
    return [_fingerprint(path, doc, i, entry) for i, entry in enumerate(doc["fingerprints"])]


def _fingerprint(path: Path, doc: dict, i: int, entry: dict) -> Fingerprint:
    matchers = []
    for j, m in enumerate(entry["matchers"]):
        where = f"{path}: fingerprints[{i}] ({entry['id']}).matchers[{j}]"
        signals = [s for s in SIGNALS if s in m]
        if len(signals) != 1:
            raise CatalogueError(f"{where}: needs exactly one of {', '.join(SIGNALS)}; has {signals or 'none'}")
        role = m.get("role", entry.get("role", doc.get("role")))
        weight = m.get("weight", entry.get("weight"))
        if role is None or weight is None:
            raise CatalogueError(f"{where}: no {'role' if role is None else 'weight'} "
                                 "(set it on the matcher, the fingerprint or, for role, the family)")
        value = m[signals[0]]
        values = tuple(value) if isinstance(value, list) else (value,)
        _check_patterns(where, signals[0], values)
        matchers.append(Matcher(signals[0], values, role, float(weight)))
    return Fingerprint(entry["id"], entry["name"], doc["family"], str(path), tuple(matchers),
                       entry.get("description", ""))


def _check_patterns(where: str, signal: str, values: tuple) -> None:
    for v in values:
        if signal == "host" and not _HOST_GLOB.match(v):
            raise CatalogueError(f"{where}: host {v!r} is not a lowercase DNS name or glob")
        if signal in REGEX_SIGNALS:
            try:
                re.compile(v)
            except re.error as e:
                raise CatalogueError(f"{where}: {signal} {v!r} is not a valid regex: {e}") from None


def host_regex(glob: str) -> str:
    """`*.example.com` -> any subdomain of it; `a-*.b` -> '*' within one label."""
    head = ""
    if glob.startswith("*."):
        head, glob = r"(?:[a-z0-9-]+\.)+", glob[2:]
    return "^" + head + re.escape(glob).replace(r"\*", "[a-z0-9-]+") + "$"


@dataclass(frozen=True)
class Hit:
    """One matcher that fired: which fingerprint, what it says and how strongly."""
    fingerprint: str
    name: str
    family: str
    role: str
    weight: float
    signal: str
    matcher: int            # index of the matcher in its fingerprint: evidence counts once per matcher


class Catalogue:
    """The fingerprints compiled for the hot path: one prefilter regex per regex signal,
    anchored host regexes, port and traffic tables; every answer cached per distinct
    (signal, value), so an event repeating a value costs one dict lookup."""

    def __init__(self, fingerprints: Iterable[Fingerprint]):
        self.fingerprints = tuple(fingerprints)
        patterns: dict[str, list[tuple[str, Hit]]] = {s: [] for s in ("host", *REGEX_SIGNALS)}
        self._table: dict[str, dict] = {s: {} for s in (*PORT_SIGNALS, "traffic")}
        for fp in self.fingerprints:
            for i, m in enumerate(fp.matchers):
                hit = Hit(fp.id, fp.name, fp.family, m.role, m.weight, m.signal, i)
                for v in m.values:
                    if m.signal in patterns:
                        patterns[m.signal].append((host_regex(v) if m.signal == "host" else v, hit))
                    else:
                        self._table[m.signal].setdefault(v, []).append(hit)
        self._compiled = {s: [(re.compile(p), h) for p, h in ps] for s, ps in patterns.items()}
        self._prefilter = {s: re.compile("|".join(f"(?:{p})" for p, _ in ps)) if ps else None
                           for s, ps in patterns.items()}
        self._cache: dict[tuple[str, object], tuple[Hit, ...]] = {}

    def match(self, signal: str, value) -> tuple[Hit, ...]:
        """Every hit for one observed value (hosts lowercase, without port or final dot)."""
        key = (signal, value)
        hits = self._cache.get(key)
        if hits is None:
            if len(self._cache) >= MAX_CACHED:
                self._cache.clear()
            hits = self._cache[key] = self._match(signal, value)
        return hits

    def _match(self, signal: str, value) -> tuple[Hit, ...]:
        if signal in self._table:
            return tuple(self._table[signal].get(value, ()))
        pre = self._prefilter[signal]
        if pre is None or not pre.search(value):
            return ()
        return tuple(h for rx, h in self._compiled[signal] if rx.search(value))
