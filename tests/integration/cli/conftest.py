"""The `weft` command run as a subprocess against a real nats-server, found
through a run file (WEFT_ENDPOINT) the way it finds a running weft."""
from __future__ import annotations

import asyncio
import os
import sys

import nats
import pytest

from weft.cli import endpoint
from weft.common import bus

# As the `weft` console script runs it (`python -m weft.cli.main` would load main twice).
WEFT_MAIN = "import sys; from weft.cli.main import main; sys.exit(main())"

@pytest.fixture
async def js(nats_server):
    nc = await nats.connect(nats_server.url)
    jsc = nc.jetstream()
    await bus.ensure_streams(jsc)
    yield jsc
    await nc.close()


@pytest.fixture
def weft_env(tmp_path, nats_server) -> dict[str, str]:
    run_file = tmp_path / "run" / "weft.json"
    endpoint.write(endpoint.Endpoint(nats_url=nats_server.url, data_dir=str(tmp_path)), run_file)
    return {**os.environ, "WEFT_ENDPOINT": str(run_file)}


@pytest.fixture
def weft_spawn(weft_env):
    """await weft_spawn("events", "tail") -> the running `weft` process, stdout and stderr piped."""
    async def spawn(*args: str) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-c", WEFT_MAIN, *args, env=weft_env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    return spawn


@pytest.fixture
def weft(weft_spawn):
    """await weft("events", "export", ...) -> (exit code, stdout, stderr)."""
    async def run(*args: str, timeout: float = 20) -> tuple[int, str, str]:
        proc = await weft_spawn(*args)
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
        return proc.returncode, out.decode(), err.decode()
    return run
