// TLS plaintext from OpenSSL: uprobes on the write calls (the buffer on entry) and
// the read calls (the buffer on return), placed per libssl file by probes/tls.py
// (on SSL_write/SSL_read and their _ex forms, or on the internal functions those
// share, see sight/libssl.py). The stream is the SSL *, one per connection.
//
// Every message head is captured, in both directions. Of the JSON that follows,
// only a request body's first chunk is (its head may come in a buffer of its own,
// and then goes out with it): response bodies and body continuations are what a
// keep-alive loop reads most and nothing downstream uses them.

struct tls_read {
    u64 ssl;         // 0: no read in flight
    u64 buf;
    u64 readbytes;   // size_t * of SSL_read_ex and the internal function, 0 for SSL_read
};

struct tls_stream {
    u64 ssl;
    u32 tgid;
    u32 dir;
};

// A held head and the start of its body, as one record: the body follows on in `more`.
struct tls_joined {
    struct data_event e;
    char more[DATA_CAP];
};

// Streams (and directions) whose last head was that of a request with a body (POST,
// PUT, PATCH), the body not yet begun.
LRU_HASH(tls_body_due, struct tls_stream, u8, 8192);
// A request head that came alone (its body most often the very next buffer), held so
// that head and body start go out as one record. The next buffer on the stream, either
// way, sends it out; user space takes those held longer than it waits for a body
// (probes/tls.py). Whoever deletes the entry sends it.
BPF_F_TABLE("hash", struct tls_stream, struct data_event, tls_held, 1024, BPF_F_NO_PREALLOC);
BPF_PERCPU_ARRAY(tls_join_scratch, struct tls_joined, 1);

#define METHOD_POST 0x54534f50
#define METHOD_PUT 0x20545550
#define METHOD_PATCH 0x43544150
#define HEAD_END 0x0a0d0a0d

// A request of a method that carries a body (the JSON after its head is captured).
static __always_inline int body_method(u32 first4) {
    return first4 == METHOD_POST || first4 == METHOD_PUT || first4 == METHOD_PATCH;
}

// A head that is the whole buffer (its body comes in the next one).
static __always_inline int head_alone(const char *buf, u64 len) {
    u32 tail = 0;
    if (len >= DATA_CAP || bpf_probe_read_user(&tail, 4, buf + len - 4))
        return 0;
    return tail == HEAD_END;
}

static __always_inline void hold(struct tls_stream *key, u64 cg, const char *buf, u64 len) {
    struct data_event *e = capture(cg, key->dir, VIA_TLS, key->ssl, buf, len);
    if (e && tls_held.update(key, e))
        submit(e);   // no room to hold it: out alone
}

// The held head, copied out of the map and taken from it; NULL when there is none
// or user space took it first.
static __always_inline struct tls_joined *take_held(struct tls_stream *key) {
    struct data_event *held = tls_held.lookup(key);
    if (!held)
        return 0;
    int zero = 0;
    struct tls_joined *j = tls_join_scratch.lookup(&zero);
    if (!j)
        return 0;
    u32 size = offsetof(struct data_event, data) + (held->captured & (DATA_CAP - 1));
    if (bpf_probe_read_kernel(j, size, held) || tls_held.delete(key))
        return 0;
    return j;
}

static __always_inline void flush_held(struct tls_stream *key) {
    struct tls_joined *j = take_held(key);
    if (j)
        submit(&j->e);
}

// The held head and this buffer (its body's start) as one record.
static __always_inline int join_held(struct tls_stream *key, const char *buf, u64 len) {
    struct tls_joined *j = take_held(key);
    if (!j)
        return 0;
    u32 h = j->e.captured & (DATA_CAP - 1);
    u32 n = len > DATA_CAP - 1 ? DATA_CAP - 1 : len;
    n &= DATA_CAP - 1;
    if (bpf_probe_read_user((char *)j + offsetof(struct data_event, data) + h, n, buf))
        n = 0;
    u64 moved = (u64)j->e.len + len;
    j->e.len = moved > 0xffffffff ? 0xffffffff : moved;
    j->e.captured = h + n;
    u32 size = offsetof(struct data_event, data) + ((h + n) & (2 * DATA_CAP - 1));
    if (events.ringbuf_output(j, size, BPF_RB_NO_WAKEUP))
        count_lost();
    return 1;
}

static __always_inline void emit_tls(u64 cg, u8 dir, u64 ssl, const char *buf, u64 len) {
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    struct tls_stream key = {.ssl = ssl, .tgid = tgid, .dir = dir};
    struct tls_stream other = {.ssl = ssl, .tgid = tgid, .dir = !dir};
    flush_held(&other);   // the stream moved the other way: a head held there is complete
    u32 first4 = 0;
    if (!buf || len < 2 || bpf_probe_read_user(&first4, len < 4 ? 1 : 4, buf))
        first4 = 0;
    int kind = data_kind(first4, dir);
    if (kind == DATA_JSON && join_held(&key, buf, len)) {
        tls_body_due.delete(&key);
        return;
    }
    flush_held(&key);
    if (kind == DATA_NONE)
        return;
    if (kind == DATA_JSON) {
        if (!tls_body_due.lookup(&key))
            return;
        tls_body_due.delete(&key);
    } else if (kind == DATA_REQUEST && body_method(first4)) {
        u8 due = 1;
        if (!tls_body_due.lookup(&key))   // a lookup costs less than an LRU update
            tls_body_due.update(&key, &due);
        if (head_alone(buf, len)) {
            hold(&key, cg, buf, len);
            return;
        }
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

// An SSL_read's arguments from its entry to its return, per thread (as payload.c
// keeps a read's).
#ifdef STASH_HASH
BPF_HASH(tls_reads, u64, struct tls_read, 8192);   // pid_tgid -> SSL_read in flight

static __always_inline void tls_read_keep(struct tls_read *r) {
    u64 id = bpf_get_current_pid_tgid();
    tls_reads.update(&id, r);
}

static __always_inline int tls_read_take(struct tls_read *out) {
    u64 id = bpf_get_current_pid_tgid();
    struct tls_read *r = tls_reads.lookup(&id);
    if (!r)
        return 0;
    *out = *r;
    tls_reads.delete(&id);
    return 1;
}
#else
BPF_TASK_STORAGE(tls_read_task, struct tls_read);

static __always_inline void tls_read_keep(struct tls_read *r) {
    struct tls_read *t = tls_read_task.task_storage_get(bpf_get_current_task_btf(), 0,
                                                        BPF_LOCAL_STORAGE_GET_F_CREATE);
    if (t)
        *t = *r;
    else
        count_lost();
}

static __always_inline int tls_read_take(struct tls_read *out) {
    struct tls_read *t = tls_read_task.task_storage_get(bpf_get_current_task_btf(), 0, 0);
    if (!t || !t->ssl)
        return 0;
    *out = *t;
    t->ssl = 0;
    return 1;
}
#endif

static __always_inline int tls_read_stash(struct pt_regs *ctx, u64 readbytes) {
    if (!watched(bpf_get_current_cgroup_id()))
        return 0;
    struct tls_read r = {.ssl = PT_REGS_PARM1(ctx), .buf = PT_REGS_PARM2(ctx), .readbytes = readbytes};
    if (r.ssl)
        tls_read_keep(&r);
    return 0;
}

int tls_read_enter(struct pt_regs *ctx) {
    return tls_read_stash(ctx, 0);
}

int tls_read_ex_enter(struct pt_regs *ctx) {
    return tls_read_stash(ctx, PT_REGS_PARM4(ctx));
}

int tls_read_return(struct pt_regs *ctx) {
    struct tls_read r;
    if (!tls_read_take(&r))
        return 0;
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
