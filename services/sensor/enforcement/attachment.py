"""A policy's programs on cgroups: attached once per hook, detached by the same program.

Legacy BPF_PROG_ATTACH (not a bpf_link) on purpose: the attachment belongs to the
cgroup, not to this process, so enforcement holds while the sensor restarts. What is
attached is read back from the kernel (bpf_prog_query), never assumed, which is what
keeps a restarted sensor from attaching a second copy.
"""
from __future__ import annotations

import errno
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .libbpf import prog_attach, prog_detach, prog_query
from .pinned import ATTACH, PinnedSet


@contextmanager
def cgroup_fd(cgroup: Path) -> Iterator[int]:
    fd = os.open(cgroup, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield fd
    finally:
        os.close(fd)


def attach(pinned: PinnedSet, cgroup: Path) -> list[str]:
    """Attach every hook not attached yet; returns the hooks attached now."""
    done = []
    with cgroup_fd(cgroup) as fd:
        for hook, attach_type in ATTACH.items():
            if pinned.prog_id(hook) in prog_query(fd, attach_type):
                continue
            prog_attach(pinned.progs[hook], fd, attach_type)
            done.append(hook)
    return done


def detach(pinned: PinnedSet, cgroup: Path) -> list[str]:
    """Detach every hook of this policy; a cgroup already gone took them with it."""
    done = []
    try:
        with cgroup_fd(cgroup) as fd:
            for hook, attach_type in ATTACH.items():
                if pinned.prog_id(hook) in prog_query(fd, attach_type):
                    prog_detach(pinned.progs[hook], fd, attach_type)
                    done.append(hook)
    except FileNotFoundError:
        pass
    except OSError as e:
        if e.errno != errno.ENOENT:
            raise
    return done


def attached_ids(cgroup: Path) -> dict[str, list[int]]:
    """hook -> ids of every program attached to this cgroup itself there (ours or not)."""
    with cgroup_fd(cgroup) as fd:
        return {hook: prog_query(fd, attach_type) for hook, attach_type in ATTACH.items()}
