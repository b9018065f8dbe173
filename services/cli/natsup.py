"""The NATS of a `weft up`: TLS with the development certificates (made when missing),
one nkey user per service and the CLI (seeds made anew each run), and every stream
created by the operator before any service starts: the services may only look theirs up."""
from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import nats

from weft.cli import certstore
from weft.cli.supervisor import Security
from weft.common import bus, natsauth, natscreds, natsserver

STREAMS_TIMEOUT_S = 15.0


def start(data_dir: Path, sec: Security, port: int, sensors: list[certstore.Sensor], log_file: Path | None = None,
          monitor_port: int = 0) -> tuple[subprocess.Popen, str]:
    """The running server and its URL, with certificates for `sensors` made too if
    missing; raises natsserver.NatsUnavailable."""
    try:
        certstore.init(sec.certs, sensors)
    except certstore.CannotIssue as e:
        raise natsserver.NatsUnavailable(str(e)) from None
    certs = certstore.CertDir(sec.certs)
    users = natscreds.create(sec.seeds, natsauth.USERS)
    proc, url = natsserver.start(data_dir / "nats", port, log_file=log_file, monitor_port=monitor_port,
                                 tls=natsserver.Tls(certs.nats.cert, certs.nats.key),
                                 authorization=natsauth.authorization_block(users))
    login = bus.login_as(natsauth.OPERATOR, seed_file=str(natscreds.seed_file(sec.seeds, natsauth.OPERATOR)),
                         ca=str(certs.ca.cert))
    try:
        asyncio.run(asyncio.wait_for(create_streams(url, login), STREAMS_TIMEOUT_S))
    except Exception as e:
        natsserver.stop(proc)
        raise natsserver.NatsUnavailable(f"its streams could not be created: {e or type(e).__name__}") from None
    return proc, url


async def create_streams(url: str, login: bus.Login) -> None:
    nc = await nats.connect(url, name="weft-up", connect_timeout=5, allow_reconnect=False, **login.options())
    try:
        await bus.ensure_streams(nc.jetstream())
        await bus.ensure_buckets(nc.jetstream())
    finally:
        await nc.close()
