"""Security Profiles Operator SeccompProfile from the syscalls the agent was seen to make:
those are allowed, anything else fails with EPERM (enforce) or is logged (observe, audit)."""
from __future__ import annotations

from weft.enforce.core import ir
from weft.enforce.compilers import kube
from weft.enforce.compilers.base import Compiler, Output, register


@register("seccomp")
class SeccompCompiler(Compiler):
    description = "Security Profiles Operator SeccompProfile (v1beta1): the allowed syscalls"
    schema = "spo/seccompprofile"
    aspects = ("syscalls",)
    api_version = "security-profiles-operator.x-k8s.io/v1beta1"
    kind = "SeccompProfile"
    default_action = {"enforce": "SCMP_ACT_ERRNO", "audit": "SCMP_ACT_LOG", "observe": "SCMP_ACT_LOG"}
    architectures = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"]

    def compile(self, policy: ir.Policy) -> Output:
        meta = kube.metadata(policy)
        doc = {"apiVersion": self.api_version, "kind": self.kind, "metadata": meta,
               "spec": {"defaultAction": self.default_action[policy.mode], "architectures": self.architectures,
                        "syscalls": [{"action": "SCMP_ACT_ALLOW", "names": list(policy.syscalls)}]}}
        return Output([doc], [policy.syscalls_origin, "spec.mode"],
                      notes=[f"pods use it with securityContext.seccompProfile: {{type: Localhost, localhostProfile: "
                             f"operator/{meta['namespace']}/{meta['name']}.json}}"])
