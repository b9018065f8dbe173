"""SIGTERM and SIGINT set an event: how every long-running weft process (the stages,
the sensor, the sensor issuer, `weft export`) is told to stop and drain."""
from __future__ import annotations

import asyncio
import signal


def stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
