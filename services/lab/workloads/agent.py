"""A small real AI agent: asks a model over HTTPS (the OpenAI client), with documents
from a RAG store in its prompt, and calls MCP tools over stdio (a child it spawns) and
over streamable HTTP. Each tool result is printed as a JSON line.

    python -m weft.lab.workloads.agent --model-url https://model:8443/v1 \\
        --ca model.crt --mcp-stdio --mcp-http http://orders:8080/mcp --rounds 2

The API key comes from OPENAI_API_KEY, as with any OpenAI client."""
from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from pathlib import Path

import openai
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

STDIO_SERVER = [sys.executable, "-m", "weft.lab.workloads.orders_mcp"]


async def ask(client: openai.AsyncOpenAI, model: str, question: str):
    reply = await client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": question}])
    return reply.choices[0].message


def retrieve(rag: Path | None, topic: str) -> str:
    """The RAG step: every document of the store on the topic, freshest first, named by its path."""
    if rag is None:
        return ""
    docs = sorted(rag.glob(f"{topic}-*.md"), key=lambda d: (-d.stat().st_mtime_ns, d.name))
    return "".join(f"Context from {d}:\n{d.read_text()}\n\n" for d in docs)


async def use_tool(session: ClientSession, name: str, arguments: dict) -> tuple[str, bool]:
    result = await session.call_tool(name, arguments)
    return " ".join(getattr(c, "text", "") for c in result.content), bool(result.is_error)


def run_shell(cmd: str) -> tuple[str, bool]:
    """The agent's local shell tool (agent frameworks ship one; this is why it is dangerous)."""
    done = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, timeout=30)
    return (done.stdout + done.stderr).strip()[:2000], done.returncode != 0


async def call(sessions, name: str, arguments: dict, outputs: list[str], shell: bool) -> tuple[str, bool]:
    """One tool call the model asked for: the local shell, or every server with the tool
    (the agent asks each, as it would ask replicas of one tool). A put_object without a
    body stores what the previous tools returned."""
    if name == "run_shell" and shell:
        return run_shell(str(arguments.get("cmd", "")))
    if name == "put_object" and "body" not in arguments:
        arguments = {**arguments, "body": "\n".join(outputs)}
    answers = [await use_tool(session, name, arguments) for session, tools in sessions if name in tools]
    if not answers:
        return f"no tool {name}", True
    return "\n".join(text for text, _ in answers), any(error for _, error in answers)


def report(n: int, tool: str, result: str, error: bool) -> None:
    print(json.dumps({"round": n, "tool": tool, "error": error, "result": result[:300]}), flush=True)


async def round_(client, model: str, sessions: list[tuple[ClientSession, set[str]]], n: int, args) -> None:
    """Ask the model (with what the RAG store holds on orders); call each tool it picks;
    store a summary on the storage tool unless the model already stored something."""
    order = 1000 + n
    prompt = retrieve(args.rag, "orders") + f'Where is order {order}? call lookup_order {{"order_id": "{order}"}}'
    message = await ask(client, model, prompt)
    outputs, stored = [], False
    for tool_call in message.tool_calls or []:
        name = tool_call.function.name
        try:
            result, error = await call(sessions, name, json.loads(tool_call.function.arguments), outputs, args.shell)
        except Exception as e:   # noqa: BLE001 - a tool's failure is part of the round's story
            result, error = f"{type(e).__name__}: {e}", True
        report(n, name, result, error)
        outputs.append(result)
        stored |= name == "put_object"
    if args.bucket and not stored:
        for session, tools in sessions:
            if "put_object" in tools:
                result, error = await use_tool(session, "put_object", {"bucket": args.bucket, "key": f"summary-{n}",
                                                                      "body": "; ".join(outputs)})
                report(n, "put_object", result, error)


async def run(args) -> None:
    client = openai.AsyncOpenAI(base_url=args.model_url,
                                http_client=openai.DefaultAsyncHttpxClient(verify=args.ca or True))
    async with _sessions(args) as sessions:
        named = [(s, {t.name for t in (await s.list_tools()).tools}) for s in sessions]
        for n in range(args.rounds):
            if n:
                await asyncio.sleep(args.interval)
            await round_(client, args.model, named, args.first_round + n, args)
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
    p.add_argument("--first-round", type=int, default=0, help="number of the first round (orders 1000+N)")
    p.add_argument("--interval", type=float, default=0.0, help="seconds between rounds")
    p.add_argument("--rag", type=Path, help="the RAG store: a directory of <topic>-*.md documents")
    p.add_argument("--shell", action="store_true", help="give the model a run_shell tool")
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
