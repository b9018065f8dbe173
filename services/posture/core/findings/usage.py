"""What an identity used: per permission (in its provider's vocabulary), the resources
its successful calls named; calls that failed prove nothing was used. For an S3 call
that names an object, the object is what IAM authorises it on (Amazon S3 User Guide,
"Required permissions for Amazon S3 API operations"), so its bucket is left out."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable

from weft.posture.core.auditlogs.model import ApiCall
from weft.posture.core.model import Cloud


@dataclass
class Usage:
    resources: dict[str, set[str]] = field(default_factory=dict)    # permission -> resources named
    spelled: dict[str, str] = field(default_factory=dict)           # permission key -> as logged
    denied: dict[str, int] = field(default_factory=dict)            # permission -> failed calls
    calls: int = 0

    @property
    def permissions(self) -> set[str]:
        return set(self.resources)


def usage(calls: Iterable[ApiCall]) -> Usage:
    """AWS permissions are keyed lower-case (IAM compares them so); others as logged."""
    resources: defaultdict[str, set[str]] = defaultdict(set)
    denied: defaultdict[str, int] = defaultdict(int)
    spelled: dict[str, str] = {}
    count = 0
    for call in calls:
        count += 1
        for action in call.actions:
            key = action.lower() if call.cloud is Cloud.AWS else action
            spelled.setdefault(key, action)
            if not call.success:
                denied[key] += 1
                continue
            resources[key].update(authorised_resources(call))
    return Usage(dict(resources), spelled, dict(denied), count)


def authorised_resources(call: ApiCall) -> tuple[str, ...]:
    if call.cloud is Cloud.AWS and call.service == "s3.amazonaws.com":
        objects = tuple(r for r in call.resources if _is_s3_object(r))
        return objects or call.resources
    return call.resources


def _is_s3_object(arn: str) -> bool:
    return arn.startswith("arn:aws") and ":s3:::" in arn and "/" in arn.split(":::", 1)[1]
