"""Where the Kubernetes API server is, and how a pod proves who it is to it: the
in-cluster address and the pod's service-account token and CA (the sensor lists its
node's pods with them, the sensor issuer reviews tokens)."""
from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from pathlib import Path

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


class KubeApiError(Exception):
    """The API server could not be asked, or refused (said without the token)."""


@dataclass(frozen=True)
class ApiServer:
    """The token is read from its file at every request: the kubelet rotates projected
    service-account tokens."""
    url: str
    ca_file: str
    token_file: str

    @classmethod
    def in_cluster(cls, environ=os.environ, secrets_dir: str = SERVICE_ACCOUNT_DIR) -> ApiServer:
        host, port = environ.get("KUBERNETES_SERVICE_HOST"), environ.get("KUBERNETES_SERVICE_PORT", "443")
        if not host:
            raise KubeApiError("KUBERNETES_SERVICE_HOST is not set: not running in a Kubernetes pod")
        host = f"[{host}]" if ":" in host else host   # an IPv6 service address
        return cls(f"https://{host}:{port}", f"{secrets_dir}/ca.crt", f"{secrets_dir}/token")

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {Path(self.token_file).read_text().strip()}"}

    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)
