"""Agent sight: what watched processes say over HTTP, TLS and MCP's stdio, turned
into HTTP_REQUEST, LLM_REQUEST/LLM_RESPONSE and MCP_CALL events, redacted before
they leave the node. The kernel side is bpf/payload.c and bpf/tls.c."""
