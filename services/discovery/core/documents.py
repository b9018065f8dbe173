"""Splitting an input into documents: one JSON value, JSON Lines, concatenated or
pretty-printed JSON values, or YAML documents. A broken document becomes a Problem
with its line, and never stops the rest from loading."""
from __future__ import annotations

import json
import re
from typing import Iterator

from weft.discovery.core.records import Document, Problem
from weft.discovery.core.text import first_line, line_of
from weft.discovery.core.yaml_documents import yaml_documents

_BOM = b"\xef\xbb\xbf"
_NEXT_TOP_LEVEL = re.compile(r"\n(?=[\[{])")           # a value starting at column 0
_CONTENT = re.compile(r"\S")


def split(data: bytes, source: str) -> Iterator[Document | Problem]:
    data = data.removeprefix(_BOM)
    if not data.strip():
        return
    if data.lstrip()[:1] in (b"{", b"["):
        yield from _json(data, source)
    else:
        yield from yaml_documents(data, source)


def _json(data: bytes, source: str) -> Iterator[Document | Problem]:
    whole = data.strip()
    try:
        value = json.loads(whole)
    except (ValueError, RecursionError):
        pass
    else:
        yield Document(value, whole, f"{source}:{first_line(data)}")
        return
    lines = data.split(b"\n")
    heads = [ln.strip() for ln in lines if ln.strip()][:2]
    if any(_complete(h) for h in heads):
        yield from _json_lines(lines, source)
    else:
        yield from _json_stream(data, source)


def _complete(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), (dict, list))
    except (ValueError, RecursionError):
        return False


def _json_lines(lines: list[bytes], source: str) -> Iterator[Document | Problem]:
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        location = f"{source}:{number}"
        try:
            yield Document(json.loads(line), line, location)
        except UnicodeDecodeError as e:
            yield Problem(location, f"not UTF-8 text: {e.reason} at byte {e.start}", line)
        except json.JSONDecodeError as e:
            yield Problem(location, f"invalid JSON: {e.msg} at column {e.colno}", line)
        except (ValueError, RecursionError) as e:
            yield Problem(location, f"invalid JSON: {e}", line)


def _json_stream(data: bytes, source: str) -> Iterator[Document | Problem]:
    """Values back to back (`jq .` output). After a broken value, reading resumes at
    the next line that starts with '{' or '['."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        yield Problem(f"{source}:{line_of(data, e.start)}", f"not UTF-8 text: {e.reason}", data)
        return
    decoder, pos, line = json.JSONDecoder(), 0, 1
    while (found := _CONTENT.search(text, pos)) is not None:
        start = found.start()
        line += text.count("\n", pos, start)
        try:
            value, end = decoder.raw_decode(text, start)
            yield Document(value, text[start:end].encode(), f"{source}:{line}")
        except json.JSONDecodeError as e:
            resume = _NEXT_TOP_LEVEL.search(text, start + 1)
            end = resume.start() + 1 if resume else len(text)
            yield Problem(f"{source}:{line}", f"invalid JSON: {e.msg} at line {e.lineno} column {e.colno}",
                          text[start:end].encode())
        except RecursionError:
            yield Problem(f"{source}:{line}", "invalid JSON: nested too deeply", text[start:].encode())
            return
        line += text.count("\n", start, end)
        pos = end
