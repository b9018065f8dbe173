"""Tool and network reach an AgentPolicy declares and the agent's profile never shows used."""
from __future__ import annotations

from weft.discovery.core.profiles import Profile
from weft.posture.core.assess import assess
from weft.posture.core.declarations.agent_policy import DeclaredReach
from weft.posture.core.load import load_bytes

INTENT = b"""
apiVersion: weft.dev/v1alpha1
kind: AgentPolicy
metadata: {name: support-bot}
spec:
  mode: audit
  selector: {namespace: agents, workload: support-bot}
  egress:
    - fqdns: [llm.models.svc.gke.lab, "*.zendesk.com"]
      ports: [443]
  mcp:
    - {server: orders-mcp, url: "http://orders-mcp.tools.svc.aks.lab:8080/mcp", tools: [lookup_order, export_customers]}
    - {server: tickets, url: "https://mcp.tickets.example.com/mcp", tools: [search_tickets]}
"""


def profile(*mcp: tuple[str, str], egress=("llm.models.svc.gke.lab",)) -> Profile:
    p = Profile("agents/support-bot")
    for server, tool in mcp:
        p.add("mcp", (server, tool), 100)
    for host in egress:
        p.add("egress", (host, 443, "TCP"), 100)
    return p


def findings(p: Profile) -> list[dict]:
    loaded = load_bytes(INTENT, "intent.yaml")
    assert loaded.errors == [] and any(isinstance(d, DeclaredReach) for d in loaded.declarations)
    return [f for f in assess(loaded.declarations, [], [p]).findings() if f["kind"] == "unused_tool_reach"]


def test_declared_tools_servers_and_names_never_used_are_reported():
    (f,) = findings(profile(("orders-mcp.tools.svc.aks.lab:8080/mcp", "lookup_order")))
    d = f["details"]
    assert d["unusedTools"] == ["orders-mcp:export_customers", "tickets:search_tickets"]
    assert d["unusedMcpServers"] == ["tickets"] and d["unusedDestinations"] == ["*.zendesk.com"]
    assert f["agent"] == "agents/support-bot" and f["severity"] == "low"


def test_reach_that_was_all_used_is_no_finding():
    used = profile(("orders-mcp.tools.svc.aks.lab:8080/mcp", "lookup_order"),
                   ("orders-mcp.tools.svc.aks.lab:8080/mcp", "export_customers"),
                   ("mcp.tickets.example.com/mcp", "search_tickets"),
                   egress=("llm.models.svc.gke.lab", "acme.zendesk.com"))
    assert findings(used) == []
