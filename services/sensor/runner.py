"""A sensor process: a source of event batches connected to the gateway."""
from __future__ import annotations

import asyncio
import logging
import time

from google.protobuf.timestamp_pb2 import Timestamp

from weft.sensor.uplink import Uplink
from weft.v1 import sensor_pb2

log = logging.getLogger(__name__)


async def run_replay(uplink: Uplink, f, origin: str, speed: float) -> dict:
    """Stream one recorded file; returns the summary once the gateway acked all of it."""
    from weft.sensor.replay import batches
    conn = asyncio.create_task(uplink.run())
    try:
        async for events, bad in batches(f, speed=speed):
            for line in bad:
                await uplink.send_reject(line.raw, line.error, f"{origin}:{line.number}")
            if events:
                await uplink.send_events(events)
            _raise_if_done(conn)
        while not await uplink.flush(timeout=1.0):
            _raise_if_done(conn)
    finally:
        uplink.close()
        await _stop(conn)
    return dict(uplink.stats)


async def run_live(uplink: Uplink, collector_batches, stats_fn, stop: asyncio.Event) -> dict:
    """Stream a live collector until `stop` is set (a quiet node stops at once too)."""
    conn = asyncio.create_task(uplink.run())
    reporter = asyncio.create_task(_report_status(uplink, stats_fn, time.monotonic()))

    async def pump() -> None:
        async for events in collector_batches:
            await uplink.send_events(events)

    pumping = asyncio.create_task(pump())
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({pumping, stopping, conn}, return_when=asyncio.FIRST_COMPLETED)
        for task in (pumping, conn):
            if task.done():
                task.result()  # the collector failed, or the gateway refused us
        pumping.cancel()
        await asyncio.gather(pumping, return_exceptions=True)
        await collector_batches.aclose()  # detaches the kernel programs
        await uplink.flush(timeout=5.0)
    finally:
        stopping.cancel()
        reporter.cancel()
        uplink.close()
        await _stop(conn)
    return dict(uplink.stats)


async def _report_status(uplink: Uplink, stats_fn, started: float) -> None:
    """Status goes up every second even when the node is quiet (programs loaded, drops)."""
    while True:
        try:
            uplink.set_status(_status(uplink, stats_fn(), started))
        except Exception as e:  # stats of a collector still loading its programs
            log.debug("no sensor status yet: %s", e)
        await asyncio.sleep(1.0)


def _status(uplink: Uplink, collector: dict, started: float) -> sensor_pb2.SensorStatus:
    ts = Timestamp()
    ts.GetCurrentTime()
    elapsed = max(time.monotonic() - started, 1e-3)
    status = sensor_pb2.SensorStatus(
        time=ts, events_total=uplink.stats["events_total"], events_lost=int(collector.get("events_lost", 0)),
        buffer_overflow=uplink.stats["overflow_events"], unacked_batches=len(uplink.unacked),
        events_per_second=uplink.stats["events_total"] / elapsed,
        programs_loaded=list(collector.get("programs_loaded", [])))
    for name, p in sorted((collector.get("enforcement") or {}).items()):
        c = p.get("counters", {})
        status.policies.add(name=name, mode=p.get("mode", ""), allowed=c.get("allowed", 0),
                            audited=c.get("audited", 0), blocked=c.get("blocked", 0), cgroups=p.get("cgroups", []))
    return status


def _raise_if_done(conn: asyncio.Task) -> None:
    if conn.done():
        conn.result()  # re-raises Refused
        raise ConnectionError("the uplink stopped")


async def _stop(conn: asyncio.Task) -> None:
    try:
        await asyncio.wait_for(conn, 5)
    except (asyncio.TimeoutError, asyncio.CancelledError):
        conn.cancel()
    except Exception:
        pass
