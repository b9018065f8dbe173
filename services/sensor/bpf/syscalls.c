// The set of syscalls each learning workload makes, as a bitmap per cgroup, for the
// seccomp profile its agent's policy compiles to. Attached (by probes/syscalls.py)
// only while some watched workload is learning: raw_syscalls:sys_enter runs on every
// syscall of the node, so when nobody learns nobody pays.
#define SYSCALL_WORDS 8    // syscall numbers 0..511

struct raw_sys_enter {     // raw_syscalls:sys_enter's format (common fields, id, args)
    u64 common;
    long id;
    u64 args[6];
};

struct sys_bits {
    u64 w[SYSCALL_WORDS];
};

BPF_HASH(syscall_learning, u64, u8, 4096);            // cgroup id -> 1 while its profile learns
BPF_HASH(syscall_bits, u64, struct sys_bits, 4096);   // cgroup id -> syscalls seen

int syscalls_enter(struct raw_sys_enter *args) {
    u64 cg = bpf_get_current_cgroup_id();
    if (!syscall_learning.lookup(&cg))
        return 0;
    long id = args->id;
    if (id < 0 || id >= SYSCALL_WORDS * 64)
        return 0;
    struct sys_bits *b = syscall_bits.lookup(&cg);
    if (!b) {
        struct sys_bits none = {};
        syscall_bits.insert(&cg, &none);
        b = syscall_bits.lookup(&cg);
        if (!b)
            return 0;
    }
    u32 word = (u32)id >> 6;
    u64 bit = 1ULL << (id & 63);
    if (word < SYSCALL_WORDS && !(b->w[word] & bit))
        __sync_fetch_and_or(&b->w[word], bit);
    return 0;
}
