"""The lab's support agent for posture tests: `agents/support-bot` in the EKS cluster,
its declarations and audit logs (data/lab/, see data/README.md), its behaviour profile,
and the cluster's OIDC issuer."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from weft.discovery.core.profiles import Profile, from_dict
from weft.posture.core.chains import AgentIdentity
from weft.posture.core.findings import Posture, analyse
from weft.posture.core.load import LoadResult, load_files
from weft.posture.core.model import KubernetesSubject

DATA = Path(__file__).resolve().parent / "data"
LAB = DATA / "lab"
GAPS = LAB / "gaps"
ISSUER = "https://oidc.eks.us-west-2.amazonaws.com/id/5C7A1E2B9D4F6A8C3E0B7D1F2A4C6E8B"
ISSUERS = {"eks": ISSUER}
SUBJECT = KubernetesSubject("agents", "support-bot", "eks")
AGENT = AgentIdentity("agents/support-bot", SUBJECT)
ROLE = "arn:aws:iam::111122223333:role/support-bot"
CLIENT_ID = "2b4d6f80-1a3c-4e5f-8a7b-9c0d1e2f3a4b"
OBJECT_ID = "6c8e0a2b-3d5f-4a7b-9c1d-2e4f6a8b0c1d"
PRINCIPAL = ("principal://iam.googleapis.com/projects/987654321098/locations/global/workloadIdentityPools/"
             "eks-agents/subject/system:serviceaccount:agents:support-bot")
SUBSCRIPTION = "/subscriptions/00000000-1111-2222-3333-444444444444"


def lab_files() -> list[Path]:
    return sorted(p for p in LAB.iterdir() if p.suffix in (".json", ".jsonl", ".yaml"))


@lru_cache(maxsize=1)
def lab() -> LoadResult:
    result = load_files(lab_files())
    assert not result.errors, result.errors
    return result


def profile() -> Profile:
    return from_dict(json.loads((LAB / "profiles" / "support-bot.json").read_text()))


def analyse_lab(*extra: Path, profiles: bool = False) -> Posture:
    loaded = lab()
    more = load_files(list(extra)) if extra else LoadResult()
    assert not more.errors, more.errors
    return analyse([AGENT], loaded.declarations + more.declarations, loaded.observations + more.observations,
                   profiles=[profile()] if profiles else [], cluster_issuers=ISSUERS)
