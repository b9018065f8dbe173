"""The imperative shell every stage shares: resources entered in one AsyncExitStack
(NATS, store, HTTP), durable consumers, readiness, and a drain on SIGTERM."""
from __future__ import annotations

import asyncio
import json
import logging
import os
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from weft.common import bus, http, logs, natsauth, store, tracing
from weft.common.config import ServiceConfig
from weft.common.signals import stop_on_signals

log = logging.getLogger(__name__)


class Stage:
    """Subclasses set `name` and `migrations`, and return their consumers from `consumers()`."""
    name = "stage"
    migrations: Path | None = None

    def __init__(self, config: ServiceConfig):
        self.config = config
        self.stop_event = asyncio.Event()
        self.ready = False
        self.nc = None
        self.js = None
        self.engine: Engine | None = None
        self.http_port = 0
        self._stack = AsyncExitStack()
        self._tasks: list[asyncio.Task] = []

    # --- what subclasses provide -------------------------------------------------
    def consumers(self) -> list[bus.Consumer]:
        return []

    async def on_start(self, stack: AsyncExitStack) -> None:
        """Extra resources (a gRPC server, an ingest route); entered in the same stack."""

    def status(self) -> dict[str, Any]:
        return {}

    def routes(self, app) -> None:
        """Extra aiohttp routes on the service's HTTP app."""

    # --- lifecycle ------------------------------------------------------------------
    async def start(self) -> None:
        cfg = self.config
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        tracing.setup(f"weft-{self.name}", cfg.data_dir)
        if self.migrations is not None:
            self.engine = store.make_engine(cfg.db_url)
            await asyncio.to_thread(store.migrate, self.engine, self.name, self.migrations)
            self._stack.callback(self.engine.dispose)
        login = bus.login_as(self.name, cfg.nats_token, cfg.nats_seed_file, cfg.nats_ca)
        self.nc = await bus.connect(cfg.nats_url, f"weft-{self.name}", login)
        self._stack.push_async_callback(self._close_nats)
        self.js = self.nc.jetstream()
        await bus.ensure_streams(self.js, natsauth.streams_of(self.name))
        app = http.make_app(self.name, lambda: self.ready, self.full_status)
        self.routes(app)
        self.http_port = await self._stack.enter_async_context(http.serve(app, cfg.http_host, cfg.http_port))
        await self.on_start(self._stack)
        for c in self.consumers():
            self._tasks.append(asyncio.create_task(c.run(self.stop_event), name=c.durable))
        self.write_run_file()
        self.ready = True
        log.info("%s ready (http %s:%d)", self.name, cfg.http_host, self.http_port)

    async def stop(self) -> None:
        self.ready = False
        self.stop_event.set()
        if self._tasks:  # consumers finish the batch in hand, then return
            await asyncio.wait(self._tasks, timeout=10)
        await self._stack.aclose()
        tracing.flush()
        self.run_file().unlink(missing_ok=True)

    async def _close_nats(self) -> None:
        # Consumers have returned by now; flush what was published, then close.
        if self.nc is not None and not self.nc.is_closed:
            try:
                await asyncio.wait_for(self.nc.flush(), 5)
            except Exception:
                pass
            await self.nc.close()

    def full_status(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "consumers": [t.get_name() for t in self._tasks if not t.done()],
                **self.status()}

    def run_file(self) -> Path:
        return self.config.data_dir / "run" / f"{self.name}.json"

    def write_run_file(self, **extra: Any) -> None:
        path = self.run_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"service": self.name, "pid": os.getpid(),
                                    "http": f"http://{self.config.http_host}:{self.http_port}", **extra}))


async def run_until_signalled(stage: Stage) -> None:
    """`python -m weft.<stage>`: start, wait for SIGTERM or SIGINT, drain, exit."""
    logs.setup(stage.name, stage.config.log_level)
    stop_on_signals(stage.stop_event)
    await stage.start()
    await stage.stop_event.wait()
    log.info("%s: stopping", stage.name)
    await stage.stop()
