// TCP connect and accept from sock:inet_sock_set_state (fields, not structs).
// Addresses are 16 bytes; IPv4 is stored v4-mapped (::ffff:a.b.c.d).
#define PROTO_TCP 6
#define ST_ESTABLISHED 1
#define ST_SYN_SENT 2
#define ST_SYN_RECV 3

struct endpoint {
    u16 port;
    u8 addr[16];
};

LRU_HASH(tcp_connecting, u64, struct hdr, 8192);   // sock -> who called connect
LRU_HASH(tcp_accepted, struct endpoint, struct endpoint, 8192);  // peer -> local

// accept()'s user sockaddr pointer, from the syscall's entry to its exit.
#ifdef STASH_HASH
BPF_HASH(accept_pending, u64, u64, 4096);               // pid_tgid -> user sockaddr *

static __always_inline void accept_keep(u64 upeer) {
    u64 id = bpf_get_current_pid_tgid();
    accept_pending.update(&id, &upeer);
}

static __always_inline u64 accept_take(void) {
    u64 id = bpf_get_current_pid_tgid();
    u64 *ptr = accept_pending.lookup(&id);
    if (!ptr)
        return 0;
    u64 upeer = *ptr;
    accept_pending.delete(&id);
    return upeer;
}
#else
BPF_TASK_STORAGE(accept_task, u64);

static __always_inline void accept_keep(u64 upeer) {
    u64 *ptr = accept_task.task_storage_get(bpf_get_current_task_btf(), 0,
                                            BPF_LOCAL_STORAGE_GET_F_CREATE);
    if (ptr)
        *ptr = upeer;
    else
        count_lost();
}

static __always_inline u64 accept_take(void) {
    u64 *ptr = accept_task.task_storage_get(bpf_get_current_task_btf(), 0, 0);
    if (!ptr)
        return 0;
    u64 upeer = *ptr;
    *ptr = 0;
    return upeer;
}
#endif

// The addresses of a state change, 16 bytes each.
// Whole-word loads: the verifier refuses byte copies through a moved ctx pointer.
#define SOCK_ADDRS(args, saddr, daddr)                                      \
    u64 saddr[2] = {}, daddr[2] = {};                                       \
    if (args->family == W_AF_INET) {                                        \
        u32 s4 = *(u32 *)args->saddr, d4 = *(u32 *)args->daddr;            \
        map_v4((u8 *)saddr, (u8 *)&s4);                                     \
        map_v4((u8 *)daddr, (u8 *)&d4);                                     \
    } else {                                                                \
        saddr[0] = *(u64 *)&args->saddr_v6[0];                              \
        saddr[1] = *(u64 *)&args->saddr_v6[8];                              \
        daddr[0] = *(u64 *)&args->daddr_v6[0];                              \
        daddr[1] = *(u64 *)&args->daddr_v6[8];                              \
    }

// Every TCP state change on the node runs this: the changes that matter are told
// apart before anything else is done.
TRACEPOINT_PROBE(sock, inet_sock_set_state) {
    if (args->protocol != PROTO_TCP)
        return 0;
    int oldstate = args->oldstate, newstate = args->newstate;
    u64 sk = (u64)args->skaddr;
    // connect(): the caller is current only here; the source port is bound later.
    // A repeat (process, destination) is counted at once; a first one waits for it.
    if (newstate == ST_SYN_SENT) {
        u64 cg = bpf_get_current_cgroup_id();
        if (!watched(cg))
            return 0;
        SOCK_ADDRS(args, saddr, daddr)
        struct net_key k = {.tgid = bpf_get_current_pid_tgid() >> 32, .family = args->family,
                            .port = args->dport, .cgroup_id = cg, .kind = EV_CONNECT};
        __builtin_memcpy(k.addr, daddr, 16);
        if (!net_agg_new(&k))
            return 0;
        struct hdr h = {};
        fill_hdr(&h, EV_CONNECT, cg, bpf_ktime_get_ns());
        tcp_connecting.update(&sk, &h);
        return 0;
    }
    // Leaving SYN_SENT (established or refused) runs in softirq: use the saved caller.
    if (oldstate == ST_SYN_SENT) {
        struct hdr *saved = tcp_connecting.lookup(&sk);
        if (!saved)
            return 0;
        struct hdr h;
        __builtin_memcpy(&h, saved, sizeof(h));
        tcp_connecting.delete(&sk);
        SOCK_ADDRS(args, saddr, daddr)
        struct net_key k = {.tgid = h.tgid, .family = args->family, .port = args->dport,
                            .cgroup_id = h.cgroup_id, .kind = EV_CONNECT};
        __builtin_memcpy(k.addr, daddr, 16);
        emit_net(&h, &k, args->sport, (u8 *)saddr, args->dport, (u8 *)daddr);
        return 0;
    }
    // Server side, softirq: remember the local end for the accept() that follows.
    if (oldstate == ST_SYN_RECV && newstate == ST_ESTABLISHED) {
        SOCK_ADDRS(args, saddr, daddr)
        struct endpoint peer = {.port = args->dport};
        struct endpoint local = {.port = args->sport};
        __builtin_memcpy(peer.addr, daddr, 16);
        __builtin_memcpy(local.addr, saddr, 16);
        tcp_accepted.update(&peer, &local);
    }
    return 0;
}

static __always_inline int accept_enter(void *upeer) {
    if (!upeer || !watched(bpf_get_current_cgroup_id()))
        return 0;
    accept_keep((u64)upeer);
    return 0;
}

// The peer comes from the sockaddr accept() filled in (user-space ABI layout).
static __always_inline int accept_exit(long ret) {
    u64 uaddr = accept_take();
    if (!uaddr || ret < 0)
        return 0;
    u16 family = 0;
    struct endpoint peer = {};
    if (read_user_sa((void *)uaddr, &family, &peer.port, peer.addr))
        return 0;
    struct endpoint local = {};
    struct endpoint *l = tcp_accepted.lookup(&peer);
    if (l) {
        __builtin_memcpy(&local, l, sizeof(local));
        tcp_accepted.delete(&peer);
    }
    u64 cg = bpf_get_current_cgroup_id();
    struct net_key k = {.tgid = bpf_get_current_pid_tgid() >> 32, .family = family,
                        .port = local.port, .cgroup_id = cg, .kind = EV_ACCEPT};
    __builtin_memcpy(k.addr, peer.addr, 16);
    if (!net_agg_new(&k))
        return 0;   // a repeat: counted
    struct hdr h = {};
    fill_hdr(&h, EV_ACCEPT, cg, bpf_ktime_get_ns());
    // src = the remote peer that connected, dst = our local endpoint.
    net_first(&h, &k, peer.port, peer.addr, local.port, local.addr);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_accept4) {
    return accept_enter(args->upeer_sockaddr);
}

TRACEPOINT_PROBE(syscalls, sys_exit_accept4) {
    return accept_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_accept) {
    return accept_enter(args->upeer_sockaddr);
}

TRACEPOINT_PROBE(syscalls, sys_exit_accept) {
    return accept_exit(args->ret);
}
