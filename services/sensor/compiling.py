"""Compiling BPF C with bcc, one program set at a time.

bcc finds kernel headers through BCC_KERNEL_SOURCE, a process-wide environment
variable: the collector's probes and an enforcement policy arriving at the same moment
(a sensor starting while the gateway replays its cluster's policies) would otherwise
compile with each other's setting. A lock makes each compile see its own."""
from __future__ import annotations

import os
import threading

_LOCK = threading.Lock()


def compile_bpf(text: bytes, cflags: list[str], kernel_source: str):
    import bcc
    with _LOCK:
        saved = os.environ.get("BCC_KERNEL_SOURCE")
        os.environ["BCC_KERNEL_SOURCE"] = kernel_source
        try:
            return bcc.BPF(text=text, cflags=cflags)
        finally:
            if saved is None:
                os.environ.pop("BCC_KERNEL_SOURCE", None)
            else:
                os.environ["BCC_KERNEL_SOURCE"] = saved
