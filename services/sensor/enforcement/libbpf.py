"""The few bpf(2) operations enforcement needs on file descriptors bcc does not manage:
pinned objects, cgroup attachment and its query, and maps opened from bpffs. Through
libbpf, which bcc's library links (loaded on first use: importing this needs no bcc)."""
from __future__ import annotations

import ctypes as ct
import functools
import os
from typing import Iterator

BPF_F_ALLOW_MULTI = 1 << 1
BPF_ANY, BPF_NOEXIST = 0, 1


@functools.cache
def lib() -> ct.CDLL:
    from bcc.libbcc import lib as bcc_lib

    u32p = ct.POINTER(ct.c_uint32)
    for name, args in {
        "bpf_obj_pin": [ct.c_int, ct.c_char_p], "bpf_obj_get": [ct.c_char_p],
        "bpf_prog_attach": [ct.c_int, ct.c_int, ct.c_int, ct.c_uint],
        "bpf_prog_detach2": [ct.c_int, ct.c_int, ct.c_int],
        "bpf_prog_query": [ct.c_int, ct.c_int, ct.c_uint32, u32p, u32p, u32p],
        "bpf_obj_get_info_by_fd": [ct.c_int, ct.c_void_p, u32p],
    }.items():
        fn = getattr(bcc_lib, name)
        fn.argtypes, fn.restype = args, ct.c_int
    return bcc_lib


def _check(res: int, what: str) -> int:
    if res < 0:
        err = ct.get_errno() or -res
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return res


def obj_pin(fd: int, path: str) -> None:
    _check(lib().bpf_obj_pin(fd, path.encode()), f"pin {path}")


def obj_get(path: str) -> int:
    return _check(lib().bpf_obj_get(path.encode()), f"open pinned {path}")


def prog_attach(prog_fd: int, cgroup_fd: int, attach_type: int) -> None:
    """Attached beside whatever else is there; the kernel holds it until detached or the
    cgroup goes, whether or not this process lives."""
    _check(lib().bpf_prog_attach(prog_fd, cgroup_fd, attach_type, BPF_F_ALLOW_MULTI), "attach")


def prog_detach(prog_fd: int, cgroup_fd: int, attach_type: int) -> None:
    _check(lib().bpf_prog_detach2(prog_fd, cgroup_fd, attach_type), "detach")


def prog_query(cgroup_fd: int, attach_type: int) -> list[int]:
    """Ids of the programs attached to this cgroup itself (not inherited) at this hook."""
    ids = (ct.c_uint32 * 64)()
    count, flags = ct.c_uint32(64), ct.c_uint32(0)
    _check(lib().bpf_prog_query(cgroup_fd, attach_type, 0, ct.byref(flags), ids, ct.byref(count)),
           "query attached programs")
    return list(ids[:count.value])


def info(fd: int) -> tuple[int, int, int, int]:
    """(type, id, key size, value size) of a map; a program's (type, id) come first too."""
    buf = (ct.c_uint32 * 32)()   # struct bpf_map_info / bpf_prog_info: type, id, ...
    size = ct.c_uint32(ct.sizeof(buf))
    _check(lib().bpf_obj_get_info_by_fd(fd, buf, ct.byref(size)), "object info")
    return buf[0], buf[1], buf[2], buf[3]


class Map:
    """A map by file descriptor, with ctypes keys and values."""

    def __init__(self, fd: int, key_type: type, value_type: type):
        self.fd, self.key_type, self.value_type = fd, key_type, value_type

    def get(self, key) -> object | None:
        value = self.value_type()
        if lib().bpf_lookup_elem(self.fd, ct.byref(key), ct.byref(value)) < 0:
            return None
        return value

    def put(self, key, value, flags: int = BPF_ANY) -> None:
        _check(lib().bpf_update_elem(self.fd, ct.byref(key), ct.byref(value), flags), "map update")

    def delete(self, key) -> None:
        lib().bpf_delete_elem(self.fd, ct.byref(key))   # already gone is fine

    def keys(self) -> Iterator:
        """Every key; a snapshot taken first, so deleting while iterating is safe."""
        found, key, nxt = [], None, self.key_type()
        while lib().bpf_get_next_key(self.fd, ct.byref(key) if key is not None else None,
                                     ct.byref(nxt)) == 0:
            key = self.key_type.from_buffer_copy(nxt)
            found.append(key)
        return iter(found)

    def items(self) -> Iterator[tuple]:
        for key in self.keys():
            value = self.get(key)
            if value is not None:
                yield key, value

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class RingReader:
    """Records of a BPF ring buffer map, consumed when asked (never a wake-up per record)."""

    def __init__(self, map_fd: int):
        from bcc.libbcc import _RINGBUF_CB_TYPE

        self._records: list[bytes] = []
        self._callback = _RINGBUF_CB_TYPE(self._on_record)   # kept: libbpf calls it later
        self._ring = lib().bpf_new_ringbuf(map_fd, self._callback, None)
        if not self._ring:
            raise OSError(ct.get_errno(), "open the decision ring buffer")

    def _on_record(self, _ctx, data, size) -> int:
        self._records.append(ct.string_at(data, size))
        return 0

    def drain(self) -> list[bytes]:
        lib().bpf_consume_ringbuf(self._ring)
        out, self._records = self._records, []
        return out

    def close(self) -> None:
        if self._ring:
            lib().bpf_free_ringbuf(self._ring)
            self._ring = None
