"""A small real AI agent: asks a model over HTTPS (the OpenAI client), and calls
MCP tools over stdio (a child it spawns) and over streamable HTTP.

    python -m weft.lab.workloads.agent --model-url https://model:8443/v1 \\
        --ca model.crt --mcp-stdio --mcp-http http://orders:8080/mcp --rounds 2

The API key comes from OPENAI_API_KEY, as with any OpenAI client."""
from __future__ import annotations

import argparse
import asyncio
import json
import sys

import openai
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

STDIO_SERVER = [sys.executable, "-m", "weft.lab.workloads.orders_mcp"]


async def ask(client: openai.AsyncOpenAI, model: str, question: str):
    reply = await client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": question}])
    return reply.choices[0].message


async def use_tool(session: ClientSession, name: str, arguments: dict) -> str:
    result = await session.call_tool(name, arguments)
    return " ".join(getattr(c, "text", "") for c in result.content)


async def round_(client, model: str, sessions: list[tuple[ClientSession, set[str]]], n: int,
                 bucket: str) -> None:
    """Ask the model; call the tool it picks on every server that has it; store a summary
    on every server that can store one."""
    message = await ask(client, model, f'call lookup_order {{"order_id": "{1000 + n}"}}')
    answers = []
    for call in message.tool_calls or []:
        for session, tools in sessions:
            if call.function.name in tools:
                answers.append(await use_tool(session, call.function.name, json.loads(call.function.arguments)))
                print(answers[-1], flush=True)
    if bucket:
        for session, tools in sessions:
            if "put_object" in tools:
                print(await use_tool(session, "put_object", {"bucket": bucket, "key": f"summary-{n}",
                                                             "body": "; ".join(answers)}), flush=True)


async def run(args) -> None:
    client = openai.AsyncOpenAI(base_url=args.model_url,
                                http_client=openai.DefaultAsyncHttpxClient(verify=args.ca or True))
    async with _sessions(args) as sessions:
        named = [(s, {t.name for t in (await s.list_tools()).tools}) for s in sessions]
        for n in range(args.rounds):
            await round_(client, args.model, named, n, args.bucket)
    await client.close()


class _sessions:
    """The MCP sessions asked for, opened and initialised together."""

    def __init__(self, args):
        self.args = args
        self.stack = None

    async def __aenter__(self) -> list[ClientSession]:
        from contextlib import AsyncExitStack
        self.stack = AsyncExitStack()
        transports = []
        if self.args.mcp_stdio:
            transports.append(stdio_client(StdioServerParameters(command=STDIO_SERVER[0],
                                                                 args=STDIO_SERVER[1:])))
        transports += [streamable_http_client(url) for url in self.args.mcp_http]
        sessions = []
        for transport in transports:
            streams = await self.stack.enter_async_context(transport)
            session = await self.stack.enter_async_context(ClientSession(streams[0], streams[1]))
            await session.initialize()
            sessions.append(session)
        return sessions

    async def __aexit__(self, *exc) -> None:
        await self.stack.aclose()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model-url", required=True, help="OpenAI-compatible base URL, e.g. https://model:8443/v1")
    p.add_argument("--model", default="lab-model")
    p.add_argument("--ca", help="CA certificate that signed the model server's certificate")
    p.add_argument("--mcp-stdio", action="store_true", help="spawn the orders MCP server over stdio")
    p.add_argument("--mcp-http", action="append", default=[], metavar="URL",
                   help="an MCP server over streamable HTTP (repeatable)")
    p.add_argument("--bucket", default="", help="store a summary of each round there (storage tool)")
    p.add_argument("--rounds", type=int, default=1)
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
