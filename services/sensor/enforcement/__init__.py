"""Kernel enforcement of egress policies: cgroup BPF programs (bpf/enforce.c) that let an
agent reach only its policy's destinations, in audit or enforce mode, pinned in bpffs so
they hold while the sensor restarts.

    enforcer = Enforcer()                       # pins under /sys/fs/bpf/weft
    enforcer.adopt()                            # what a previous sensor left enforced
    enforcer.apply(policy, select_cgroups(policy, metadata_file))
    ... enforcer.refresh(); events = enforcer.decisions()   # every second or so
    enforcer.remove("support-agent")

`allowlist` is the pure part (policy -> the kernel's entries); `downlink` answers the
gateway's EnforcementProgram messages.
"""
from .allowlist import AllowList, PolicyError, compile_allowlist
from .enforcer import Enforcer, Result
from .selection import select_cgroups

__all__ = ["AllowList", "Enforcer", "PolicyError", "Result", "compile_allowlist", "select_cgroups"]
