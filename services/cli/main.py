"""The `weft` command. Each sub-command lives in its own module with
`register(subparsers)`; modules are imported lazily so `weft --help` stays fast."""
from __future__ import annotations

import argparse
import importlib
import sys

# (command, module, one-line help) in the order --help shows them.
COMMANDS = [
    ("up", "weft.cli.up", "start NATS, every stage and a local sensor (foreground, or --detach)"),
    ("status", "weft.cli.status", "show each service and connected sensor with rates, lag and drops"),
    ("down", "weft.cli.down", "stop everything `weft up` started, and nothing else"),
    ("certs", "weft.cli.certs", "a development CA and the TLS certificates of NATS, the gateway and sensors"),
    ("ingest", "weft.cli.ingest", "send provider alerts, audit logs, declarations or events files in"),
    ("sensor", "weft.cli.sensor", "run a sensor: eBPF on this node, or replay a recorded JSONL file"),
    ("events", "weft.cli.events", "tail live runtime events or export them as JSON Lines"),
    ("deadletter", "weft.cli.deadletter", "inspect and retry input that a stage could not accept"),
    ("lab", "weft.cli.lab", "the three-cloud lab: clusters eks, aks and gke on this machine"),
    ("agents", "weft.cli.agents", "the AI agents, inference servers, MCP servers and tools found at runtime"),
    ("agent", "weft.cli.agent", "one agent: what it is, where it runs, why, and its behaviour profile"),
    ("profile", "weft.cli.profile", "an agent's behaviour profile: show, export for Kubescape, accept new behaviour"),
    ("graph", "weft.cli.graph", "the cross-cloud execution graph: json, dot or mermaid"),
    ("aibom", "weft.cli.aibom", "an agent's AI-BOM (CycloneDX 1.6), or the fleet's"),
    ("posture", "weft.cli.posture", "unused permissions, federation gaps and reach along each identity chain"),
    ("identity", "weft.cli.identity", "an agent's cross-cloud identity chain: Kubernetes SA → AWS → Azure → GCP"),
    ("alerts", "weft.cli.alerts", "the newest alerts: provider findings and weft's own detections, as OCSF"),
    ("stories", "weft.cli.stories", "attack stories: every provider's signals and weft's told as one"),
    ("story", "weft.cli.story", "one attack story as markdown, json or ocsf; --ack, --close, --false-positive"),
    ("respond", "weft.cli.respond", "contain a story's agent in the kernel; the cloud-side steps to run"),
    ("export", "weft.cli.export", "alerts and stories in OCSF to a webhook, syslog or a JSON Lines file"),
    ("policy", "weft.cli.policy", "AgentPolicy intents: validate, compile to every provider's primitives"),
    ("drift", "weft.cli.drift", "compare deployed policies with an intent and across providers"),
    ("analyze", "weft.cli.analyze", "run the stages' logic offline over files: inventory, findings, alerts"),
    ("vex", "weft.cli.vex", "mark vulnerable packages reachable or not from runtime behaviour; write OpenVEX"),
]

EPILOG = """\
examples:
  weft up --detach                 start everything, return when healthy
  weft status                      what is running, rates, lag, drops
  weft sensor --source replay events.jsonl --cluster eks
  weft events export --since 10m > events.jsonl
  weft deadletter list
  weft down
"""


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="weft", description="weft: one runtime security layer for AI "
                                "agents across EKS, AKS and GKE.", epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    argv = sys.argv[1:] if argv is None else argv
    wanted = argv[0] if argv and not argv[0].startswith("-") else None
    for name, module, help_ in COMMANDS:
        if wanted in (None, name):
            try:
                mod = importlib.import_module(module)
            except ModuleNotFoundError as e:
                if e.name != module:
                    raise
                continue  # not built yet
            mod.register(sub.add_parser(name, help=help_, description=help_,
                                        formatter_class=argparse.RawDescriptionHelpFormatter))
        else:
            sub.add_parser(name, help=help_)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except CliError as e:
        print(f"weft {args.command}: {e}", file=sys.stderr)
        return e.code


class CliError(Exception):
    """An error the user can act on: printed as one line, no traceback."""
    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


if __name__ == "__main__":
    # `python -m weft.cli.main` (how `weft up` starts its supervisor and sensor): run the
    # importable module, whose CliError the sub-commands raise, not this __main__ copy.
    from weft.cli.main import main as weft_main
    sys.exit(weft_main())
