// DNS: UDP payloads to and from port 53, parsed in user space (once per query).
// A socket is "DNS" once it was connected or sent to port 53; its replies are
// captured from recvfrom/recvmsg on the same (process, fd).
#define DNS_MAX 512

struct dns_dst {
    u16 family;
    u16 port;
    u8 addr[16];
};

struct dns_event {
    struct hdr h;
    u32 fd;
    u16 response;
    u16 len;
    struct dns_dst dst;
    u8 payload[DNS_MAX];
};

struct recv_stash {
    u64 buf;
    u32 fd;
    u32 pad;
};

LRU_HASH(dns_socks, u64, struct dns_dst, 8192);     // tgid<<32|fd -> server
BPF_HASH(dns_recv_pending, u64, struct recv_stash, 4096);  // pid_tgid -> buffer

static __always_inline u64 sock_key(u32 fd) {
    return (bpf_get_current_pid_tgid() & 0xffffffff00000000ULL) | fd;
}

static __always_inline void dns_payload(u64 cg, u32 fd, u16 response, const void *buf,
                                        u64 len, struct dns_dst *dst) {
    struct dns_event *e = events.ringbuf_reserve(sizeof(struct dns_event));
    if (!e) {
        count_lost();
        return;
    }
    fill_hdr(&e->h, EV_DNS, cg, bpf_ktime_get_ns());
    u32 n = len > DNS_MAX ? DNS_MAX : len;
    e->fd = fd;
    e->response = response;
    e->len = n;
    __builtin_memcpy(&e->dst, dst, sizeof(e->dst));
    bpf_probe_read_user(e->payload, n, buf);
    events.ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

static __always_inline int dns_send(u32 fd, const void *sa, const void *buf, u64 len) {
    u64 cg = bpf_get_current_cgroup_id();
    if (!watched(cg))
        return 0;
    u64 key = sock_key(fd);
    struct dns_dst d = {};
    if (sa) {
        if (read_user_sa(sa, &d.family, &d.port, d.addr) || d.port != 53)
            return 0;
        dns_socks.update(&key, &d);
    } else {
        struct dns_dst *known = dns_socks.lookup(&key);
        if (!known)
            return 0;
        __builtin_memcpy(&d, known, sizeof(d));
    }
    struct hdr h = {};
    fill_hdr(&h, EV_UDP, cg, bpf_ktime_get_ns());
    struct net_key k = {.tgid = h.tgid, .family = d.family, .port = d.port,
                        .cgroup_id = cg, .kind = EV_UDP};
    __builtin_memcpy(k.addr, d.addr, 16);
    u8 none[16] = {};
    emit_net(&h, &k, 0, none, d.port, d.addr);
    dns_payload(cg, fd, 0, buf, len, &d);
    return 0;
}

// Mark sockets connected to port 53; a connect elsewhere unmarks a reused fd.
TRACEPOINT_PROBE(syscalls, sys_enter_connect) {
    if (!watched(bpf_get_current_cgroup_id()))
        return 0;
    u64 key = sock_key(args->fd);
    struct dns_dst d = {};
    if (read_user_sa(args->uservaddr, &d.family, &d.port, d.addr) || d.port != 53) {
        if (dns_socks.lookup(&key))   // a lookup costs less than a delete that finds nothing
            dns_socks.delete(&key);
        return 0;
    }
    dns_socks.update(&key, &d);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_sendto) {
    return dns_send(args->fd, args->addr, args->buff, args->len);
}

// struct msghdr / iovec / mmsghdr: user-space ABI offsets on 64-bit.
static __always_inline int dns_sendmsg(u32 fd, const char *msg) {
    u64 name = 0, iov = 0, base = 0, len = 0;
    bpf_probe_read_user(&name, 8, msg);
    bpf_probe_read_user(&iov, 8, msg + 16);
    if (!iov)
        return 0;
    bpf_probe_read_user(&base, 8, (void *)iov);
    bpf_probe_read_user(&len, 8, (void *)(iov + 8));
    return dns_send(fd, (void *)name, (void *)base, len);
}

TRACEPOINT_PROBE(syscalls, sys_enter_sendmsg) {
    return dns_sendmsg(args->fd, (const char *)args->msg);
}

// glibc sends the A and AAAA queries in one sendmmsg.
TRACEPOINT_PROBE(syscalls, sys_enter_sendmmsg) {
    const char *m = (const char *)args->mmsg;
    u32 vlen = args->vlen;
    for (int i = 0; i < 2; i++) {
        if (i >= vlen)
            break;
        dns_sendmsg(args->fd, m + i * 64);
    }
    return 0;
}

static __always_inline int recv_enter(u32 fd, u64 buf) {
    if (!buf || !watched(bpf_get_current_cgroup_id()))
        return 0;
    u64 key = sock_key(fd);
    if (!dns_socks.lookup(&key))
        return 0;
    u64 id = bpf_get_current_pid_tgid();
    struct recv_stash s = {.buf = buf, .fd = fd};
    dns_recv_pending.update(&id, &s);
    return 0;
}

static __always_inline int recv_exit(long ret) {
    u64 id = bpf_get_current_pid_tgid();
    struct recv_stash *s = dns_recv_pending.lookup(&id);
    if (!s)
        return 0;
    struct recv_stash st = *s;
    dns_recv_pending.delete(&id);
    if (ret <= 0)
        return 0;
    u64 key = sock_key(st.fd);
    struct dns_dst *d = dns_socks.lookup(&key);
    if (!d)
        return 0;
    struct dns_dst dst;
    __builtin_memcpy(&dst, d, sizeof(dst));
    dns_payload(bpf_get_current_cgroup_id(), st.fd, 1, (void *)st.buf, ret, &dst);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_recvfrom) {
    return recv_enter(args->fd, (u64)args->ubuf);
}

TRACEPOINT_PROBE(syscalls, sys_exit_recvfrom) {
    return recv_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_recvmsg) {
    u64 iov = 0, base = 0;
    bpf_probe_read_user(&iov, 8, (const char *)args->msg + 16);
    if (iov)
        bpf_probe_read_user(&base, 8, (void *)iov);
    return recv_enter(args->fd, base);
}

TRACEPOINT_PROBE(syscalls, sys_exit_recvmsg) {
    return recv_exit(args->ret);
}
