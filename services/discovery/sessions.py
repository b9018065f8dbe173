"""Connected sensors: who they are, what they sent, and their downlink queue."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from weft.common import subjects
from weft.v1 import event_pb2, sensor_pb2


@dataclass
class Session:
    sensor_id: str
    node: event_pb2.Node
    capabilities: list[str]
    peer: str
    proven: tuple[str, str] | None = None    # (cluster, node) its certificate names (mutual TLS)
    connected_at: float = field(default_factory=time.time)
    batches: int = 0
    events: int = 0
    rejected: int = 0
    deadlettered: int = 0
    last_status: sensor_pb2.SensorStatus | None = None
    acks: dict[str, tuple[bool, str]] = field(default_factory=dict)   # program id -> (applied, detail)
    downlink: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(maxsize=1000))

    def msg_id(self, batch_id: str) -> str:
        """JetStream de-duplication id of a batch: scoped to a proven sensor, so that one
        sensor cannot pre-empt another's batch ids."""
        return f"{batch_id}@{self.proven[0]}/{self.proven[1]}" if self.proven else batch_id

    def key(self) -> tuple[str, str, str]:
        return self.node.cluster, self.node.name, self.sensor_id

    def view(self) -> dict:
        s = self.last_status
        up = max(time.time() - self.connected_at, 1e-3)
        return {
            "sensor": self.sensor_id, "cluster": self.node.cluster, "node": self.node.name,
            "provider": event_pb2.Node.Provider.Name(self.node.provider), "peer": self.peer,
            "verified": self.proven is not None,
            "capabilities": list(self.capabilities), "connected_s": round(up, 1),
            "batches": self.batches, "events": self.events, "rejected": self.rejected,
            "deadlettered": self.deadlettered,
            "events_per_s": round(s.events_per_second, 1) if s else round(self.events / up, 1),
            "lost": s.events_lost if s else 0, "overflow": s.buffer_overflow if s else 0,
            "unacked": s.unacked_batches if s else 0,
            "programs": list(s.programs_loaded) if s else [],
            "policies": [{"name": p.name, "mode": p.mode, "allowed": p.allowed, "audited": p.audited,
                          "blocked": p.blocked, "cgroups": list(p.cgroups)} for p in s.policies] if s else [],
            "acks": {pid: {"ok": ok, "detail": detail} for pid, (ok, detail) in self.acks.items()},
        }


class Registry:
    def __init__(self) -> None:
        self.programs: dict[str, dict] = {}   # cluster -> policy -> the newest cluster-wide program
        # Keyed by node too: a sensor id claimed from another node never displaces a session.
        self._by_id: dict[tuple[str, str, str], Session] = {}

    def add(self, s: Session) -> None:
        self._by_id[s.key()] = s

    def remove(self, s: Session) -> None:
        if self._by_id.get(s.key()) is s:
            del self._by_id[s.key()]

    def for_node(self, cluster: str, node: str) -> list[Session]:
        """The sessions of one node; of every node of the cluster for subjects.ALL_NODES."""
        return [s for s in self._by_id.values()
                if s.node.cluster == cluster and (node == subjects.ALL_NODES or s.node.name == node)]

    def keep_program(self, cluster: str, program) -> None:
        """The newest program of each policy per cluster, for sensors that connect later."""
        policies = self.programs.setdefault(cluster, {})
        if program.spec:
            policies[program.policy] = program
        else:
            policies.pop(program.policy, None)

    def programs_for(self, cluster: str) -> list:
        return list(self.programs.get(cluster, {}).values())

    def view(self) -> list[dict]:
        return [s.view() for s in self._by_id.values()]

    def __len__(self) -> int:
        return len(self._by_id)
