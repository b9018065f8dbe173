"""The lab's reference workloads: real processes an AI agent deployment is made of
(a model server, MCP tool servers, the agent itself), deterministic and offline."""
