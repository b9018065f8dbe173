"""NATS user credentials as nkeys: one seed file per user (mode 0600, in a 0700
directory), made fresh for each run. A seed is a secret: it is never logged; only
the public keys go into nats-server's configuration."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import nkeys

from weft.common import privatefile


def seed_file(directory: Path, user: str) -> Path:
    return directory / f"{user}.nk"


def create(directory: Path, users: Iterable[str]) -> dict[str, str]:
    """A new seed for each user, written to `seed_file`; returns user -> public key."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    return {user: _write_seed(seed_file(directory, user)) for user in users}


def public_key(path: Path) -> str:
    """The public key of the seed in `path`; ValueError when it holds no user seed."""
    try:
        kp = nkeys.from_seed(bytearray(path.read_bytes().strip()))
    except nkeys.NkeysError as e:
        raise ValueError(f"{path} is not an nkey seed: {e}") from None
    try:
        key = kp.public_key.decode()
    finally:
        kp.wipe()
    if not key.startswith("U"):
        raise ValueError(f"{path} holds an nkey seed, but not a user's")
    return key


def _write_seed(path: Path) -> str:
    seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
    privatefile.write(path, seed + b"\n")
    return public_key(path)
