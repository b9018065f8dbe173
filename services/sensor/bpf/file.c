// File opens under configured path prefixes, filtered and de-duplicated here.
//
// Every openat of every process runs this, so the common cases are kept short:
// an unwatched cgroup costs one cached lookup; a thread opening again the short path
// it last opened (most repeats) costs one fixed-size read of the path's first 64
// bytes, compared with that path, then at the exit a bump of a count the thread
// holds. Any other open also costs a word-wise prefix test, a fingerprint of the
// path, and on a hit the path compared word by word with the map's. The open's
// arguments wait for its exit in task storage (no hash insert and delete per open),
// and no clock is read until the open is known to count.
//
// Held repeats (task storage only; with STASH_HASH each repeat goes to the map at
// once). A thread's first repeat in a tick of a key it has found in the map goes to
// the map at once (so the map's last_ts is exact to the tick, as agg_repeat's, and a
// thread repeating less often than once a tick is counted at once); its further
// repeats in that tick are counted in its stash, not in the map (a 32-byte key lookup
// and an atomic add less each). file_flush_held adds them to the map, announced as
// agg_repeat's are, with the thread's first repeat in a later tick, at its next open
// that is not a repeat (of any path: before the stash's key or path may change; also
// the first open after a cgroup move or a rules change), and when it execs or exits
// (file_task_ends). While a thread keeps opening, its counts so reach the map at most
// one tick late (1-10 ms; 4 at HZ=250), and user space at the drain after that. A
// thread that stops opening keeps the further repeats of its last tick (never a first
// occurrence, nor a tick's first repeat) until it opens again, execs or exits,
// however long that takes: nothing else runs in its context, and a drain cannot take
// them (the thread bumps its count without a lock). A key the LRU evicted meanwhile
// comes back at the flush as a new first occurrence (its record sent again, stamped
// then), the other held repeats its count.
#define PATH_LEN 256
#define N_PREFIXES 8
#define PREFIX_WORDS 8      // prefixes shorter than PREFIX_LEN bytes
#define PREFIX_LEN (PREFIX_WORDS * 8)

// A prefix as 8-byte little-endian words, and for each word the mask of the bytes
// that belong to the prefix (the last word's may be partial). Filled by user space.
struct prefix {
    u64 word[PREFIX_WORDS];
    u64 mask[PREFIX_WORDS];
    u32 nwords;             // 0: no prefix here, and none after
    u32 pad;
};

// The de-duplication key. Hashing a 256-byte path on every lookup cost more than
// the rest of the program, so the path enters the key as its length and a
// fingerprint; the path itself is kept in the value and compared on every hit,
// so two paths are never counted as one (a fingerprint collision is reported on
// its own, EV_FILE_SOLO). Also the body of the ring buffer record, so user space
// can match a first occurrence with the counts it later drains.
struct file_key {
    u32 tgid;
    u32 flags;
    u64 cgroup_id;
    u64 fp;
    u32 len;                // path bytes before the NUL
    u32 pad;
};

// The value keeps what the first occurrence's record says besides its key, so user
// space can rebuild that record from the map alone (count updates, a lost record).
struct file_value {
    struct agg a;
    u32 uid;
    u32 pad;
    char comm[16];
    char path[PATH_LEN];
};

struct file_event {
    struct hdr h;
    struct file_key key;
    char path[PATH_LEN];
};

// An open between its syscall's entry and exit, kept with the task; with task
// storage, also whether the task's cgroup is watched (for cgroup seen_cg, as of the
// rules' generation seen_gen), so a watched task's open skips the verdict lookup.
// key and path stay after the open: a task that opens the same short path again
// (most repeats) is known by comparing the path's bytes with those (repeatable, same),
// without the prefix test and fingerprint; checked_ts says which map entry (by its
// first_ts) was found to hold this path, so its hits skip comparing paths; held
// repeats of key (see the top) are all of tick held_tick, the first at held_ts or later.
struct open_stash {
    struct file_key key;
    char path[PATH_LEN];
    u64 same[PREFIX_WORDS]; // the bytes of path up to its NUL (included), as masks
    u64 checked_ts;         // 0: none
    u32 repeatable;         // key, path and same describe a path shorter than PREFIX_LEN
    u32 pending;
    u32 seen_gen;
    u32 seen_watched;
    u64 seen_cg;
    u64 held_tick;
    u64 held_ts;
    u32 held;
    u32 held_pad;
};

BPF_ARRAY(file_prefixes, struct prefix, N_PREFIXES);
LRU_HASH(file_agg, struct file_key, struct file_value, FILE_AGG_ENTRIES);
BPF_PERCPU_ARRAY(file_new, struct file_value, 1);   // a first occurrence's value, built here

// The bytes of word i of a len-byte string that belong to it.
static __always_inline u64 word_mask(u32 len, int i) {
    u32 left = len - i * 8;
    return left >= 8 ? ~0ULL : (1ULL << (left * 8)) - 1;
}

// One step per path word, written out: a loop bounded by a length read at run time
// is rewritten by clang into a form the verifier cannot bound.
#define WORDS_8(STEP, b) STEP(b) STEP(b + 1) STEP(b + 2) STEP(b + 3) \
                         STEP(b + 4) STEP(b + 5) STEP(b + 6) STEP(b + 7)
#define PATH_WORDS_DO(STEP) WORDS_8(STEP, 0) WORDS_8(STEP, 8) WORDS_8(STEP, 16) WORDS_8(STEP, 24)

// Most prefixes are told apart by their first word, so a mismatch there moves on at
// once; the other words are compared without a branch each (the masks are zero past
// a prefix's end). Loops that stop at nwords cost several times more.
static __always_inline int prefix_match(const u64 *path) {
    for (int i = 0; i < N_PREFIXES; i++) {
        int k = i;
        struct prefix *p = file_prefixes.lookup(&k);
        if (!p || p->nwords == 0)
            return 0;
        if ((path[0] ^ p->word[0]) & p->mask[0])
            continue;
        u64 diff = 0;
#pragma unroll
        for (int j = 1; j < PREFIX_WORDS; j++)
            diff |= (path[j] ^ p->word[j]) & p->mask[j];
        if (!diff)
            return 1;
    }
    return 0;
}

// Keyed (FILE_FP_SEED, chosen at each start) so that colliding paths cannot be
// prepared in advance; a collision costs only de-duplication, never an event.
static __always_inline u64 fingerprint(const u64 *path, u32 len) {
    u64 h = FILE_FP_SEED ^ len;
#define FP_STEP(i)                                                          \
    if ((i) * 8 >= len)                                                     \
        return h;                                                           \
    h = (h ^ (path[i] & word_mask(len, i))) * 0x9e3779b97f4a7c15ULL;        \
    h ^= h >> 29;
    PATH_WORDS_DO(FP_STEP)
#undef FP_STEP
    return h;
}

static __always_inline int same_path(const u64 *a, const u64 *b, u32 len) {
#define SAME_STEP(i)                                                        \
    if ((i) * 8 >= len)                                                     \
        return 1;                                                           \
    if ((a[i] ^ b[i]) & word_mask(len, i))                                  \
        return 0;
    PATH_WORDS_DO(SAME_STEP)
#undef SAME_STEP
    return 1;
}

// The index of the first NUL byte of a little-endian word, -1 if it has none.
static __always_inline int nul_at(u64 w) {
    u64 z = (w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL;
    if (!z)
        return -1;
    return (((z & -z) >> 7) * 0x0001020304050607ULL) >> 56;
}

// Zero what follows the path's NUL (bytes a fixed-size read took along, or earlier
// paths of the task): a first occurrence carries its path to the map and the ring.
static __always_inline void clear_tail(struct open_stash *s) {
    u64 *w = (u64 *)s->path;
    u32 len = s->key.len;
#define CLEAR_STEP(i)                                                       \
    if ((i) * 8 + 8 > len)                                                  \
        w[i] = (i) * 8 >= len ? 0 : w[i] & word_mask(len, i);
    PATH_WORDS_DO(CLEAR_STEP)
#undef CLEAR_STEP
}

static __always_inline void emit_file(struct open_stash *s, u32 type, u64 ts) {
    struct file_event *e = events.ringbuf_reserve(sizeof(struct file_event));
    if (!e) {
        count_lost();
        return;
    }
    fill_hdr(&e->h, type, s->key.cgroup_id, ts);
    __builtin_memcpy(&e->key, &s->key, sizeof(e->key));
    __builtin_memcpy(e->path, s->path, PATH_LEN);
    events.ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

// The first occurrence of the stash's key, now: into the map and, when this insert
// wins (even against another CPU), in full to the ring buffer. Now, also for held
// repeats: user space takes a key whose record is late by LOST_GRACE_NS for lost.
static __always_inline int file_first(struct open_stash *s) {
    int zero = 0;
    struct file_value *n = file_new.lookup(&zero);
    if (!n)
        return 0;
    clear_tail(s);
    u64 ts = bpf_ktime_get_ns();
    n->a.count = 1;
    n->a.first_ts = ts;
    n->a.last_ts = ts;
    n->a.tick = bpf_jiffies64();
    n->a.gen = 0;   // no generation: the first repeat is announced
    n->uid = (u32)bpf_get_current_uid_gid();
    n->pad = 0;
    bpf_get_current_comm(n->comm, sizeof(n->comm));
    __builtin_memcpy(n->path, s->path, PATH_LEN);
    if (file_agg.insert(&s->key, n) != 0)
        return 0;
    s->checked_ts = ts;
    emit_file(s, EV_FILE, ts);
    return 1;
}

// Whether v, the map's entry for the stash's key, is of the stash's path; a
// different path under the key (a fingerprint collision) goes to the ring buffer
// on its own, never counted.
static __always_inline int holds_path(struct open_stash *s, struct file_value *v) {
    if (v->a.first_ts == s->checked_ts)
        return 1;
    if (!same_path((const u64 *)s->path, (const u64 *)v->path, s->key.len)) {
        clear_tail(s);
        emit_file(s, EV_FILE_SOLO, bpf_ktime_get_ns());
        return 0;
    }
    s->checked_ts = v->a.first_ts;
    return 1;
}

// One open of the stash's key, counted at once: the first occurrence (file_first),
// or a repeat.
static __always_inline void count_open(struct open_stash *s) {
    struct file_value *v = file_agg.lookup(&s->key);
    if (!v) {
        if (file_first(s))
            return;
        v = file_agg.lookup(&s->key);   // another CPU's insert won
        if (!v)
            return;
    }
    if (holds_path(s, v))
        agg_repeat(&v->a, AGG_FILE, &s->key, sizeof(s->key));
}

// The stash's held repeats into the map. Evicted meanwhile, the key comes back as a
// first occurrence (its record sent again) and the rest of them as its repeats.
// Only the stash's thread runs this, so held needs no atomic.
static __always_inline void file_flush_held(struct open_stash *s) {
    u64 n = s->held;
    if (!n)
        return;
    s->held = 0;
    struct file_value *v = file_agg.lookup(&s->key);
    if (!v) {
        if (file_first(s) && --n == 0)
            return;
        v = file_agg.lookup(&s->key);
        if (!v) {
            count_lost();
            return;
        }
    }
    if (holds_path(s, v))
        agg_add(&v->a, n, s->held_tick, s->held_ts, AGG_FILE, &s->key, sizeof(s->key));
}

#ifdef STASH_HASH
// Kernels without task storage in tracing programs (before 5.11): a hash by thread.
BPF_PERCPU_ARRAY(open_scratch, struct open_stash, 1);
BPF_HASH(open_pending, u64, struct open_stash, 4096);

// The stash for an open of a watched task; NULL for the others.
static __always_inline struct open_stash *stash_enter(u64 cg) {
    if (!watched(cg))
        return NULL;
    int zero = 0;
    return open_scratch.lookup(&zero);
}

static __always_inline void stash_keep(struct open_stash *s) {
    u64 id = bpf_get_current_pid_tgid();
    open_pending.update(&id, s);
}

static __always_inline struct open_stash *stash_exit(void) {
    u64 id = bpf_get_current_pid_tgid();
    return open_pending.lookup(&id);
}

static __always_inline void stash_done(struct open_stash *s) {
    u64 id = bpf_get_current_pid_tgid();
    open_pending.delete(&id);
}

// No stash outlives its open here: every repeat is counted at once.
static __always_inline int file_hold(struct open_stash *s) {
    return 0;
}

static __always_inline struct open_stash *file_stash_of_task(void) {
    return NULL;
}
#else
BPF_TASK_STORAGE(open_task, struct open_stash);

// The stash for an open of a watched task; NULL for the others. A task that has one
// and is still in the cgroup it was judged in (under the same rules) is not judged
// again; only watched tasks get one (an open of the others costs one more lookup).
static __always_inline struct open_stash *stash_enter(u64 cg) {
    struct task_struct *task = bpf_get_current_task_btf();
    struct open_stash *s = open_task.task_storage_get(task, 0, 0);
    int zero = 0;
    u32 *genp = cg_rules_gen.lookup(&zero);
    u32 gen = genp ? *genp : 0;
    if (s && s->seen_cg == cg && s->seen_gen == gen) {
        if (!s->seen_watched)
            return NULL;
    } else {
        if (s)
            file_flush_held(s);  // its key's cgroup, or the rules, changed
        int yes = watched(cg);
        if (!s && yes) {
            s = open_task.task_storage_get(task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
            if (!s) {
                count_lost();   // no memory for this task's stash: the open goes uncounted
                return NULL;
            }
        }
        if (!s)
            return NULL;
        s->seen_cg = cg;
        s->seen_gen = gen;
        s->seen_watched = yes;
        if (!yes)
            return NULL;
    }
    s->pending = 0;
    return s;
}

static __always_inline void stash_keep(struct open_stash *s) {
    s->pending = 1;
}

static __always_inline struct open_stash *stash_exit(void) {
    struct open_stash *s = open_task.task_storage_get(bpf_get_current_task_btf(), 0, 0);
    return s && s->pending ? s : NULL;
}

static __always_inline void stash_done(struct open_stash *s) {
    s->pending = 0;
}

// A successful repeat of a key found in the map. The first of its tick goes to the
// map at once, with the repeats held from an earlier tick, so the map's last_ts is
// what agg_repeat would make it and a thread repeating less than once a tick is
// counted at once; the rest of the tick are held in the stash (see the top).
// 0: to be counted at once.
static __always_inline int file_hold(struct open_stash *s) {
    if (!s->checked_ts)
        return 0;
    u64 tick = bpf_jiffies64();
    s->held++;
    if (tick != s->held_tick) {
        s->held_tick = tick;
        s->held_ts = bpf_ktime_get_ns();
        file_flush_held(s);
    }
    return 1;
}

static __always_inline struct open_stash *file_stash_of_task(void) {
    return open_task.task_storage_get(bpf_get_current_task_btf(), 0, 0);
}
#endif

// The path's length (before its NUL), read into s->path from its first PREFIX_LEN
// bytes, head (one fixed-size read, cheaper than a string read; into the stack, as a
// user read straight into task storage costs more), and the rest only when a prefix
// matched them (prefixes are shorter than PREFIX_LEN: the first bytes decide).
// -1 when rejected (s->path is then as it was, so the task's last path can still repeat).
static __always_inline long path_from_head(struct open_stash *s, const u64 *head,
                                           const char *filename) {
    long len = -1;
#define NUL_STEP(i)                                                         \
    if (len < 0) {                                                          \
        int k = nul_at(head[i]);                                            \
        if (k >= 0)                                                         \
            len = (i) * 8 + k;                                              \
    }
    WORDS_8(NUL_STEP, 0)
#undef NUL_STEP
    if (!prefix_match(head))
        return -1;
    s->repeatable = 0;  // s->path changes
    if (len < 0) {
        long n = bpf_probe_read_user_str(s->path, PATH_LEN, filename);
        return n > 0 ? n - 1 : -1;
    }
    __builtin_memcpy(s->path, head, PREFIX_LEN);
    return len;
}

// The string ends within PREFIX_LEN bytes of an unmapped page: read it as a string.
static __always_inline long path_from_string(struct open_stash *s, const char *filename) {
    s->repeatable = 0;
    long n = bpf_probe_read_user_str(s->path, PATH_LEN, filename);
    return n > 0 && prefix_match((const u64 *)s->path) ? n - 1 : -1;
}

// Whether this open is of the task's last counted key: same process, flags, cgroup
// and path bytes (up to the NUL) as s->key and s->path.
static __always_inline int repeats_last(struct open_stash *s, const u64 *head, u32 flags,
                                        u64 cg, u32 tgid) {
    if (!s->repeatable || s->key.flags != flags || s->key.cgroup_id != cg || s->key.tgid != tgid)
        return 0;
    const u64 *p = (const u64 *)s->path;
    u64 diff = 0;
#pragma unroll
    for (int i = 0; i < PREFIX_WORDS; i++)
        diff |= (head[i] ^ p[i]) & s->same[i];
    return diff == 0;
}

// A new key in the stash: what repeats_last compares with, if the path is short.
static __always_inline void set_key(struct open_stash *s, u32 len, u32 flags, u64 cg, u32 tgid) {
    s->key.tgid = tgid;
    s->key.flags = flags;
    s->key.cgroup_id = cg;
    s->key.fp = fingerprint((const u64 *)s->path, len);
    s->key.len = len;
    s->key.pad = 0;
    s->checked_ts = 0;
    if (len >= PREFIX_LEN)
        return;
    u32 bytes = len + 1;
#define SAME_STEP(i) s->same[i] = (i) * 8 >= bytes ? 0 : word_mask(bytes, i);
    WORDS_8(SAME_STEP, 0)
#undef SAME_STEP
    s->repeatable = 1;
}

static __always_inline int open_enter(const char *filename, u32 flags) {
    u64 cg = bpf_get_current_cgroup_id();
    struct open_stash *s = stash_enter(cg);
    if (!s)
        return 0;
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    u64 head[PREFIX_WORDS];
    long unread = bpf_probe_read_user(head, PREFIX_LEN, filename);
    if (!unread && repeats_last(s, head, flags, cg, tgid)) {
        stash_keep(s);
        return 0;
    }
    file_flush_held(s);  // before the stash's path and key may change
    long n = unread ? path_from_string(s, filename) : path_from_head(s, head, filename);
    if (n < 0)
        return 0;
    set_key(s, n & (PATH_LEN - 1), flags, cg, tgid);
    stash_keep(s);
    return 0;
}

static __always_inline int open_exit(long ret) {
    struct open_stash *s = stash_exit();
    if (!s)
        return 0;
    if (ret >= 0 && !file_hold(s))
        count_open(s);
    stash_done(s);
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

// Attached by hand (probes/file.py) to sched_process_exit, for each exiting thread,
// and to sched_process_exec: the repeats the task holds go to the map.
int file_task_ends(void *ctx) {
    struct open_stash *s = file_stash_of_task();
    if (s)
        file_flush_held(s);
    return 0;
}
