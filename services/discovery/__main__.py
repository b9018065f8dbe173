import asyncio

from weft.common.runtime import run_until_signalled
from weft.discovery.app import build_app
from weft.discovery.config import parse

asyncio.run(run_until_signalled(build_app(parse())))
