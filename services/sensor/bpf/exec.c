// Process exec (full argv), exit (code), and parent tracking from fork.
#define ARGS_SIZE 4096
#define ARG_MAX_LEN 1024
#define MAX_ARGS 64

struct exec_args {
    u32 argc;
    u32 len;
    u32 truncated;
    u32 pad;
    char buf[ARGS_SIZE];
};

struct exec_event {
    struct hdr h;
    u32 ppid;
    u32 argc;
    u32 args_len;
    u32 truncated;
    char filename[256];
    char args[ARGS_SIZE];
};

struct exit_event {
    struct hdr h;
    u32 ppid;
    s32 code;
};

BPF_PERCPU_ARRAY(exec_scratch, struct exec_args, 1);
LRU_HASH(exec_stash, u32, struct exec_args, 1024);  // tid -> argv read at execve entry
LRU_HASH(parents, u32, u32, 65536);                  // pid -> parent tgid at fork
LRU_HASH(exit_codes, u32, s32, 16384);               // tgid -> code or -signal

// argv lives in the caller's memory only until the exec succeeds, so it is read
// at syscall entry and picked up by sched_process_exec.
static __always_inline int stash_argv(const char *const *argv) {
    if (!watched(bpf_get_current_cgroup_id()))
        return 0;
    int zero = 0;
    struct exec_args *a = exec_scratch.lookup(&zero);
    if (!a)
        return 0;
    a->argc = 0;
    a->truncated = 0;
    u32 off = 0;
    for (int i = 0; i < MAX_ARGS; i++) {
        const char *p = NULL;
        if (bpf_probe_read_user(&p, sizeof(p), &argv[i]) || !p)
            break;
        if (off > ARGS_SIZE - ARG_MAX_LEN) {
            a->truncated = 1;
            break;
        }
        int n = bpf_probe_read_user_str(&a->buf[off], ARG_MAX_LEN, p);
        if (n <= 0)
            break;
        off += n;
        a->argc++;
    }
    a->len = off;
    u32 tid = (u32)bpf_get_current_pid_tgid();
    exec_stash.update(&tid, a);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_execve) {
    return stash_argv(args->argv);
}

TRACEPOINT_PROBE(syscalls, sys_enter_execveat) {
    return stash_argv(args->argv);
}

TRACEPOINT_PROBE(sched, sched_process_exec) {
    u64 cg = bpf_get_current_cgroup_id();
    if (!watched(cg))
        return 0;
    struct exec_event *e = events.ringbuf_reserve(sizeof(struct exec_event));
    if (!e) {
        count_lost();
        return 0;
    }
    fill_hdr(&e->h, EV_EXEC, cg, bpf_ktime_get_ns());
    u32 pid = e->h.tgid;
    u32 *pp = parents.lookup(&pid);
    e->ppid = pp ? *pp : 0;
    TP_DATA_LOC_READ_STR(&e->filename, filename, sizeof(e->filename));
    u32 old = args->old_pid;
    struct exec_args *a = exec_stash.lookup(&old);
    if (a) {
        e->argc = a->argc;
        e->args_len = a->len;
        e->truncated = a->truncated;
        bpf_probe_read_kernel(&e->args, sizeof(e->args), a->buf);
        exec_stash.delete(&old);
    } else {
        e->argc = 0;
        e->args_len = 0;
        e->truncated = 0;
    }
    events.ringbuf_submit(e, BPF_RB_NO_WAKEUP);
    return 0;
}

// Not filtered by cgroup: a child usually joins its cgroup after the fork.
TRACEPOINT_PROBE(sched, sched_process_fork) {
    u32 child = args->child_pid;
    u32 parent = bpf_get_current_pid_tgid() >> 32;
    parents.update(&child, &parent);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_exit_group) {
    if (!watched(bpf_get_current_cgroup_id()))
        return 0;
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    s32 code = args->error_code & 0xff;
    exit_codes.update(&tgid, &code);
    return 0;
}

// A default-action signal that terminates: the exit is reported as -signal.
TRACEPOINT_PROBE(signal, signal_deliver) {
    if (args->sa_handler != 0)
        return 0;
    int sig = args->sig;
    // SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG, SIGWINCH
    if ((sig >= 17 && sig <= 23) || sig == 28)
        return 0;
    if (!watched(bpf_get_current_cgroup_id()))
        return 0;
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    s32 code = -sig;
    exit_codes.update(&tgid, &code);
    return 0;
}

TRACEPOINT_PROBE(sched, sched_process_exit) {
    if (!args->group_dead)
        return 0;
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    u32 *pp = parents.lookup(&tgid);
    u32 ppid = pp ? *pp : 0;
    parents.delete(&tgid);
    s32 *c = exit_codes.lookup(&tgid);
    s32 code = c ? *c : 0;
    exit_codes.delete(&tgid);
    u64 cg = bpf_get_current_cgroup_id();
    if (!watched(cg))
        return 0;
    struct exit_event *e = events.ringbuf_reserve(sizeof(struct exit_event));
    if (!e) {
        count_lost();
        return 0;
    }
    fill_hdr(&e->h, EV_EXIT, cg, bpf_ktime_get_ns());
    e->ppid = ppid;
    e->code = code;
    events.ringbuf_submit(e, BPF_RB_NO_WAKEUP);
    return 0;
}
