"""Response to an attack story: contain the agent in the kernel, and write the
provider-side steps for a person to run. Pure.

Containment is an allow-list, as every weft policy is: the agent — and each workload
the story shows sending data out, such as an MCP tool the agent drove — may reach what
its ready profile says it needs (its baseline egress, names and ports), so the story's
exfiltration destinations — never in that baseline — are refused and nothing they need
is. The provider steps name the chain's own identities; values weft cannot know
(a role's policy name, a binding's role) appear as <PLACEHOLDERS> to fill in."""
from __future__ import annotations

from datetime import datetime, timezone

from weft.enforce.core.suggest import suggest

CONTAINMENT_SUFFIX = "-containment"


def targets(story: dict) -> list[dict]:
    """What to contain: the story's agent, and every workload that sent data to one of
    its destinations (an MCP tool the agent drove, say): {namespace, workload, clusters}."""
    found: dict[tuple[str, str], set[str]] = {}
    a = story["agent"]
    if a.get("workload"):
        found[(a["namespace"], a["workload"])] = set(a.get("clusters") or [])
    for d in story["data"]["destinations"]:
        for source in d.get("sources", ()):
            cluster, namespace, workload = source.split("/", 2)
            found.setdefault((namespace, workload), set()).add(cluster)
    return [{"namespace": ns, "workload": wl, "clusters": sorted(cl)} for (ns, wl), cl in found.items()]


def containment(story: dict, profile: dict | None, target: dict | None = None) -> dict:
    """An AgentPolicy in enforce mode for one target (default: the story's agent): its
    profile's baseline egress, minus every story destination."""
    t = target or {"namespace": story["agent"]["namespace"], "workload": story["agent"]["workload"],
                   "clusters": story["agent"].get("clusters", [])}
    base = profile or {"agent": f"{t['namespace']}/{t['workload']}", "status": "missing", "clusters": t["clusters"]}
    intent = suggest(base, mode="enforce", name=f"{t['workload']}{CONTAINMENT_SUFFIX}")
    bad_names = {d["dnsName"].rstrip(".").lower() for d in story["data"]["destinations"] if d.get("dnsName")}
    bad_ips = {d["ip"] for d in story["data"]["destinations"] if d.get("ip")}
    rules = []
    for rule in intent["spec"].get("egress", []):
        kept = {k: [v for v in rule.get(k, []) if v not in bad_names and v.split("/")[0] not in bad_ips]
                for k in ("fqdns", "cidrs")}
        if kept["fqdns"] or kept["cidrs"]:
            rules.append({**{k: v for k, v in kept.items() if v}, "ports": rule["ports"]})
    intent["spec"]["egress"] = rules
    intent["spec"]["selector"]["clusters"] = sorted(set(t["clusters"] or intent["spec"]["selector"]["clusters"]))
    for key in ("files", "executables", "syscalls", "mcp", "models", "cloud"):
        intent["spec"].pop(key, None)   # containment is about egress; the rest stays as it is
    return intent


def provider_steps(story: dict, now: datetime | None = None) -> list[dict]:
    """Exact commands, per identity in the story's chain, to cut the attacker off the cloud side."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    steps = []
    for link in story.get("identityChain", []):
        p, principal = link["provider"], link["principal"]
        if p == "AWS" and ":role/" in principal:
            role = principal.split(":role/", 1)[1].split("/")[-1]
            deny = ('{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*",'
                    f'"Condition":{{"DateLessThan":{{"aws:TokenIssueTime":"{stamp}"}}}}}}]}}')
            steps.append({"provider": p, "principal": principal, "what": "revoke every session issued before now",
                          "command": f"aws iam put-role-policy --role-name {role} --policy-name "
                                     f"AWSRevokeOlderSessions --policy-document '{deny}'"})
        elif p == "AZURE":
            steps.append({"provider": p, "principal": principal,
                          "what": "disable the federated credential the agent's service account signs in with",
                          "command": f"az identity federated-credential delete --identity-name <IDENTITY-NAME> "
                                     f"--resource-group <RESOURCE-GROUP> --name <CREDENTIAL-NAME>  "
                                     f"# the identity with client id {principal}"})
        elif p == "GCP":
            steps.append({"provider": p, "principal": principal, "what": "remove the binding that grants the principal",
                          "command": f"gcloud projects remove-iam-policy-binding <PROJECT> "
                                     f"--member='{principal}' --role=<ROLE>"})
        elif p == "KUBERNETES":
            ns_sa = principal.removeprefix("system:serviceaccount:").split(":")
            if len(ns_sa) == 2:
                steps.append({"provider": p, "principal": principal, "what": "stop issuing tokens to the service "
                              "account: rotate by deleting its token-issuing bindings, or scale the agent to zero",
                              "command": f"kubectl -n {ns_sa[0]} scale deployment/{story['agent']['workload']} "
                                         f"--replicas=0"})
    return steps
