"""`weft lab demo`: the reference attack on real processes in the lab's three clusters,
told as one story and then stopped in the kernel.

Imperative shell: it starts the lab and weft, the cast (`cast.py`), plays the benign and
attack phases, sends in what the clouds would record (`cloud.py`), and drives weft
through its own command line, as a user would. Each step prints progress and records an
outcome; `Outcomes` is what the end-to-end test asserts."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from weft.common import durations
from weft.lab import cgroups, lab, netns, processes, state, topology, workload
from weft.lab.demo import cast, cloud, observed

from weft.lab.workloads import certs


@dataclass(frozen=True)
class Timings:
    learning_window: str = "40s"     # discovery's: event time until a profile is ready
    min_stable: str = "20s"          # enforce's: a profile this stable may be enforced
    agent_interval: float = 1.0      # seconds between an agent run's rounds
    ready_timeout: float = 150.0     # the benign phase ends when every profile is ready
    story_timeout: float = 90.0
    enforce_timeout: float = 60.0


@dataclass
class Outcomes:
    """What each numbered outcome of the demo came to (the test asserts these)."""
    benign_ready: list[str] = field(default_factory=list)     # profiles ready after the benign phase
    benign_stories: int = -1
    sensor_cpu: dict = field(default_factory=dict)           # cluster -> cores each sensor used in the benign phase
    exfiltrated: int = 0                                     # records that reached the sink
    story: dict = field(default_factory=dict)
    stories_after_attack: int = 0
    markdown: str = ""
    respond: dict = field(default_factory=dict)
    respond_blocked: str = ""                                # the tool's error for the exfiltration
    respond_exfiltrated: int = 0                             # records that reached the sink all the same
    respond_benign_ok: bool = False
    unused_permissions: list[dict] = field(default_factory=list)
    policies: list[str] = field(default_factory=list)
    replay_error: str = ""                                   # the exfiltration's error under enforce
    replay_exfiltrated: int = 0
    replay_benign_ok: bool = False
    story_after_replay: dict = field(default_factory=dict)
    stories_after_replay: int = 0
    elapsed_s: float = 0.0


# The agent and the tools it reaches: their profiles are learnt in the benign phase and
# their policies suggested from them.
PROFILED = (cast.AGENT[1], "tools/orders-mcp", "tools/storage-mcp")
AGENT_ROUNDS = 2   # every run of the agent has the same command line: its profile learns it


class DemoError(RuntimeError):
    pass


def refusal(error: str) -> str:
    if "Operation not permitted" in error:
        return f"was refused in the kernel (EPERM) and nothing reached {cast.SINK_URL}"
    return f"was NOT refused by the kernel: {error or 'it succeeded'}"


class Demo:
    def __init__(self, data_dir: Path, timings: Timings = Timings(), out=sys.stdout):
        self.data_dir, self.t, self.out = Path(data_dir), timings, out
        self.lab = state.lab_dir(self.data_dir)
        self.work = self.lab / "demo"
        self.settings = {"WEFT_LEARNING_WINDOW": timings.learning_window,
                         "WEFT_PROMOTE_MIN_STABLE": timings.min_stable}   # for the weft `lab up` starts
        self.env = {**os.environ, "WEFT_DATA_DIR": str(self.data_dir), **self.settings}
        self.started = time.monotonic()
        self.o = Outcomes()

    # -- the phases -------------------------------------------------------------------

    def run(self) -> Outcomes:
        self.setup()
        self.benign()
        self.attack()
        self.one_story()
        self.respond()
        self.posture_and_enforce()
        self.o.elapsed_s = round(time.monotonic() - self.started, 1)
        self.say("done", f"in {self.o.elapsed_s:.0f} s")
        return self.o

    def setup(self) -> None:
        self.say("lab", "three clusters (eks/AWS, aks/AZURE, gke/GCP), the lab DNS, weft and a sensor per cluster")
        os.environ.update(self.settings)
        lab.up(self.data_dir)
        self.wait(lambda: {s.get("cluster") for s in self.weft_json("status").get("sensors", [])
                           if s.get("programs")} >= {c.name for c in topology.CLUSTERS}, 120, "three sensors")
        if earlier := self.weft_json("stories"):   # its counts and its one story would be wrong
            raise DemoError(f"{self.data_dir} already holds {len(earlier)} stories from an earlier run: the demo "
                            "needs a data dir of its own (leave out --data-dir for a fresh one each run)")
        self.work.mkdir(parents=True, exist_ok=True)
        certs.self_signed(self.work, [cast.MODEL_HOST])
        (self.work / "rag").mkdir(exist_ok=True)
        (self.work / "rag" / "orders-faq.md").write_text(cast.BENIGN_DOCUMENT)
        for server in cast.servers(self.work):
            self.start(server)
        self.say("cast", "model (eks), orders MCP + records (aks), storage MCP + buckets (gke), sink (outside)")
        files = cloud.write_identity(self.work / "cloud", datetime.now(timezone.utc))
        self.weft("ingest", *map(str, files))
        self.say("cloud", f"declarations and identity logs ingested ({len(files)} files)")

    def benign(self) -> None:
        self.say("benign", f"support-bot answers questions until its profiles are ready "
                           f"(learning window {self.t.learning_window} of event time)")
        wanted = set(PROFILED)
        cpu_before, start = self.sensor_cpu_seconds(), time.monotonic()
        deadline = time.monotonic() + self.t.ready_timeout
        while (ready := self.ready_profiles() & wanted) != wanted:
            if time.monotonic() > deadline:
                raise DemoError(f"profiles not ready after {self.t.ready_timeout:.0f}s: only {sorted(ready)}")
            self.run_agent()
        self.run_agent()   # a benign round after ready: still no story
        spent, wall = self.sensor_cpu_seconds(), time.monotonic() - start
        self.o.sensor_cpu = {c: round((spent[c] - cpu_before.get(c, 0.0)) / wall, 4) for c in spent}
        self.o.benign_ready = sorted(ready)
        time.sleep(3)
        self.o.benign_stories = len(self.weft_json("stories"))
        self.say("benign", f"profiles ready: {', '.join(sorted(ready))}; stories: {self.o.benign_stories}; "
                           f"sensor CPU {', '.join(f'{c} {v:.1%}' for c, v in self.o.sensor_cpu.items())} of a core")

    def attack(self) -> None:
        self.say("attack", f"a poisoned document enters the RAG store: {self.rag_doc()}")
        self.rag_doc().write_text(cast.POISONED_DOCUMENT)
        start = datetime.now(timezone.utc)
        results = self.run_agent()
        self.rag_doc().unlink()
        self.o.exfiltrated = self.sink_records()
        tools = sorted({r["tool"] for r in results})
        self.say("attack", f"the model obeyed it: {', '.join(tools)}; {self.o.exfiltrated} customer records "
                           f"reached the sink {cast.SINK_URL}")
        attack = self.wait(lambda: observed.attack_from(self.events(), start), 30, "the attack's events")
        files = cloud.write_findings(self.work / "cloud", attack, datetime.now(timezone.utc))
        self.weft("ingest", *map(str, files))
        self.say("attack", "GuardDuty, Defender for Cloud and SCC raised their own (low) findings")

    def one_story(self) -> None:
        def high_story():
            stories = self.weft_json("stories")
            found = [s for s in stories if {"AWS", "AZURE", "GCP"} <= set(s.get("providers", []))]
            return found and stories
        stories = self.wait(high_story, self.t.story_timeout, "a story across AWS, AZURE and GCP")
        time.sleep(3)
        stories = self.weft_json("stories")
        self.o.stories_after_attack = len(stories)
        self.o.story = self.story(stories[0]["id"])
        self.o.markdown = self.weft("story", stories[0]["id"], "--format", "markdown").stdout
        self.say("story", f"{len(stories)} story: {self.o.story['severity']} {self.o.story['title']}")
        self.out.write("\n" + self.o.markdown + "\n")

    def respond(self) -> None:
        story_id = self.o.story["id"]
        self.o.respond = self.weft_json("respond", story_id, "--apply")
        names = [a["name"] for a in self.o.respond.get("applied", []) or []]
        self.say("respond", f"containment in force: {', '.join(names)}")
        self.wait_in_force(names, "enforce")
        self.empty_sink()
        self.rag_doc().write_text(cast.POISONED_DOCUMENT)
        results = self.run_agent()
        self.rag_doc().unlink()
        self.o.respond_exfiltrated = self.sink_records()
        self.o.respond_blocked = next((r["result"] for r in results if r["tool"] == "put_object" and r["error"]), "")
        self.o.respond_benign_ok = self.benign_ok()
        self.say("respond", f"the exfiltration {refusal(self.o.respond_blocked)}; "
                            f"benign traffic {'works' if self.o.respond_benign_ok else 'BROKEN'}")
        for name in names:
            self.weft("policy", "delete", name)

    def posture_and_enforce(self) -> None:
        findings = self.weft_json("posture")["findings"]
        self.o.unused_permissions = [f for f in findings if f["kind"] in ("unused_permissions", "unused_permissions_chain")
                                     and f.get("agent") == cast.AGENT[1]]
        for f in self.o.unused_permissions:
            self.say("posture", f["title"])
        for agent in PROFILED:
            intent = self.work / f"{agent.replace('/', '-')}.yaml"
            self.weft("policy", "suggest", agent, "--out", str(intent))
            self.o.policies.append(self.weft_json("policy", "apply", str(intent))["name"])
        self.say("enforce", f"suggested from the benign profiles and applied in audit: {', '.join(self.o.policies)}")
        self.wait_in_force(self.o.policies, "audit")
        stable = int(durations.seconds(self.t.min_stable))

        def benign_until_stable() -> bool:   # stability is event time: the agent keeps working
            self.run_agent()
            return all(self.weft_json("policy", "status", n)["profile"]["stableSeconds"] >= stable
                       for n in self.o.policies)
        self.wait(benign_until_stable, self.t.enforce_timeout, f"profiles stable for {stable} s in audit")
        for name in self.o.policies:
            self.weft("policy", "promote", name, "--to", "enforce")
        self.wait_in_force(self.o.policies, "enforce")
        self.say("enforce", "promoted to enforce on the evidence (no would-be blocks); the attack is replayed")
        self.empty_sink()   # each copy overwrites the same object: what is there now arrived now
        self.rag_doc().write_text(cast.POISONED_DOCUMENT)
        results = self.run_agent()
        self.rag_doc().unlink()
        self.o.replay_error = next((r["result"] for r in results if r["tool"] == "put_object" and r["error"]), "")
        self.o.replay_exfiltrated = self.sink_records()
        self.o.replay_benign_ok = self.benign_ok()
        time.sleep(5)
        stories = self.weft_json("stories")
        self.o.stories_after_replay = len(stories)
        self.o.story_after_replay = self.story(self.o.story["id"])
        joined = "joined" if any("policy_block" in st["summary"] for st in self.o.story_after_replay["stages"]) \
            else "did NOT join"
        self.say("enforce", f"the replayed exfiltration {refusal(self.o.replay_error)}; "
                            f"benign traffic {'works' if self.o.replay_benign_ok else 'BROKEN'}; "
                            f"stories: {len(stories)}; the block {joined} {self.o.story['id']}")

    def down(self) -> None:
        errors = lab.down(self.data_dir)
        if errors:
            raise DemoError(f"could not remove everything: {'; '.join(errors)}")

    # -- the steps ---------------------------------------------------------------------

    def start(self, server: cast.Server) -> None:
        log = self.work / f"{server.workload.replace('/', '-')}.log"
        if server.cluster:
            _entry, cgroup = workload.prepare(self.lab, server.cluster, server.workload)
            argv = netns.exec_argv(topology.cluster(server.cluster).netns, server.argv())
        else:   # outside every cluster: the core namespace, the lab's own cgroup
            cgroup, argv = f"{topology.SYSTEM_CGROUP}/{server.workload.split('/')[1]}", \
                netns.exec_argv(topology.CORE_NETNS, server.argv())
        proc = processes.spawn(argv, cgroup, log)
        deadline = time.monotonic() + 30
        while not processes.tcp_listening(proc.pid, server.port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise DemoError(f"{server.workload} did not start: {processes.log_tail(log)}")
            time.sleep(0.1)

    def run_agent(self) -> list[dict]:
        """One run of the agent as support-bot in eks: the same command line every time,
        so its profile learns it; returns each tool result it printed."""
        _entry, cgroup = workload.prepare(self.lab, cast.AGENT[0], cast.AGENT[1], cast.AGENT[2])
        argv = netns.exec_argv(topology.cluster(cast.AGENT[0]).netns,
                               cast.agent_argv(self.work, AGENT_ROUNDS, self.t.agent_interval))
        procs_file = cgroups.path(cgroup) / "cgroup.procs"
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                              env={**self.env, "OPENAI_API_KEY": "sk-lab-demo-0000000000000000000000"},
                              preexec_fn=lambda: procs_file.write_text("0\n"))
        if done.returncode:
            raise DemoError(f"the agent failed: {done.stderr.strip()[-400:]}")
        return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]

    def sensor_cpu_seconds(self) -> dict[str, float]:
        """CPU seconds (user + system) each lab sensor has used so far."""
        st, tick = state.load(self.lab), os.sysconf("SC_CLK_TCK")
        out = {}
        for c in topology.CLUSTERS:
            try:
                fields = Path(f"/proc/{st.pids[f'sensor-{c.name}']}/stat").read_text().rsplit(")", 1)[1].split()
            except (KeyError, OSError):
                continue
            out[c.name] = (int(fields[11]) + int(fields[12])) / tick
        return out

    def events(self) -> list[dict]:
        return [json.loads(line) for line in self.weft("events", "export", "--since", "5m").stdout.splitlines() if line]

    def benign_ok(self) -> bool:
        results = self.run_agent()
        return bool(results) and not any(r["error"] for r in results)

    def ready_profiles(self) -> set[str]:
        names = {a["name"] for a in self.weft_json("agents")} & set(PROFILED)
        return {n for n in names if json.loads(self.weft("profile", "show", n).stdout)["status"] == "ready"}

    def wait_in_force(self, names: list[str], mode: str) -> None:
        def in_force():
            for name in names:
                st = self.weft_json("policy", "status", name)
                if st["mode"] != mode or not any(s["mode"] == mode and s["cgroups"] for s in st["sensors"]):
                    return False
            return True
        self.wait(in_force, self.t.enforce_timeout, f"{', '.join(names)} in {mode} on the sensors")

    def rag_doc(self) -> Path:
        return self.work / "rag" / cast.POISONED_NAME

    def sink_object(self) -> Path:
        return self.work / "sink" / "drop" / "customers.json"

    def empty_sink(self) -> None:
        self.sink_object().unlink(missing_ok=True)

    def sink_records(self) -> int:
        dropped = self.sink_object()
        try:
            return len(json.loads(dropped.read_text() or "[]"))
        except (FileNotFoundError, ValueError):
            return 0

    # -- plumbing ----------------------------------------------------------------------

    def weft(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "weft.cli.main", *args], capture_output=True, text=True,
                              env=self.env, timeout=timeout)
        if done.returncode:
            raise DemoError(f"weft {' '.join(args)}: {(done.stderr or done.stdout).strip()[-400:]}")
        return done

    def story(self, story_id: str) -> dict:
        return json.loads(self.weft("story", story_id, "--format", "json").stdout)

    def weft_json(self, *args: str):
        return json.loads(self.weft(*args, "--json").stdout)

    def wait(self, predicate, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        while not (value := predicate()):
            if time.monotonic() > deadline:
                raise DemoError(f"timed out after {timeout:.0f}s waiting for {what}")
            time.sleep(0.5)
        return value

    def say(self, phase: str, message: str) -> None:
        elapsed = time.monotonic() - self.started
        print(f"[{int(elapsed) // 60:02d}:{int(elapsed) % 60:02d}] {phase:<8} {message}", file=self.out, flush=True)
