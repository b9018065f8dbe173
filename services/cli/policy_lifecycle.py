"""`weft policy apply|list|status|promote|rollback|delete`: a policy's life in a running
weft — enforce keeps the revisions and sends them down; the sensors report what each
policy allowed, blocked and would have blocked (through discovery)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from weft.cli import api


def register(sub) -> None:
    a = sub.add_parser("apply", help="put an intent in force (in its spec.mode) on every sensor of its clusters")
    a.add_argument("file", type=Path, metavar="FILE")
    li = sub.add_parser("list", help="the policies in force: mode, revision, agent, clusters")
    st = sub.add_parser("status", help="one policy: mode, where in force, would-be blocks, profile stability")
    st.add_argument("name", metavar="NAME")
    pr = sub.add_parser("promote", help="observe → audit → enforce, with the evidence; refused where it says "
                                        "the agent would break, unless --force")
    pr.add_argument("name", metavar="NAME")
    pr.add_argument("--to", required=True, choices=["audit", "enforce"])
    pr.add_argument("--force", action="store_true", help="promote against the evidence (recorded as forced)")
    rb = sub.add_parser("rollback", help="back to the previous revision (intent and mode)")
    rb.add_argument("name", metavar="NAME")
    de = sub.add_parser("delete", help="remove the policy from every sensor: the kernel programs are detached")
    de.add_argument("name", metavar="NAME")
    for p, fn in ((a, apply), (li, listing), (st, status), (pr, promote), (rb, rollback), (de, delete)):
        p.add_argument("--json", action="store_true")
        p.add_argument("--data-dir", default=None, help=argparse.SUPPRESS)
        p.set_defaults(func=fn)


def apply(args) -> int:
    from weft.cli.main import CliError
    try:
        intent = args.file.read_text()
    except OSError as e:
        raise CliError(f"{args.file}: {e.strerror}") from None
    return _show(args, api.call("/v1/policies", method="POST", raw_body=intent, service="enforce", data_dir=args.data_dir))


def listing(args) -> int:
    found = api.call("/v1/policies", service="enforce", data_dir=args.data_dir)["policies"]
    if args.json:
        print(json.dumps(found, indent=2))
    elif not found:
        print("no policies in force (`weft policy apply FILE`)")
    for p in [] if args.json else found:
        print(f"{p['name']:<24} {p['mode']:<8} r{p['revision']:<4} {p['agent']:<32} {','.join(p['clusters'])}")
    return 0


def status(args) -> int:
    found = api.call(f"/v1/policies/{api.quote(args.name)}", service="enforce", data_dir=args.data_dir)
    found["sensors"] = sensor_states(args.name, args.data_dir)
    found["wouldBeBlocks"] = sum(s["audited"] for s in found["sensors"])
    found["blocks"] = sum(s["blocked"] for s in found["sensors"])
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    print(f"{found['name']}: {found['mode']} (revision {found['revision']}, {found['reason']}) for {found['agent']}")
    print(f"  profile {found['profile']['status'] or 'not seen'}, stable for {found['profile']['stableSeconds']} s")
    print(f"  would-be blocks {found['wouldBeBlocks']}, blocks {found['blocks']}")
    for s in found["sensors"]:
        print(f"  in force on {s['cluster']}/{s['node']}: {s['mode']}, {len(s['cgroups'])} cgroups, "
              f"allowed {s['allowed']}, audited {s['audited']}, blocked {s['blocked']}")
    return 0


def promote(args) -> int:
    would_be = sum(s["audited"] for s in sensor_states(args.name, args.data_dir))
    body = {"to": args.to, "force": args.force, "wouldBeBlocks": would_be}
    return _show(args, api.call(f"/v1/policies/{api.quote(args.name)}/promote", method="POST", body=body,
                                service="enforce", data_dir=args.data_dir))


def rollback(args) -> int:
    return _show(args, api.call(f"/v1/policies/{api.quote(args.name)}/rollback", method="POST", body={},
                                service="enforce", data_dir=args.data_dir))


def delete(args) -> int:
    return _show(args, api.call(f"/v1/policies/{api.quote(args.name)}", method="DELETE",
                                service="enforce", data_dir=args.data_dir))


def sensor_states(name: str, data_dir) -> list[dict]:
    """Each connected sensor's counters for the policy (discovery's view of their status)."""
    sensors = api.call("/v1/status", data_dir=data_dir).get("sensors", [])
    return [{"cluster": s["cluster"], "node": s["node"], **p} for s in sensors for p in s.get("policies", [])
            if p["name"] == name]


def _show(args, body: dict) -> int:
    if args.json:
        print(json.dumps(body, indent=2))
    elif "deleted" in body:
        print(f"{body['deleted']}: deleted; the sensors detach its programs")
    else:
        print(f"{body['name']}: {body['mode']} (revision {body['revision']}, {body['reason']}) "
              f"on {', '.join(body['clusters']) or 'no cluster yet'}")
        for why in body.get("overrode", []):
            print(f"  {why}")
    return 0
