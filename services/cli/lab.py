"""`weft lab`: three clusters (eks on AWS, aks on AZURE, gke on GCP) on this machine, each a
network namespace and a cgroup subtree with its own sensor, joined by routes and a lab DNS."""
from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from weft.cli.main import CliError
from weft.common.config import default_data_dir
from weft.lab import lab, state, status, topology, workload

EPILOG = """\
examples:
  weft lab up                                   clusters, DNS, and a sensor per cluster
  weft lab up --no-weft                         clusters and DNS only (no weft, no sensors)
  weft lab exec gke --workload tools/storage-mcp -- python3 -m http.server 8080
  weft lab exec eks --workload agents/agent -- curl http://storage-mcp.tools.svc.gke.lab:8080/
  weft lab exec aks -- getent hosts agent.agents.svc.eks.lab
  weft lab status
  weft lab sensor stop eks                      stop a cluster's sensor (enforcement stays in the kernel)
  weft lab sensor start eks                     start it again: it adopts what it enforced
  weft lab down                                 remove everything `lab up` made, nothing else
  weft lab demo                                 the reference attack, told as one story, then stopped

Workloads are named NAMESPACE/NAME; one is reachable from every cluster as
NAME.NAMESPACE.svc.CLUSTER.lab as soon as it has been started once. Needs root.
"""
EXEC_USAGE = "weft lab exec CLUSTER [--workload NS/NAME] [--service-account SA] -- CMD..."


def register(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", type=Path, default=Path(os.environ.get("WEFT_DATA_DIR") or default_data_dir()),
                        help="where the lab keeps its state, metadata files and logs, under lab/ (WEFT_DATA_DIR)")
    sub = p.add_subparsers(dest="lab_command", metavar="ACTION", required=True)
    up = sub.add_parser("up", parents=[common], help="make the clusters, the DNS and the sensors",
                        description="Make the three clusters and the lab DNS; attach a sensor per cluster "
                        "to the running weft, starting one with `weft up --detach` if none runs.")
    up.add_argument("--no-weft", action="store_true", help="no weft and no sensors: the lab's network, "
                    "cgroups and DNS only")
    up.add_argument("--json", action="store_true", help="print the lab as JSON")
    up.set_defaults(func=cmd_up)
    ex = sub.add_parser("exec", parents=[common], usage=EXEC_USAGE, help="run a command as a workload of a cluster",
                        description="Run CMD inside CLUSTER's network namespace and the workload's cgroup "
                        "(both made if new); exits with CMD's exit code.")
    _exec_options(ex)
    ex.add_argument("rest", nargs=argparse.REMAINDER, metavar="CLUSTER -- CMD",
                    help=f"one of {', '.join(c.name for c in topology.CLUSTERS)}, then the command")
    ex.set_defaults(func=cmd_exec)
    st = sub.add_parser("status", parents=[common], help="show the clusters, DNS, sensors and workloads")
    st.add_argument("--json", action="store_true", help="print the lab as JSON")
    st.set_defaults(func=cmd_status)
    sensor = sub.add_parser("sensor", parents=[common], help="stop or start one cluster's sensor",
                            description="Stop or start one cluster's sensor, e.g. to see enforcement hold "
                            "while it restarts (its cgroup programs stay attached) and be adopted after.")
    sensor.add_argument("action", choices=("stop", "start"))
    sensor.add_argument("cluster", help=f"one of {', '.join(c.name for c in topology.CLUSTERS)}")
    sensor.set_defaults(func=cmd_sensor)
    demo = sub.add_parser("demo", parents=[common], help="play the reference attack end to end (about 4 minutes)",
                          description=DEMO_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    demo.add_argument("--keep", action="store_true", help="leave the lab, weft and the cast running afterwards")
    demo.add_argument("--learning-window", default="40s", metavar="DURATION",
                      help="how much event time the benign phase teaches the profiles (default %(default)s)")
    demo.add_argument("--json", action="store_true", help="print every outcome as JSON at the end")
    demo.set_defaults(func=cmd_demo)
    down = sub.add_parser("down", parents=[common], help="remove everything `weft lab up` made")
    down.set_defaults(func=cmd_down)


DEMO_DESCRIPTION = """\
The reference attack on real processes, in the lab's three clusters, with every weft
service and a real eBPF sensor per cluster:

  1. benign: the agent support-bot (eks) asks a model over HTTPS with documents from its
     RAG store, looks orders up through an MCP server in aks (which reads a records
     service with a federated identity) and stores summaries through an MCP storage tool
     in gke; its profiles become ready and no story appears;
  2. attack: a poisoned document makes the model call export_customers and hand the
     records to the storage tool with a destination outside the clusters; GuardDuty,
     Defender for Cloud and SCC findings and the clouds' identity logs go in;
  3. weft tells one story across AWS, Azure and GCP (printed as an incident report);
  4. `weft respond --apply` contains it; then the policies suggested from the benign
     profiles are promoted to enforce and the replayed exfiltration fails with EPERM in
     the kernel, while the benign traffic keeps working.

Needs root and no other lab up. Runs on a data dir of its own ($XDG_STATE_HOME or
~/.local/state, then weft-demo; emptied at each start) unless --data-dir or WEFT_DATA_DIR
names one, which must hold no stories. Cleans up after itself unless --keep.
"""


def _exec_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workload", default=workload.DEFAULT_WORKLOAD, metavar="NS/NAME",
                   help="the workload to run as (default %(default)s)")
    p.add_argument("--service-account", default="", metavar="SA", help="its service account (default: NAME)")


def _one_line_errors(command):
    """What the lab raises (namespaces, cgroups, state, processes) becomes one line."""
    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            raise CliError(str(e)) from None
    return run


@_one_line_errors
def cmd_up(args: argparse.Namespace) -> int:
    lab.up(args.data_dir, with_weft=not args.no_weft)
    described = status.describe(args.data_dir)
    _print(described, args.json)
    if not args.no_weft and not all(c["sensor"]["running"] for c in described["clusters"]):
        print(f"weft lab: the lab is up, but not every sensor runs (logs: {state.lab_dir(args.data_dir)}"
              "/sensor-<cluster>.log)", file=sys.stderr)
    return 0


@_one_line_errors
def cmd_exec(args: argparse.Namespace) -> int:
    if not args.rest:
        raise CliError(f"no cluster given: {EXEC_USAGE}", code=2)
    cluster, rest = args.rest[0], args.rest[1:]
    if "--" in rest:   # options may follow CLUSTER, up to the "--"
        cut = rest.index("--")
        options = argparse.ArgumentParser(prog="weft lab exec", add_help=False)
        _exec_options(options)
        options.set_defaults(workload=args.workload, service_account=args.service_account)
        parsed, rest = options.parse_args(rest[:cut]), rest[cut + 1:]
        args.workload, args.service_account = parsed.workload, parsed.service_account
    elif rest and rest[0].startswith("-"):
        raise CliError(f"put -- between the options and the command: {EXEC_USAGE}", code=2)
    return workload.run(state.lab_dir(args.data_dir), cluster, args.workload, rest, args.service_account)


@_one_line_errors
def cmd_status(args: argparse.Namespace) -> int:
    described = status.describe(args.data_dir)
    if described is None:
        raise CliError("no lab is up: start one with `weft lab up`")
    _print(described, args.json)
    return 0


@_one_line_errors
def cmd_sensor(args: argparse.Namespace) -> int:
    if args.action == "stop":
        lab.stop_sensor(args.data_dir, args.cluster)
        print(f"{args.cluster} sensor stopped")
        return 0
    result = lab.start_sensor(args.data_dir, args.cluster)
    if result != "running":
        raise CliError(f"the {args.cluster} sensor {result}")
    print(f"{args.cluster} sensor running")
    return 0


@_one_line_errors
def cmd_demo(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from weft.lab.demo.scenario import Demo, Timings
    args.data_dir = _demo_data_dir(args.data_dir)
    demo = Demo(args.data_dir, Timings(learning_window=args.learning_window),
                out=sys.stderr if args.json else sys.stdout)   # --json: standard output is the JSON alone
    try:
        outcomes = demo.run()
    finally:
        if args.keep:
            print(f"kept running: `export WEFT_DATA_DIR={args.data_dir}`, then `weft lab status`, "
                  "`weft stories`; `weft lab down` removes it", file=sys.stderr)
        else:
            demo.down()
    if args.json:
        print(json.dumps(asdict(outcomes), indent=2))
    return 0


def _demo_data_dir(given: Path) -> Path:
    """The demo counts stories and learns profiles from nothing, so it runs on a data dir of
    its own, emptied at each start, unless told where (then that must hold no stories)."""
    if os.environ.get("WEFT_DATA_DIR") or given != default_data_dir():
        return given
    own = default_data_dir().with_name("weft-demo")
    if state.load(state.lab_dir(own)) is not None:
        raise CliError(f"a demo kept with --keep is still up in {own}: "
                       f"`weft lab down --data-dir {own}` first")
    shutil.rmtree(own, ignore_errors=True)
    return own


@_one_line_errors
def cmd_down(args: argparse.Namespace) -> int:
    had_lab = state.load(state.lab_dir(args.data_dir)) is not None
    errors = lab.down(args.data_dir)
    if errors:
        raise CliError(f"could not remove everything ({'; '.join(errors)}); "
                       "the state file is kept: fix that and run `weft lab down` again")
    print("lab removed" if had_lab else "no lab is up: nothing to remove")
    return 0


def _print(described: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(described, indent=2))
        return
    dns = described["dns"]
    print(f"lab DNS {dns['address']} (zone .{topology.ZONE}): {'running' if dns['running'] else 'NOT RUNNING'}")
    for c in described["clusters"]:
        sensor = c["sensor"]
        if sensor["status"] == "running" and not sensor["running"]:
            sensor["status"] = "exited (see its log in the lab directory)"
        print(f"  {c['name']}  {c['provider']:<5} {c['region']:<11} {c['netns']:<13} {c['address']:<11} "
              f"workloads {len(c['workloads'])}, processes {c['processes']}, sensor: {sensor['status']}")
    if not described["complete"]:
        print("the last `weft lab up` did not finish: run `weft lab down`")
