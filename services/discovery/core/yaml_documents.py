"""YAML inputs (Kubernetes manifests): one Document per '---' separated document, so a
broken document is one Problem and the others still load."""
from __future__ import annotations

import re
from typing import Iterator

import yaml

from weft.discovery.core.records import YAML, Document, Problem
from weft.discovery.core.text import first_line, line_of

_SEPARATOR = re.compile(r"^(---|\.\.\.)(\s|$)")


_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe YAML with timestamps kept as strings, so a document re-serialised as JSON
    says what the file said."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def _load(chunk: str):
    """One document; aliases are refused (no alias bombs in what is re-serialised)."""
    for event in yaml.parse(chunk, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "YAML aliases are not accepted", event.start_mark)
    return yaml.load(chunk, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader


def yaml_documents(data: bytes, source: str) -> Iterator[Document | Problem]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        yield Problem(f"{source}:{line_of(data, e.start)}", f"not UTF-8 text: {e.reason}", data)
        return
    for first, chunk in _yaml_chunks(text.split("\n")):
        body = chunk.strip()
        try:
            value = _load(chunk)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" at line {first + mark.line}" if mark is not None else ""
            what = getattr(e, "problem", None) or str(e)
            yield Problem(f"{source}:{first_line(chunk.encode(), first)}", f"invalid YAML: {what}{where}",
                          body.encode())
            continue
        if value is not None:
            yield Document(value, body.encode(), f"{source}:{first_line(chunk.encode(), first)}", YAML)


def _yaml_chunks(lines: list[str]) -> Iterator[tuple[int, str]]:
    """(first line number, text) of each document between '---' and '...' markers."""
    start, chunk = 1, []
    for number, line in enumerate(lines, 1):
        if _SEPARATOR.match(line):
            yield start, "\n".join(chunk)
            rest = line[3:].strip()
            start, chunk = (number, [line[3:]]) if rest and not rest.startswith("#") else (number + 1, [])
        else:
            chunk.append(line)
    yield start, "\n".join(chunk)
