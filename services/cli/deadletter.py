"""`weft deadletter`: list, show and replay the input stages could not accept
(weft.deadletter.v1). A replay re-publishes the payload to its original subject
with its original headers and a new Nats-Msg-Id, `replay-<seq>`."""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
from collections import deque

from nats.js.errors import NotFoundError

from weft.cli import deadletterview as view
from weft.cli import endpoint, jsread, timespec
from weft.cli.main import CliError
from weft.common import codec, subjects

STREAM = subjects.stream_for(subjects.DEADLETTER).name
EPILOG = """\
examples:
  weft deadletter list --since 1h          what was refused in the last hour, and why
  weft deadletter show 42                  one entry with its headers and whole payload
  weft deadletter replay 42 43             after a fix, send them through again
  weft deadletter replay --all --since 1h
"""


def register(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    sub = p.add_subparsers(dest="deadletter_command", metavar="SUBCOMMAND", required=True)
    ls = sub.add_parser("list", help="seq, time, origin, subject, reason and a payload excerpt")
    ls.add_argument("--since", type=timespec.argument, help=timespec.HELP)
    ls.add_argument("--limit", type=int, default=50, help="only the last N entries (0: all; default 50)")
    ls.add_argument("--json", action="store_true", help="one JSON object per line")
    ls.set_defaults(func=lambda a: asyncio.run(run_list(a)))
    show = sub.add_parser("show", help="one entry in full")
    show.add_argument("seq", type=int, metavar="SEQ")
    show.add_argument("--json", action="store_true", help="as JSON, the payload in base64")
    show.set_defaults(func=lambda a: asyncio.run(run_show(a)))
    rp = sub.add_parser("replay", help="publish payloads again to their original subjects")
    rp.add_argument("seqs", type=int, nargs="*", metavar="SEQ")
    rp.add_argument("--all", action="store_true", help="every entry (since --since)")
    rp.add_argument("--since", type=timespec.argument, help="with --all: " + timespec.HELP)
    rp.set_defaults(func=lambda a: asyncio.run(run_replay(a)))


async def entries(js, since=None, limit: int = 0) -> list[view.Entry]:
    start_seq = None
    if since is None and limit:
        state = await jsread.stream_state(js, STREAM)
        start_seq = max(state.first_seq, state.last_seq - limit + 1)
    found: deque[view.Entry] = deque(maxlen=limit or None)
    feed = jsread.read(js, STREAM, subjects.DEADLETTER, since=since, start_seq=start_seq)
    async with contextlib.aclosing(feed):
        async for m in feed:
            found.append(view.Entry.of(m.metadata.sequence.stream, m.metadata.timestamp, m.data))
    return list(found)


async def entry(js, seq: int) -> view.Entry:
    try:
        raw = await js.get_msg(STREAM, seq)
    except NotFoundError:
        raise CliError(f"no dead letter #{seq}") from None
    return view.Entry.of(seq, raw.time, raw.data or b"")


async def run_list(args: argparse.Namespace) -> int:
    async with jsread.connected(endpoint.load()) as js:
        found = await entries(js, args.since, args.limit)
    for e in found:
        print(json.dumps(view.as_dict(e), sort_keys=True) if args.json else view.text(e))
    if not found and not args.json:
        print("no dead letters" + (" since then" if args.since else ""))
    return 0


async def run_show(args: argparse.Namespace) -> int:
    async with jsread.connected(endpoint.load()) as js:
        e = await entry(js, args.seq)
    print(json.dumps(view.as_dict(e, full=True), indent=2, sort_keys=True) if args.json
          else view.text(e, full=True))
    return 0


async def run_replay(args: argparse.Namespace) -> int:
    if args.all == bool(args.seqs):
        raise CliError("name the entries to replay (SEQ...) or give --all, not both")
    if args.since and not args.all:
        raise CliError("--since goes with --all")
    refused: list[str] = []
    async with jsread.connected(endpoint.load()) as js:
        todo = await entries(js, args.since) if args.all else [await entry(js, s) for s in args.seqs]
        for e in todo:
            if e.letter is None or not e.letter.subject:
                refused.append(f"#{e.seq} has no original subject ({view.origin(e)})")
                continue
            try:
                ack = await js.publish(e.letter.subject, e.letter.payload, headers=replay_headers(e))
            except Exception as err:
                refused.append(f"#{e.seq} could not be published to {e.letter.subject}: {err}")
                continue
            again = ", already replayed" if ack.duplicate else ""
            print(f"replayed #{e.seq} to {e.letter.subject} ({ack.stream} seq {ack.seq}{again})")
    if refused:
        raise CliError("not replayed: " + "; ".join(refused))
    return 0


def replay_headers(e: view.Entry) -> dict[str, str]:
    """The original headers; JetStream's conditions no longer hold, and the id is new."""
    headers = {k: v for k, v in e.letter.headers.items()
               if k.lower() != codec.H_MSG_ID.lower() and not k.lower().startswith("nats-expected")}
    headers[codec.H_MSG_ID] = f"replay-{e.seq}"
    return headers
