// What watched processes write to and read from sockets and pipes, when it
// starts like an HTTP message or a JSON object (emit_data in common.c): plain
// HTTP heads and bodies, and MCP's newline-delimited JSON-RPC over stdio.
// Attached by name in probes/payload.py: dns.c already owns the sendto and
// recvfrom TRACEPOINT_PROBEs, and a tracepoint takes several programs.

struct read_stash {
    u64 buf;
    u64 fd;
};

BPF_HASH(data_reads, u64, struct read_stash, 8192);   // pid_tgid -> read in flight

int payload_write(struct syscall_enter *args) {
    u64 cg = bpf_get_current_cgroup_id();
    if (!watched(cg))
        return 0;
    emit_data(cg, DIR_WRITE, VIA_SYSCALL, args->args[0], (const char *)args->args[1], args->args[2]);
    return 0;
}

int payload_read_enter(struct syscall_enter *args) {
    if (!watched(bpf_get_current_cgroup_id()))
        return 0;
    u64 id = bpf_get_current_pid_tgid();
    struct read_stash s = {.buf = args->args[1], .fd = args->args[0]};
    data_reads.update(&id, &s);
    return 0;
}

int payload_read_exit(struct syscall_exit *args) {
    u64 id = bpf_get_current_pid_tgid();
    struct read_stash *s = data_reads.lookup(&id);
    if (!s)
        return 0;
    struct read_stash st = *s;
    data_reads.delete(&id);
    if (args->ret > 0)
        emit_data(bpf_get_current_cgroup_id(), DIR_READ, VIA_SYSCALL, st.fd,
                  (const char *)st.buf, args->ret);
    return 0;
}
