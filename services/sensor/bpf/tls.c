// TLS plaintext from OpenSSL: uprobes on SSL_write/SSL_write_ex (the buffer on
// entry) and SSL_read/SSL_read_ex (the buffer on return), attached per libssl
// file in probes/tls.py. The stream is the SSL *, one per connection.

struct tls_read {
    u64 ssl;
    u64 buf;
    u64 readbytes;   // size_t * of SSL_read_ex, 0 for SSL_read
};

BPF_HASH(tls_reads, u64, struct tls_read, 8192);   // pid_tgid -> SSL_read in flight

int tls_write_enter(struct pt_regs *ctx) {
    u64 cg = bpf_get_current_cgroup_id();
    if (!watched(cg))
        return 0;
    emit_data(cg, DIR_WRITE, VIA_TLS, PT_REGS_PARM1(ctx), (const char *)PT_REGS_PARM2(ctx),
              PT_REGS_PARM3(ctx));
    return 0;
}

static __always_inline int tls_read_stash(struct pt_regs *ctx, u64 readbytes) {
    if (!watched(bpf_get_current_cgroup_id()))
        return 0;
    u64 id = bpf_get_current_pid_tgid();
    struct tls_read r = {.ssl = PT_REGS_PARM1(ctx), .buf = PT_REGS_PARM2(ctx), .readbytes = readbytes};
    tls_reads.update(&id, &r);
    return 0;
}

int tls_read_enter(struct pt_regs *ctx) {
    return tls_read_stash(ctx, 0);
}

int tls_read_ex_enter(struct pt_regs *ctx) {
    return tls_read_stash(ctx, PT_REGS_PARM4(ctx));
}

int tls_read_return(struct pt_regs *ctx) {
    u64 id = bpf_get_current_pid_tgid();
    struct tls_read *p = tls_reads.lookup(&id);
    if (!p)
        return 0;
    struct tls_read r = *p;
    tls_reads.delete(&id);
    long ret = PT_REGS_RC(ctx);
    u64 n = 0;
    if (r.readbytes) {   // SSL_read_ex: 1 on success, the count in *readbytes
        if (ret != 1 || bpf_probe_read_user(&n, sizeof(n), (void *)r.readbytes))
            return 0;
    } else if (ret > 0) {
        n = ret;
    }
    if (n)
        emit_data(bpf_get_current_cgroup_id(), DIR_READ, VIA_TLS, r.ssl, (const char *)r.buf, n);
    return 0;
}
