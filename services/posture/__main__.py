"""python -m weft.posture"""
import asyncio

from weft.common.runtime import run_until_signalled
from weft.posture.app import build_app
from weft.posture.config import parse

if __name__ == "__main__":
    asyncio.run(run_until_signalled(build_app(parse())))
