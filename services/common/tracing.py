"""OpenTelemetry: one trace per event batch, carried in gRPC metadata and NATS headers.

The exporter is OTLP when the standard OTEL_EXPORTER_OTLP_* variables say so,
otherwise spans are written as JSON lines to a local file (one per service).
"""
from __future__ import annotations

import functools
import json
import logging
import os
import threading
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from opentelemetry import trace
from opentelemetry.propagate import extract, inject
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

_configured = False


class JsonFileExporter(SpanExporter):
    """Appends finished spans as JSON lines: trace id, span id, name, attributes, links."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a", buffering=1)
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = [json.dumps(span_record(s)) + "\n" for s in spans]
        with self._lock:
            self._file.writelines(lines)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._file.close()


def span_record(s: ReadableSpan) -> dict:
    ctx = s.get_span_context()
    return {
        "service": s.resource.attributes.get("service.name", ""),
        "name": s.name,
        "traceId": f"{ctx.trace_id:032x}",
        "spanId": f"{ctx.span_id:016x}",
        "parentSpanId": f"{s.parent.span_id:016x}" if s.parent else "",
        "start": s.start_time,
        "end": s.end_time,
        "attributes": dict(s.attributes or {}),
        "links": [{"traceId": f"{l.context.trace_id:032x}", "spanId": f"{l.context.span_id:016x}"}
                  for l in s.links],
    }


def setup(service: str, data_dir: str | os.PathLike | None) -> None:
    """Install the tracer provider for this process (once)."""
    global _configured
    if _configured:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        exporter: SpanExporter = OTLPSpanExporter()
    elif data_dir is not None:
        exporter = _file_exporter(Path(data_dir) / "traces" / f"{service}.jsonl")
    else:
        exporter = None  # type: ignore[assignment]
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=500))
    trace.set_tracer_provider(provider)
    _configured = True


def _file_exporter(path: Path) -> SpanExporter | None:
    try:
        return JsonFileExporter(path)
    except OSError as e:  # tracing is never a reason for a service not to run
        logging.getLogger(__name__).warning("traces not written: cannot open %s (%s)", path, e.strerror)
        return None


def flush() -> None:
    provider = trace.get_tracer_provider()
    if hasattr(provider, "force_flush"):
        provider.force_flush()


@functools.cache
def tracer(name: str) -> trace.Tracer:
    """One tracer per name for the process: the SDK's get_tracer is dear (it installs a
    warnings filter per call) and stages ask per message. One made before setup() is a
    proxy that follows the provider once it is installed."""
    return trace.get_tracer(name)


def headers_with_context(headers: dict[str, str] | None = None) -> dict[str, str]:
    """Headers (NATS or gRPC metadata) carrying the current span's traceparent."""
    headers = dict(headers or {})
    inject(headers)
    return headers


def context_from(carrier: Mapping[str, str] | Iterable[tuple[str, str]] | None):
    if carrier is None:
        return None
    if not isinstance(carrier, Mapping):
        carrier = {k: v for k, v in carrier}
    return extract(carrier)
