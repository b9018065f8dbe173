"""Settings every weft service shares: flags first, then WEFT_* environment, then defaults."""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path


def default_data_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "weft"


@dataclass
class ServiceConfig:
    service: str
    data_dir: Path = field(default_factory=default_data_dir)
    nats_url: str = "nats://127.0.0.1:4222"
    nats_token: str = ""
    nats_ca: str = ""                      # CA of the NATS server's certificate (TLS)
    nats_seed_file: str = ""               # nkey seed of this service's NATS user
    http_host: str = "127.0.0.1"
    http_port: int = 0                     # 0: any free port, written to the run file
    db_url: str = ""                       # default: SQLite under data_dir
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        if not self.db_url:
            self.db_url = f"sqlite:///{self.data_dir / (self.service + '.db')}"
        if not self.nats_url.startswith(("nats://", "tls://", "ws://", "wss://")):
            raise ValueError(f"WEFT_NATS_URL must be a nats:// or tls:// URL, got {self.nats_url!r}")
        if self.nats_token and self.nats_seed_file:
            raise ValueError("WEFT_NATS_TOKEN and WEFT_NATS_NKEY_SEED_FILE: set one, not both")
        for var, path in (("WEFT_NATS_CA", self.nats_ca), ("WEFT_NATS_NKEY_SEED_FILE", self.nats_seed_file)):
            if path and not Path(path).is_file():
                raise ValueError(f"{var}: {path} is not a file")
        if not 0 <= self.http_port < 65536:
            raise ValueError(f"http port {self.http_port} is out of range")


def add_common_flags(p: argparse.ArgumentParser) -> None:
    env = os.environ.get
    p.add_argument("--data-dir", default=env("WEFT_DATA_DIR", str(default_data_dir())),
                   help="where stores, traces and run files live (WEFT_DATA_DIR)")
    p.add_argument("--nats-url", default=env("WEFT_NATS_URL", "nats://127.0.0.1:4222"),
                   help="NATS server with JetStream (WEFT_NATS_URL); tls:// with the CA of its certificate "
                        "in WEFT_NATS_CA; credentials from the environment only: the nkey seed file "
                        "WEFT_NATS_NKEY_SEED_FILE, or WEFT_NATS_TOKEN")
    p.add_argument("--http-host", default=env("WEFT_HTTP_HOST", "127.0.0.1"),
                   help="address of health, readiness and /metrics (WEFT_HTTP_HOST)")
    p.add_argument("--http-port", type=int, default=int(env("WEFT_HTTP_PORT", "0")),
                   help="port of health, readiness and /metrics; 0 picks one (WEFT_HTTP_PORT)")
    p.add_argument("--db-url", default=env("WEFT_DB_URL", ""),
                   help="SQLAlchemy URL of this stage's store; default SQLite under the data dir (WEFT_DB_URL)")
    p.add_argument("--log-level", default=env("WEFT_LOG_LEVEL", "INFO"),
                   choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="(WEFT_LOG_LEVEL)")


def common_kwargs(args: argparse.Namespace) -> dict:
    """The ServiceConfig fields from parsed flags; NATS credentials only from the environment."""
    env = os.environ.get
    return dict(data_dir=Path(args.data_dir), nats_url=args.nats_url,
                nats_token=env("WEFT_NATS_TOKEN", ""), nats_ca=env("WEFT_NATS_CA", ""),
                nats_seed_file=env("WEFT_NATS_NKEY_SEED_FILE", ""),
                http_host=args.http_host, http_port=args.http_port,
                db_url=args.db_url, log_level=args.log_level)
