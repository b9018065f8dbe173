"""Which node a sensor certificate may name, from the API server's TokenReview alone."""
import copy

import pytest

from weft.sensor.issuer import admission
from weft.sensor.issuer.admission import Expected, Refused, admit

WANT = Expected("weft-sensor:weft-sensor", "weft-sensor-issuer")
# the shape of a kube-apiserver 1.30+ answer for a pod-bound projected token
REVIEW = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
          "status": {"authenticated": True, "audiences": ["weft-sensor-issuer"],
                     "user": {"username": "system:serviceaccount:weft-sensor:weft-sensor",
                              "uid": "8c1b3c7e-1f0a-4c52-9d1e-2f6a7b8c9d0e",
                              "groups": ["system:serviceaccounts", "system:serviceaccounts:weft-sensor",
                                         "system:authenticated"],
                              "extra": {"authentication.kubernetes.io/credential-id": ["JTI=7ee52be0"],
                                        "authentication.kubernetes.io/node-name": ["ip-10-0-1-23.ec2.internal"],
                                        "authentication.kubernetes.io/node-uid": ["497e9d9a"],
                                        "authentication.kubernetes.io/pod-name": ["weft-sensor-x7k2p"],
                                        "authentication.kubernetes.io/pod-uid": ["e87dbbd6"]}}}}


NODE, POD = "authentication.kubernetes.io/node-name", "authentication.kubernetes.io/pod-name"


def changed(*path_and_value) -> dict:
    """REVIEW with the status field at `path` set to the value (None: removed)."""
    *parents, last, value = path_and_value
    review = copy.deepcopy(REVIEW)
    here = review["status"]
    for p in parents:
        here = here[p]
    if value is None:
        del here[last]
    else:
        here[last] = value
    return review


def test_a_sensor_pods_token_names_its_node_and_pod():
    assert admit(REVIEW, WANT) == admission.Admitted(node="ip-10-0-1-23.ec2.internal", pod="weft-sensor-x7k2p")


def test_the_review_asks_for_the_issuers_audience():
    assert admission.review_request("t0ken", "weft-sensor-issuer") == {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
        "spec": {"token": "t0ken", "audiences": ["weft-sensor-issuer"]}}


@pytest.mark.parametrize("review,why", [
    (changed("authenticated", False), "not valid"),
    (changed("audiences", ["https://kubernetes.default.svc"]), "audience"),
    (changed("audiences", None), "audience"),
    (changed("user", "username", "system:serviceaccount:default:default"), "not the sensors'"),
    (changed("user", "username", "system:node:ip-10-0-1-23.ec2.internal"), "not the sensors'"),
    (changed("user", "extra", POD, None), "not bound to a pod"),
    (changed("user", "extra", None), "not bound to a pod"),
    (changed("user", "extra", NODE, None), "names no node"),
    (changed("user", "extra", NODE, ["a", "b"]), "names no node"),
    (changed("user", "extra", NODE, ["../gke/node-b"]),
     "not a node name"),
    (changed("user", "extra", NODE, ["Node_A"]),
     "not a node name"),
    ({"kind": "Status", "code": 403}, "no status"),
    ([], "no status"),
])
def test_anything_but_a_sensor_pods_bound_token_is_refused_with_the_reason(review, why):
    with pytest.raises(Refused, match=why):
        admit(review, WANT)


def test_the_api_servers_own_error_is_said_and_bounded():
    review = changed("authenticated", False)
    review["status"]["error"] = "[invalid bearer token, token lookup failed] " + "x" * 5000
    with pytest.raises(Refused) as e:
        admit(review, WANT)
    assert "invalid bearer token" in str(e.value) and len(str(e.value)) < 300
