// Egress enforcement for one policy: cgroup sock_addr programs that allow only the
// policy's destinations, and a cgroup skb program that learns the addresses of allowed
// names from the DNS replies the agent receives, before its recv() returns.
//
// Compiled on its own (not with common.c) into one object per policy whose programs
// and maps are pinned in bpffs. Only UAPI contexts are read (struct bpf_sock_addr;
// struct __sk_buff's len, and packet bytes through bpf_skb_load_bytes): the installed
// headers do not match the running kernel. Addresses are 16 bytes; IPv4 is stored
// v4-mapped (::ffff:a.b.c.d), so one key serves connect4, connect6 and sendmsg of both.
// Loading needs root (CAP_BPF and CAP_PERFMON: learn_dns copies names between map values
// with bpf_probe_read_kernel).

#define EV_POLICY 9          // after the sensor's record types in common.c

#define W_AF_INET 2
#define W_AF_INET6 10
#define PROTO_TCP 6
#define PROTO_UDP 17
#define DNS_PORT 53

#define MODE_AUDIT 1
#define MODE_ENFORCE 2
#define VERDICT_AUDIT 2      // as weft.v1.PolicyDecision.Verdict
#define VERDICT_BLOCK 3

#define HOOK_CONNECT4 1
#define HOOK_CONNECT6 2
#define HOOK_SENDMSG4 3
#define HOOK_SENDMSG6 4

#define MATCH_EXACT 1
#define MATCH_ONE_LABEL 2
#define MATCH_ANY_DEPTH 3

#define MAX_CLASSES 32       // port classes: one bit each in a destination's mask
#define MAX_RANGES 16        // port ranges per class
#define NAME_MAX 256         // a DNS name in wire format, zero-padded
#define MAX_LABELS 16
#define MAX_ANSWERS 32          // tail calls: the kernel allows 33 in a row

#define C_ALLOWED 0          // counters (per-CPU array indexes)
#define C_AUDITED 1
#define C_BLOCKED 2
#define C_RESOLVER 3
#define C_LOST 4
#define C_LEARNED 5
#define C_LEARN_FAILED 6
#define C_UNTRUSTED_DNS 7
#define N_COUNTERS 8

// The same layout as struct hdr in common.c: decisions parse like sensor records.
struct hdr {
    u32 type;
    u32 pid;
    u32 tgid;
    u32 uid;
    u64 cgroup_id;
    u64 ts;
    char comm[16];
};

struct decision {
    struct hdr h;
    u8 addr[16];
    u16 port;
    u8 proto;
    u8 verdict;
    u8 hook;
    u8 pad[3];
};

struct prefix_key {
    u32 prefixlen;
    u8 addr[16];
};

struct addr_key {
    u8 addr[16];
};

struct addr_val {
    u64 expires;     // bpf_ktime_get_ns() after which the address is no longer allowed
    u64 classes;     // u64: the width BPF's fetch-and-or has on every CPU version
};

struct port_range {
    u16 first;
    u16 last;
    u8 proto;
    u8 pad[3];
};

struct port_class {
    u32 any;         // every port and protocol
    u32 n;
    struct port_range r[MAX_RANGES];
};

struct name_key {
    u32 match;
    u8 name[NAME_MAX];
};

struct config {
    u32 mode;
    u32 min_ttl_s;   // a learned answer lives at least this long
    u64 grace_ns;    // and this much past its TTL
};

struct meta_blob {   // the policy and its cgroups, as JSON, for a restarted sensor
    u32 len;
    char json[META_MAX];
};

struct dns_scratch {
    u8 q[2 * NAME_MAX];   // the question, lower-cased, zero-padded past its end
    struct name_key key;
    u32 starts[MAX_LABELS];   // where each of its labels starts
    u32 off;                  // the next answer
    u32 left;                 // answers still to read
    u32 mask;                 // the classes of the question's name
};

BPF_LPM_TRIE(cidrs, struct prefix_key, u32, CIDR_ENTRIES);    // -> class mask
BPF_HASH(resolved, struct addr_key, struct addr_val, ADDR_ENTRIES);  // written by the sensor
BPF_TABLE("lru_hash", struct addr_key, struct addr_val, learned, ADDR_ENTRIES);  // by learn_dns
BPF_HASH(names, struct name_key, u32, NAME_ENTRIES);           // -> class mask
BPF_HASH(resolvers, struct addr_key, u8, 16);
BPF_ARRAY(classes, struct port_class, MAX_CLASSES);
BPF_ARRAY(config, struct config, 1);
BPF_ARRAY(meta, struct meta_blob, 1);
BPF_PERCPU_ARRAY(counters, u64, N_COUNTERS);
BPF_PERCPU_ARRAY(dns_scratch, struct dns_scratch, 1);
BPF_RINGBUF_OUTPUT(decisions, DECISION_PAGES);

static __always_inline void count(u32 which) {
    u64 *v = counters.lookup(&which);
    if (v)
        (*v)++;
}

static __always_inline void map_v4(u8 *dst, u32 v4_be) {
    __builtin_memset(dst, 0, 10);
    dst[10] = 0xff;
    dst[11] = 0xff;
    __builtin_memcpy(dst + 12, &v4_be, 4);
}

static __always_inline u32 live_classes(struct addr_val *v, u64 now) {
    return v && v->expires > now ? v->classes : 0;
}

static __always_inline int class_allows(u32 i, u16 port, u8 proto) {
    struct port_class *c = classes.lookup(&i);
    if (!c)
        return 0;
    if (c->any)
        return 1;
    for (int j = 0; j < MAX_RANGES; j++) {
        if (j >= c->n)
            break;
        struct port_range *r = &c->r[j];
        if (r->proto == proto && r->first <= port && port <= r->last)
            return 1;
    }
    return 0;
}

static __always_inline int mask_allows(u32 mask, u16 port, u8 proto) {
    for (u32 i = 0; i < MAX_CLASSES; i++) {
        if (!(mask >> i))
            break;
        if (mask >> i & 1 && class_allows(i, port, proto))
            return 1;
    }
    return 0;
}

// Cheapest answer first: most connections go to a CIDR, or to a name the agent just
// looked up. A destination may reach what any of its classes allows.
static __always_inline int allowed(u8 *addr, u16 port, u8 proto) {
    struct prefix_key pk = {.prefixlen = 128};
    __builtin_memcpy(pk.addr, addr, 16);
    u32 *c = cidrs.lookup(&pk);
    if (c && mask_allows(*c, port, proto))
        return 1;
    struct addr_key ak = {};
    __builtin_memcpy(ak.addr, addr, 16);
    u64 now = bpf_ktime_get_ns();
    if (mask_allows(live_classes(learned.lookup(&ak), now), port, proto))
        return 1;
    return mask_allows(live_classes(resolved.lookup(&ak), now), port, proto);
}

static __always_inline void report(u8 *addr, u16 port, u8 proto, u8 verdict, u8 hook) {
    struct decision *d = decisions.ringbuf_reserve(sizeof(struct decision));
    if (!d) {
        count(C_LOST);
        return;
    }
    u64 id = bpf_get_current_pid_tgid();
    d->h.type = EV_POLICY;
    d->h.pid = (u32)id;
    d->h.tgid = id >> 32;
    d->h.uid = (u32)bpf_get_current_uid_gid();
    d->h.cgroup_id = bpf_get_current_cgroup_id();
    d->h.ts = bpf_ktime_get_ns();
    bpf_get_current_comm(&d->h.comm, sizeof(d->h.comm));
    __builtin_memcpy(d->addr, addr, 16);
    d->port = port;
    d->proto = proto;
    d->verdict = verdict;
    d->hook = hook;
    __builtin_memset(d->pad, 0, sizeof(d->pad));
    decisions.ringbuf_submit(d, BPF_RB_NO_WAKEUP);
}

// 1 lets the call through, 0 fails it with EPERM.
static __always_inline int decide(u8 *addr, u16 port, u8 proto, u8 hook) {
    struct addr_key ak = {};
    __builtin_memcpy(ak.addr, addr, 16);
    if (port == DNS_PORT && resolvers.lookup(&ak)) {
        count(C_RESOLVER);
        return 1;
    }
    if (allowed(addr, port, proto)) {
        count(C_ALLOWED);
        return 1;
    }
    int zero = 0;
    struct config *cfg = config.lookup(&zero);
    int enforce = !cfg || cfg->mode != MODE_AUDIT;   // unknown mode: fail closed
    count(enforce ? C_BLOCKED : C_AUDITED);
    report(addr, port, proto, enforce ? VERDICT_BLOCK : VERDICT_AUDIT, hook);
    return !enforce;
}

static __always_inline u16 port_of(struct bpf_sock_addr *ctx) {
    return __builtin_bswap16((u16)ctx->user_port);
}

static __always_inline int decide4(struct bpf_sock_addr *ctx, u8 hook) {
    u8 addr[16];
    map_v4(addr, ctx->user_ip4);
    return decide(addr, port_of(ctx), ctx->protocol, hook);
}

static __always_inline int decide6(struct bpf_sock_addr *ctx, u8 hook) {
    u32 a[4];
    a[0] = ctx->user_ip6[0];   // 4-byte loads: the only size the verifier accepts here
    a[1] = ctx->user_ip6[1];
    a[2] = ctx->user_ip6[2];
    a[3] = ctx->user_ip6[3];
    return decide((u8 *)a, port_of(ctx), ctx->protocol, hook);
}

int connect4(struct bpf_sock_addr *ctx) { return decide4(ctx, HOOK_CONNECT4); }
int connect6(struct bpf_sock_addr *ctx) { return decide6(ctx, HOOK_CONNECT6); }
int sendmsg4(struct bpf_sock_addr *ctx) { return decide4(ctx, HOOK_SENDMSG4); }
int sendmsg6(struct bpf_sock_addr *ctx) { return decide6(ctx, HOOK_SENDMSG6); }

// --- learning: A/AAAA answers to questions for allowed names ------------------------

static __always_inline u8 byte_at(struct __sk_buff *skb, u32 off) {
    u8 b = 0;
    bpf_skb_load_bytes(skb, off, &b, 1);
    return b;
}

static __always_inline u16 be16_at(struct __sk_buff *skb, u32 off) {
    u16 v = 0;
    bpf_skb_load_bytes(skb, off, &v, 2);
    return __builtin_bswap16(v);
}

// The offset of the UDP payload of a reply from a resolver's port 53, else 0. Every
// packet to the agent's sockets comes here: what is not UDP leaves after one look.
static __always_inline u32 resolver_reply(struct __sk_buff *skb) {
    u8 ip[10];   // enough of either header for its version and its protocol
    if (bpf_skb_load_bytes(skb, 0, ip, sizeof(ip)))
        return 0;
    struct addr_key src = {};
    u32 l4;
    if (ip[0] >> 4 == 4 && ip[9] == PROTO_UDP) {
        u32 v4 = 0;
        bpf_skb_load_bytes(skb, 12, &v4, 4);
        map_v4(src.addr, v4);
        l4 = (ip[0] & 0xf) * 4;
    } else if (ip[0] >> 4 == 6 && ip[6] == PROTO_UDP) {   // extension headers: not learned from
        bpf_skb_load_bytes(skb, 8, src.addr, 16);
        l4 = 40;
    } else {
        return 0;
    }
    if (be16_at(skb, l4) != DNS_PORT)
        return 0;
    if (!resolvers.lookup(&src)) {
        count(C_UNTRUSTED_DNS);
        return 0;
    }
    return l4 + 8;
}

// ASCII upper case to lower case in 8 bytes at once, without branches (label length
// bytes are below 'A', so they stay as they are).
static __always_inline u64 lower8(u64 w) {
    u64 heptets = w & 0x7f7f7f7f7f7f7f7fULL;
    u64 above_z = heptets + 0x2525252525252525ULL;   // 0x7f - 'Z'
    u64 from_a = heptets + 0x3f3f3f3f3f3f3f3fULL;    // 0x80 - 'A'
    u64 upper = ~w & 0x8080808080808080ULL & (from_a ^ above_z);
    return w | upper >> 2;
}

// Loads the question name at off into s->q (lower-cased, zeros after it) and records
// where each label starts. Returns the name's length in bytes (with the root), or 0.
static __always_inline u32 load_question(struct __sk_buff *skb, u32 off, struct dns_scratch *s,
                                         u32 *n_labels) {
    u64 pos = 0;
    u32 n = 0;
    #pragma clang loop unroll(disable)
    for (int i = 0; i < MAX_LABELS; i++) {
        u8 len = byte_at(skb, off + pos);
        if (len == 0)
            break;
        if (len > 63)
            return 0;   // compressed or malformed: a question is neither
        s->starts[i] = pos;
        n++;
        pos += len + 1;
        if (pos >= NAME_MAX - 1)
            return 0;
    }
    if (byte_at(skb, off + pos) != 0)
        return 0;   // more labels than MAX_LABELS
    u32 end = pos + 1;
    __builtin_memset(s->q, 0, NAME_MAX);
    if (end > NAME_MAX || bpf_skb_load_bytes(skb, off, s->q, end))
        return 0;
    u64 *words = (u64 *)s->q;
    #pragma clang loop unroll(disable)
    for (int i = 0; i < NAME_MAX / 8; i++)
        words[i] = lower8(words[i]);
    *n_labels = n;
    return end;
}

static __always_inline u32 name_classes(struct dns_scratch *s, u32 match, u32 start) {
    s->key.match = match;
    bpf_probe_read_kernel(s->key.name, NAME_MAX, &s->q[start & (NAME_MAX - 1)]);
    u32 *mask = names.lookup(&s->key);
    return mask ? *mask : 0;
}

// Every allow-list class the question's name belongs to (0: not an allowed name).
static __always_inline u32 question_classes(struct dns_scratch *s, u32 n) {
    u32 mask = name_classes(s, MATCH_EXACT, 0);
    if (n > 1)
        mask |= name_classes(s, MATCH_ONE_LABEL, s->starts[1]);
    for (u32 i = 1; i < MAX_LABELS; i++) {
        if (i >= n)
            break;
        mask |= name_classes(s, MATCH_ANY_DEPTH, s->starts[i]);
    }
    return mask;
}

static __always_inline void learn(u8 *addr, u32 mask, u32 ttl, struct config *cfg) {
    struct addr_key k = {};
    __builtin_memcpy(k.addr, addr, 16);
    u32 life = ttl > cfg->min_ttl_s ? ttl : cfg->min_ttl_s;
    u64 expires = bpf_ktime_get_ns() + (u64)life * 1000000000ULL + cfg->grace_ns;
    struct addr_val *v = learned.lookup(&k);
    if (!v) {
        struct addr_val n = {.expires = expires, .classes = mask};
        if (learned.insert(&k, &n) == 0) {
            count(C_LEARNED);
            return;
        }
        v = learned.lookup(&k);   // another CPU inserted it meanwhile
        if (!v) {
            count(C_LEARN_FAILED);
            return;
        }
    }
    __sync_fetch_and_or(&v->classes, (u64)mask);
    if (v->expires < expires)
        v->expires = expires;
    count(C_LEARNED);
}

// The owner name of a resource record: labels, a compression pointer, or labels ending
// in one. Returns the offset after it, 0 when it does not end within MAX_LABELS.
static __always_inline u32 skip_name(struct __sk_buff *skb, u32 off) {
    #pragma clang loop unroll(disable)
    for (int i = 0; i < MAX_LABELS + 1; i++) {
        u8 len = byte_at(skb, off);
        if (len == 0)
            return off + 1;
        if ((len & 0xc0) == 0xc0)
            return off + 2;
        off += len + 1;
    }
    return 0;
}

// One resource record at s->off; returns 0 when parsing should stop.
static __always_inline int learn_record(struct __sk_buff *skb, struct dns_scratch *s,
                                        struct config *cfg) {
    u32 off = skip_name(skb, s->off);
    u8 rr[10];   // type, class, ttl, rdlength
    if (!off || bpf_skb_load_bytes(skb, off, rr, sizeof(rr)))
        return 0;
    u16 type = rr[0] << 8 | rr[1];
    u32 ttl = (u32)rr[4] << 24 | (u32)rr[5] << 16 | (u32)rr[6] << 8 | rr[7];
    u16 rdlen = rr[8] << 8 | rr[9];
    off += sizeof(rr);
    u8 addr[16];
    if (type == 1 && rdlen == 4) {
        u32 v4 = 0;
        if (bpf_skb_load_bytes(skb, off, &v4, 4) == 0) {
            map_v4(addr, v4);
            learn(addr, s->mask, ttl, cfg);
        }
    } else if (type == 28 && rdlen == 16) {
        if (bpf_skb_load_bytes(skb, off, addr, 16) == 0)
            learn(addr, s->mask, ttl, cfg);
    }
    s->off = off + rdlen;
    return 1;
}

// One answer per program run, chained by tail calls: a loop over the answers would
// multiply the verifier's paths by each answer's.
BPF_PROG_ARRAY(learn_next, 1);

int learn_answer(struct __sk_buff *skb) {
    int zero = 0;
    struct dns_scratch *s = dns_scratch.lookup(&zero);
    struct config *cfg = config.lookup(&zero);
    if (!s || !cfg || s->left == 0)
        return 1;
    s->left--;
    if (learn_record(skb, s, cfg) && s->left)
        learn_next.call(skb, 0);
    return 1;
}

// cgroup skb ingress: runs as the reply is queued to the agent's socket. Always 1:
// these programs only learn, they never drop.
int learn_dns(struct __sk_buff *skb) {
    u32 dns = resolver_reply(skb);
    if (!dns)
        return 1;
    u8 h[12];
    if (bpf_skb_load_bytes(skb, dns, h, sizeof(h)))
        return 1;
    u16 flags = h[2] << 8 | h[3], qd = h[4] << 8 | h[5], an = h[6] << 8 | h[7];
    if (!(flags & 0x8000) || (flags & 0xf) != 0 || qd != 1 || an == 0)
        return 1;   // not a successful reply to one question
    int zero = 0;
    struct dns_scratch *s = dns_scratch.lookup(&zero);
    if (!s)
        return 1;
    u32 n = 0;
    u32 qlen = load_question(skb, dns + 12, s, &n);
    if (!qlen)
        return 1;
    s->mask = question_classes(s, n);
    if (!s->mask)
        return 1;
    s->off = dns + 12 + qlen + 4;
    s->left = an > MAX_ANSWERS ? MAX_ANSWERS : an;
    learn_next.call(skb, 0);
    return 1;
}
