"""The lab DNS: authoritative for the `lab` zone, A records only.

It answers the topology's fixed names and a `<workload>.<namespace>.svc.<cluster>.lab`
name for every workload in the clusters' metadata files (re-read when they change), so a
workload started with `weft lab exec` is resolvable by the others at once.

    python -m weft.lab.dns --listen 10.77.0.53 --lab-dir ~/.local/state/weft/lab
"""
from __future__ import annotations

import argparse
import logging
import socket
from pathlib import Path

from dnslib import QTYPE, RCODE, RR, SOA, A, DNSError, DNSRecord

from weft.lab import metadata, topology

TTL = 5         # short: workloads come and go while a lab runs
log = logging.getLogger("weft.lab.dns")
ZONE_SOA = RR(topology.ZONE + ".", QTYPE.SOA, ttl=TTL,
              rdata=SOA(f"dns.{topology.ZONE}.", f"hostmaster.{topology.ZONE}.", (1, 3600, 600, 86400, TTL)))


class Registry:
    """Name -> address: the topology's names plus every workload in the metadata files."""

    def __init__(self, lab_dir: Path):
        self.lab_dir = lab_dir
        self._seen: tuple = ()
        self._records: dict[str, str] = {}

    def records(self) -> dict[str, str]:
        files = [metadata.file_for(self.lab_dir, c.name) for c in topology.CLUSTERS]
        seen = tuple(_mtime(f) for f in files)
        if seen != self._seen:
            records = topology.static_records()
            for c, f in zip(topology.CLUSTERS, files):
                for w in metadata.read(f):
                    records[topology.service_name(c.name, w["namespace"], w["name"])] = c.address
            self._records, self._seen = records, seen
        return self._records


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


def answer(query: bytes, records: dict[str, str]) -> bytes | None:
    """The reply to one wire-format query, or None for what is not a DNS query."""
    try:
        request = DNSRecord.parse(query)
    except DNSError:
        return None
    reply = request.reply(ra=0)
    name = str(request.q.qname).rstrip(".").lower()
    zone = topology.ZONE
    if name != zone and not name.endswith("." + zone):
        reply.header.aa, reply.header.rcode = 0, RCODE.NXDOMAIN   # not ours; we do not recurse
    elif name in records and request.q.qtype in (QTYPE.A, QTYPE.ANY):
        reply.add_answer(RR(request.q.qname, QTYPE.A, ttl=TTL, rdata=A(records[name])))
    elif name in records or name == zone or any(r.endswith("." + name) for r in records):
        reply.add_auth(ZONE_SOA)                  # the name exists, but has no such record
    else:
        reply.header.rcode = RCODE.NXDOMAIN
        reply.add_auth(ZONE_SOA)
    return reply.pack()


def serve(listen: str, port: int, lab_dir: Path) -> None:
    registry = Registry(lab_dir)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((listen, port))
        log.info("lab DNS listening on %s:%d for zone %s", listen, port, topology.ZONE)
        while True:
            query, peer = sock.recvfrom(4096)
            reply = answer(query, registry.records())
            if reply is not None:
                sock.sendto(reply, peer)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m weft.lab.dns", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--listen", default=topology.DNS_ADDRESS, help="address to bind (default %(default)s)")
    p.add_argument("--port", type=int, default=53, help="UDP port (default %(default)s)")
    p.add_argument("--lab-dir", type=Path, required=True, help="where the clusters' metadata files are")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    serve(args.listen, args.port, args.lab_dir)


if __name__ == "__main__":
    main()
