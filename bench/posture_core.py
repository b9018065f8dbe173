"""posture's core at scale: identity chains and findings for 1,000 agents with 50
declared permissions each (30 IAM actions, 10 Azure role entries, a GCP role of 10
permissions) and 1,000,000 audit records (CloudTrail sessions and calls, Entra
sign-ins, GCP token exchanges and calls), in one process.

    python -m bench.posture_core [--agents N] [--records N] [--pairs N] [--quick]

Inputs are generated as the typed items posture's parsers produce: parsing is excluded
(it is per record and runs where records arrive). Generation is timed and reported
apart. Then, interleaved for every pair (the order alternates):

    A  resolve every chain and judge every finding (weft.posture.core.findings.analyse)
    B  the floor: one pass over the same records grouping them by principal with the
       permissions each used — what any analysis of these records must at least do

Printed: seconds per pair, medians with [min–max], A/B, peak RSS (getrusage), and the
verdict against the targets: A under 60 s, memory under 2 GiB.
"""
from __future__ import annotations

import argparse
import random
import resource
import statistics
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone

from policyuniverse import service_data

from weft.posture.core.auditlogs.model import (ApiCall, AssumptionMethod, AzureSignIn, GcpTokenExchange,
                                               RoleAssumption)
from weft.posture.core.chains import AgentIdentity
from weft.posture.core.declarations.gcp_members import parse_member
from weft.posture.core.declarations.model import (AwsCondition, AwsPolicy, AwsPrincipal, AwsRole,
                                                  AzureFederatedCredential, AzurePermission, AzureRoleAssignment,
                                                  AzureRoleDefinition, Effect, GcpBinding, LinkKind, PolicyStatement,
                                                  ServiceAccountLink, WorkloadIdentityPoolProvider,
                                                  WorkloadServiceAccount)
from weft.posture.core.findings import analyse
from weft.posture.core.model import Cloud, KubernetesSubject, Source

TARGET_SECONDS, TARGET_BYTES = 60.0, 2 * 1024 ** 3
ACCOUNT, ISSUER = "111122223333", "oidc.eks.us-west-2.amazonaws.com/id/5C7A1E2B9D4F6A8C3E0B7D1F2A4C6E8B"
POOL, NUMBER, PROJECT = "eks-agents", "987654321098", "bench-gcp"
SUB = "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/bench"
STORAGE_APP = "e406a681-f3d4-42a8-90b6-c2b029497af1"
GCP_ROLE = "roles/storage.objectCreator"                 # 10 permissions in weft's table
AZURE_ENTRIES = [f"Microsoft.Storage/storageAccounts/{x}" for x in (
    "read", "write", "listKeys/action", "blobServices/containers/*", "blobServices/containers/blobs/*",
    "queueServices/queues/messages/*", "tableServices/tables/entities/*", "fileServices/fileshares/files/*")] + [
    "Microsoft.KeyVault/vaults/secrets/*", "Microsoft.KeyVault/vaults/keys/*"]
SERVICES = ("S3", "DynamoDB", "SQS", "SNS", "Secrets Manager", "KMS", "Bedrock", "CloudWatch Logs")


def _actions() -> list[tuple[str, str]]:
    """(IAM action, CloudTrail event source) of real actions of a few services."""
    out = []
    for name in SERVICES:
        body = service_data[name]
        for action in sorted(body["actions"])[:40]:
            out.append((f"{body['prefix']}:{action}", f"{body['prefix']}.amazonaws.com"))
    return out


def generate(agents: int, records: int, seed: int = 7):
    rng = random.Random(seed)
    pool = _actions()
    start = datetime(2025, 3, 11, tzinfo=timezone.utc)
    declarations, observations, identities = [], [], []
    per_agent = max(records // agents, 4)
    for i in range(agents):
        name, source = f"bot-{i:04d}", Source(f"bench/agent-{i:04d}.json")
        subject = KubernetesSubject("agents", name)
        role, client, principal_id = (f"arn:aws:iam::{ACCOUNT}:role/{name}", f"c{i:07d}-0000-4000-8000-000000000000",
                                      f"p{i:07d}-0000-4000-8000-000000000000")
        granted = rng.sample(pool, 30)
        declarations += _declarations(source, subject, role, client, principal_id, granted, i)
        identities.append(AgentIdentity(f"agents/{name}", KubernetesSubject("agents", name, "eks")))
        observations += _observations(rng, source, subject, role, client, principal_id, granted[:8], start, per_agent,
                                      records - len(observations) if i == agents - 1 else per_agent)
    return identities, declarations, observations


def _declarations(at, subject, role, client, principal_id, granted, i):
    statements = tuple(PolicyStatement(Effect.ALLOW, sid=f"S{k}", actions=tuple(a for a, _ in granted[k::3]),
                                       resources=(f"arn:aws:s3:::bench-{i}/*", "*")) for k in range(3))
    trust = (PolicyStatement(Effect.ALLOW, actions=("sts:AssumeRoleWithWebIdentity",),
                             principals=(AwsPrincipal("Federated", f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}"),),
                             conditions=(AwsCondition("StringEquals", f"{ISSUER}:sub", (subject.sub,)),
                                         AwsCondition("StringEquals", f"{ISSUER}:aud", ("sts.amazonaws.com",)))),)
    guid = f"d{i:07d}-0000-4000-8000-000000000000"
    member = parse_member(f"principal://iam.googleapis.com/projects/{NUMBER}/locations/global/workloadIdentityPools/"
                          f"{POOL}/subject/{subject.sub}")
    out = [ServiceAccountLink(source=at, subject=subject, cloud=Cloud.AWS, kind=LinkKind.IRSA, target=role),
           ServiceAccountLink(source=at, subject=subject, cloud=Cloud.AZURE, kind=LinkKind.AZURE_WORKLOAD_IDENTITY,
                              target=client),
           WorkloadServiceAccount(source=at, kind="Deployment", name=subject.service_account, subject=subject,
                                  azure_workload_identity=True),
           AwsRole(source=at, arn=role, name=subject.service_account, trust=trust),
           AwsPolicy(source=at, name="data", arn="", role_name=subject.service_account, statements=statements),
           AzureFederatedCredential(source=at, name="eks", id=f"{SUB}/fic/{i}", identity_name=subject.service_account,
                                    identity_id="", issuer=f"https://{ISSUER}", subject=subject.sub,
                                    audiences=("api://AzureADTokenExchange",)),
           AzureRoleDefinition(source=at, id=guid, guid=guid, role_name=f"data {i}", role_type="CustomRole",
                               permissions=(AzurePermission(actions=tuple(AZURE_ENTRIES[:4]),
                                                            data_actions=tuple(AZURE_ENTRIES[4:])),)),
           AzureRoleAssignment(source=at, id=f"{SUB}/ra/{i}", scope=SUB, principal_id=principal_id,
                               principal_type="ServicePrincipal", role_definition_id=guid, role_definition_guid=guid),
           GcpBinding(source=at, resource=f"//cloudresourcemanager.googleapis.com/projects/{PROJECT}", role=GCP_ROLE,
                      members=(member,))]
    if i == 0:
        out.append(WorkloadIdentityPoolProvider(source=at, name=f"projects/{NUMBER}/locations/global/"
                                                f"workloadIdentityPools/{POOL}/providers/eks", project_number=NUMBER,
                                                pool=POOL, provider_id="eks", protocol="oidc",
                                                issuer_uri=f"https://{ISSUER}"))
    return out


def _observations(rng, at, subject, role, client, principal_id, used, start, per_agent, count):
    key = f"ASIA{rng.randrange(16 ** 16):016X}"
    principal = (f"principal://iam.googleapis.com/projects/{NUMBER}/locations/global/workloadIdentityPools/{POOL}/"
                 f"subject/{subject.sub}")
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/{subject.service_account}/s"
    out = [RoleAssumption(source=at, time=start, cloud=Cloud.AWS, success=True, method=AssumptionMethod.IRSA,
                          role_arn=role, session_name="s", session_arn=session, access_key_id=key, kubernetes=subject,
                          identity_provider=f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}"),
           GcpTokenExchange(source=at, time=start, cloud=Cloud.GCP, success=True, provider=f"{POOL}/eks",
                            project_number=NUMBER, pool=POOL, provider_id="eks", subject=subject.sub,
                            principal=parse_member(principal))]
    for n in range(count - 2):
        when = start + timedelta(seconds=rng.randrange(86400))
        where = Source(at.file, n + 3)
        kind = n % 10
        if kind < 6:
            action, event_source = used[n % len(used)]
            out.append(ApiCall(source=where, time=when, cloud=Cloud.AWS, success=n % 50 != 0, principal=session,
                               service=event_source, operation=action.split(":")[1], actions=(action,),
                               resources=(f"arn:aws:s3:::bench-{subject.service_account}/k{n % 97}",),
                               role_arn=role, access_key_id=key))
        elif kind < 7:
            out.append(AzureSignIn(source=where, time=when, cloud=Cloud.AZURE, success=True,
                                   category="ManagedIdentitySignInLogs", app_id=client,
                                   service_principal_id=principal_id, resource_id=STORAGE_APP,
                                   resource_name="Azure Storage"))
        else:
            permission = ("storage.objects.create", "storage.multipartUploads.create")[n % 2]
            out.append(ApiCall(source=where, time=when, cloud=Cloud.GCP, success=True, principal=principal,
                               service="storage.googleapis.com", operation=permission, actions=(permission,),
                               resources=(f"projects/_/buckets/{subject.service_account}/objects/o{n % 31}",),
                               account=PROJECT))
    return out


def run_a(agents, declarations, observations) -> tuple[float, int, int]:
    started = time.perf_counter()
    posture = analyse(agents, declarations, observations, cluster_issuers={"eks": f"https://{ISSUER}"})
    return time.perf_counter() - started, len(posture.chains), len(posture.findings)


def run_b(observations) -> float:
    started = time.perf_counter()
    used: defaultdict[str, set[str]] = defaultdict(set)
    for o in observations:
        who = getattr(o, "principal", None) or getattr(o, "app_id", None) or getattr(o, "role_arn", "")
        if isinstance(who, str):
            used[who].update(getattr(o, "actions", ()))
        else:
            used[who.raw].add("exchange")
    return time.perf_counter() - started


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _spread(xs: list[float], fmt: str = ".2f") -> str:
    return f"{statistics.median(xs):{fmt}} [{min(xs):{fmt}}–{max(xs):{fmt}}]"


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.posture_core", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agents", type=int, default=1000)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="100 agents, 100,000 records")
    args = ap.parse_args()
    if args.quick:
        args.agents, args.records = 100, 100_000
    started = time.perf_counter()
    agents, declarations, observations = generate(args.agents, args.records)
    inputs = peak_rss_bytes()
    print(f"generated {len(agents):,} agents, {len(declarations):,} declarations, {len(observations):,} audit "
          f"records in {time.perf_counter() - started:.1f} s (typed items; parsing excluded); "
          f"peak RSS with the inputs {inputs / 2 ** 20:,.0f} MiB", flush=True)
    a_times, b_times = [], []
    for i in range(1, args.pairs + 1):
        order = "AB" if i % 2 else "BA"
        for which in order:
            if which == "A":
                seconds, chains, findings = run_a(agents, declarations, observations)
                a_times.append(seconds)
            else:
                b_times.append(run_b(observations))
        print(f"pair {i} ({order}): A {a_times[-1]:6.2f} s ({chains:,} chains, {findings:,} findings)  "
              f"B {b_times[-1]:5.2f} s  A/B {a_times[-1] / b_times[-1]:5.1f}", flush=True)
    peak = peak_rss_bytes()
    median_a = statistics.median(a_times)
    print(f"\nsummary, {args.pairs} pairs, {len(agents):,} agents, {len(observations):,} records (median [min–max]):")
    print(f"  A resolve chains + findings   {_spread(a_times)} s")
    print(f"  B one grouping pass (floor)   {_spread(b_times)} s")
    print(f"  ratio A/B                     {_spread([a / b for a, b in zip(a_times, b_times)], '.1f')}")
    print(f"  peak RSS, whole process                {peak / 2 ** 20:,.0f} MiB "
          f"(inputs alone {inputs / 2 ** 20:,.0f} MiB)")
    full = args.agents >= 1000 and args.records >= 1_000_000
    verdict = "MET" if median_a < TARGET_SECONDS and peak < TARGET_BYTES else "NOT MET"
    print(f"  target A < {TARGET_SECONDS:.0f} s and memory < 2 GiB: {verdict} (median {median_a:.1f} s, "
          f"peak {peak / TARGET_BYTES:.0%} of 2 GiB)" + ("" if full else " — at this reduced scale only"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
