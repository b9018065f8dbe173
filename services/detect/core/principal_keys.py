"""One identity, many spellings: the keys a principal is matched by, so that the session
ARN GuardDuty reports finds the role ARN a chain declares, and `serviceAccount:x@p.iam`
finds `x@p.iam`.

    principal_keys("arn:aws:sts::111122223333:assumed-role/support-bot/botocore-1")
    == ("arn:aws:sts::111122223333:assumed-role/support-bot/botocore-1", "aws-role:111122223333:support-bot")
"""
from __future__ import annotations

import re
from functools import lru_cache

_ROLE = re.compile(r"^arn:[^:]+:iam::(\d+):role/(?:.*/)?([^/]+)$")
_SESSION = re.compile(r"^arn:[^:]+:sts::(\d+):assumed-role/([^/]+)/.+$")
_ROLE_ID = re.compile(r"^(aro[a-z0-9]{10,}):.+$")                 # "AROA…:session" -> the role's unique id
_GCP_MEMBER = re.compile(r"^(?:serviceaccount|user|group):(.+)$")
_GCP_SA_PATH = re.compile(r"^projects/[^/]+/serviceaccounts/(.+)$")


@lru_cache(maxsize=1 << 14)
def principal_keys(principal: str) -> tuple[str, ...]:
    """The value itself (lower-cased, trimmed) first, then what else it is known as."""
    value = principal.strip().lower()
    if not value:
        return ()
    keys = [value]
    if m := _ROLE.match(value) or _SESSION.match(value):
        keys.append(f"aws-role:{m.group(1)}:{m.group(2)}")
    elif m := _ROLE_ID.match(value):
        keys.append(m.group(1))
    elif m := _GCP_MEMBER.match(value) or _GCP_SA_PATH.match(value):
        keys.append(m.group(1))
    return tuple(dict.fromkeys(keys))
