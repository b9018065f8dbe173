"""RFC 5424 syslog lines (over UDP, or TCP with RFC 6587 octet counting)."""
from __future__ import annotations

import json
import socket
from datetime import datetime, timezone

FACILITY_SECURITY = 13            # "log audit"
SEVERITY = {5: 2, 4: 3, 3: 4, 2: 5, 1: 6, 0: 6, 6: 1, 99: 6}   # OCSF severity_id -> syslog severity
APP = "weft"


def line(ocsf: dict, hostname: str = "") -> bytes:
    """<PRI>1 TIMESTAMP HOST weft - MSGID - JSON"""
    pri = FACILITY_SECURITY * 8 + SEVERITY.get(int(ocsf.get("severity_id", 0)), 6)
    ms = ocsf.get("time") or int(datetime.now(timezone.utc).timestamp() * 1000)
    stamp = datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    msgid = f"ocsf-{ocsf.get('class_uid', 0)}"
    body = json.dumps(ocsf, separators=(",", ":"), sort_keys=True)
    return f"<{pri}>1 {stamp} {hostname or socket.gethostname()} {APP} - {msgid} - {body}".encode()


class Sender:
    def __init__(self, target: str, tcp: bool = False):
        host, _, port = target.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"syslog target {target!r} is not HOST:PORT")
        self.address, self.tcp = (host, int(port)), tcp
        self._sock: socket.socket | None = None

    def send(self, payload: bytes) -> None:
        if self.tcp:
            if self._sock is None:
                self._sock = socket.create_connection(self.address, timeout=10)
            self._sock.sendall(f"{len(payload)} ".encode() + payload)
        else:
            with socket.socket(socket.AF_INET6 if ":" in self.address[0] else socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.sendto(payload, self.address)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
