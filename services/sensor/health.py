"""The sensor's HTTP endpoints, as every stage serves them (weft.common.http): /healthz
(the process answers), /readyz (connected to the gateway, and collecting: its programs
loaded), /metrics (what it sent, lost and enforced) and /v1/status (loopback callers or
WEFT_API_TOKEN).

The metrics are read from the counters the uplink and the collector keep anyway, at
scrape time: nothing is added to the per-event path.
"""
from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import AsyncIterator, Callable

from prometheus_client.core import REGISTRY, CounterMetricFamily, GaugeMetricFamily

from weft.common import http

log = logging.getLogger(__name__)

Stats = Callable[[], dict]
# uplink.stats key -> (metric, help): counters since the sensor started
UPLINK_COUNTERS = {
    "events_total": ("weft_sensor_events", "Events handed to the uplink for the gateway"),
    "acked": ("weft_sensor_batches_acked", "Batches the gateway acknowledged"),
    "deadlettered": ("weft_sensor_batches_deadlettered", "Batches the gateway dead-lettered"),
    "rejects": ("weft_sensor_rejects", "Inputs the sensor could not make into events, sent to be dead-lettered"),
    "overflow_events": ("weft_sensor_buffer_overflow_events",
                        "Events dropped because the uplink's buffer was full (gateway away too long)"),
    "reconnects": ("weft_sensor_reconnects", "Connections to the gateway lost and made again"),
}
VERDICTS = ("allowed", "audited", "blocked")


class SensorMetrics:
    """A prometheus_client collector over the running sensor's counters (none before it runs)."""

    def __init__(self) -> None:
        self.uplink = None
        self.stats: Stats = dict   # the source's counters (the eBPF collector's: set once it exists)

    def ready(self) -> bool:
        """Connected, and collecting: a source with programs has them loaded."""
        if self.uplink is None or not self.uplink.connected.is_set():
            return False
        stats = self._collector_stats()
        return "programs_loaded" not in stats or bool(stats["programs_loaded"])

    def collect(self):
        if self.uplink is None:
            return
        for key, (name, doc) in UPLINK_COUNTERS.items():
            yield CounterMetricFamily(name, doc, value=self.uplink.stats.get(key, 0))
        yield GaugeMetricFamily("weft_sensor_unacked_batches", "Batches sent and not yet acknowledged",
                                value=len(self.uplink.unacked))
        yield GaugeMetricFamily("weft_sensor_gateway_connected", "1 while the gateway stream is up",
                                value=int(self.uplink.connected.is_set()))
        yield from _collector_metrics(self._collector_stats())

    def _collector_stats(self) -> dict:
        try:
            return self.stats()
        except Exception as e:   # a collector still loading its programs
            log.debug("no collector stats yet: %s", e)
            return {}


def _collector_metrics(stats: dict):
    yield CounterMetricFamily("weft_sensor_kernel_records", "Records read off the kernel's ring buffer",
                              value=stats.get("records", 0))
    yield CounterMetricFamily("weft_sensor_kernel_records_lost",
                              "Records the kernel could not put on the ring buffer (it was full)",
                              value=stats.get("events_lost", 0))
    yield CounterMetricFamily("weft_sensor_fell_behind",
                              "Times a poll found the ring buffer half full and the sensor took "
                              "its full CPU share back", value=stats.get("times_behind", 0))
    yield GaugeMetricFamily("weft_sensor_ring_fill",
                            "How full the ring buffer was at the last poll (0 to 1; records are lost at 1)",
                            value=stats.get("ring_fill", 0.0))
    yield GaugeMetricFamily("weft_sensor_nice", "The nice its polling thread runs at now",
                            value=stats.get("nice", 0))
    yield GaugeMetricFamily("weft_sensor_probes_loaded", "Probes whose programs are loaded",
                            value=len(stats.get("programs_loaded", [])))
    decisions = CounterMetricFamily("weft_sensor_policy_decisions", "Connections decided by enforcement programs",
                                    labels=["policy", "mode", "verdict"])
    for name, policy in sorted((stats.get("enforcement") or {}).items()):
        counters = policy.get("counters", {})
        for verdict in VERDICTS:
            decisions.add_metric([name, policy.get("mode", ""), verdict], counters.get(verdict, 0))
    yield decisions
    if "kube_metadata" in stats:
        errors = stats["kube_metadata"].get("errors", 0)
        yield CounterMetricFamily("weft_sensor_kube_metadata_errors",
                                  "Failed lists and watches of the node's pods", value=errors)


METRICS = SensorMetrics()
REGISTRY.register(METRICS)


@asynccontextmanager
async def serving(uplink, host: str, port: int) -> AsyncIterator[int]:
    """The endpoints on host:port while the block runs; yields the port bound. The
    source's counters join the metrics when it sets METRICS.stats."""
    METRICS.uplink = uplink
    app = http.make_app("sensor", METRICS.ready, lambda: {"uplink": dict(uplink.stats),
                                                          "collector": METRICS._collector_stats()})
    try:
        async with http.serve(app, host, port) as bound:
            log.info("sensor: http on %s:%d (/healthz, /readyz, /metrics)", host, bound)
            yield bound
    finally:
        METRICS.uplink, METRICS.stats = None, dict
