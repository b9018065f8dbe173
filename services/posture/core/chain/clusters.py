"""Which cluster a token issuer belongs to. Trusts and federated credentials name an
OIDC issuer, not a cluster; the same namespace/name in two clusters are two service
accounts only when weft knows each cluster's issuer. Where it does not, a subject is
matched by namespace and name alone, and the link says the cluster was not checked."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from weft.posture.core.chain.trust import normalise_issuer

NOT_CHECKED = "cluster not checked: the issuer of {cluster} is not known"


@dataclass(frozen=True)
class Clusters:
    issuers: Mapping[str, str] = field(default_factory=dict)   # cluster name -> issuer (normalised)

    @classmethod
    def of(cls, cluster_issuers: Mapping[str, str] | None) -> Clusters:
        return cls({c: normalise_issuer(i) for c, i in (cluster_issuers or {}).items()})

    def issuer(self, cluster: str) -> str:
        return self.issuers.get(cluster, "")

    def cluster(self, issuer: str) -> str:
        issuer = normalise_issuer(issuer)
        return next((c for c, i in sorted(self.issuers.items()) if i == issuer), "")

    def admits(self, cluster: str, issuer: str) -> bool:
        """False only when both are known and the issuer is another cluster's (or none's)."""
        known = self.issuer(cluster)
        return not known or not issuer or known == normalise_issuer(issuer)

    def checked(self, cluster: str) -> bool:
        return bool(self.issuer(cluster))
