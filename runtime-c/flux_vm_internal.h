/* flux_vm_internal.h - the inside of the FLUX runtime, shared by its .c files.
 *
 * flux_vm.h is the public interface, where a flux_vm is an opaque handle;
 * this header defines what the handle points to (struct flux_vm, the agents,
 * the debugger's tables) for the runtime's own files:
 *   flux_vm.c     the opcode table, the VM's life cycle, checkpoints, host
 *                 access, and the interpreter (one dispatch loop);
 *   flux_sched.c  agents and the scheduler: turns, time slices (round-robin
 *                 or chaos), blocking and waking, mailboxes;
 *   flux_hooks.c  the debugger's hooks: breakpoints, watchpoints, stub-side
 *                 conditions, agent-expression breakpoints, watch-if,
 *                 tracing and profiling;
 *   flux_cond.c   the public entries to the condition evaluators.
 * The helpers the dispatch loop needs on its hot path are static inline
 * here, so that splitting the files costs the loop nothing; functions the
 * files share otherwise are named fluxi_* (internal, not part of the API).
 * Nothing here is global state: everything lives in struct flux_vm.
 */
#ifndef FLUX_VM_INTERNAL_H
#define FLUX_VM_INTERNAL_H

#include "flux_vm.h"
#include "flux_ax_eval.h"
#include "flux_cond_eval.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define MEM_PAD 16u             /* operand fetch past the end reads zeros */
#define MAILBOX_CAP FLUX_MAILBOX_CAP
#define INSTINCT_SLOTS 16u
#define MAX_PROPOSALS 16u
#define NUM_TOPICS 16u
#define FIRST_AGENT 1u           /* the program's first agent: the program ends with it */
#define KILLED_EXIT 137         /* exit code of a KILLed agent (128 + SIGKILL, as a shell says) */
#define CHUNK 65536u            /* instructions between interrupt checks */

enum vm_state { VM_RUNNING, VM_EXHAUSTED, VM_HALTED, VM_TERMINATED };

typedef struct watchpoint {
    uint32_t addr, len, kind;
    uint32_t owner;   /* 0: gdb's; else the watch-if condition this write-trigger serves */
} watchpoint;

/* A write-trigger: writes to the range make the watch-if conditions be
 * checked (instead of stopping, as a gdb watchpoint would). */
#define WATCH_TRIGGER 4u

enum { COND_NONE, COND_EXPR, COND_AX };

/* A breakpoint checked inside the loop: a stub-side one (`monitor break`,
 * its condition compiled from the condition language) or one of gdb's with
 * conditions and commands as agent expressions (kept in vm->ax_pool as
 * [length low, length high, bytecode...] each). */
typedef struct cond_breakpoint {
    uint32_t id, addr;
    int has_cond;                /* COND_NONE, COND_EXPR (cond), COND_AX (ax_off/ax_len) */
    flux_cond cond;
    uint32_t ax_off, ax_len;     /* the conditions: any of them holds */
    uint32_t cmd_off, cmd_len;   /* commands run where a condition holds, instead of stopping */
} cond_breakpoint;

typedef struct watch_cond {
    uint32_t id;
    uint8_t once;   /* removed after it fires (apoptosis warnings) */
    uint8_t last;   /* its value after the previous instruction: it fires on false -> true */
    uint8_t every;  /* reads something any instruction may change: check after each one */
    flux_cond cond;
} watch_cond;

/* Confidence provenance: every write of a confidence that is not a plain
 * 1.0 -> 1.0 is recorded with the records of the confidences it was computed
 * from, so that a chain can be walked back from any register. */
#define PROV_RING 4096u
typedef struct prov_record {
    uint64_t seq;          /* 1, 2, ...; 0 means "no record" */
    uint64_t cycle;
    uint32_t pc;
    uint8_t insn[6];
    uint8_t dest;
    float before, after;
    uint64_t parent[2];    /* seq of the sources' records, 0 for none */
} prov_record;

typedef struct message {
    int32_t value;
    float conf;
    uint32_t from;
} message;

typedef struct instinct {
    int32_t key, value;
    float strength;
    uint8_t used;
} instinct;

typedef struct proposal {
    int32_t value;
    uint32_t quorum, yes, no;
    uint8_t used;
} proposal;

/* One agent.  While it runs, its registers live in the VM's own fields (r,
 * conf, pc, ... below), where the handlers use them; they are copied here
 * when the scheduler switches away from it (fluxi_agent_save) and back
 * (fluxi_agent_load), so the hot path never looks at this struct.  Everything else
 * (state, mailbox) is only ever here. */
typedef struct agent {
    uint32_t id;             /* 0: a slot never used */
    uint32_t state;          /* flux_agent_state */
    uint32_t wait_on, wait_op;
    uint32_t barrier_gen;    /* the barrier generation it waits in */
    uint32_t retry;          /* it blocked at pc: the stop map was checked there already */
    int32_t exit_code;
    uint32_t stack_lo, stack_hi;
    /* the registers, while it does not run */
    int32_t r[FLUX_NUM_REGS];
    float conf[FLUX_NUM_REGS];
    uint32_t pc, sp, fp;
    uint32_t flags, fl_kind, fl_x, fl_y, fl_res;
    int64_t energy, energy_net_in;
    uint64_t retired, timer_start;
    uint64_t prov_head[FLUX_NUM_REGS];
    float last_conf;
    /* its mailbox: a ring */
    message mailbox[MAILBOX_CAP];
    uint32_t mail_head, mail_count;
    uint16_t subscriptions;  /* topics it is subscribed to */
} agent;

struct flux_vm {
    uint8_t mem[FLUX_MEM_SIZE + MEM_PAD];

    /* ---- the machine state: everything a checkpoint saves besides memory
     * (flux_vm_save_state copies this block whole, from `r` to
     * `machine_end`; a field that changes as the program runs belongs here) */
    int32_t r[FLUX_NUM_REGS];
    float conf[FLUX_NUM_REGS];
    uint32_t pc, sp, fp;
    /* Flags are computed when read: arithmetic records its operands and
     * result (fl_*), and flags_now() derives Z S C O from them. */
    uint32_t flags;          /* valid when fl_kind == FL_DONE */
    uint32_t fl_kind, fl_x, fl_y, fl_res;
    int64_t energy;
    uint64_t cycles;
    /* FLUX state */
    uint64_t rng;
    float trust[FLUX_NUM_AGENTS];
    float trust_prev[FLUX_NUM_AGENTS];
    float trust_threshold;
    uint32_t trust_failures;
    instinct instincts[INSTINCT_SLOTS];
    proposal proposals[MAX_PROPOSALS];
    uint8_t routes[FLUX_NUM_AGENTS];
    int64_t energy_pool, energy_reserve, energy_net_in;
    uint64_t timer_start;
    int64_t energy_alarm;
    float last_conf;            /* confidence of the last result (see CONF_RESULT) */
    flux_trust_event trust_log[FLUX_TRUST_LOG];   /* a ring: the newest trust checks */
    uint64_t trust_log_count;
    uint64_t prov_seq;                             /* provenance records written so far */
    uint64_t prov_head[FLUX_NUM_REGS];             /* each register's latest record */
    uint32_t state;
    int32_t exit_code;
    int32_t term_signal;
    char term_reason[128];
    /* agents and the scheduler: the running agent's registers are the fields
     * above (r ... last_conf, stack_lo/hi); see struct agent */
    uint32_t stack_lo, stack_hi;   /* the running agent's stack region */
    agent agents[FLUX_MAX_AGENTS]; /* slot 0 is agent 1's */
    uint32_t cur;                  /* the running agent's slot */
    uint32_t nlive;
    uint32_t next_id;              /* the id the next SPAWN gives */
    uint8_t id_state[FLUX_NUM_AGENTS];  /* 0 never alive, 1 alive, 2 ended */
    uint8_t id_exit[FLUX_NUM_AGENTS];   /* exit codes of ended agents, for JOIN */
    uint32_t sched, slice;         /* flux_sched_kind, slice length */
    uint64_t sched_rng;            /* chaos: the scheduler's own generator */
    uint64_t slice_start, slice_end;  /* cycles where the running agent's slice began and ends */
    uint32_t barrier_gen;
    int64_t agent_budget;          /* the energy every agent starts with */
    /* PCT (flux_sched.c; all zero under the other schedulers) */
    uint32_t pct_depth;            /* the depth bound d */
    uint32_t pct_next;             /* change points passed (of d - 1) */
    uint64_t pct_at[FLUX_PCT_MAX_DEPTH];   /* the change points: global cycles, ascending */
    uint32_t pct_low[FLUX_PCT_MAX_DEPTH];  /* the priority each gives (1..d-1) */
    int64_t prio[FLUX_NUM_AGENTS];         /* each agent id's priority */
    char machine_end[1];
    /* ---- end of the machine state */

    /* Which FLUX_LINE_SIZE-byte lines of memory were written (by the program
     * or the debugger), one byte per line with three marks: WRITTEN_LINE since
     * flux_vm_take_dirty_lines, WRITTEN_PAGE since flux_vm_take_dirty_pages
     * (checkpoints copy only those pages), WRITTEN_HASH since
     * flux_vm_take_rehash_pages (a running hash of memory re-hashes only
     * those).  A write sets all three with one store per line it touches;
     * taking pages ORs a page's 16 lines.  One spare entry. */
    uint8_t written[FLUX_LINES + 1];
    /* where the last run stopped at a breakpoint: the next run from there
     * passes over it (UINT32_MAX: none) */
    uint32_t resume_pc;
    /* the nondeterministic inputs the program drew (RNG values), while logging */
    int log_inputs;
    flux_input_event inputs[FLUX_INPUT_LOG];
    uint32_t ninputs;
    uint32_t inputs_lost;

    /* configuration and the loaded image, for reset */
    int64_t energy_budget;
    uint64_t seed;
    uint32_t sched_cfg, slice_cfg;
    uint32_t pct_depth_cfg;
    uint64_t pct_steps_cfg;
    int sched_locked;           /* gdb's scheduler-locking: no switches */
    int lock_deviated;          /* a locked run kept an agent past its slice */
    int turn_break;             /* end the turn at the next chunk boundary (SPAWN) */
    uint8_t program[FLUX_MEM_SIZE];
    size_t program_len;

    /* debugger hooks */
    uint64_t breakpoints[FLUX_MEM_SIZE / 64];
    /* breakpoints, plus the last 5 bytes of memory where an instruction could
     * run past the end: the addresses whose dispatch takes the slow path.  One
     * more word, all ones, for pc = FLUX_MEM_SIZE: where a program that runs
     * off the end of memory lands (it faults there). */
    uint64_t stopmap[FLUX_MEM_SIZE / 64 + 1];
    /* The stop map a byte per address, for the optimized loop's one-compare
     * test: 1 where stopmap has its bit, and everywhere while a
     * per-instruction hook (tracing, profiling, the access log, a watch-if
     * on registers) is on (stops_all), so that the loop's one test sends
     * every instruction to the hooks then.  The bytes past FLUX_MEM_SIZE are
     * always 1.  Not machine state: derived from the maps and the hooks. */
    uint8_t stopbytes[FLUX_MEM_SIZE + 64];
    uint8_t stops_all;
    /* stub-side breakpoints: an address and a condition checked in the loop */
    uint64_t condbp_map[FLUX_MEM_SIZE / 64];
    cond_breakpoint condbps[FLUX_MAX_COND_BREAKPOINTS];
    uint32_t ncondbp;
    uint8_t ax_pool[FLUX_AX_POOL];   /* the agent expressions of gdb's breakpoints */
    uint32_t ax_pool_len;
    flux_ax_result ax_last;          /* why the last agent-expression breakpoint stopped */
    uint8_t ax_out[FLUX_AX_OUT_CAP]; /* text from breakpoint commands (dprintf) */
    uint32_t ax_out_len;
    /* watch-if conditions: checked after every instruction while any exist */
    watch_cond wconds[FLUX_MAX_WATCH_CONDS];
    uint32_t nwcond;
    uint32_t nwcond_every;      /* how many of them need checking after every instruction */
    int64_t max_cost;           /* the largest base energy cost in the table */
    /* the optimized loop's tables, in the VM so that it reaches them from the
     * one pointer it holds (a static table costs an address computation per
     * instruction): each loop's dispatch table (its label addresses, filled
     * by the loop) */
    const void *dispatch_single[256], *dispatch_multi[256];
    watchpoint watch[FLUX_MAX_WATCHPOINTS];
    uint32_t nwatch;
    /* one byte per 16-byte granule of memory: nonzero where a watchpoint (or
     * a watch-if write-trigger) lies, and everywhere while a trace or the
     * access log is on, so most accesses are cleared with two loads */
    uint8_t watch_gran[FLUX_MEM_SIZE / 16];
    atomic_int interrupt;

    /* program output */
    uint8_t out[FLUX_OUTPUT_CAP];
    size_t out_len;

    /* tracing: records of retired instructions (see flux_vm.h) */
    int tracing;
    int watch_any;              /* nwatch > 0 or tracing: memory writes take the slow path */
    uint8_t *trace_buf;
    size_t trace_cap, trace_len;
    flux_trace_mem tmem[FLUX_TRACE_MAX_MEM];   /* writes of the instruction running */
    uint32_t ntmem;
    int tmem_more;
    int32_t snap_r[FLUX_NUM_REGS];             /* registers before it */
    float snap_conf[FLUX_NUM_REGS];
    uint64_t snap_trust_count;

    /* the access log (flux_vm_log_accesses) */
    int access_log;
    flux_access *acc_buf;
    uint32_t nacc, acc_lost;

    /* profiling: exact counts */
    int profiling;
    uint64_t *prof_count, *prof_energy;        /* FLUX_MEM_SIZE each; prof_energy holds
                                                  only what costs beyond the table's */
    uint64_t prof_mark;                        /* cycles when prof_cur became current */
    uint64_t *prof_energy_out;                 /* flux_vm_profile_energy's answer */
    flux_prof_node *prof_nodes;
    uint32_t prof_nnodes, prof_cap, prof_cur;
    uint32_t *prof_hash;                       /* (parent, func) -> node + 1, 2 * prof_cap slots */
    /* profile events (flux_vm_profile_events) */
    int prof_ev_on;
    flux_prof_event *prof_ev;
    uint32_t prof_ev_len;
    uint64_t prof_ev_lost;
    /* A ring of confidence provenance.  Not part of checkpoints (it is large):
     * after going back in time, records older than the ring may be gone. */
    prov_record prov[PROV_RING];
    int break_on_trust_fail;
};

/* ---- flags ---------------------------------------------------------------- */

static inline uint32_t zs_flags(uint32_t v) {
    return (v == 0 ? FLUX_FLAG_Z : 0) | ((v >> 31) ? FLUX_FLAG_S : 0);
}
static inline uint32_t add_flags(uint32_t a, uint32_t b, uint32_t res) {
    return zs_flags(res) | (res < a ? FLUX_FLAG_C : 0) |
           ((((a ^ res) & (b ^ res)) >> 31) ? FLUX_FLAG_O : 0);
}
static inline uint32_t sub_flags(uint32_t a, uint32_t b, uint32_t res) {
    return zs_flags(res) | (a < b ? FLUX_FLAG_C : 0) |
           ((((a ^ b) & (a ^ res)) >> 31) ? FLUX_FLAG_O : 0);
}

enum { FL_DONE, FL_ZS, FL_ADD, FL_SUB };

static inline __attribute__((always_inline)) uint32_t flags_now(const flux_vm *vm) {
    switch (vm->fl_kind) {
    case FL_ZS: return zs_flags(vm->fl_res);
    case FL_ADD: return add_flags(vm->fl_x, vm->fl_y, vm->fl_res);
    case FL_SUB: return sub_flags(vm->fl_x, vm->fl_y, vm->fl_res);
    default: return vm->flags;
    }
}

#define SET_FLAGS(f) (vm->flags = (f), vm->fl_kind = FL_DONE)
#define SET_ZS(v) (vm->fl_res = (uint32_t)(v), vm->fl_kind = FL_ZS)
#define SET_ADD(x, y, v) \
    (vm->fl_x = (uint32_t)(x), vm->fl_y = (uint32_t)(y), vm->fl_res = (uint32_t)(v), vm->fl_kind = FL_ADD)
#define SET_SUB(x, y, v) \
    (vm->fl_x = (uint32_t)(x), vm->fl_y = (uint32_t)(y), vm->fl_res = (uint32_t)(v), vm->fl_kind = FL_SUB)

/* Out of the interpreter's way: agent bookkeeping runs at switches, rarely,
 * and inlined into flux_vm_run it would cost the hot path registers. */
#define COLD __attribute__((noinline, cold))

/* The running agent's registers into its slot, and back.  Only at switches:
 * the interpreter works on the VM's own fields.  The fields are listed once,
 * so that saving and loading cannot disagree. */
#define AGENT_ARRAYS(X) X(r) X(conf) X(prov_head)
#define AGENT_SCALARS(X)                                                       \
    X(pc) X(sp) X(fp) X(flags) X(fl_kind) X(fl_x) X(fl_y) X(fl_res) X(energy) \
    X(energy_net_in) X(timer_start) X(last_conf) X(stack_lo) X(stack_hi)

/* ---- memory access: little-endian, any alignment ---------------------------- */

static inline uint32_t rd8(const uint8_t *m, uint32_t a) { return m[a]; }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* FLUX memory is little-endian like the host: one unaligned load or store. */
static inline uint32_t rd16(const uint8_t *m, uint32_t a) {
    uint16_t v;
    memcpy(&v, m + a, 2);
    return v;
}
static inline uint32_t rd32(const uint8_t *m, uint32_t a) {
    uint32_t v;
    memcpy(&v, m + a, 4);
    return v;
}
static inline void wr16(uint8_t *m, uint32_t a, uint32_t v) {
    uint16_t w = (uint16_t)v;
    memcpy(m + a, &w, 2);
}
static inline void wr32(uint8_t *m, uint32_t a, uint32_t v) { memcpy(m + a, &v, 4); }
#else
static inline uint32_t rd16(const uint8_t *m, uint32_t a) {
    return (uint32_t)m[a] | (uint32_t)m[a + 1] << 8;
}
static inline uint32_t rd32(const uint8_t *m, uint32_t a) {
    return (uint32_t)m[a] | (uint32_t)m[a + 1] << 8 | (uint32_t)m[a + 2] << 16 |
           (uint32_t)m[a + 3] << 24;
}
static inline void wr16(uint8_t *m, uint32_t a, uint32_t v) {
    m[a] = (uint8_t)v;
    m[a + 1] = (uint8_t)(v >> 8);
}
static inline void wr32(uint8_t *m, uint32_t a, uint32_t v) {
    m[a] = (uint8_t)v;
    m[a + 1] = (uint8_t)(v >> 8);
    m[a + 2] = (uint8_t)(v >> 16);
    m[a + 3] = (uint8_t)(v >> 24);
}
#endif
static inline void wr8(uint8_t *m, uint32_t a, uint32_t v) { m[a] = (uint8_t)v; }

/* ---- the scheduler (flux_sched.c) ------------------------------------------- */

/* What fluxi_sched_turn decided at a chunk boundary. */
enum { TURN_SAME, TURN_SWITCHED, TURN_RETRY, TURN_STOP };

void fluxi_sched_reset(flux_vm *vm);
void fluxi_agent_save(flux_vm *vm, uint32_t slot);
void fluxi_agent_load(flux_vm *vm, uint32_t slot);
int fluxi_slot_of(const flux_vm *vm, uint32_t id);
void fluxi_barrier_check(flux_vm *vm);
uint64_t fluxi_slice_length(flux_vm *vm, uint64_t now);
int64_t fluxi_pct_priority(flux_vm *vm);
void fluxi_pct_yield(flux_vm *vm);
void fluxi_agent_end(flux_vm *vm, uint32_t slot, int32_t code);
int fluxi_sched_turn(flux_vm *vm, uint64_t now, flux_stop *st);
int fluxi_mailbox_take(agent *a, uint32_t from, message *out);

/* ---- the debugger's hooks (flux_hooks.c) ----------------------------------- */

/* The per-instruction hooks' state: the instruction running and the energy
 * before it. */
typedef struct hook_state {
    uint32_t pc;
    uint8_t op;
    int64_t energy;
    uint32_t cond_id;
} hook_state;

void fluxi_watch_gran_rebuild(flux_vm *vm);
/* Rebuilds stopbytes from the stop map, or with all set while a per-instruction hook is on. */
void fluxi_stopbytes_fill(flux_vm *vm, int all);
int64_t fluxi_watch_check(flux_vm *vm, uint32_t addr, uint32_t len, uint32_t kind,
                           uint32_t *index, int *trigger);
void fluxi_trace_mem(flux_vm *vm, uint32_t addr, uint32_t len);
/* Logs one access by the running agent; 1 when the log is nearly full (the
 * loop then stops after the instruction for the host to take it). */
int fluxi_access(flux_vm *vm, uint32_t kind, uint32_t loc, uint32_t len);
/* The accesses to shared FLUX state of instruction `op`, which just retired. */
int fluxi_access_op(flux_vm *vm, uint32_t op);
int fluxi_prof_transition(flux_vm *vm, uint32_t op, uint32_t target, uint64_t cycles);
int fluxi_prof_event(flux_vm *vm, uint32_t kind, uint32_t addr, uint64_t cycles);
int fluxi_hook_step(flux_vm *vm, hook_state *hs, uint32_t pc, uint32_t sp, int64_t energy, uint64_t cycles);

/* ---- inline helpers of the interpreter's hot path --------------------------- */

/* Logs an input the program drew (RNG_NEXT, a scheduler switch) while logging. */
static inline void log_input(flux_vm *vm, uint64_t cycle, uint32_t pc, uint32_t kind, uint64_t value) {
    if (vm->ninputs >= FLUX_INPUT_LOG) {
        vm->inputs_lost++;
        return;
    }
    vm->inputs[vm->ninputs++] = (flux_input_event){cycle, pc, kind, value};
}

static inline uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Into [0, 1]: below 0, NaN and -0.0 give +0.0 (one zero: a confidence's
 * bits, as gdb's agent expressions and saved states see them, are those of 0) */
static inline float clamp01(float x) {
    if (!(x > 0.0f)) return 0.0f;
    return x > 1.0f ? 1.0f : x;
}

static inline int range_ok(uint32_t addr, size_t len) {
    return len <= FLUX_MEM_SIZE && addr <= FLUX_MEM_SIZE - len;
}

/* Adds `marks` (WRITTEN_*) to the lines of [addr, addr + n); n > 0 and the
 * range lies in memory. */
enum { WRITTEN_LINE = 1, WRITTEN_PAGE = 2, WRITTEN_HASH = 4, WRITTEN_ALL = 7 };
static inline void mark_lines(flux_vm *vm, uint32_t addr, uint32_t n, uint8_t marks) {
    uint32_t first = addr / FLUX_LINE_SIZE, last = (addr + n - 1) / FLUX_LINE_SIZE;
    for (uint32_t l = first; l <= last; l++) vm->written[l] |= marks;
}

/* Marks the lines of [addr, addr + n) written.  n is usually a constant of
 * at most a line: then two stores, for the first and the last byte's line. */
static inline __attribute__((always_inline)) void mark_dirty(flux_vm *vm, uint32_t addr, uint32_t n) {
    if (__builtin_constant_p(n) && n <= FLUX_LINE_SIZE) {
        vm->written[addr / FLUX_LINE_SIZE] = WRITTEN_ALL;
        vm->written[(addr + n - 1) / FLUX_LINE_SIZE] = WRITTEN_ALL;
    } else {
        mark_lines(vm, addr, n, WRITTEN_ALL);
    }
}

/* Whether any of b's agent-expression conditions holds; one that cannot be
 * evaluated counts as holding (gdb then evaluates it itself, as with
 * gdbserver), and vm->ax_last says why. */
static inline int ax_conds_hold(flux_vm *vm, const cond_breakpoint *b, const flux_view *v) {
    const uint8_t *list = vm->ax_pool + b->ax_off;
    for (uint32_t at = 0; at + 2 <= b->ax_len;) {
        uint32_t n = list[at] | (uint32_t)list[at + 1] << 8;
        flux_ax_result r = ax_eval(list + at + 2, n, v, NULL);
        if (r.status != FLUX_AX_OK || r.value) {
            vm->ax_last = r;
            return 1;
        }
        at += 2 + n;
    }
    return 0;
}

/* Runs b's commands (agent printf); an error in one stops there. */
static inline int ax_run_commands(flux_vm *vm, const cond_breakpoint *b, const flux_view *v) {
    const uint8_t *list = vm->ax_pool + b->cmd_off;
    ax_out out = {vm->ax_out, FLUX_AX_OUT_CAP, vm->ax_out_len};
    for (uint32_t at = 0; at + 2 <= b->cmd_len;) {
        uint32_t n = list[at] | (uint32_t)list[at + 1] << 8;
        flux_ax_result r = ax_eval(list + at + 2, n, v, &out);
        vm->ax_out_len = out.len;
        if (r.status != FLUX_AX_OK) {
            vm->ax_last = r;
            return 0;
        }
        at += 2 + n;
    }
    return 1;
}

/* The one hook through which the loop checks every breakpoint with a
 * condition at pc, stub-side and gdb's alike.  0: go on; 1: stop at
 * breakpoint *id; 2: stop first so that the host takes the commands' text. */
static inline int condbp_check(flux_vm *vm, uint32_t pc, const flux_view *v, uint32_t *id) {
    for (uint32_t i = 0; i < vm->ncondbp; i++) {
        const cond_breakpoint *b = &vm->condbps[i];
        if (b->addr == pc && b->cmd_len && FLUX_AX_OUT_CAP - vm->ax_out_len < FLUX_AX_OUT_CAP / 2) return 2;
    }
    for (uint32_t i = 0; i < vm->ncondbp; i++) {
        const cond_breakpoint *b = &vm->condbps[i];
        if (b->addr != pc) continue;
        vm->ax_last = (flux_ax_result){FLUX_AX_OK, 0, 0, 0};
        int holds = b->has_cond == COND_AX     ? ax_conds_hold(vm, b, v)
                    : b->has_cond == COND_EXPR ? flux_cond_eval_inline(&b->cond, v)
                                               : 1;
        if (!holds) continue;
        if (b->cmd_len && vm->ax_last.status == FLUX_AX_OK && ax_run_commands(vm, b, v)) continue;
        *id = b->id;
        return 1;
    }
    return 0;
}

/* How many instructions may run before a watch-if condition without `every`
 * can have turned true (at least 1). */
static inline uint64_t cond_distance(const flux_vm *vm, int64_t energy, uint64_t cycles) {
    uint64_t d = UINT64_MAX;
    for (uint32_t i = 0; i < vm->nwcond; i++) {
        const flux_cond *c = &vm->wconds[i].cond;
        for (uint32_t k = 0; k < c->n; k++) {
            const flux_cmp *m = &c->cmp[k];
            uint64_t x = UINT64_MAX;
            if (m->operand == FLUX_OPND_ENERGY) {
                /* each instruction costs at most max_cost (those that cost more end the chunk) */
                x = energy > m->ivalue ? (uint64_t)(energy - m->ivalue) / (uint64_t)vm->max_cost : 0;
            } else if (m->operand == FLUX_OPND_CYCLES && m->ivalue >= 0 && (uint64_t)m->ivalue > cycles) {
                x = (uint64_t)m->ivalue - cycles;
            }
            if (x < d) d = x;
        }
    }
    return d < 1 ? 1 : d;
}

static inline int slot_live(const agent *a) { return a->id != 0 && a->state != FLUX_AGENT_ENDED; }

/* Whether [addr, addr+len) may touch a watched granule (len > 0, in memory),
 * or a trace or the access log is on (every granule is marked then). */
static inline __attribute__((always_inline)) int watch_near(const flux_vm *vm, uint32_t addr, uint32_t len) {
    if (len > 16) return 1;
    return vm->watch_gran[addr >> 4] | vm->watch_gran[(addr + len - 1) >> 4];
}

static inline void trace_snapshot(flux_vm *vm) {
    memcpy(vm->snap_r, vm->r, sizeof vm->snap_r);
    memcpy(vm->snap_conf, vm->conf, sizeof vm->snap_conf);
    vm->snap_trust_count = vm->trust_log_count;
    vm->ntmem = 0;
    vm->tmem_more = 0;
}

/* Instructions since prof_mark.  Cycles go back when the debugger moves
 * back in time (or writes them): that stretch counts nothing. */
static inline uint64_t prof_since_mark(const flux_vm *vm, uint64_t cycles) {
    return cycles >= vm->prof_mark ? cycles - vm->prof_mark : 0;
}

#endif /* FLUX_VM_INTERNAL_H */
