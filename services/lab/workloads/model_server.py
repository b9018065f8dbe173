"""An OpenAI-compatible model server over HTTPS: deterministic answers, no model.

    python -m weft.lab.workloads.model_server --port 8443 --cert C --key K

POST /v1/chat/completions answers from the last user message; a message that
asks for tools ("call TOOL {json}", once or more) gets those tool calls back, so a lab
agent can be driven into calling MCP tools the way a real model drives a real one. Like
a real model, it obeys instructions hidden in the context it is given: an HTML comment
"<!-- assistant: ... -->" in the message (a poisoned document, say) replaces the user's
request with the comment's own tool calls. That is the prompt injection of the demo."""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import ssl

from aiohttp import web

_CALL = re.compile(r"call (\w+) (?=\{)")
_INJECTED = re.compile(r"<!--\s*assistant:(.*?)-->", re.S)


def tool_calls(text: str) -> list[tuple[str, str]]:
    """(name, JSON arguments) of every "call NAME {json}" in text; hidden instructions win."""
    if injected := _INJECTED.findall(text):
        text = " ".join(injected)
    calls, decoder = [], json.JSONDecoder()
    for m in _CALL.finditer(text):
        try:
            arguments, _end = decoder.raw_decode(text, m.end())
        except ValueError:
            continue
        calls.append((m.group(1), json.dumps(arguments)))
    return calls


def answer(body: dict) -> dict:
    messages = body.get("messages") or [{}]
    last = str(messages[-1].get("content", ""))
    model = str(body.get("model", "lab-model"))
    digest = hashlib.sha256(last.encode()).hexdigest()[:12]
    message: dict = {"role": "assistant", "content": f"answer {digest}: {last[:80]}"}
    finish = "stop"
    if calls := tool_calls(last):
        message = {"role": "assistant", "content": None, "tool_calls": [{
            "id": f"call_{digest}_{i}", "type": "function", "function": {"name": name, "arguments": arguments}}
            for i, (name, arguments) in enumerate(calls)]}
        finish = "tool_calls"
    return {"id": f"chatcmpl-{digest}", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": len(last.split()), "completion_tokens": 8, "total_tokens": 8}}


async def completions(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        return web.json_response({"error": {"message": "body is not JSON"}}, status=400)
    return web.json_response(answer(body))


async def models(_request: web.Request) -> web.Response:
    return web.json_response({"object": "list", "data": [{"id": "lab-model", "object": "model"}]})


def app() -> web.Application:
    a = web.Application(client_max_size=1 << 20)
    a.router.add_post("/v1/chat/completions", completions)
    a.router.add_get("/v1/models", models)
    return a


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=8443)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    args = p.parse_args()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    web.run_app(app(), host=args.host, port=args.port, ssl_context=context, print=None,
                handle_signals=True)


if __name__ == "__main__":
    main()
