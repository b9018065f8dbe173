// File opens under configured path prefixes, filtered and de-duplicated here.
#define PATH_LEN 256
#define N_PREFIXES 8
#define PREFIX_LEN 64

struct prefix {
    u32 len;
    char s[PREFIX_LEN];
};

// The aggregation key; also the body of the ring buffer event, so user space
// can match a first occurrence with the counts it later drains.
struct file_key {
    u32 tgid;
    u32 flags;
    u64 cgroup_id;
    char path[PATH_LEN];
};

struct open_stash {
    struct file_key key;
    u64 ts;
};

struct file_event {
    struct hdr h;
    struct file_key key;
};

BPF_ARRAY(file_prefixes, struct prefix, N_PREFIXES);
BPF_PERCPU_ARRAY(open_scratch, struct open_stash, 1);
BPF_HASH(open_pending, u64, struct open_stash, 4096);   // pid_tgid -> open in flight
LRU_HASH(file_agg, struct file_key, struct agg, FILE_AGG_ENTRIES);

// Same as net_agg_hit in common.c.
static __always_inline int file_agg_hit(struct file_key *key, u64 ts) {
    struct agg *a = file_agg.lookup(key);
    if (!a) {
        struct agg n = {.count = 1, .first_ts = ts, .last_ts = ts};
        if (file_agg.insert(key, &n) == 0)
            return 1;
        a = file_agg.lookup(key);
    }
    if (a) {
        __sync_fetch_and_add(&a->count, 1);
        a->last_ts = ts;
    }
    return 0;
}

static __always_inline int prefix_match(const char *path) {
    for (int i = 0; i < N_PREFIXES; i++) {
        int k = i;
        struct prefix *p = file_prefixes.lookup(&k);
        if (!p || p->len == 0)
            return 0;
        int ok = 1;
        for (int j = 0; j < PREFIX_LEN; j++) {
            if (j >= p->len)
                break;
            if (path[j] != p->s[j]) {
                ok = 0;
                break;
            }
        }
        if (ok)
            return 1;
    }
    return 0;
}

static __always_inline int open_enter(const char *filename, u32 flags) {
    u64 cg = bpf_get_current_cgroup_id();
    if (!watched(cg))
        return 0;
    int zero = 0;
    struct open_stash *s = open_scratch.lookup(&zero);
    if (!s)
        return 0;
    // Keys are hashed bytewise: the tail after the string must be zero.
    __builtin_memset(s->key.path, 0, PATH_LEN);
    if (bpf_probe_read_user_str(s->key.path, PATH_LEN, filename) <= 0)
        return 0;
    if (!prefix_match(s->key.path))
        return 0;
    u64 id = bpf_get_current_pid_tgid();
    s->key.tgid = id >> 32;
    s->key.flags = flags;
    s->key.cgroup_id = cg;
    s->ts = bpf_ktime_get_ns();
    open_pending.update(&id, s);
    return 0;
}

static __always_inline int open_exit(long ret) {
    u64 id = bpf_get_current_pid_tgid();
    struct open_stash *s = open_pending.lookup(&id);
    if (!s)
        return 0;
    if (ret >= 0) {
        u64 ts = s->ts;
        if (file_agg_hit(&s->key, ts)) {
            struct file_event *e = events.ringbuf_reserve(sizeof(struct file_event));
            if (e) {
                fill_hdr(&e->h, EV_FILE, s->key.cgroup_id, ts);
                bpf_probe_read_kernel(&e->key, sizeof(e->key), &s->key);
                events.ringbuf_submit(e, BPF_RB_NO_WAKEUP);
            } else {
                count_lost();
            }
        }
    }
    open_pending.delete(&id);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_openat) {
    return open_enter(args->filename, args->flags);
}

TRACEPOINT_PROBE(syscalls, sys_exit_openat) {
    return open_exit(args->ret);
}

TRACEPOINT_PROBE(syscalls, sys_enter_openat2) {
    u64 flags = 0;
    // open_how.flags is the first field of a user-space ABI struct.
    bpf_probe_read_user(&flags, sizeof(flags), (void *)args->how);
    return open_enter(args->filename, (u32)flags);
}

TRACEPOINT_PROBE(syscalls, sys_exit_openat2) {
    return open_exit(args->ret);
}

// open(2) itself: glibc uses openat, but static and older binaries do not.
TRACEPOINT_PROBE(syscalls, sys_enter_open) {
    return open_enter(args->filename, args->flags);
}

TRACEPOINT_PROBE(syscalls, sys_exit_open) {
    return open_exit(args->ret);
}
