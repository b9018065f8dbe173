"""Asking the API server who a token is: a TokenReview, created with the issuer's own
service-account token (its ClusterRole may create tokenreviews and nothing else)."""
from __future__ import annotations

import asyncio
import json

import aiohttp

from weft.common import http
from weft.common.kubeapi import ApiServer, KubeApiError
from weft.sensor.issuer import admission

PATH = "/apis/authentication.k8s.io/v1/tokenreviews"
TIMEOUT_S = 10.0
MAX_BODY = 1 << 20


async def review(api: ApiServer, token: str, audience: str) -> dict:
    """The created TokenReview (with its status); KubeApiError when the API server could
    not be asked or refused to review."""
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as session:
            async with session.post(api.url + PATH, json=admission.review_request(token, audience),
                                    ssl=api.tls(), headers=api.headers()) as resp:
                body = await http.read_capped(resp, MAX_BODY, lambda why: KubeApiError(f"the token review: {why}"))
                if resp.status not in (200, 201):
                    raise KubeApiError(f"{api.url}{PATH}: HTTP {resp.status}: "
                                       f"{body[:300].decode(errors='replace')}")
    except asyncio.TimeoutError:
        raise KubeApiError(f"{api.url} did not review the token within {TIMEOUT_S:g}s") from None
    except (aiohttp.ClientError, OSError) as e:
        raise KubeApiError(f"reviewing a token with {api.url}: {type(e).__name__}: {e}") from None
    try:
        return json.loads(body)
    except ValueError as e:
        raise KubeApiError(f"{api.url} answered a token review that is not JSON: {e}") from None
