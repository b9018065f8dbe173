"""`python -m weft.cli.ensure_streams`: the bus's JetStream streams, outside `weft up`.

As the operator (NATS user `cli`: the weft-streams Job of deploy/) it creates what is
missing and updates what differs, as `weft up` does before any stage starts. With
`--wait-as SERVICE` (each stage's initContainer, under that service's own user) it
creates nothing: it waits until the streams that service uses exist as configured,
which is what the stage checks at start and, under its own user, cannot fix.

NATS from the environment, as the stages take it: WEFT_NATS_URL, WEFT_NATS_CA,
WEFT_NATS_NKEY_SEED_FILE (the seed of `cli`, or of SERVICE with --wait-as).
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time

import nats
from nats.js.errors import NotFoundError

from weft.common import bus, natsauth

log = logging.getLogger("weft.ensure_streams")
RETRY_S = 3.0
ATTEMPT_S = 60.0


async def attempt(url: str, user: str, login: bus.Login) -> str | None:
    """None when the streams are as they should be; else why not yet."""
    async def quiet(_: Exception) -> None:   # the reason is returned, not logged twice
        pass

    # max_reconnect_attempts=1: without it nats-py retries a refused first connection for ever
    nc = await nats.connect(url, name=f"weft-streams-{user}", connect_timeout=5, allow_reconnect=False,
                            max_reconnect_attempts=1, error_cb=quiet, **login.options())
    try:
        js = nc.jetstream()
        if user == natsauth.OPERATOR:
            await bus.ensure_streams(js)
            await bus.ensure_buckets(js)
            return None
        streams = natsauth.streams_of(user)
        missing = [s.name for s in streams if not await _exists(js, s.name)]
        if missing:
            return f"not created yet (the weft-streams Job creates them): {', '.join(missing)}"
        # what the stage runs at start: it only looks up streams that are as configured
        await bus.ensure_streams(js, streams)
        return None
    finally:
        await nc.close()


async def _exists(js, name: str) -> bool:
    try:
        await js.stream_info(name)
        return True
    except NotFoundError:
        return False


async def run(url: str, user: str, login: bus.Login, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        try:
            why = await asyncio.wait_for(attempt(url, user, login), ATTEMPT_S)
        except Exception as e:     # NATS not up yet, JetStream electing its leader, a refusal
            why = f"{type(e).__name__}: {e}"
        if why is None:
            log.info("streams ready for %s", user)
            return True
        if time.monotonic() >= deadline:
            log.error("streams not ready for %s after %.0fs: %s", user, timeout, why)
            return False
        log.info("streams not ready for %s: %s; retrying", user, why)
        await asyncio.sleep(RETRY_S)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m weft.cli.ensure_streams", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--wait-as", choices=natsauth.SERVICES, metavar="SERVICE",
                   help=f"wait, as this service's NATS user, for its streams ({', '.join(natsauth.SERVICES)})")
    p.add_argument("--timeout", type=float, default=600, help="seconds before giving up (exit 1)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    env = os.environ.get
    user = args.wait_as or natsauth.OPERATOR
    login = bus.login_as(user, seed_file=env("WEFT_NATS_NKEY_SEED_FILE", ""), ca=env("WEFT_NATS_CA", ""))
    ok = asyncio.run(run(env("WEFT_NATS_URL", "nats://127.0.0.1:4222"), user, login, args.timeout))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
