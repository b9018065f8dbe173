from pathlib import Path

from weft.common import cgroupfs

HYBRID = ("30 23 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
          "41 30 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n")
PURE = "29 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"


def test_the_cgroup2_mount_is_found_on_hybrid_and_pure_v2_hosts():
    assert cgroupfs.v2_mount_in(HYBRID) == Path("/sys/fs/cgroup/unified")
    assert cgroupfs.v2_mount_in(PURE) == Path("/sys/fs/cgroup")
    assert cgroupfs.v2_mount_in(HYBRID.splitlines()[0]) is None
