// Shared by every probe; compiled first, once, into the single BPF object.
// Only tracepoint arguments and helpers are used: the installed headers do not
// match the running kernel, so no kernel struct is ever read.
#include <uapi/linux/ptrace.h>

#define EV_EXEC 1
#define EV_EXIT 2
#define EV_CONNECT 3
#define EV_ACCEPT 4
#define EV_FILE 5
#define EV_DNS 6
#define EV_UDP 7
#define EV_FILE_SOLO 9    // a file open not de-duplicated (file.c); 8 is EV_DATA below
#define EV_AGG_SEEN 10    // an aggregation key counted again (struct agg_seen)

#define LRU_HASH(name, key, leaf, size) BPF_TABLE("lru_hash", key, leaf, name, size)

#define CG_WATCH 1
#define CG_EXCLUDE 2
#define CG_MAX_LEVEL 15

struct hdr {
    u32 type;
    u32 pid;    // thread id
    u32 tgid;   // process id
    u32 uid;
    u64 cgroup_id;
    u64 ts;     // bpf_ktime_get_ns (CLOCK_MONOTONIC)
    char comm[16];
};

// One occurrence count per de-duplication key: the first occurrence goes to the
// ring buffer in full, the rest only bump count here and user space drains them.
struct agg {
    u64 count;
    u64 first_ts;
    u64 last_ts;    // the first repeat in the latest tick (or first_ts)
    u64 tick;       // the jiffy last_ts was read in
    u32 gen;        // the drain generation this key's repeats were last announced in
    u32 pad;
};

// Which aggregation map an announcement is about (as in probes/__init__.py).
#define AGG_NET 0
#define AGG_FILE 1
#define AGG_KEY_MAX 48

// A key counted again since the drain generation changed: drains read only the
// keys announced lately, not the whole map (8192 entries each, most of them idle).
struct agg_seen {
    u32 type;       // EV_AGG_SEEN
    u32 map;        // AGG_NET or AGG_FILE
    u8 key[AGG_KEY_MAX];
};

BPF_RINGBUF_OUTPUT(events, RINGBUF_PAGES);
BPF_PERCPU_ARRAY(lost, u64, 1);
BPF_HASH(cg_rules, u64, u8, 1024);          // cgroup id -> CG_WATCH | CG_EXCLUDE
BPF_ARRAY(cg_default, u8, 1);               // verdict when no ancestor has a rule
LRU_HASH(cg_verdict, u64, u8, 8192);    // cache: current cgroup id -> 0/1
BPF_ARRAY(cg_rules_gen, u32, 1);            // bumped by user space whenever the rules change
BPF_ARRAY(agg_gen, u32, 1);                 // the drain generation, bumped by user space (from 1)

static __always_inline void count_lost(void) {
    int zero = 0;
    u64 *v = lost.lookup(&zero);
    if (v)
        (*v)++;
}

// A key counted again: announced once per drain generation. A lost announcement
// counts as lost, which makes user space read whole maps again.
static __always_inline void agg_announce(struct agg *a, u32 map, const void *key, u32 ksize) {
    int zero = 0;
    u32 *gen = agg_gen.lookup(&zero);
    if (!gen || a->gen == *gen)
        return;
    a->gen = *gen;
    struct agg_seen *s = events.ringbuf_reserve(sizeof(struct agg_seen));
    if (!s) {
        count_lost();
        return;
    }
    s->type = EV_AGG_SEEN;
    s->map = map;
    __builtin_memset(s->key, 0, AGG_KEY_MAX);
    bpf_probe_read_kernel(s->key, ksize < AGG_KEY_MAX ? ksize : AGG_KEY_MAX, key);
    events.ringbuf_submit(s, BPF_RB_NO_WAKEUP);
}

// A repeat of an aggregated key: counted and announced. The clock is read at most
// once per key and tick (a clock read costs more than the rest of a hot repeat):
// last_ts is the first repeat of the latest tick, exact to the tick (1-10 ms).
static __always_inline void agg_repeat(struct agg *a, u32 map, const void *key, u32 ksize) {
    __sync_fetch_and_add(&a->count, 1);
    u64 tick = bpf_jiffies64();
    if (tick != a->tick) {
        a->tick = tick;
        a->last_ts = bpf_ktime_get_ns();
    }
    agg_announce(a, map, key, ksize);
}

// n repeats counted late (file.c holds a thread's repeats for up to a tick), all
// in one tick, the first of them at ts: last_ts as agg_repeat would have left it,
// unless another thread counted a later tick already.
static __always_inline void agg_add(struct agg *a, u64 n, u64 tick, u64 ts, u32 map,
                                    const void *key, u32 ksize) {
    __sync_fetch_and_add(&a->count, n);
    if (tick > a->tick) {
        a->tick = tick;
        a->last_ts = ts;
    }
    agg_announce(a, map, key, ksize);
}

// The nearest ancestor (or self) with a rule decides, so a child cgroup
// created after start inherits its subtree's rule without user space help.
static __always_inline int watched(u64 cg) {
    u8 *cached = cg_verdict.lookup(&cg);
    if (cached)
        return *cached;
    int zero = 0;
    u8 *dflt = cg_default.lookup(&zero);
    u8 verdict = dflt ? *dflt : 0;
    for (int level = CG_MAX_LEVEL; level >= 0; level--) {
        u64 id = bpf_get_current_ancestor_cgroup_id(level);
        if (!id)
            continue;
        u8 *rule = cg_rules.lookup(&id);
        if (rule) {
            verdict = *rule == CG_WATCH;
            break;
        }
    }
    cg_verdict.update(&cg, &verdict);
    return verdict;
}

static __always_inline void fill_hdr(struct hdr *h, u32 type, u64 cg, u64 ts) {
    u64 id = bpf_get_current_pid_tgid();
    h->type = type;
    h->pid = (u32)id;
    h->tgid = id >> 32;
    h->uid = (u32)bpf_get_current_uid_gid();
    h->cgroup_id = cg;
    h->ts = ts;
    bpf_get_current_comm(&h->comm, sizeof(h->comm));
}

// Network events (TCP probe and the UDP/53 side of the DNS probe).
#define W_AF_INET 2
#define W_AF_INET6 10

// Aggregation key: (process, remote endpoint) without the ephemeral port.
struct net_key {
    u32 tgid;
    u16 family;
    u16 port;       // connect: remote port; accept: local port
    u8 addr[16];    // the remote address
    u64 cgroup_id;
    u32 kind;       // EV_CONNECT, EV_ACCEPT or EV_UDP
    u32 pad;
};

struct net_event {
    struct hdr h;
    struct net_key key;
    u16 sport;
    u16 dport;
    u32 pad;
    u8 saddr[16];
    u8 daddr[16];
};

// What a first occurrence's record says besides its key, kept in its value: user
// space rebuilds the record from the map alone (count updates, a lost record).
struct net_value {
    struct agg a;
    u32 uid;
    u16 sport;
    u16 dport;
    char comm[16];
    u8 saddr[16];
    u8 daddr[16];
};

LRU_HASH(net_agg, struct net_key, struct net_value, NET_AGG_ENTRIES);

// Look up before insert (PERF-NOTES). 0: a repeat, counted; 1: not in the map yet.
static __always_inline int net_agg_new(struct net_key *key) {
    struct net_value *v = net_agg.lookup(key);
    if (!v)
        return 1;
    agg_repeat(&v->a, AGG_NET, key, sizeof(*key));
    return 0;
}

static __always_inline void map_v4(u8 *dst, const u8 *v4) {
    __builtin_memset(dst, 0, 10);
    dst[10] = 0xff;
    dst[11] = 0xff;
    __builtin_memcpy(dst + 12, v4, 4);
}

// The first occurrence of a key, in the map and (when this CPU's insert wins the
// race for the key; the loser is counted) in full to the ring buffer.
static __always_inline void net_first(struct hdr *h, struct net_key *k, u16 sport,
                                      const u8 *saddr, u16 dport, const u8 *daddr) {
    struct net_value n = {.a = {.count = 1, .first_ts = h->ts, .last_ts = h->ts,
                                .tick = bpf_jiffies64()},
                          .uid = h->uid, .sport = sport, .dport = dport};
    __builtin_memcpy(n.comm, h->comm, sizeof(n.comm));
    __builtin_memcpy(n.saddr, saddr, 16);
    __builtin_memcpy(n.daddr, daddr, 16);
    if (net_agg.insert(k, &n) != 0) {
        struct net_value *v = net_agg.lookup(k);
        if (v)
            agg_repeat(&v->a, AGG_NET, k, sizeof(*k));
        return;
    }
    struct net_event *e = events.ringbuf_reserve(sizeof(struct net_event));
    if (!e) {
        count_lost();
        return;
    }
    __builtin_memcpy(&e->h, h, sizeof(e->h));
    __builtin_memcpy(&e->key, k, sizeof(e->key));
    e->h.type = k->kind;
    e->sport = sport;
    e->dport = dport;
    e->pad = 0;
    __builtin_memcpy(e->saddr, saddr, 16);
    __builtin_memcpy(e->daddr, daddr, 16);
    events.ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

static __always_inline void emit_net(struct hdr *h, struct net_key *k, u16 sport,
                                     const u8 *saddr, u16 dport, const u8 *daddr) {
    if (net_agg_new(k))
        net_first(h, k, sport, saddr, dport, daddr);
}


// sockaddr_in / sockaddr_in6 in user memory: a user-space ABI, safe to read.
static __always_inline int read_user_sa(const void *sa, u16 *family, u16 *port, u8 *addr) {
    u16 fam = 0, port_be = 0;
    if (!sa || bpf_probe_read_user(&fam, sizeof(fam), sa))
        return -1;
    bpf_probe_read_user(&port_be, sizeof(port_be), (const char *)sa + 2);
    if (fam == W_AF_INET) {
        u8 v4[4] = {};
        bpf_probe_read_user(v4, sizeof(v4), (const char *)sa + 4);
        map_v4(addr, v4);
    } else if (fam == W_AF_INET6) {
        bpf_probe_read_user(addr, 16, (const char *)sa + 8);
    } else {
        return -1;
    }
    *family = fam;
    *port = (port_be >> 8) | ((port_be & 0xff) << 8);
    return 0;
}

// Application data (HTTP heads and bodies, JSON-RPC), shared by the payload
// (syscalls) and TLS (OpenSSL uprobes) probes. Only buffers whose first bytes
// look like an HTTP message or a JSON object are captured.
#define EV_DATA 8
#define DATA_CAP 4096          // captured bytes < DATA_CAP (the mask keeps the verifier sure)
#define DIR_WRITE 0
#define DIR_READ 1
#define VIA_SYSCALL 0
#define VIA_TLS 1

struct data_event {
    struct hdr h;
    u64 stream;     // fd (syscalls) or the SSL * (TLS): one connection or pipe
    u32 len;        // bytes the call moved
    u32 captured;   // bytes in data
    u8 dir;
    u8 via;
    u8 pad[6];
    char data[DATA_CAP];
};

// Syscall tracepoint records: the format every syscalls:* tracepoint shares
// (common fields, __syscall_nr, then one 8-byte slot per argument).
struct syscall_enter {
    u64 common;
    int nr;
    int pad;
    u64 args[6];
};

struct syscall_exit {
    u64 common;
    int nr;
    int pad;
    long ret;
};

// What a buffer's first bytes say it is: a request head ("GET ", "POST", "PUT ",
// "DELE", "PATC", "HEAD", "OPTI") or JSON ('{') either way; a response head
// ("HTTP") only as read: what a process sends back is not what it says.
#define DATA_NONE 0
#define DATA_REQUEST 1
#define DATA_RESPONSE 2
#define DATA_JSON 3

static __always_inline int data_kind(u32 first4, u8 dir) {
    if ((first4 & 0xff) == '{')
        return DATA_JSON;
    switch (first4) {
    case 0x20544547: case 0x54534f50: case 0x20545550: case 0x454c4544:
    case 0x43544150: case 0x44414548: case 0x4954504f:
        return DATA_REQUEST;
    case 0x50545448:
        return dir == DIR_READ ? DATA_RESPONSE : DATA_NONE;
    }
    return DATA_NONE;
}

// The kind of the buffer's start (DATA_NONE when unreadable or too short).
static __always_inline int data_kind_at(const char *buf, u64 len, u8 dir) {
    u32 first4 = 0;
    if (!buf || len < 2 || bpf_probe_read_user(&first4, len < 4 ? 1 : 4, buf))
        return DATA_NONE;
    return data_kind(first4, dir);
}

// Built in a per-CPU scratch record and copied out at its used size, so the ring
// holds what was captured, not DATA_CAP per record.
BPF_PERCPU_ARRAY(data_scratch, struct data_event, 1);

// The record of one buffer, built in the scratch (NULL when there is none).
static __always_inline struct data_event *capture(u64 cg, u8 dir, u8 via, u64 stream, const char *buf,
                                                  u64 len) {
    int zero = 0;
    struct data_event *e = data_scratch.lookup(&zero);
    if (!e)
        return 0;
    fill_hdr(&e->h, EV_DATA, cg, bpf_ktime_get_ns());
    u32 n = len > DATA_CAP - 1 ? DATA_CAP - 1 : len;
    n &= DATA_CAP - 1;
    e->stream = stream;
    e->len = len > 0xffffffff ? 0xffffffff : len;
    e->dir = dir;
    e->via = via;
    if (bpf_probe_read_user(e->data, n, buf))
        n = 0;
    e->captured = n;
    return e;
}

static __always_inline void submit(struct data_event *e) {
    u32 size = offsetof(struct data_event, data) + (e->captured & (DATA_CAP - 1));
    if (events.ringbuf_output(e, size, BPF_RB_NO_WAKEUP))
        count_lost();
}

static __always_inline void emit_captured(u64 cg, u8 dir, u8 via, u64 stream, const char *buf, u64 len) {
    struct data_event *e = capture(cg, dir, via, stream, buf, len);
    if (e)
        submit(e);
}

// Only buffers whose first bytes look like an HTTP message or a JSON object.
static __always_inline void emit_data(u64 cg, u8 dir, u8 via, u64 stream, const char *buf, u64 len) {
    if (data_kind_at(buf, len, dir) != DATA_NONE)
        emit_captured(cg, dir, via, stream, buf, len);
}
