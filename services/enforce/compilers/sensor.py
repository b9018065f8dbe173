"""weft's own sensor policy: per agent, the destination CIDRs and ports, the names to
resolve into allowed addresses, the executables and file prefixes, and the mode. The
sensor turns it into kernel allow-lists (see weft.enforce.core.sensorpolicy)."""
from __future__ import annotations

from weft.enforce.core import ir, sensorpolicy
from weft.enforce.compilers.base import Compiler, Output, register


@register("sensor")
class SensorCompiler(Compiler):
    description = "weft sensor policy: kernel allow-lists for egress, executables and files, with the mode"
    file_format = "json"
    schema = "weft/sensor-policy"
    aspects = ("hosts", "networks", "executables", "files")

    def compile(self, policy: ir.Policy) -> Output:
        sel = policy.selector
        # The sensor selects by the workload its metadata names; labels only when the
        # intent declared them (the IR's default label is for label-selecting targets).
        derived = sel.workload and sel.labels == {ir.DEFAULT_WORKLOAD_LABEL: sel.workload}
        agent = {"namespace": sel.namespace, "podLabels": {} if derived else sel.labels,
                 "clusters": [c.name for c in policy.clusters] or list(sel.clusters)}
        agent.update({k: v for k, v in (("workload", sel.workload), ("serviceAccount", sel.service_account)) if v})
        doc = {"apiVersion": sensorpolicy.API_VERSION, "kind": sensorpolicy.KIND,
               "metadata": {"name": policy.name, "source": policy.source},
               "spec": {"mode": policy.mode, "agent": agent,
                        "egress": {"cidrs": [{"cidr": str(n.network), "ports": self.ports(n.ports)}
                                             for n in policy.networks],
                                   "fqdns": [{"name": h.domain, "match": h.wildcard, "ports": self.ports(h.ports)}
                                             for h in policy.hosts]},
                        "executables": [self.path(p) for p in policy.executables],
                        "files": [{**self.path(p), "write": p.write} for p in policy.files]}}
        enforces = [x.origin for x in policy.hosts + policy.networks + policy.executables + policy.files]
        return Output([doc], enforces + ["spec.mode"])

    @staticmethod
    def ports(ports: tuple[ir.PortRange, ...]) -> list[dict]:
        return [{"first": p.first, "last": p.last, "protocol": p.protocol} for p in ports]

    @staticmethod
    def path(p: ir.PathAllow) -> dict:
        return {"path": p.path, "prefix": p.prefix}
