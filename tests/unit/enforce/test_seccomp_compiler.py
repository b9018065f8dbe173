"""SeccompProfile: the observed syscalls allowed, everything else refused (enforce) or
logged (observe, audit)."""
from __future__ import annotations

import pytest

from enforce_intents import policy
from weft.enforce.compilers.seccomp import SeccompCompiler


@pytest.mark.parametrize("mode, default", [("enforce", "SCMP_ACT_ERRNO"), ("audit", "SCMP_ACT_LOG"),
                                           ("observe", "SCMP_ACT_LOG")])
def test_seccomp_table(mode, default):
    out = SeccompCompiler().compile(policy(mode=mode, syscalls=["write", "read", "read", "openat"]))
    assert out.documents == [{
        "apiVersion": "security-profiles-operator.x-k8s.io/v1beta1", "kind": "SeccompProfile",
        "metadata": {"name": "weft-bot", "namespace": "agents",
                     "labels": {"app.kubernetes.io/managed-by": "weft", "weft.dev/policy": "bot"}},
        "spec": {"defaultAction": default,
                 "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"],
                 "syscalls": [{"action": "SCMP_ACT_ALLOW", "names": ["openat", "read", "write"]}]}}]
    assert out.notes == ["pods use it with securityContext.seccompProfile: {type: Localhost, localhostProfile: "
                         "operator/agents/weft-bot.json}"]
