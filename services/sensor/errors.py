"""SensorUnavailable, and the host checks that decide it before anything compiles.

Each check names what is missing in words an operator can act on; the exception
carries all of them in one message.
"""

from __future__ import annotations

import importlib.util
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path

CAP_SYS_ADMIN = 21
CAP_PERFMON = 38
CAP_BPF = 39
TRACEFS = "/sys/kernel/tracing"


class SensorUnavailable(RuntimeError):
    """eBPF cannot run here; the message lists every reason at once."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("eBPF sensor unavailable: " + "; ".join(self.problems))


@dataclass(frozen=True)
class KernelHeaders:
    """Where bcc finds the kernel headers: `source` for BCC_KERNEL_SOURCE, plus
    include flags for the generated headers of a split (Debian) build tree."""

    source: str
    cflags: list[str] = field(default_factory=list)


def default_build_dir() -> str:
    return os.environ.get("WEFT_KERNEL_BUILD_DIR") or f"/lib/modules/{platform.release()}/build"


def kernel_headers(build_dir: str) -> KernelHeaders | None:
    """Resolve a build dir to a usable header tree, or None when it is not one.

    Debian splits headers into an arch tree (generated headers, a Makefile that
    includes the common tree) and a common tree (include/linux). bcc only finds
    the common tree through a `source` link, which is not always there."""
    build = Path(build_dir)
    if not (build / "include/generated/autoconf.h").is_file():
        return None
    if (build / "include/linux").is_dir():
        return KernelHeaders(str(build))
    common = _common_tree(build)
    if common is None:
        return None
    arch = {"x86_64": "x86", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    gen = [f"arch/{arch}/include/generated", "include", f"arch/{arch}/include/generated/uapi",
           "include/generated/uapi"]
    return KernelHeaders(str(common), [f"-I{build / g}" for g in gen])


def _common_tree(build: Path) -> Path | None:
    candidates = [build.parent / "source"]
    makefile = build / "Makefile"
    if makefile.is_file():
        for line in makefile.read_text(errors="replace").splitlines():
            if line.startswith("include ") and line.endswith("/Makefile"):
                candidates.append(Path(line.split(None, 1)[1]).parent)
    return next((c for c in candidates if (c / "include/linux").is_dir()), None)


def _has_bpf_capabilities() -> bool:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapEff:"):
                caps = int(line.split()[1], 16)
                bpf = caps >> CAP_BPF & 1 and caps >> CAP_PERFMON & 1
                return bool(bpf or caps >> CAP_SYS_ADMIN & 1)
    except OSError:
        pass
    return False


def _tracefs_mounted(path: str) -> bool:
    """Mounted, even where this user may not look inside it."""
    if os.path.isdir(os.path.join(path, "events")):
        return True
    try:
        with open("/proc/self/mounts") as f:
            return any(m.split()[1:3] == [path, "tracefs"] for m in f)
    except OSError:
        return False


def preflight(kernel_build_dir: str | None = None, tracefs: str = TRACEFS) -> list[str]:
    """Every reason eBPF cannot load here, empty when it can."""
    problems = []
    if os.geteuid() != 0 and not _has_bpf_capabilities():
        problems.append("not running as root (needs root, or CAP_BPF and CAP_PERFMON, "
                        "or CAP_SYS_ADMIN)")
    build = kernel_build_dir or default_build_dir()
    if not os.path.exists(build):
        problems.append(f"kernel headers link missing ({build} absent; "
                        "install linux-headers and run 'make setup')")
    elif kernel_headers(build) is None:
        problems.append(f"kernel headers incomplete at {build} (no include/generated/autoconf.h "
                        "or include/linux)")
    if not _tracefs_mounted(tracefs):
        problems.append(f"tracefs not mounted at {tracefs} "
                        f"(mount -t tracefs nodev {tracefs})")
    if importlib.util.find_spec("bcc") is None:
        problems.append("bcc is not importable (install python3-bpfcc and run 'make setup')")
    return problems
