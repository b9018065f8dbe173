"""KubeArmorPolicy: the executables the agent may run and the files it may read or write,
as an allow-list (action Allow). Directories in the intent (`/app/`) match everything
below them (recursive); a read-only path is readOnly."""
from __future__ import annotations

from weft.enforce.core import ir
from weft.enforce.compilers import kube
from weft.enforce.compilers.base import Compiler, Gap, Output, register


@register("kubearmor")
class KubeArmorCompiler(Compiler):
    description = "KubeArmorPolicy (security.kubearmor.com/v1): allowed executables and file paths"
    schema = "kubearmor/policy"
    aspects = ("executables", "files")
    api_version = "security.kubearmor.com/v1"
    kind = "KubeArmorPolicy"
    action = "Allow"

    def compile(self, policy: ir.Policy) -> Output:
        spec: dict = {"selector": kube.match_labels(policy)}
        if policy.executables:
            spec["process"] = self.rules(policy.executables, with_access=False)
        if policy.files:
            spec["file"] = self.rules(policy.files, with_access=True)
        spec["action"] = self.action
        doc = {"apiVersion": self.api_version, "kind": self.kind, "metadata": kube.metadata(policy), "spec": spec}
        enforces = [p.origin for p in policy.executables + policy.files]
        gaps = []
        if policy.mode != "enforce":
            gaps.append(Gap("spec.mode", f"a KubeArmor allow-list audits or blocks by the namespace's default "
                                         f"posture, not by the policy: annotate namespace {policy.selector.namespace} "
                                         "kubearmor-file-posture=audit for mode " + policy.mode))
        notes = [f"blocks what is not allowed when namespace {policy.selector.namespace} has "
                 "kubearmor-file-posture=block"] if policy.mode == "enforce" else []
        return Output([doc], enforces, gaps, notes)

    @staticmethod
    def rules(paths: tuple[ir.PathAllow, ...], with_access: bool) -> dict:
        def access(p: ir.PathAllow) -> dict:
            return {"readOnly": not p.write} if with_access else {}
        out: dict = {}
        exact = [{"path": p.path, **access(p)} for p in paths if not p.prefix]
        dirs = [{"dir": p.path, "recursive": True, **access(p)} for p in paths if p.prefix]
        if exact:
            out["matchPaths"] = exact
        if dirs:
            out["matchDirectories"] = dirs
        return out
