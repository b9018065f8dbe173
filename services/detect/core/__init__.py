"""detect's pure logic: data in, data out; no asyncio, nats, aiohttp or sqlmodel."""
