// What watched processes write to and read from sockets and pipes, when it
// starts like an HTTP message or a JSON object (emit_data in common.c): plain
// HTTP heads and bodies, and MCP's newline-delimited JSON-RPC over stdio.
// Attached by name in probes/payload.py: dns.c already owns the sendto and
// recvfrom TRACEPOINT_PROBEs, and a tracepoint takes several programs.

// Buffers shorter than this hold no HTTP request or JSON-RPC message worth parsing (the
// shortest are ~18 and ~40 bytes), and are most of what a node reads and writes in small
// pieces: TLS record headers (5 bytes), eventfd and timerfd counters (8). Told by the
// length alone, before anything else is looked at.
#define MIN_DATA 16

struct read_stash {
    u64 buf;   // 0: no read in flight
    u64 fd;
};

// A read's buffer from its syscall's entry to its exit, per thread: in task storage
// (no hash insert and delete per read, and a task that never read while watched has
// none to look up), or a hash by thread where tracing programs have no task storage.
#ifdef STASH_HASH
BPF_HASH(data_reads, u64, struct read_stash, 8192);   // pid_tgid -> read in flight

static __always_inline void read_keep(struct read_stash *s) {
    u64 id = bpf_get_current_pid_tgid();
    data_reads.update(&id, s);
}

static __always_inline int read_take(struct read_stash *out) {
    u64 id = bpf_get_current_pid_tgid();
    struct read_stash *s = data_reads.lookup(&id);
    if (!s)
        return 0;
    *out = *s;
    data_reads.delete(&id);
    return 1;
}
#else
BPF_TASK_STORAGE(data_read_task, struct read_stash);

static __always_inline void read_keep(struct read_stash *s) {
    struct read_stash *t = data_read_task.task_storage_get(bpf_get_current_task_btf(), 0,
                                                           BPF_LOCAL_STORAGE_GET_F_CREATE);
    if (t)
        *t = *s;
    else
        count_lost();
}

static __always_inline int read_take(struct read_stash *out) {
    struct read_stash *t = data_read_task.task_storage_get(bpf_get_current_task_btf(), 0, 0);
    if (!t || !t->buf)
        return 0;
    *out = *t;
    t->buf = 0;
    return 1;
}
#endif

int payload_write(struct syscall_enter *args) {
    if (args->args[2] < MIN_DATA)
        return 0;
    u64 cg = bpf_get_current_cgroup_id();
    if (!watched(cg))
        return 0;
    emit_data(cg, DIR_WRITE, VIA_SYSCALL, args->args[0], (const char *)args->args[1], args->args[2]);
    return 0;
}

int payload_read_enter(struct syscall_enter *args) {
    if (args->args[2] < MIN_DATA || !watched(bpf_get_current_cgroup_id()))
        return 0;
    struct read_stash s = {.buf = args->args[1], .fd = args->args[0]};
    if (s.buf)
        read_keep(&s);
    return 0;
}

int payload_read_exit(struct syscall_exit *args) {
    struct read_stash s;
    if (!read_take(&s))
        return 0;
    if (args->ret > 0)
        emit_data(bpf_get_current_cgroup_id(), DIR_READ, VIA_SYSCALL, s.fd, (const char *)s.buf,
                  args->ret);
    return 0;
}
