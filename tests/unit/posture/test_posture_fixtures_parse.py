"""Every real identity-log sample in ../shared/fixtures/identity-logs/ parses without
error, and every well-formed data file built from the providers' documentation loads
whole: this is what `weft analyze` promises for real input."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from weft.posture.core.auditlogs.model import (ApiCall, AzureDirectoryChange, AzureSignIn, GcpAccessTokenMint,
                                               RoleAssumption)
from weft.posture.core.load import load_files

FIXTURES = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures"   # as tests/conftest.py
IDENTITY_LOGS = FIXTURES / "identity-logs"
SAMPLES = sorted(p.relative_to(IDENTITY_LOGS).as_posix() for p in IDENTITY_LOGS.rglob("*") if p.is_file())
DATA = Path(__file__).resolve().parent / "data"
BROKEN_ON_PURPOSE = {"aws-iam-broken.jsonl", "gcp-iam-broken.json", "k8s-broken.yaml",
                     "eks-pod-identity-associations-list.json",     # summaries carry no roleArn
                     "aws-iam-policy-version.json"}                  # needs --format (see test_load_parse)
NOT_DECLARATIONS = {"vex", "profiles"}   # vulnerability reports, VEX goldens, behaviour profiles
BUILT = sorted(p.relative_to(DATA).as_posix() for p in DATA.rglob("*.*")
               if p.suffix in (".json", ".jsonl", ".yaml") and p.name not in BROKEN_ON_PURPOSE
               and not NOT_DECLARATIONS & set(p.relative_to(DATA).parts))


def test_the_shared_samples_are_there():
    assert len(SAMPLES) >= 19, f"identity-log samples missing under {IDENTITY_LOGS}"


@pytest.mark.parametrize("sample", SAMPLES)
def test_every_real_identity_log_sample_parses_without_error(sample):
    result = load_files([IDENTITY_LOGS / sample])
    assert result.errors == []
    assert result.skipped == []
    assert result.observations, "every sample is an identity observation"
    assert all(o.time.tzinfo is not None for o in result.observations)


def test_the_real_samples_give_the_observations_they_hold():
    result = load_files([IDENTITY_LOGS / s for s in SAMPLES])
    kinds = Counter(type(o).__name__ for o in result.observations)
    # 4 STS AssumeRole records (2 by AWS services, 2 chained by a role session that also
    # called sts:AssumeRole); 7 Entra entries (6 sign-ins, 1 directory audit); 3 token mints.
    assert kinds[RoleAssumption.__name__] == 4
    assert kinds[AzureSignIn.__name__] == 6
    assert kinds[AzureDirectoryChange.__name__] == 1
    assert kinds[GcpAccessTokenMint.__name__] == 3
    # API calls: the 2 chained AssumeRoles, 3 EC2/S3 calls, and all 8 GCP entries.
    assert kinds[ApiCall.__name__] == 2 + 3 + 8


@pytest.mark.parametrize("name", BUILT)
def test_every_well_formed_data_file_loads_whole(name):
    result = load_files([DATA / name])
    assert result.errors == []
    assert result.declarations or result.observations
    for item in [*result.declarations, *result.observations]:
        hash(item)   # resolvers keep items in sets and as dict keys
