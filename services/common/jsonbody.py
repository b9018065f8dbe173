"""JSON from outside, parsed within limits: a one-line reason for what is refused, and
never a RecursionError (the depth is measured before the parser recurses)."""
from __future__ import annotations

import json
import re
from itertools import accumulate

MAX_DEPTH = 64          # provider payloads and API bodies nest a dozen levels at most

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class BadJson(ValueError):
    """Not JSON, or JSON this service will not read; the message says which, in one line."""


def depth(data: bytes) -> int:
    """How deeply arrays and objects nest in `data` (brackets inside strings don't count)."""
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def parse(data: bytes, max_depth: int = MAX_DEPTH) -> object:
    if (nested := depth(data)) > max_depth:
        raise BadJson(f"JSON nested {nested} levels deep, over the limit of {max_depth}")
    try:
        text = data.decode("utf-8-sig")   # never guessed as UTF-16/32, as json.loads(bytes) would
    except UnicodeDecodeError as e:
        raise BadJson(f"not UTF-8 text: {e.reason} at byte {e.start}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise BadJson(f"malformed JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except RecursionError:   # unreachable after the depth check; kept as the last line of defence
        raise BadJson("JSON nested too deeply") from None
