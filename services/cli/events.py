"""`weft events`: tail live runtime events, or export them as JSON Lines of
weft.v1.RuntimeEvent in protobuf's canonical JSON mapping."""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from typing import TextIO

from weft.cli import endpoint, eventline, jsread, timespec
from weft.cli.main import CliError
from weft.common import codec, subjects
from weft.v1 import event_pb2

STREAM = subjects.stream_for(subjects.events("x")).name
PROGRESS_EVERY_S = 2.0
EPILOG = """\
examples:
  weft events tail --cluster eks --kind MCP_CALL
  weft events tail --json | jq .workload.pod
  weft events export --since 10m > events.jsonl
  weft events export --since 2025-06-01T10:00:00Z --until 2025-06-01T11:00:00Z --cluster aks -o aks.jsonl

--since and --until take a duration back from now (30s, 10m, 1h, 2d) or an RFC 3339
time (2025-06-01T10:00:00Z), compared with the time each batch was stored. An export
stops at the end of the stream as it was when the export began.
"""


def register(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    sub = p.add_subparsers(dest="events_command", metavar="SUBCOMMAND", required=True)
    tail = sub.add_parser("tail", help="print events as they arrive (Ctrl-C stops)")
    tail.add_argument("--cluster", help="only this cluster's events")
    tail.add_argument("--kind", type=kind_of, help="only this kind, e.g. NETWORK_CONNECT or mcp_call")
    tail.add_argument("--json", action="store_true", help="canonical JSON, one event per line")
    tail.add_argument("-n", "--count", type=int, default=0, help="stop after this many events")
    tail.set_defaults(func=lambda a: piped(run_tail(a)))
    export = sub.add_parser("export", help="write stored events as JSON Lines")
    export.add_argument("--since", type=timespec.argument, help="from this time (default: everything retained)")
    export.add_argument("--until", type=timespec.argument, help="up to this time (default: the end of the stream)")
    export.add_argument("--cluster", help="only this cluster's events")
    export.add_argument("-o", "--output", help="file to write (default: standard output)")
    export.set_defaults(func=lambda a: piped(run_export(a)))


def piped(command) -> int:
    """Run a command whose output may go to `head` or `jq`: a closed pipe ends it quietly."""
    try:
        return asyncio.run(command)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush into
        return 0


def kind_of(name: str) -> int:
    try:
        return event_pb2.RuntimeEvent.Kind.Value(name.upper())
    except ValueError:
        kinds = ", ".join(k for k in event_pb2.RuntimeEvent.Kind.keys() if k != "KIND_UNSPECIFIED")
        raise argparse.ArgumentTypeError(f"unknown kind {name!r}; one of {kinds}") from None


def subject_of(cluster: str | None) -> str:
    return subjects.events(cluster) if cluster else subjects.all_of(subjects.EVENTS)


def events_of(data: bytes) -> list[event_pb2.RuntimeEvent] | None:
    try:
        return list(codec.decode(event_pb2.EventBatch, data).events)
    except codec.InvalidInput:
        return None


async def run_tail(args: argparse.Namespace) -> int:
    shown = 0
    async with jsread.connected(endpoint.load()) as js:
        async with jsread.following(js, STREAM, subject_of(args.cluster)) as feed:
            print(f"tailing {subject_of(args.cluster)} (Ctrl-C stops)", file=sys.stderr, flush=True)
            async for m in feed:
                for ev in events_of(m.data) or []:
                    if args.kind is not None and ev.kind != args.kind:
                        continue
                    print(codec.event_to_json(ev) if args.json else eventline.line(ev), flush=True)
                    shown += 1
                    if args.count and shown >= args.count:
                        return 0
    return 0


async def run_export(args: argparse.Namespace) -> int:
    if args.since and args.until and args.until < args.since:
        raise CliError("--until is before --since")
    async with jsread.connected(endpoint.load()) as js:
        last_seq = (await jsread.stream_state(js, STREAM)).last_seq
        out: TextIO = open(args.output, "w") if args.output else sys.stdout
        try:
            written, batches, skipped = await export(js, args, out, last_seq)
        finally:
            if out is not sys.stdout:
                out.close()
    where = f" to {args.output}" if args.output else ""
    print(f"exported {written} events from {batches} batches{where}", file=sys.stderr)
    if skipped:
        print(f"skipped {skipped} stored messages that are not weft.v1.EventBatch", file=sys.stderr)
    return 0


async def export(js, args: argparse.Namespace, out: TextIO, last_seq: int) -> tuple[int, int, int]:
    written = batches = skipped = 0
    started = last_report = time.monotonic()
    feed = jsread.read(js, STREAM, subject_of(args.cluster), since=args.since, until=args.until)
    async with contextlib.aclosing(feed):  # unsubscribe before the connection closes, even on error
        async for m in feed:
            events = events_of(m.data)
            if events is None:
                skipped += 1
                continue
            out.writelines(codec.event_to_json(ev) + "\n" for ev in events)
            written, batches = written + len(events), batches + 1
            if time.monotonic() - last_report > PROGRESS_EVERY_S:
                last_report = time.monotonic()
                print(f"exported {written} events ({m.metadata.sequence.stream} of {last_seq} "
                      f"stream messages, {last_report - started:.0f}s)", file=sys.stderr, flush=True)
    return written, batches, skipped
