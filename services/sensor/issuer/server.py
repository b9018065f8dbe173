"""The sensor issuer's HTTPS endpoint, `POST /v1/sensor-certificate`: the asking pod's
projected service-account token as its bearer token, a certificate signing request
(PEM) as its body; back comes the certificate for the node the API server names, then
the sensor CA's (PEM). Refusals say why (401, 403, 400, 413, 503) and are counted.
Health, readiness and /metrics are served over plain HTTP too, for probes and
Prometheus, on a port of their own."""
from __future__ import annotations

import asyncio
import logging
import ssl
import sys

from aiohttp import web
from cryptography.hazmat.primitives import serialization

from weft.common import devca, http, logs, metrics
from weft.common.kubeapi import ApiServer, KubeApiError
from weft.common.signals import stop_on_signals
from weft.sensor.issuer import admission, tokenreview
from weft.sensor.issuer.config import IssuerConfig, parse

log = logging.getLogger(__name__)

SERVICE = "sensor-issuer"
ROUTE = "/v1/sensor-certificate"
PEM = "application/x-pem-file"
MAX_REQUEST = 16 << 10     # bytes of a signing request (an EC one is ~500)
MAX_TOKEN = 16 << 10
REVIEWS_AT_ONCE = 8        # token reviews in flight: a flood waits rather than floods the API server


class Issuer:
    def __init__(self, cfg: IssuerConfig, api: ApiServer, ca: devca.Issued):
        self.cfg, self.api, self.ca = cfg, api, ca
        self.expected = admission.Expected(cfg.service_account, cfg.audience)
        self.reviews = asyncio.Semaphore(REVIEWS_AT_ONCE)
        self.counts = {"issued": 0, "refused": 0}

    async def certificate(self, request: web.Request) -> web.Response:
        try:
            body = await self._issue(request)
        except http.Refused as e:
            self.counts["refused"] += 1
            metrics.SENSOR_CERTIFICATES.labels(outcome=str(e.status)).inc()
            log.warning("refused a sensor certificate to %s: %s", request.remote, e.reason)
            raise
        self.counts["issued"] += 1
        metrics.SENSOR_CERTIFICATES.labels(outcome="issued").inc()
        return web.Response(body=body, content_type=PEM)

    async def _issue(self, request: web.Request) -> bytes:
        token = http.bearer(request)
        if not token:
            raise http.Refused(401, "send the sensor pod's projected service-account token "
                                    f"(audience {self.cfg.audience}) as Authorization: Bearer")
        if len(token) > MAX_TOKEN:
            raise http.Refused(400, f"the token is over {MAX_TOKEN} bytes")
        http.require_type(request, (PEM,))
        wanted = await http.read_limited(request, MAX_REQUEST)
        admitted = await self._admit(token)
        try:
            cert = devca.sign_sensor_request(self.ca, wanted, self.cfg.cluster, admitted.node, self.cfg.days)
        except ValueError as e:
            raise http.Refused(400, str(e)) from None
        uri = devca.sensor_uri(self.cfg.cluster, admitted.node)
        log.info("issued %s to pod %s (from %s)", uri, admitted.pod, request.remote)
        return cert.public_bytes(serialization.Encoding.PEM) + self.ca.cert_pem()

    async def _admit(self, token: str) -> admission.Admitted:
        async with self.reviews:
            try:
                review = await tokenreview.review(self.api, token, self.cfg.audience)
            except KubeApiError as e:
                raise http.Refused(503, f"the token could not be reviewed: {e}") from None
        try:
            return admission.admit(review, self.expected)
        except admission.Refused as e:
            raise http.Refused(403, str(e)) from None


def build(cfg: IssuerConfig, api: ApiServer, ca: devca.Issued) -> tuple[web.Application, web.Application, Issuer]:
    """The HTTPS app that signs, the plain HTTP app of probes and metrics, and the issuer."""
    issuer = Issuer(cfg, api, ca)
    status = lambda: dict(issuer.counts)
    signing = http.make_app(SERVICE, ready=lambda: True, status=status)
    http.self_authenticating(signing, [ROUTE])
    signing.router.add_post(ROUTE, issuer.certificate)
    return signing, http.make_app(SERVICE, ready=lambda: True, status=status), issuer


def server_tls(cfg: IssuerConfig) -> ssl.SSLContext:
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.minimum_version = ssl.TLSVersion.TLSv1_2
    tls.load_cert_chain(cfg.tls_cert, cfg.tls_key)
    return tls


def api_server(cfg: IssuerConfig) -> ApiServer:
    if cfg.kube_api:
        return ApiServer(cfg.kube_api.rstrip("/"), cfg.kube_ca, cfg.kube_token_file)
    return ApiServer.in_cluster()


async def serve(cfg: IssuerConfig, api: ApiServer, ca: devca.Issued, tls: ssl.SSLContext) -> None:
    signing, probes, _ = build(cfg, api, ca)
    async with http.serve(signing, cfg.host, cfg.port, ssl_context=tls) as port, \
            http.serve(probes, cfg.http_host, cfg.http_port) as http_port:
        log.info("sensor issuer for cluster %r on https://%s:%d%s: sensors of %s, tokens for %r; "
                 "health and /metrics on http://%s:%d", cfg.cluster, cfg.host, port, ROUTE,
                 cfg.service_account, cfg.audience, cfg.http_host, http_port)
        stop = asyncio.Event()
        stop_on_signals(stop)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    cfg = parse(argv)
    logs.setup(SERVICE, cfg.log_level)
    try:
        ca = devca.load(cfg.ca_dir / "tls.crt", cfg.ca_dir / "tls.key")
        tls = server_tls(cfg)
        api = api_server(cfg)
    except (OSError, ValueError, ssl.SSLError, KubeApiError) as e:
        print(f"sensor issuer: {e}", file=sys.stderr)
        return 2
    asyncio.run(serve(cfg, api, ca, tls))
    return 0
