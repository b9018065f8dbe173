"""python -m weft.detect"""
import asyncio

from weft.common.runtime import run_until_signalled
from weft.detect.app import build_app
from weft.detect.config import parse

if __name__ == "__main__":
    asyncio.run(run_until_signalled(build_app(parse())))
