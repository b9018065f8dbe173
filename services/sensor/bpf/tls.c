// TLS plaintext from OpenSSL: uprobes on the write calls (the buffer on entry) and
// the read calls (the buffer on return), placed per libssl file by probes/tls.py
// (on SSL_write/SSL_read and their _ex forms, or on the internal functions those
// share, see sight/libssl.py). The stream is the SSL *, one per connection.
//
// Every message head is captured, in both directions. Of the JSON that follows,
// only a request body's first chunk is (its head may come in a buffer of its own):
// response bodies and body continuations are what a keep-alive loop reads most
// and nothing downstream uses them.

struct tls_read {
    u64 ssl;
    u64 buf;
    u64 readbytes;   // size_t * of SSL_read_ex and the internal function, 0 for SSL_read
};

struct tls_stream {
    u64 ssl;
    u32 tgid;
    u32 dir;
};

BPF_HASH(tls_reads, u64, struct tls_read, 8192);   // pid_tgid -> SSL_read in flight
// Streams (and directions) whose last head was a request's, its body not yet begun.
LRU_HASH(tls_body_due, struct tls_stream, u8, 8192);

static __always_inline void emit_tls(u64 cg, u8 dir, u64 ssl, const char *buf, u64 len) {
    int kind = data_kind_at(buf, len, dir);
    if (kind == DATA_NONE)
        return;
    struct tls_stream key = {.ssl = ssl, .tgid = bpf_get_current_pid_tgid() >> 32, .dir = dir};
    if (kind == DATA_JSON) {
        if (!tls_body_due.lookup(&key))
            return;
        tls_body_due.delete(&key);
    } else if (kind == DATA_REQUEST) {
        u8 due = 1;
        tls_body_due.update(&key, &due);
    }
    emit_captured(cg, dir, VIA_TLS, ssl, buf, len);
}

int tls_write_enter(struct pt_regs *ctx) {
    u64 cg = bpf_get_current_cgroup_id();
    if (!watched(cg))
        return 0;
    emit_tls(cg, DIR_WRITE, PT_REGS_PARM1(ctx), (const char *)PT_REGS_PARM2(ctx), PT_REGS_PARM3(ctx));
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
    int ret = (int)PT_REGS_RC(ctx);   // every one of these returns an int
    u64 n = 0;
    if (r.readbytes) {   // > 0 on success, the count in *readbytes
        if (ret <= 0 || bpf_probe_read_user(&n, sizeof(n), (void *)r.readbytes))
            return 0;
    } else if (ret > 0) {
        n = ret;
    }
    if (n)
        emit_tls(bpf_get_current_cgroup_id(), DIR_READ, r.ssl, (const char *)r.buf, n);
    return 0;
}
