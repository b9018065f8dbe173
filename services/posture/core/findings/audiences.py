"""Token-exchange audiences of each cloud, to tell a trust that accepts tokens minted
for another cloud's exchange: AWS STS (`sts.amazonaws.com`, EKS User Guide), Entra
(`api://AzureADTokenExchange`, Microsoft Entra Workload ID docs) and Google STS (the
pool provider's `//iam.googleapis.com/...` name or `https://iam.googleapis.com/...`,
IAM docs "Workload Identity Federation with Kubernetes"). A token whose audience every
cloud accepts is one stolen token for all of them."""
from __future__ import annotations

AUDIENCES = {
    "aws": ("sts.amazonaws.com",),
    "azure": ("api://azureadtokenexchange",),
    "gcp": ("//iam.googleapis.com/", "https://iam.googleapis.com/", "sts.googleapis.com"),
}


def cloud_of(audience: str) -> str:
    lowered = audience.lower()
    return next((cloud for cloud, known in AUDIENCES.items()
                 if any(lowered == k or (k.endswith("/") and lowered.startswith(k)) for k in known)), "")


def foreign_to(cloud: str, audience: str) -> bool:
    """Whether `audience` is another cloud's token-exchange audience."""
    owner = cloud_of(audience)
    return bool(owner) and owner != cloud
