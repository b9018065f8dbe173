"""How the CLI finds a running weft: WEFT_ENDPOINT (the run file's path), or the
run file `weft up` writes under the data directory."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from weft.common import privatefile
from weft.common.config import default_data_dir


@dataclass
class Endpoint:
    nats_url: str
    gateway: str = ""                 # host:port of the sensor gateway (gRPC)
    ingest: str = ""                  # base URL of discovery's HTTP (ingest, API)
    services: dict[str, str] = field(default_factory=dict)   # name -> http base URL
    pids: dict[str, int] = field(default_factory=dict)
    data_dir: str = ""
    nats_token: str = ""              # a NATS that takes a token (weft up's takes nkeys)
    # name -> argv: `weft down` signals a recorded pid only while it still runs that argv
    cmdlines: dict[str, list[str]] = field(default_factory=dict)
    nats_ca: str = ""                 # CA of the NATS server's certificate
    nats_seed_file: str = ""          # nkey seed of the CLI's own NATS user (`cli`)
    certs_dir: str = ""               # weft.cli.certstore's directory: the CA, sensor certificates
    gateway_ca: str = ""              # the gateway requires mutual TLS, certificates from this CA ("": plaintext)
    api_token: str = ""               # bearer token of the services' HTTP APIs


def nats_login(ep: Endpoint):
    """How the CLI logs in to this weft's NATS: as the `cli` user (weft.common.natsauth)."""
    from weft.common import bus, natsauth
    return bus.login_as(natsauth.OPERATOR, ep.nats_token, ep.nats_seed_file, ep.nats_ca)


def sensor_tls(ep: Endpoint, cluster: str, node: str) -> tuple[str, str, str] | None:
    """(certificate, key, CA) for a sensor of this machine dialling this weft's gateway,
    the certificate issued from its development CA when missing; None when the gateway
    is plaintext (`weft up --insecure-gateway`)."""
    if not ep.gateway_ca:
        return None
    from weft.cli import certstore
    pair = certstore.ensure_sensor(Path(ep.certs_dir), cluster, node)
    return str(pair.cert), str(pair.key), ep.gateway_ca


def run_file(data_dir: str | Path | None = None) -> Path:
    return Path(data_dir or os.environ.get("WEFT_DATA_DIR") or default_data_dir()) / "weft.json"


def write(ep: Endpoint, path: Path) -> None:
    # names the CLI's credentials (or carries a NATS token)
    privatefile.write(path, json.dumps(ep.__dict__, indent=2).encode())


def load(data_dir: str | Path | None = None) -> Endpoint:
    from weft.cli.main import CliError
    path = Path(os.environ["WEFT_ENDPOINT"]) if os.environ.get("WEFT_ENDPOINT") else run_file(data_dir)
    try:
        return Endpoint(**json.loads(path.read_text()))
    except FileNotFoundError:
        raise CliError(f"no running weft found ({path} does not exist): start one with `weft up`, "
                       "or point WEFT_ENDPOINT at its run file") from None
    except (ValueError, TypeError) as e:
        raise CliError(f"{path} is not a weft run file: {e}") from None
