"""Which node a sensor certificate may name: decided from the API server's review of the
token the asking pod sent (a TokenReview's status), never from anything the pod says.

A projected service-account token bound to a pod carries, since Kubernetes 1.30
(ServiceAccountTokenPodNodeInfo), the node that pod was scheduled to; the kubelet of a
node can get tokens only for pods on its node. So a node's root, who can read its own
sensor's token, can have a certificate for that node and no other."""
from __future__ import annotations

import re
from dataclasses import dataclass

NODE_NAME = "authentication.kubernetes.io/node-name"
POD_NAME = "authentication.kubernetes.io/pod-name"
# a node's name is a DNS subdomain (RFC 1123): what goes into the certificate's URI
DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


class Refused(Exception):
    """Why no certificate: said to the asker and logged (never with the token)."""


@dataclass(frozen=True)
class Expected:
    service_account: str    # "namespace:name": the sensors' ServiceAccount
    audience: str           # the audience the sensors' projected tokens are for

    @property
    def username(self) -> str:
        return f"system:serviceaccount:{self.service_account}"


@dataclass(frozen=True)
class Admitted:
    node: str
    pod: str


def review_request(token: str, audience: str) -> dict:
    """The TokenReview to create for `token`."""
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
            "spec": {"token": token, "audiences": [audience]}}


def admit(review: dict, want: Expected) -> Admitted:
    """The node and pod of a token the API server authenticated as a sensor's, bound to
    a pod, for our audience; Refused otherwise."""
    status = review.get("status") if isinstance(review, dict) else None
    if not isinstance(status, dict):
        raise Refused("the API server's token review has no status")
    if status.get("authenticated") is not True:
        raise Refused(f"the token is not valid: {str(status.get('error') or 'not authenticated')[:200]}")
    if want.audience not in (status.get("audiences") or []):
        raise Refused(f"the token is not for audience {want.audience!r}")
    user = status.get("user") if isinstance(status.get("user"), dict) else {}
    if user.get("username") != want.username:
        raise Refused(f"the token is {str(user.get('username'))[:200]!r}'s, not the sensors' ({want.username})")
    extra = user.get("extra") if isinstance(user.get("extra"), dict) else {}
    pod, node = _one(extra, POD_NAME), _one(extra, NODE_NAME)
    if not pod:
        raise Refused("the token is not bound to a pod (use a projected serviceAccountToken volume)")
    if not node:
        raise Refused("the token names no node (Kubernetes 1.30 or later binds it to the pod's node)")
    if len(node) > 253 or not DNS_SUBDOMAIN.fullmatch(node):
        raise Refused(f"the token's node {node[:80]!r} is not a node name")
    return Admitted(node=node, pod=pod)


def _one(extra: dict, key: str) -> str:
    values = extra.get(key)
    return values[0] if isinstance(values, list) and len(values) == 1 and isinstance(values[0], str) else ""
