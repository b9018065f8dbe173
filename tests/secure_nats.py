"""A nats-server configured exactly as `weft up` configures its own (weft.cli.natsup):
TLS with a throwaway development CA, one nkey user per service and the CLI, every
stream created by the operator. Connections log in as one of those users."""
from __future__ import annotations

import subprocess
from pathlib import Path

import nats

from weft.cli import certstore, natsup
from weft.cli.supervisor import Security
from weft.common import bus, natsauth, natscreds, natsserver


class SecureNats:
    def __init__(self, root: Path):
        self.root = root
        self.sec = Security.under(root)
        self.port = natsserver.free_port()
        self.log = root / "nats.log"
        self.start()

    def start(self) -> None:
        self.proc, self.url = natsup.start(self.root, self.sec, self.port, sensors=[], log_file=self.log)

    def stop(self) -> None:
        natsserver.stop(self.proc)

    def restart(self) -> None:
        """The same server again, same users (a `weft up` run's seeds outlive a NATS restart)."""
        self.stop()
        self.proc = subprocess.Popen([natsserver.binary(), "-c", str(self.root / "nats" / "nats.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        natsserver.wait_listening("127.0.0.1", self.port, self.proc, tls=True)

    @property
    def ca(self) -> str:
        return str(certstore.CertDir(self.sec.certs).ca.cert)

    def seed(self, user: str) -> str:
        return str(natscreds.seed_file(self.sec.seeds, user))

    def login(self, user: str) -> bus.Login:
        return bus.login_as(user, seed_file=self.seed(user), ca=self.ca)

    async def connect(self, user: str = natsauth.OPERATOR, **options) -> nats.NATS:
        return await nats.connect(self.url, **{**self.login(user).options(), **options})

    def violations(self) -> list[str]:
        """The permission violations nats-server logged."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return [line for line in text.splitlines() if "Violation" in line]
