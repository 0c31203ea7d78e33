/* flux_vm.c - the FLUX interpreter: the opcode table, the VM's life cycle,
 * checkpoints, host access, and the dispatch loop.
 *
 * One dispatch loop (run_turn_single/run_turn_multi, called by flux_vm_run)
 * over a switch, or computed gotos where the compiler has them, in the manner
 * of Lua's lvm.c: the hot state (pc, sp, energy, the instruction count)
 * lives in locals and is written back when the loop stops.  Between two
 * instructions the optimized loop tests pc's byte in the stop bytes
 * (breakpoints, conditional breakpoints, the last bytes of memory, and
 * every address while a per-instruction hook is on), counts the instruction
 * down in its chunk, and charges the energy the next one costs (the
 * reference build, FLUX_NO_COMPUTED_GOTO, tests the hook flag and a bit of
 * the stop map instead).  Watchpoints cost a branch on
 * memory-touching instructions only while any are set.  The scheduler lives
 * in flux_sched.c and the debugger's hooks in flux_hooks.c; what the loop
 * needs of them on its hot path is inline in flux_vm_internal.h.
 *
 * docs/ISA.md documents what each instruction does; keep the two in step.
 */
/* This file is compiled once and includes itself once more at its end, to
 * instantiate the interpreter loop a second time (see the end of the file);
 * FLUX_VM_MULTI_PASS is defined for that second reading, which sees only
 * the loop. */
#ifndef FLUX_VM_MULTI_PASS
#include "flux_vm_internal.h"

#include <math.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the opcode table ---------------------------------------------------- */

/* Each mode's operand bytes, by name, for the table below. */
enum {
#define FLUX_X_MODE_BYTES(name, bytes) MODE_BYTES_##name = bytes,
    FLUX_MODE_TABLE(FLUX_X_MODE_BYTES)
#undef FLUX_X_MODE_BYTES
};

/* The codes are dense and in order: row k of the table has code k. */
enum {
#define FLUX_X_ROW(code, name, mode, cat, cost, impl, flow, stack) ROW_##name,
    FLUX_OPCODE_TABLE(FLUX_X_ROW)
#undef FLUX_X_ROW
};
#define FLUX_X_DENSE(code, name, mode, cat, cost, impl, flow, stack) \
    _Static_assert(ROW_##name == code, "flux_opcodes.h: " #name " is not in code order");
FLUX_OPCODE_TABLE(FLUX_X_DENSE)
#undef FLUX_X_DENSE
_Static_assert(FLUX_OPCODE_COUNT <= 256, "one opcode byte");

static const flux_opcode_info OPCODES[256] = {
#define FLUX_X_INFO(code, name, mode, cat, cost, impl, flow, stack) \
    [code] = {#name, FLUX_MODE_##mode, MODE_BYTES_##mode, FLUX_CAT_##cat, cost, impl, FLUX_FLOW_##flow, stack},
    FLUX_OPCODE_TABLE(FLUX_X_INFO)
#undef FLUX_X_INFO
};

static const uint8_t ENERGY_COST[256] = {
#define FLUX_X_COST(code, name, mode, cat, cost, impl, flow, stack) [code] = cost,
    FLUX_OPCODE_TABLE(FLUX_X_COST)
#undef FLUX_X_COST
};

/* The categories whose instructions may touch state all agents share
 * (fluxi_access_op says which do and how): the access log asks only them. */
enum {
    SHARED_CAT_CONTROL = 0, SHARED_CAT_ARITH = 0, SHARED_CAT_MEMORY = 0, SHARED_CAT_STACK = 0,
    SHARED_CAT_COMPARE = 0, SHARED_CAT_CONFIDENCE = 0, SHARED_CAT_VECTOR = 0,
    SHARED_CAT_TRUST = 1, SHARED_CAT_A2A = 1, SHARED_CAT_INSTINCT = 1, SHARED_CAT_ENERGY = 1,
    SHARED_CAT_SYSTEM = 1, SHARED_CAT_CRYPTO = 1
};
static const uint8_t SHARED_OP[256] = {
#define FLUX_X_SHARED(code, name, mode, cat, cost, impl, flow, stack) [code] = SHARED_CAT_##cat,
    FLUX_OPCODE_TABLE(FLUX_X_SHARED)
#undef FLUX_X_SHARED
};

static const char *const MODE_NAMES[FLUX_MODE_COUNT] = {
#define FLUX_X_MODE_NAME(name, bytes) [FLUX_MODE_##name] = #name,
    FLUX_MODE_TABLE(FLUX_X_MODE_NAME)
#undef FLUX_X_MODE_NAME
};
static const char *const CATEGORY_NAMES[FLUX_CAT_COUNT] = {
    "control", "arith", "memory", "stack", "compare", "confidence", "trust",
    "a2a", "instinct", "energy", "system", "crypto", "vector"};
static const char *const FLOW_NAMES[FLUX_FLOW_COUNT] = {
    [FLUX_FLOW_NEXT] = "next", [FLUX_FLOW_JUMP] = "jump", [FLUX_FLOW_BRANCH] = "branch",
    [FLUX_FLOW_CALL] = "call", [FLUX_FLOW_RETURN] = "return", [FLUX_FLOW_END] = "end",
    [FLUX_FLOW_TRAP] = "trap"};

const flux_opcode_info *flux_opcode_info_of(uint8_t code) { return &OPCODES[code]; }
const char *flux_mode_name(uint8_t mode) { return mode < FLUX_MODE_COUNT ? MODE_NAMES[mode] : "?"; }
const char *flux_category_name(uint8_t c) { return c < FLUX_CAT_COUNT ? CATEGORY_NAMES[c] : "?"; }
const char *flux_flow_name(uint8_t f) { return f < FLUX_FLOW_COUNT ? FLOW_NAMES[f] : "?"; }
uint8_t flux_mode_operand_bytes(uint8_t mode) {
    static const uint8_t BYTES[FLUX_MODE_COUNT] = {
#define FLUX_X_MODE_BYTES(name, bytes) [FLUX_MODE_##name] = bytes,
        FLUX_MODE_TABLE(FLUX_X_MODE_BYTES)
#undef FLUX_X_MODE_BYTES
    };
    return mode < FLUX_MODE_COUNT ? BYTES[mode] : 0;
}

/* ---- lifecycle ------------------------------------------------------------ */

flux_vm *flux_vm_new(const flux_config *config) {
    flux_vm *vm = calloc(1, sizeof *vm);
    if (!vm) return NULL;
    vm->energy_budget = config ? config->energy : FLUX_DEFAULT_ENERGY;
    if (vm->energy_budget < 0) vm->energy_budget = 0; /* as flux_vm_set_regs: never negative */
    vm->seed = config ? config->seed : 0;
    vm->sched_cfg = FLUX_SCHED_ROUND_ROBIN;
    vm->slice_cfg = FLUX_DEFAULT_SLICE;
    atomic_init(&vm->interrupt, 0);
    flux_vm_clear_breakpoints(vm);
    vm->max_cost = 1;
    for (unsigned k = 0; k < 256; k++)
        if (ENERGY_COST[k] > vm->max_cost) vm->max_cost = ENERGY_COST[k];
    flux_vm_reset(vm);
    return vm;
}

void flux_vm_free(flux_vm *vm) {
    if (!vm) return;
    free(vm->trace_buf);
    free(vm->acc_buf);
    free(vm->prof_count);
    free(vm->prof_energy);
    free(vm->prof_nodes);
    free(vm->prof_hash);
    free(vm->prof_energy_out);
    free(vm->prof_ev);
    free(vm);
}

int flux_vm_load(flux_vm *vm, const uint8_t *program, size_t len) {
    if (len > FLUX_MEM_SIZE || (len > 0 && !program)) return -1;
    memset(vm->program, 0, sizeof vm->program);
    if (len) memcpy(vm->program, program, len);
    vm->program_len = len;
    flux_vm_reset(vm);
    return 0;
}

void flux_vm_reset(flux_vm *vm) {
    memset(vm->mem, 0, sizeof vm->mem);
    memcpy(vm->mem, vm->program, vm->program_len);
    memset(vm->r, 0, sizeof vm->r);
    for (unsigned i = 0; i < FLUX_NUM_REGS; i++) vm->conf[i] = 1.0f;
    vm->pc = 0;
    vm->sp = FLUX_STACK_TOP;
    vm->fp = FLUX_STACK_TOP;
    vm->flags = 0;
    vm->fl_kind = FL_DONE;
    vm->energy = vm->energy_budget;
    vm->cycles = 0;
    vm->out_len = 0;
    vm->rng = vm->seed;
    for (unsigned i = 0; i < FLUX_NUM_AGENTS; i++) {
        vm->trust[i] = 0.0f;
        vm->trust_prev[i] = 0.0f;
        vm->routes[i] = (uint8_t)i;
    }
    vm->trust_threshold = 0.5f;
    vm->trust_failures = 0;
    vm->trust_log_count = 0;
    vm->prov_seq = 0;
    memset(vm->prov_head, 0, sizeof vm->prov_head);
    memset(vm->instincts, 0, sizeof vm->instincts);
    memset(vm->proposals, 0, sizeof vm->proposals);
    vm->energy_pool = vm->energy_reserve = vm->energy_net_in = 0;
    vm->timer_start = 0;
    vm->energy_alarm = 0;
    vm->last_conf = 1.0f;
    vm->state = VM_RUNNING;
    vm->exit_code = 0;
    vm->term_signal = 0;
    vm->term_reason[0] = 0;
    fluxi_sched_reset(vm);
    memset(vm->written, WRITTEN_ALL, sizeof vm->written);
    vm->ninputs = 0;
    vm->resume_pc = UINT32_MAX;
    atomic_store(&vm->interrupt, 0);
}

/* ---- checkpoints and inputs --------------------------------------------------- */

#define MACHINE_BYTES (offsetof(flux_vm, machine_end) - offsetof(flux_vm, r))

size_t flux_vm_state_size(void) { return MACHINE_BYTES; }

void flux_vm_save_state(const flux_vm *vm, void *out) { memcpy(out, vm->r, MACHINE_BYTES); }

/* flux_vm_load_state and flux_vm_check_state: after the agents (below). */

/* Which pages carry `mark` on any of their lines; clears that mark only.
 * Four pages (64 bytes of marks) are tested at once and written back only
 * when marked: a step back takes the pages five times, mostly of a VM that
 * wrote few lines, and storing all 4 KiB of marks back each time cost more
 * than the instructions it re-ran. */
static void take_marked_pages(flux_vm *vm, uint8_t mark, uint8_t *dirty) {
    enum { LINES_PER_PAGE = FLUX_PAGE_SIZE / FLUX_LINE_SIZE, GROUP = 4 };
    _Static_assert(LINES_PER_PAGE == 16, "a page's marks are read as two 8-byte words");
    _Static_assert(FLUX_PAGES % GROUP == 0, "pages are tested four at a time");
    const uint64_t page_bits = 0x0101010101010101ull * mark;
    for (uint32_t g = 0; g < FLUX_PAGES; g += GROUP) {
        uint8_t *marks = &vm->written[g * LINES_PER_PAGE];
        uint64_t any = 0;
        for (int k = 0; k < 2 * GROUP; k++) {
            uint64_t w;
            memcpy(&w, marks + 8 * k, sizeof w);
            any |= w;
        }
        if (!(any & page_bits)) {
            memset(&dirty[g], 0, GROUP);
            continue;
        }
        for (int k = 0; k < GROUP; k++) {
            uint64_t w[2];
            memcpy(w, marks + LINES_PER_PAGE * k, sizeof w);
            dirty[g + k] = ((w[0] | w[1]) & page_bits) != 0;
            w[0] &= ~page_bits;
            w[1] &= ~page_bits;
            memcpy(marks + LINES_PER_PAGE * k, w, sizeof w);
        }
    }
    vm->written[FLUX_LINES] = 0;
}

void flux_vm_take_dirty_pages(flux_vm *vm, uint8_t *dirty) { take_marked_pages(vm, WRITTEN_PAGE, dirty); }

void flux_vm_take_rehash_pages(flux_vm *vm, uint8_t *dirty) { take_marked_pages(vm, WRITTEN_HASH, dirty); }

void flux_vm_take_dirty_lines(flux_vm *vm, uint64_t *marks) {
    const uint64_t line_bits = 0x0101010101010101ull * WRITTEN_LINE;
    for (uint32_t k = 0; k < FLUX_LINES / 8; k++) {
        uint64_t w;
        memcpy(&w, &vm->written[8 * k], sizeof w);
        /* bit 0 of each of the 8 bytes, gathered into one byte (line 8k in its low bit) */
        uint64_t b = ((w & line_bits) * 0x0102040810204080ull) >> 56;
        if (k % 8 == 0) marks[k / 8] = 0;
        marks[k / 8] |= b << (8 * (k % 8));
        w &= ~line_bits;
        memcpy(&vm->written[8 * k], &w, sizeof w);
    }
    vm->written[FLUX_LINES] = 0;
}

void flux_vm_log_inputs(flux_vm *vm, int on) {
    vm->log_inputs = on != 0;
    vm->ninputs = 0;
    vm->inputs_lost = 0;
}

size_t flux_vm_take_inputs(flux_vm *vm, flux_input_event *out, size_t max, uint32_t *lost) {
    size_t n = vm->ninputs < max ? vm->ninputs : max;
    memcpy(out, vm->inputs, n * sizeof *out);
    memmove(vm->inputs, vm->inputs + n, (vm->ninputs - n) * sizeof *out);
    vm->ninputs -= (uint32_t)n;
    if (lost) *lost = vm->inputs_lost;
    vm->inputs_lost = 0;
    return n;
}

/* ---- host access ------------------------------------------------------------ */

void flux_vm_get_regs(const flux_vm *vm, flux_regs *out) {
    memcpy(out->r, vm->r, sizeof out->r);
    memcpy(out->conf, vm->conf, sizeof out->conf);
    out->pc = vm->pc;
    out->sp = vm->sp;
    out->fp = vm->fp;
    out->flags = flags_now(vm);
    out->energy = vm->energy;
    out->cycles = vm->cycles;
}

void flux_vm_set_regs(flux_vm *vm, const flux_regs *in) {
    if (in->pc != vm->pc) vm->resume_pc = UINT32_MAX;
    memcpy(vm->r, in->r, sizeof vm->r);
    for (unsigned i = 0; i < FLUX_NUM_REGS; i++) vm->conf[i] = clamp01(in->conf[i]);
    vm->pc = in->pc;
    vm->sp = in->sp;
    vm->fp = in->fp;
    vm->flags = in->flags & (FLUX_FLAG_C | FLUX_FLAG_Z | FLUX_FLAG_S | FLUX_FLAG_O);
    vm->fl_kind = FL_DONE;
    /* energy is never negative (paying for an instruction must not overflow) */
    vm->energy = in->energy < 0 ? 0 : in->energy;
    vm->cycles = in->cycles;
    if (vm->state == VM_EXHAUSTED && vm->energy > 0) vm->state = VM_RUNNING;
}

const uint8_t *flux_vm_memory(const flux_vm *vm) { return vm->mem; }

int flux_vm_read_mem(const flux_vm *vm, uint32_t addr, uint8_t *buf, size_t len) {
    if (!range_ok(addr, len)) return -1;
    if (len) memcpy(buf, vm->mem + addr, len);
    return 0;
}

/* The debugger's writes: memory, and the marks its lines get. */
static int write_marked(flux_vm *vm, uint32_t addr, const uint8_t *buf, size_t len, uint8_t marks) {
    if (!range_ok(addr, len)) return -1;
    if (len) {
        memcpy(vm->mem + addr, buf, len);
        mark_lines(vm, addr, (uint32_t)len, marks);
    }
    return 0;
}

int flux_vm_write_mem(flux_vm *vm, uint32_t addr, const uint8_t *buf, size_t len) {
    return write_marked(vm, addr, buf, len, WRITTEN_ALL);
}

int flux_vm_restore_mem(flux_vm *vm, uint32_t addr, const uint8_t *buf, size_t len) {
    return write_marked(vm, addr, buf, len, WRITTEN_LINE | WRITTEN_HASH);
}

float flux_vm_last_confidence(const flux_vm *vm) { return vm->last_conf; }

const uint8_t *flux_vm_output(const flux_vm *vm, size_t *len) {
    *len = vm->out_len;
    return vm->out;
}

void flux_vm_clear_output(flux_vm *vm) { vm->out_len = 0; }

float flux_vm_trust(const flux_vm *vm, uint32_t agent) {
    return agent < FLUX_NUM_AGENTS ? vm->trust[agent] : 0.0f;
}

float flux_vm_trust_threshold(const flux_vm *vm) { return vm->trust_threshold; }

int flux_vm_finished(const flux_vm *vm) {
    return vm->state == VM_HALTED || vm->state == VM_TERMINATED;
}

void flux_vm_interrupt(flux_vm *vm) { atomic_store_explicit(&vm->interrupt, 1, memory_order_relaxed); }

/* ---- checking a machine state ------------------------------------------------
 *
 * A state may come from a file somebody else made: before the interpreter
 * runs on it, every field must hold a value the VM itself can produce, and
 * above all every field the interpreter turns into an array index or a
 * memory address must keep it inside its buffer.  What the VM can produce,
 * field by field (gdb may write pc, sp, fp, r, cycles and energy >= 0 at
 * will, so those take any value):
 * - confidences, trust scores, the trust threshold, instinct strengths and
 *   message confidences lie in [0, 1] (every write clamps them), never NaN;
 * - energies, the energy pool and reserve and the agents' budget are >= 0;
 * - flags hold only Z S C O, fl_kind is one of FL_*, and pending flags of
 *   an addition or subtraction have fl_res = fl_x + fl_y or fl_x - fl_y; the VM state, agent
 *   states, scheduler kind are their enums; the slice is at least 1;
 * - under PCT the depth is 1-16, the change points (depth - 1 of them) lie
 *   at cycles >= 1 in ascending order, each giving one of the priorities
 *   1..depth-1 once, and no more than they have been passed; under the
 *   other schedulers PCT's fields are all zero;
 * - a stack region lies inside [FLUX_STACK_LIMIT, FLUX_STACK_TOP], 4-byte
 *   aligned, low below high (sp itself may be anywhere: every stack access
 *   checks it against the region);
 * - the running slot is 0-7 and holds an agent; slot 0 is agent 1, which
 *   never ends; a slot never used is all zeros; ids are unique, below
 *   next_id (2-256), id_state agrees with the slots, nlive counts the live
 *   slots;
 * - an agent blocked in JOIN or on a full mailbox waits on an agent id
 *   (0-255); wait_op is an opcode byte; a mailbox holds at most
 *   FLUX_MAILBOX_CAP messages from agent ids, its head inside the ring;
 * - exit codes are 0-255, the termination signal is 0 or SIGXCPU and its
 *   reason a NUL-terminated line;
 * - provenance links name records already written (<= prov_seq); trust log
 *   entries name agent ids and pass or fail (0 or 1). */

#define ST_OFF(f) (offsetof(flux_vm, f) - offsetof(flux_vm, r))
/* One field of the state at `in` into `dst` (any alignment). */
#define ST_GET(dst, f)                                                             \
    do {                                                                           \
        _Static_assert(sizeof(dst) == sizeof(((flux_vm *)0)->f), "size of " #f);   \
        memcpy(&(dst), (const uint8_t *)in + ST_OFF(f), sizeof(dst));              \
    } while (0)

static int refuse(char *why, size_t n, const char *fmt, ...) {
    if (why && n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int unit_ok(float x) { return x >= 0.0f && x <= 1.0f; }   /* false for NaN */

/* An agent's registers (the running agent's are the VM's fields). */
static int check_regs(const agent *a, const char *who, uint64_t prov_seq, char *why, size_t n) {
    for (unsigned i = 0; i < FLUX_NUM_REGS; i++) {
        if (!unit_ok(a->conf[i])) return refuse(why, n, "%s: conf%u = %g is outside [0, 1]", who, i, (double)a->conf[i]);
        if (a->prov_head[i] > prov_seq)
            return refuse(why, n, "%s: provenance of r%u (%llu) is past the last record (%llu)", who, i,
                          (unsigned long long)a->prov_head[i], (unsigned long long)prov_seq);
    }
    if (!unit_ok(a->last_conf)) return refuse(why, n, "%s: last_conf = %g is outside [0, 1]", who, (double)a->last_conf);
    if (a->flags & ~(FLUX_FLAG_C | FLUX_FLAG_Z | FLUX_FLAG_S | FLUX_FLAG_O))
        return refuse(why, n, "%s: flags 0x%X hold bits other than Z S C O", who, a->flags);
    if (a->fl_kind > FL_SUB) return refuse(why, n, "%s: fl_kind %u is no flag computation (0-3)", who, a->fl_kind);
    /* pending flags are those of x + y or x - y, with the result computed
     * (a conditional jump after a subtraction compares x and y directly) */
    if ((a->fl_kind == FL_ADD && a->fl_res != a->fl_x + a->fl_y) ||
        (a->fl_kind == FL_SUB && a->fl_res != a->fl_x - a->fl_y))
        return refuse(why, n, "%s: fl_res 0x%X is not fl_x %c fl_y (0x%X, 0x%X)", who, a->fl_res,
                      a->fl_kind == FL_ADD ? '+' : '-', a->fl_x, a->fl_y);
    if (a->energy < 0) return refuse(why, n, "%s: energy %lld is negative", who, (long long)a->energy);
    if (a->stack_lo < FLUX_STACK_LIMIT || a->stack_hi > FLUX_STACK_TOP || a->stack_lo >= a->stack_hi ||
        (a->stack_lo | a->stack_hi) % 4)
        return refuse(why, n, "%s: stack 0x%X-0x%X is not an aligned region inside 0x%X-0x%X", who, a->stack_lo,
                      a->stack_hi, FLUX_STACK_LIMIT, FLUX_STACK_TOP);
    return 0;
}

static int check_agent(const agent *a, uint32_t k, uint64_t prov_seq, char *why, size_t n) {
    char who[32];
    snprintf(who, sizeof who, "agent slot %u", k);
    if (a->id == 0) {
        /* a slot never used: fluxi_sched_reset's zeros, padding included */
        const uint8_t *p = (const uint8_t *)a;
        for (size_t i = 0; i < sizeof *a; i++)
            if (p[i]) return refuse(why, n, "%s: holds no agent (id 0) but is not empty", who);
        return 0;
    }
    if (a->id >= FLUX_NUM_AGENTS) return refuse(why, n, "%s: agent id %u is outside 1-255", who, a->id);
    if (a->state > FLUX_AGENT_ENDED) return refuse(why, n, "%s: state %u is no agent state (0-5)", who, a->state);
    if ((a->state == FLUX_AGENT_BLOCKED_JOIN || a->state == FLUX_AGENT_BLOCKED_SEND) && a->wait_on >= FLUX_NUM_AGENTS)
        return refuse(why, n, "%s: waits on agent %u, outside 0-255", who, a->wait_on);
    if (a->wait_op > 0xFF) return refuse(why, n, "%s: wait_op %u is no opcode byte", who, a->wait_op);
    if (a->retry > 1) return refuse(why, n, "%s: retry %u is not 0 or 1", who, a->retry);
    if (a->exit_code < 0 || a->exit_code > 255) return refuse(why, n, "%s: exit code %d is outside 0-255", who, a->exit_code);
    if (a->mail_head >= MAILBOX_CAP || a->mail_count > MAILBOX_CAP)
        return refuse(why, n, "%s: mailbox head %u, count %u: the ring holds %u", who, a->mail_head, a->mail_count,
                      MAILBOX_CAP);
    for (uint32_t i = 0; i < MAILBOX_CAP; i++) {
        const message *m = &a->mailbox[i];
        if (!unit_ok(m->conf) || m->from >= FLUX_NUM_AGENTS)
            return refuse(why, n, "%s: mailbox entry %u (from %u, confidence %g) is no message", who, i, m->from,
                          (double)m->conf);
    }
    return check_regs(a, who, prov_seq, why, n);
}

int flux_vm_check_state(const void *in, char *why, size_t n) {
    if (why && n) why[0] = 0;
    uint64_t prov_seq;
    ST_GET(prov_seq, prov_seq);
    /* the running agent's registers, as they would be saved at a switch */
    agent run;
    memset(&run, 0, sizeof run);
#define GET_FIELD(f)                                                                     \
    _Static_assert(sizeof run.f == sizeof(((flux_vm *)0)->f), "agent field " #f);        \
    ST_GET(run.f, f);
    AGENT_ARRAYS(GET_FIELD)
    AGENT_SCALARS(GET_FIELD)
#undef GET_FIELD
    if (check_regs(&run, "running agent", prov_seq, why, n)) return -1;

    float trust[FLUX_NUM_AGENTS], trust_prev[FLUX_NUM_AGENTS], threshold;
    ST_GET(trust, trust);
    ST_GET(trust_prev, trust_prev);
    ST_GET(threshold, trust_threshold);
    for (unsigned i = 0; i < FLUX_NUM_AGENTS; i++)
        if (!unit_ok(trust[i]) || !unit_ok(trust_prev[i]))
            return refuse(why, n, "trust of agent %u (%g, before %g) is outside [0, 1]", i, (double)trust[i],
                          (double)trust_prev[i]);
    if (!unit_ok(threshold)) return refuse(why, n, "trust threshold %g is outside [0, 1]", (double)threshold);

    instinct inst[INSTINCT_SLOTS];
    ST_GET(inst, instincts);
    for (unsigned i = 0; i < INSTINCT_SLOTS; i++)
        if (inst[i].used > 1 || !unit_ok(inst[i].strength))
            return refuse(why, n, "instinct %u: used %u, strength %g", i, inst[i].used, (double)inst[i].strength);
    proposal prop[MAX_PROPOSALS];
    ST_GET(prop, proposals);
    for (unsigned i = 0; i < MAX_PROPOSALS; i++)
        if (prop[i].used > 1) return refuse(why, n, "proposal %u: used %u is not 0 or 1", i, prop[i].used);

    int64_t pool, reserve, budget, alarm;
    ST_GET(pool, energy_pool);
    ST_GET(reserve, energy_reserve);
    ST_GET(budget, agent_budget);
    ST_GET(alarm, energy_alarm);
    if (pool < 0 || reserve < 0 || budget < 0)
        return refuse(why, n, "energy pool %lld, reserve %lld, agents' budget %lld: none may be negative", (long long)pool,
                      (long long)reserve, (long long)budget);
    if (alarm < 0 || alarm > 0xFFFF) return refuse(why, n, "energy alarm %lld is outside 0-65535", (long long)alarm);

    flux_trust_event log[FLUX_TRUST_LOG];
    ST_GET(log, trust_log);
    for (unsigned i = 0; i < FLUX_TRUST_LOG; i++) {
        const flux_trust_event *e = &log[i];
        if (e->agent >= FLUX_NUM_AGENTS || e->passed < 0 || e->passed > 1 || e->reserved || !unit_ok(e->score) ||
            !unit_ok(e->threshold))
            return refuse(why, n, "trust log entry %u (agent %u, passed %d, score %g, threshold %g) is no trust check", i,
                          e->agent, e->passed, (double)e->score, (double)e->threshold);
    }

    uint32_t state;
    int32_t exit_code, term_signal;
    char reason[128];
    ST_GET(state, state);
    ST_GET(exit_code, exit_code);
    ST_GET(term_signal, term_signal);
    ST_GET(reason, term_reason);
    if (state > VM_TERMINATED) return refuse(why, n, "run state %u is none of running, exhausted, halted, terminated", state);
    if (exit_code < 0 || exit_code > 255) return refuse(why, n, "exit code %d is outside 0-255", exit_code);
    if (term_signal != 0 && term_signal != FLUX_SIGXCPU)
        return refuse(why, n, "termination signal %d is neither 0 nor SIGXCPU", term_signal);
    if (!memchr(reason, 0, sizeof reason)) return refuse(why, n, "the termination reason is not NUL-terminated");

    /* agents and the scheduler */
    uint32_t cur, nlive, next_id, sched, slice;
    uint8_t id_state[FLUX_NUM_AGENTS];
    agent agents[FLUX_MAX_AGENTS];
    ST_GET(cur, cur);
    ST_GET(nlive, nlive);
    ST_GET(next_id, next_id);
    ST_GET(sched, sched);
    ST_GET(slice, slice);
    ST_GET(id_state, id_state);
    ST_GET(agents, agents);
    if (sched > FLUX_SCHED_PCT) return refuse(why, n, "scheduler %u is none of round-robin (0), chaos (1), pct (2)", sched);
    if (slice == 0) return refuse(why, n, "time slice 0");
    uint32_t pct_depth, pct_next, pct_low[FLUX_PCT_MAX_DEPTH];
    uint64_t pct_at[FLUX_PCT_MAX_DEPTH];
    int64_t prio[FLUX_NUM_AGENTS];
    ST_GET(pct_depth, pct_depth);
    ST_GET(pct_next, pct_next);
    ST_GET(pct_at, pct_at);
    ST_GET(pct_low, pct_low);
    ST_GET(prio, prio);
    if (sched != FLUX_SCHED_PCT) {
        /* pct_start's zeros */
        int zero = pct_depth == 0 && pct_next == 0;
        for (uint32_t i = 0; i < FLUX_PCT_MAX_DEPTH; i++) zero &= pct_at[i] == 0 && pct_low[i] == 0;
        for (uint32_t i = 0; i < FLUX_NUM_AGENTS; i++) zero &= prio[i] == 0;
        if (!zero) return refuse(why, n, "PCT state (depth %u) under a scheduler other than PCT", pct_depth);
    } else {
        if (pct_depth < 1 || pct_depth > FLUX_PCT_MAX_DEPTH)
            return refuse(why, n, "PCT depth %u is outside 1-%u", pct_depth, FLUX_PCT_MAX_DEPTH);
        if (pct_next > pct_depth - 1)
            return refuse(why, n, "PCT: %u change points passed of %u", pct_next, pct_depth - 1);
        uint32_t seen = 0;   /* each priority 1..d-1 once */
        for (uint32_t i = 0; i < FLUX_PCT_MAX_DEPTH; i++) {
            if (i + 1 >= pct_depth) {
                if (pct_at[i] || pct_low[i])
                    return refuse(why, n, "PCT change point %u (at %llu, priority %u) beyond depth %u", i,
                                  (unsigned long long)pct_at[i], pct_low[i], pct_depth);
                continue;
            }
            if (pct_at[i] == 0 || (i > 0 && pct_at[i] < pct_at[i - 1]))
                return refuse(why, n, "PCT change point %u at %llu: change points are at 1 or later, ascending", i,
                              (unsigned long long)pct_at[i]);
            if (pct_low[i] < 1 || pct_low[i] + 1 > pct_depth || (seen >> pct_low[i] & 1))
                return refuse(why, n, "PCT change point %u gives priority %u: each of 1-%u once", i, pct_low[i],
                              pct_depth - 1);
            seen |= 1u << pct_low[i];
        }
    }
    if (cur >= FLUX_MAX_AGENTS) return refuse(why, n, "running agent slot %u is outside 0-%u", cur, FLUX_MAX_AGENTS - 1);
    if (next_id <= FIRST_AGENT || next_id > FLUX_NUM_AGENTS)
        return refuse(why, n, "next agent id %u is outside %u-%u", next_id, FIRST_AGENT + 1, FLUX_NUM_AGENTS);
    uint32_t live = 0;
    for (uint32_t k = 0; k < FLUX_MAX_AGENTS; k++) {
        const agent *a = &agents[k];
        if (check_agent(a, k, prov_seq, why, n)) return -1;
        if (a->id == 0) continue;
        if (a->id >= next_id) return refuse(why, n, "agent slot %u: id %u was never given (next id %u)", k, a->id, next_id);
        for (uint32_t j = 0; j < k; j++)
            if (agents[j].id == a->id) return refuse(why, n, "agent slots %u and %u both hold agent %u", j, k, a->id);
        int alive = a->state != FLUX_AGENT_ENDED;
        live += (uint32_t)alive;
        if (id_state[a->id] != (alive ? 1 : 2))
            return refuse(why, n, "agent %u (slot %u) is %s, but its id state is %u", a->id, k, alive ? "alive" : "ended",
                          id_state[a->id]);
    }
    if (agents[0].id != FIRST_AGENT || agents[0].state == FLUX_AGENT_ENDED)
        return refuse(why, n, "agent slot 0 must hold agent %u, alive (it holds %u, state %u)", FIRST_AGENT, agents[0].id,
                      agents[0].state);
    if (agents[cur].id == 0) return refuse(why, n, "running agent slot %u holds no agent", cur);
    if (nlive != live) return refuse(why, n, "%u agents alive, but nlive says %u", live, nlive);
    for (uint32_t id = 0; id < FLUX_NUM_AGENTS; id++) {
        uint8_t s = id_state[id];
        int given = id > 0 && id < next_id;
        if (s > 2 || (given ? s == 0 : s != 0))
            return refuse(why, n, "id state %u of agent %u (next id %u)", s, id, next_id);
        if (s == 1) {
            uint32_t k = 0;
            while (k < FLUX_MAX_AGENTS && !(agents[k].id == id && agents[k].state != FLUX_AGENT_ENDED)) k++;
            if (k == FLUX_MAX_AGENTS) return refuse(why, n, "agent %u is alive by its id state but in no slot", id);
        }
    }
    return 0;
}

void flux_vm_copy_state(flux_vm *dst, const flux_vm *src) {
    if (dst == src) return;
    memcpy(dst->r, src->r, MACHINE_BYTES);
    dst->resume_pc = UINT32_MAX;
    dst->turn_break = 0;
}

void flux_vm_load_saved_state(flux_vm *vm, const uint8_t *const *pieces, size_t piece_size) {
    uint8_t *to = (uint8_t *)vm->r;
    for (size_t at = 0, k = 0; at < MACHINE_BYTES; at += piece_size, k++)
        memcpy(to + at, pieces[k], MACHINE_BYTES - at < piece_size ? MACHINE_BYTES - at : piece_size);
    vm->resume_pc = UINT32_MAX;
    vm->turn_break = 0;
}

int flux_vm_load_state(flux_vm *vm, const void *in, char *why, size_t why_len) {
    if (flux_vm_check_state(in, why, why_len)) return -1;
    memcpy(vm->r, in, MACHINE_BYTES);
    vm->resume_pc = UINT32_MAX;
    vm->turn_break = 0;
    return 0;
}

/* ---- the fields, for tools ---- */

#define F(name, kind) {#name, (uint32_t)ST_OFF(name), (uint32_t)sizeof(((flux_vm *)0)->name), 1, 0, FLUX_FIELD_##kind}
#define FA(name, kind)                                                                                            \
    {#name, (uint32_t)ST_OFF(name), (uint32_t)sizeof(((flux_vm *)0)->name[0]),                                   \
     (uint32_t)(sizeof(((flux_vm *)0)->name) / sizeof(((flux_vm *)0)->name[0])),                                 \
     (uint32_t)sizeof(((flux_vm *)0)->name[0]), FLUX_FIELD_##kind}
/* member m of the records in array `name` of type T */
#define FR(name, T, m, kind)                                                                                      \
    {#name "[]." #m, (uint32_t)(ST_OFF(name) + offsetof(T, m)), (uint32_t)sizeof(((T *)0)->m),                   \
     (uint32_t)(sizeof(((flux_vm *)0)->name) / sizeof(T)), (uint32_t)sizeof(T), FLUX_FIELD_##kind}
static const flux_state_field STATE_FIELDS[] = {
    FA(r, INT), FA(conf, FLOAT), F(pc, UINT), F(sp, UINT), F(fp, UINT), F(flags, UINT), F(fl_kind, UINT),
    F(fl_x, UINT), F(fl_y, UINT), F(fl_res, UINT), F(energy, INT), F(cycles, UINT), F(rng, UINT),
    FA(trust, FLOAT), FA(trust_prev, FLOAT), F(trust_threshold, FLOAT), F(trust_failures, UINT),
    FR(instincts, instinct, key, INT), FR(instincts, instinct, value, INT), FR(instincts, instinct, strength, FLOAT),
    FR(instincts, instinct, used, UINT),
    FR(proposals, proposal, value, INT), FR(proposals, proposal, quorum, UINT), FR(proposals, proposal, yes, UINT),
    FR(proposals, proposal, no, UINT), FR(proposals, proposal, used, UINT),
    FA(routes, UINT), F(energy_pool, INT), F(energy_reserve, INT), F(energy_net_in, INT), F(timer_start, UINT),
    F(energy_alarm, INT), F(last_conf, FLOAT),
    FR(trust_log, flux_trust_event, pc, UINT), FR(trust_log, flux_trust_event, agent, UINT),
    FR(trust_log, flux_trust_event, score, FLOAT), FR(trust_log, flux_trust_event, threshold, FLOAT),
    FR(trust_log, flux_trust_event, passed, INT), FR(trust_log, flux_trust_event, reserved, UINT),
    FR(trust_log, flux_trust_event, cycle, UINT),
    F(trust_log_count, UINT), F(prov_seq, UINT), FA(prov_head, UINT), F(state, UINT), F(exit_code, INT),
    F(term_signal, INT), {"term_reason", (uint32_t)ST_OFF(term_reason), 128, 1, 0, FLUX_FIELD_TEXT},
    F(stack_lo, UINT), F(stack_hi, UINT),
    {"agents", (uint32_t)ST_OFF(agents), (uint32_t)sizeof(agent), FLUX_MAX_AGENTS, (uint32_t)sizeof(agent), FLUX_FIELD_AGENTS},
    F(cur, UINT), F(nlive, UINT), F(next_id, UINT), FA(id_state, UINT), FA(id_exit, UINT), F(sched, UINT),
    F(slice, UINT), F(sched_rng, UINT), F(slice_start, UINT), F(slice_end, UINT), F(barrier_gen, UINT),
    F(agent_budget, INT), F(pct_depth, UINT), F(pct_next, UINT), FA(pct_at, UINT), FA(pct_low, UINT), FA(prio, INT),
};
#undef F
#undef FA
#undef FR
#define G(name, kind) {#name, (uint32_t)offsetof(agent, name), (uint32_t)sizeof(((agent *)0)->name), 1, 0, FLUX_FIELD_##kind}
#define GA(name, kind)                                                                                            \
    {#name, (uint32_t)offsetof(agent, name), (uint32_t)sizeof(((agent *)0)->name[0]),                            \
     (uint32_t)(sizeof(((agent *)0)->name) / sizeof(((agent *)0)->name[0])),                                     \
     (uint32_t)sizeof(((agent *)0)->name[0]), FLUX_FIELD_##kind}
#define GM(m, kind)                                                                                               \
    {"mailbox[]." #m, (uint32_t)(offsetof(agent, mailbox) + offsetof(message, m)), (uint32_t)sizeof(((message *)0)->m), \
     MAILBOX_CAP, (uint32_t)sizeof(message), FLUX_FIELD_##kind}
static const flux_state_field AGENT_FIELDS[] = {
    G(id, UINT), G(state, UINT), G(wait_on, UINT), G(wait_op, UINT), G(barrier_gen, UINT), G(retry, UINT),
    G(exit_code, INT), G(stack_lo, UINT), G(stack_hi, UINT), GA(r, INT), GA(conf, FLOAT), G(pc, UINT), G(sp, UINT),
    G(fp, UINT), G(flags, UINT), G(fl_kind, UINT), G(fl_x, UINT), G(fl_y, UINT), G(fl_res, UINT), G(energy, INT),
    G(energy_net_in, INT), G(retired, UINT), G(timer_start, UINT), GA(prov_head, UINT), G(last_conf, FLOAT),
    GM(value, INT), GM(conf, FLOAT), GM(from, UINT), G(mail_head, UINT), G(mail_count, UINT), G(subscriptions, UINT),
};
#undef G
#undef GA
#undef GM

const flux_state_field *flux_vm_state_fields(size_t *n) {
    *n = sizeof STATE_FIELDS / sizeof STATE_FIELDS[0];
    return STATE_FIELDS;
}

const flux_state_field *flux_vm_agent_fields(size_t *n, uint32_t *agents_offset, uint32_t *agent_stride) {
    *n = sizeof AGENT_FIELDS / sizeof AGENT_FIELDS[0];
    *agents_offset = (uint32_t)ST_OFF(agents);
    *agent_stride = (uint32_t)sizeof(agent);
    return AGENT_FIELDS;
}

/* ---- helpers of the interpreter --------------------------------------------- */

static inline float pct(int64_t v) {
    if (v <= 0) return 0.0f;
    if (v >= 100) return 1.0f;
    return (float)v / 100.0f;
}
static inline int32_t to_pct(float c) { return (int32_t)lroundf(clamp01(c) * 100.0f); }
static inline int32_t sat32(int64_t v) {
    return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
}
static inline uint32_t fbits(float f) { uint32_t u; memcpy(&u, &f, sizeof u); return u; }
static inline float minf(float a, float b) { return a < b ? a : b; }
static inline float maxf(float a, float b) { return a > b ? a : b; }

static uint32_t crc32_bytes(const uint8_t *p, uint32_t n) {
    uint32_t crc = 0xFFFFFFFFu;
    for (uint32_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static void out_append(flux_vm *vm, const char *s, size_t n) {
    size_t room = FLUX_OUTPUT_CAP - vm->out_len;
    if (n > room) n = room;
    memcpy(vm->out + vm->out_len, s, n);
    vm->out_len += n;
}

static void set_reason(flux_stop *st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->reason, sizeof st->reason, fmt, ap);
    va_end(ap);
}

static int instinct_find(const flux_vm *vm, int32_t key) {
    for (unsigned i = 0; i < INSTINCT_SLOTS; i++)
        if (vm->instincts[i].used && vm->instincts[i].key == key) return (int)i;
    return -1;
}

/* Insert or replace; when the table is full the weakest entry gives way. */
static void instinct_learn(flux_vm *vm, int32_t key, int32_t value, float strength) {
    int i = instinct_find(vm, key);
    if (i < 0) {
        int weakest = 0;
        for (unsigned j = 0; j < INSTINCT_SLOTS; j++) {
            if (!vm->instincts[j].used) { weakest = (int)j; break; }
            if (vm->instincts[j].strength < vm->instincts[weakest].strength) weakest = (int)j;
        }
        i = weakest;
    }
    vm->instincts[i] = (instinct){key, value, clamp01(strength), 1};
}

static void trust_log_push(flux_vm *vm, uint32_t pc, uint32_t agent, float score, float threshold,
                           int ok, uint64_t cycle) {
    vm->trust_log[vm->trust_log_count % FLUX_TRUST_LOG] =
        (flux_trust_event){pc, agent, score, threshold, ok, 0, cycle};
    vm->trust_log_count++;
}

size_t flux_vm_trust_log(const flux_vm *vm, flux_trust_event *out, size_t max) {
    uint64_t n = vm->trust_log_count < FLUX_TRUST_LOG ? vm->trust_log_count : FLUX_TRUST_LOG;
    if (n > max) n = max;
    for (uint64_t k = 0; k < n; k++)  /* oldest of the n newest first */
        out[k] = vm->trust_log[(vm->trust_log_count - n + k) % FLUX_TRUST_LOG];
    return (size_t)n;
}

static const prov_record *prov_get(const flux_vm *vm, uint64_t seq) {
    if (seq == 0 || seq > vm->prov_seq || vm->prov_seq - seq >= PROV_RING) return NULL;
    const prov_record *p = &vm->prov[seq % PROV_RING];
    return p->seq == seq ? p : NULL;
}

/* Records the write of conf[dest] (before -> after) by the instruction at pc,
 * computed from the confidences of registers p1 and p2 (0xFF: none). */
static void prov_write(flux_vm *vm, uint32_t pc, uint64_t cycle, uint32_t dest, float before, float after,
                       uint32_t p1, uint32_t p2) {
    uint64_t seq = ++vm->prov_seq;
    prov_record *rec = &vm->prov[seq % PROV_RING];
    rec->seq = seq;
    rec->cycle = cycle;
    rec->pc = pc;
    memcpy(rec->insn, vm->mem + pc, sizeof rec->insn);
    rec->dest = (uint8_t)dest;
    rec->before = before;
    rec->after = after;
    rec->parent[0] = p1 < FLUX_NUM_REGS ? vm->prov_head[p1] : 0;
    rec->parent[1] = p2 < FLUX_NUM_REGS && p2 != p1 ? vm->prov_head[p2] : 0;
    vm->prov_head[dest] = seq;
}

static size_t prov_walk(const flux_vm *vm, uint64_t seq, uint32_t depth, flux_prov_entry *out, size_t n,
                        size_t max) {
    const prov_record *p = prov_get(vm, seq);
    if (!p || n >= max) return n;
    flux_prov_entry *e = &out[n++];
    e->pc = p->pc;
    e->cycle = p->cycle;
    memcpy(e->insn, p->insn, sizeof e->insn);
    e->dest = p->dest;
    e->depth = (uint8_t)depth;
    e->before = p->before;
    e->after = p->after;
    e->truncated = 0;
    if (depth >= 15) {
        e->truncated = p->parent[0] || p->parent[1];
        return n;
    }
    for (int k = 0; k < 2; k++) {
        if (!p->parent[k]) continue;
        if (!prov_get(vm, p->parent[k])) {
            e->truncated = 1;   /* older than the ring holds */
            continue;
        }
        n = prov_walk(vm, p->parent[k], depth + 1, out, n, max);
    }
    return n;
}

size_t flux_vm_conf_trace(const flux_vm *vm, uint32_t reg, flux_prov_entry *out, size_t max) {
    if (reg >= FLUX_NUM_REGS) return 0;
    return prov_walk(vm, vm->prov_head[reg], 0, out, 0, max);
}

static void trust_store(flux_vm *vm, uint32_t agent, float t) {
    vm->trust_prev[agent] = vm->trust[agent];
    vm->trust[agent] = clamp01(t);
}

/* ---- the interpreter ------------------------------------------------------ */

/* Dispatch by computed goto where the compiler has it (GCC, Clang), by a
 * plain switch elsewhere; both run the same handlers. */
#if defined(__GNUC__) && !defined(FLUX_NO_COMPUTED_GOTO)
#define FLUX_COMPUTED_GOTO 1
/* A handler of one opcode knows it: op is set to the constant, so that gcc
 * need not keep the fetched byte alive (it spilled it to the stack at every
 * dispatch for the fault paths' sake). */
/* A handler also pays its instruction's energy (PAY), first thing: the
 * cost is a constant there, one subtraction where the dispatch loaded it
 * from a table. */
#define CASE(name) case FLUX_OP_##name: L_##name: op = FLUX_OP_##name; PAY(op);
/* Handlers shared by several opcodes (SHARED_CASE) fetch op again (it is
 * mem[pc], the byte dispatched on), as does L_INVALID: the fetched byte is
 * then dead after the indirect jump, and the dispatch no longer copies it
 * into op's register.  Each label of a group fetches and pays inside an
 * if (0) block that the group's other labels fall past. */
#define SHARED_CASE(name)                          \
    if (0) {                                       \
    L_##name:                                      \
        op = vm->mem[pc];                          \
        PAY(op);                                   \
    }                                              \
    __attribute__((fallthrough));                  \
    case FLUX_OP_##name:
#else
#define FLUX_COMPUTED_GOTO 0
#define CASE(name) case FLUX_OP_##name:
#define SHARED_CASE(name) case FLUX_OP_##name:
#endif

/* Paying for an instruction.  The optimized build's handlers pay at their
 * start (CASE), the dispatch does not: the checked ways to an instruction
 * (fetch_checked, hooked_next) test that it can be paid, as the reference
 * does, then give the cost back for the handler to take (UNPAY), so that
 * energy is the same at every point of every handler. */
#if FLUX_COMPUTED_GOTO
/* the empty asm hides the paid value's relation to the unpaid one: gcc
 * otherwise kept a copy of the unpaid energy in every handler for the
 * fault paths' refund, a move per instruction */
#define PAY(o)                                  \
    do {                                        \
        energy -= ENERGY_COST[(o)];             \
        __asm__("" : "+r"(energy));             \
    } while (0)
#define UNPAY(o) (energy += ENERGY_COST[(o)])
#else
#define UNPAY(o) ((void)0)
#endif
#define LIKELY(x) __builtin_expect(!!(x), 1)
/* The loop's hot counters in callee-saved registers: in a function this
 * large gcc otherwise keeps some of sp, the instruction countdown and the
 * energy in memory, a load and a store per instruction (a register
 * variable is only the allocator's preference; its value is the same). */
#if FLUX_COMPUTED_GOTO && defined(__x86_64__) && !defined(__clang__)
#define PINNED(type, name, reg) register type name __asm__(reg)
#else
#define PINNED(type, name, reg) type name
#endif
#define ME (&vm->agents[vm->cur])   /* the running agent */
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Internal: the running agent's turn is over (flux_vm_run switches). */
#define STOP_TURN_OVER 0x7Fu

/* The loop exists twice: run_turn_single, for agent 1 alone with the whole
 * stack region, checks the stack against the region's constant bounds, as
 * the single-agent machine always did (per-agent bounds held in registers
 * cost fib(30) about 4% more host instructions); run_turn_multi checks the
 * running agent's own region.  flux_vm_run picks one per turn. */
#define RUN_TURN run_turn_single
#define DISPATCH vm->dispatch_single
#define STACK_BOUNDS const uint32_t stk_lo = FLUX_STACK_LIMIT, stk_hi = FLUX_STACK_TOP
static flux_stop run_turn_multi(flux_vm *vm, uint64_t budget);
#endif /* !FLUX_VM_MULTI_PASS */

/* One agent's turn: runs until a stop, the budget, or the end of the turn. */
static flux_stop RUN_TURN(flux_vm *vm, uint64_t budget) {
    flux_stop st;
    memset(&st, 0, sizeof st);

    st.agent = vm->agents[vm->cur].id;
    if (vm->state == VM_HALTED) {
        st.kind = FLUX_STOP_HALTED;
        st.exit_code = vm->exit_code;
        st.pc = vm->pc;
        return st;
    }
    if (vm->state == VM_TERMINATED || vm->state == VM_EXHAUSTED) {
        /* Going on after energy ran out ends the program, as a signal would. */
        if (vm->state == VM_EXHAUSTED) {
            vm->state = VM_TERMINATED;
            vm->term_signal = FLUX_SIGXCPU;
            snprintf(vm->term_reason, sizeof vm->term_reason,
                     "apoptosis: energy exhausted at 0x%04X", vm->pc);
        }
        st.kind = FLUX_STOP_TERMINATED;
        st.signal = vm->term_signal;
        st.pc = vm->pc;
        memcpy(st.reason, vm->term_reason, sizeof st.reason);
        return st;
    }

    /* watch-if conditions fire when they turn true: take their values now,
     * after whatever the debugger changed while the VM was stopped */
    for (uint32_t i = 0; i < vm->nwcond; i++) {
        flux_view v0;
        flux_vm_view(vm, &v0);
        vm->wconds[i].last = (uint8_t)flux_cond_eval(&vm->wconds[i].cond, &v0);
    }

    uint32_t pc = vm->pc;
    PINNED(uint32_t, sp, "r15") = vm->sp;
    STACK_BOUNDS;   /* the running agent's stack: [stk_lo, stk_hi) */
#if FLUX_COMPUTED_GOTO
    /* PUSH1 and POP1 take the checked way where sp - (stk_lo + 4), or
     * sp - stk_lo, is at least this: exactly where STACK_ROOM(1) or
     * STACK_HAS(1) fails, or always while a watch is on (watch_any changes
     * only between runs, or right before a stop: a watch-if that fires once
     * is removed at refill, which then stops) */
    const uint32_t stack_gate = vm->watch_any || stk_hi < stk_lo + 4u ? 0 : stk_hi - stk_lo - 3u;
#endif
    PINNED(int64_t, energy, "r12") = vm->energy;
    flux_view view;             /* what watch-if conditions read: pointers fixed, */
    flux_vm_view(vm, &view);    /* scalars filled in when they are checked */
    /* Per-instruction hooks (tracing, profiling, watch-if on registers) run
     * after each instruction retires; off, they cost nothing in the optimized
     * build (stopbytes) and one predicted branch in the reference. */
    const int hooked = vm->tracing || vm->nwcond_every;
    const int profiling = vm->profiling;
    const int access_log = vm->access_log;
    const int any_hook = hooked || profiling || access_log;
    hook_state hs = {pc, pc < FLUX_MEM_SIZE ? vm->mem[pc] : 0, energy, 0};
    if (vm->tracing) trace_snapshot(vm);
    /* Instruction counting: `left` instructions may still retire before
     * `chunk_end`, so that cycles = chunk_end - left at every boundary and the
     * hot path pays one decrement.  Stops that must happen after the current
     * instruction (watchpoints, full output) end the chunk early. */
    const uint64_t start_cycles = vm->cycles;
    /* cycles wrap (gdb may write any value): count from start_cycles, never compare absolutely */
    const uint64_t end = start_cycles + budget;
    uint64_t chunk_end = start_cycles;
    PINNED(uint64_t, left, "r14") = 0;
    int first = 1;
    int watch_hit = 0;
    int trust_hit = 0;
    int trace_full = 0;
    int64_t watch_addr = 0;
    uint32_t watch_kind = 0, watch_index = 0;
    uint32_t op = 0, len = 1;
    int out_full = 0;

#define CYCLES() (chunk_end - left)
/* Writes a confidence: the result of computing from the confidences of
 * registers p1 and p2 (NOPAR: none).  Provenance is recorded unless the
 * value is certain and stays certain (the cheap common case). */
#define NOPAR 0xFFu
#define SETCONF_REF(d, val, p1, p2)                                                 \
    do {                                                                            \
        uint32_t rd_ = (d);                                                         \
        float rnv_ = (val), rov_ = vm->conf[rd_];                                   \
        if (UNLIKELY(rnv_ != 1.0f || rov_ != 1.0f))                                 \
            prov_write(vm, pc, CYCLES(), rd_, rov_, rnv_, (p1), (p2));              \
        else                                                                        \
            vm->prov_head[rd_] = 0;                                                 \
        vm->conf[rd_] = rnv_;                                                       \
        vm->last_conf = rnv_;                                                       \
    } while (0)
#if FLUX_COMPUTED_GOTO
/* The same, with the common case (certain stays certain) tested on the bits:
 * 1.0f has one encoding, so bits == ONE_BITS is exactly x == 1.0f. */
#define ONE_BITS 0x3F800000u
/* last_conf = 1.0f as an integer store (gcc loads the float constant first) */
#define SET_LAST_CONF_ONE()                                                         \
    do {                                                                            \
        const uint32_t one_ = ONE_BITS;                                             \
        memcpy(&vm->last_conf, &one_, sizeof one_);                                 \
    } while (0)
#define SETCONF(d, val, p1, p2)                                                     \
    do {                                                                            \
        uint32_t d_ = (d);                                                          \
        float nv_ = (val);                                                          \
        if (LIKELY(((fbits(nv_) ^ ONE_BITS) | (fbits(vm->conf[d_]) ^ ONE_BITS)) == 0)) { \
            vm->prov_head[d_] = 0;                                                  \
            SET_LAST_CONF_ONE();                                                    \
        } else {                                                                    \
            SETCONF_REF(d_, nv_, p1, p2);                                           \
        }                                                                           \
    } while (0)
/* SETCONF(d, conf[a] * conf[b], a, b), without the product when all three are 1. */
#define SETCONF_PROD(d, a, b)                                                       \
    do {                                                                            \
        if (LIKELY(((fbits(vm->conf[a]) ^ ONE_BITS) | (fbits(vm->conf[b]) ^ ONE_BITS) \
                    | (fbits(vm->conf[d]) ^ ONE_BITS)) == 0)) {                     \
            vm->prov_head[d] = 0;                                                   \
            SET_LAST_CONF_ONE();                                                    \
        } else {                                                                    \
            SETCONF_REF(d, vm->conf[a] * vm->conf[b], a, b);                        \
        }                                                                           \
    } while (0)
#else
#define SETCONF SETCONF_REF
#define SETCONF_PROD(d, a, b) SETCONF_REF(d, vm->conf[a] * vm->conf[b], a, b)
#endif
/* Every trust check goes to the trust log; a failing one may stop the VM. */
#define TRUST_EVENT(agent, score, threshold, ok)                                    \
    do {                                                                            \
        trust_log_push(vm, pc, (agent), (score), (threshold), (ok), CYCLES());      \
        if (!(ok)) {                                                                \
            vm->trust_failures++;                                                   \
            if (vm->break_on_trust_fail) {                                          \
                trust_hit = 1;                                                      \
                END_CHUNK_AFTER_THIS();                                             \
            }                                                                       \
        }                                                                           \
    } while (0)
/* The machine state as conditions see it, from the loop's locals. */
#define VIEW(v)                                \
    do {                                       \
        flux_vm_view(vm, &(v));                \
        (v).pc = pc;                           \
        (v).sp = sp;                           \
        (v).energy = energy;                   \
        (v).cycles = CYCLES();                 \
    } while (0)
#define END_CHUNK_AFTER_THIS()                 \
    do {                                       \
        chunk_end = chunk_end - left + 1;      \
        left = 1;                              \
    } while (0)
#define SYNC()                        \
    do {                              \
        vm->pc = pc;                  \
        vm->sp = sp;                  \
        vm->energy = energy;          \
        vm->cycles = CYCLES();        \
    } while (0)

#define STOP(k)        \
    do {               \
        st.kind = (k); \
        goto stop;     \
    } while (0)

#define FAULT(sig, ...)                 \
    do {                                \
        energy += ENERGY_COST[op];      \
        if (profiling) vm->prof_count[pc]--; /* it did not run */ \
        st.signal = (sig);              \
        set_reason(&st, __VA_ARGS__);   \
        STOP(FLUX_STOP_FAULT);          \
    } while (0)

#define ILLEGAL_REG(x) \
    FAULT(FLUX_SIGILL, "illegal register operand %u in %s at 0x%04X", (unsigned)(x), \
          OPCODES[op].mnemonic, pc)

/* Operand decoding: every register operand is checked (< 16), and the whole
 * instruction must lie inside memory. */
/* The whole instruction lies inside memory: checked before dispatch (see
 * fetch_checked), so a handler only notes its length. */
#define NEED(n) len = 1 + (n)
/* The operand bytes at pc + off, the sum taken in size_t: pc is at most
 * FLUX_MEM_SIZE, so it is the same address, but a 32-bit sum (which could
 * wrap, as far as gcc knows) took a lea per operand byte; a 64-bit one
 * folds into the load's addressing. */
#define OPND(off) (vm->mem + (size_t)pc + (off))
#define REG(name, off)                      \
    uint32_t name = *OPND(off);             \
    if (UNLIKELY(name >= FLUX_NUM_REGS)) ILLEGAL_REG(name)
#define IMM8(off) ((uint32_t)*OPND(off))
#define IMM16(off) rd16(OPND(off), 0)
#define IMM32(off) rd32(OPND(off), 0)
#define SIMM16(off) ((int32_t)(int16_t)IMM16(off))

#define OPS_NONE() NEED(0)
#define OPS_R(a) NEED(1); REG(a, 1)
#define OPS_RR(a, b)                                                        \
    NEED(2);                                                                \
    uint32_t a = *OPND(1), b = *OPND(2);                                    \
    if (UNLIKELY((a | b) >= FLUX_NUM_REGS)) ILLEGAL_REG(a >= FLUX_NUM_REGS ? a : b)
#define OPS_RRR(a, b, c)                                                    \
    NEED(3);                                                                \
    uint32_t a = *OPND(1), b = *OPND(2), c = *OPND(3);                      \
    if (UNLIKELY((a | b | c) >= FLUX_NUM_REGS))                             \
        ILLEGAL_REG(a >= FLUX_NUM_REGS ? a : b >= FLUX_NUM_REGS ? b : c)
#define OPS_RI16(a, i) NEED(3); REG(a, 1); uint32_t i = IMM16(2)
#define OPS_I16(i) NEED(2); uint32_t i = IMM16(1)
#define OPS_I8(i) NEED(1); uint32_t i = IMM8(1)
#define OPS_RI8(a, i) NEED(2); REG(a, 1); uint32_t i = IMM8(2)
#define OPS_RRI8(a, b, i) NEED(3); REG(a, 1); REG(b, 2); uint32_t i = IMM8(3)
#define OPS_I32(i) NEED(4); uint32_t i = IMM32(1)
#define OPS_RI32(a, i) NEED(5); REG(a, 1); uint32_t i = IMM32(2)

/* Memory access by the program: bounds, then watchpoints (a branch while none). */
#define CHECK_MEM(addr, n, what)                                                      \
    do {                                                                              \
        if (UNLIKELY(!range_ok((addr), (n))))                                         \
            FAULT(FLUX_SIGSEGV, "%s of %u bytes at 0x%X is outside memory (%s at 0x%04X)", \
                  what, (unsigned)(n), (unsigned)(addr), OPCODES[op].mnemonic, pc);   \
    } while (0)
/* Memory access hooks: one load (watch_any) while no watchpoint, watch-if
 * trigger, trace or access log is on; while one is, an access outside the
 * granules they need (watch_gran: all of them for a trace or the access
 * log) costs two more loads. */
#define WATCH(addr, n, kind)                                                   \
    do {                                                                       \
        if ((kind) == FLUX_WATCH_WRITE) mark_dirty(vm, (addr), (n));           \
        if (UNLIKELY(vm->watch_any) && watch_near(vm, (addr), (n))) {         \
            if (vm->tracing && (kind) == FLUX_WATCH_WRITE) fluxi_trace_mem(vm, (addr), (n)); \
            if (vm->access_log && fluxi_access(vm, (kind) == FLUX_WATCH_WRITE ? FLUX_ACC_WRITE : FLUX_ACC_READ, (addr), (n))) { \
                trace_full = 1;                                                \
                END_CHUNK_AFTER_THIS();                                        \
            }                                                                  \
            if (vm->nwatch) {                                                  \
                uint32_t wi_ = 0;                                              \
                int trig_ = 0;                                                 \
                int64_t wa_ = fluxi_watch_check(vm, (addr), (n), (kind), &wi_, &trig_); \
                if (wa_ >= 0 && !watch_hit) {                                  \
                    watch_hit = 1;                                             \
                    END_CHUNK_AFTER_THIS();                                    \
                    watch_addr = wa_;                                          \
                    watch_kind = (kind);                                       \
                    watch_index = wi_;                                         \
                }                                                              \
                if (trig_) END_CHUNK_AFTER_THIS(); /* check watch-if next */  \
            }                                                                  \
        }                                                                      \
    } while (0)
#define LOAD_N(dst, addr, n, reader)                   \
    do {                                               \
        uint32_t la_ = (uint32_t)(addr);               \
        CHECK_MEM(la_, n, "read");                     \
        WATCH(la_, n, FLUX_WATCH_READ);                \
        dst = reader(vm->mem, la_);                        \
    } while (0)
#define STORE_N(addr, n, val, writer)                  \
    do {                                               \
        uint32_t sa_ = (uint32_t)(addr);               \
        CHECK_MEM(sa_, n, "write");                    \
        WATCH(sa_, n, FLUX_WATCH_WRITE);               \
        writer(vm->mem, sa_, (uint32_t)(val));             \
    } while (0)
#define LOAD32(dst, addr) LOAD_N(dst, addr, 4, rd32)
#define STORE32(addr, val) STORE_N(addr, 4, val, wr32)

/* The stack: the running agent's [stk_lo, stk_hi) (agent 1 alone:
 * [FLUX_STACK_LIMIT, FLUX_STACK_TOP)), 4-byte slots. */
#define STACK_ROOM(nslots)                                                              \
    do {                                                                                \
        if (UNLIKELY(sp > stk_hi || sp < stk_lo + 4u * (nslots)))                      \
            FAULT(FLUX_SIGSEGV, "stack overflow: sp=0x%X, %s at 0x%04X needs %u bytes", sp, \
                  OPCODES[op].mnemonic, pc, 4u * (unsigned)(nslots));                 \
    } while (0)
#define STACK_HAS(nslots)                                                               \
    do {                                                                                \
        if (UNLIKELY(sp < stk_lo || sp > stk_hi - 4u * (nslots)))                      \
            FAULT(FLUX_SIGSEGV, "stack underflow: sp=0x%X, %s at 0x%04X needs %u slots", sp, \
                  OPCODES[op].mnemonic, pc, (unsigned)(nslots));                       \
    } while (0)
#define PUSH_RAW(v)                                 \
    do {                                            \
        sp -= 4;                                    \
        WATCH(sp, 4, FLUX_WATCH_WRITE);             \
        wr32(vm->mem, sp, (uint32_t)(v));               \
    } while (0)
#define POP_RAW(dst)                                \
    do {                                            \
        WATCH(sp, 4, FLUX_WATCH_READ);              \
        dst = rd32(vm->mem, sp);                        \
        sp += 4;                                    \
    } while (0)
#define SLOT(i) (sp + 4u * (i))
/* One slot pushed or popped, with its checks: STACK_ROOM(1) and PUSH_RAW,
 * STACK_HAS(1) and POP_RAW.  The optimized build tests both the stack's
 * bounds and whether any watch is on at once, against stack_gate: with
 * none on, an access inside the bounds marks the line (a push) and goes
 * straight to memory; anything else takes the checked way. */
#if FLUX_COMPUTED_GOTO
#define PUSH1(v)                                                                 \
    do {                                                                         \
        if (UNLIKELY(sp - (stk_lo + 4u) >= stack_gate)) {                        \
            STACK_ROOM(1);                                                       \
            PUSH_RAW(v);                                                         \
        } else {                                                                 \
            sp -= 4;                                                             \
            mark_dirty(vm, sp, 4);                                               \
            wr32(vm->mem, sp, (uint32_t)(v));                                    \
        }                                                                        \
    } while (0)
#define POP1(dst)                                                                \
    do {                                                                         \
        if (UNLIKELY(sp - stk_lo >= stack_gate)) {                               \
            STACK_HAS(1);                                                        \
            POP_RAW(dst);                                                        \
        } else {                                                                 \
            dst = rd32(vm->mem, sp);                                             \
            sp += 4;                                                             \
        }                                                                        \
    } while (0)
#else
#define PUSH1(v) do { STACK_ROOM(1); PUSH_RAW(v); } while (0)
#define POP1(dst) do { STACK_HAS(1); POP_RAW(dst); } while (0)
#endif

/* Finishing an instruction: pay, retire, go on (or stop for a watchpoint). */
/* The hot path between two instructions: retire, then stop if the chunk is
 * used up or pc is on the stop map (a breakpoint, or the last bytes of
 * memory), fetch, pay the energy, dispatch. */
#if FLUX_COMPUTED_GOTO
/* The optimized build tests one byte: stopbytes[pc] is 1 on the stop map and,
 * while a per-instruction hook is on, everywhere; slow_next then sorts out
 * which (the order of the tests is the reference's below). */
#define FAST_PATH(dispatch)                                                        \
    do {                                                                           \
        if (UNLIKELY(vm->stopbytes[pc])) goto slow_next;                           \
        if (UNLIKELY(--left == 0)) goto refill;                                    \
        goto *DISPATCH[vm->mem[pc]]; /* the handler pays: see PAY */            \
    } while (0)
#else
#define FAST_PATH(dispatch)                                                        \
    do {                                                                           \
        if (UNLIKELY(any_hook)) goto hooked_next;                                  \
        if (UNLIKELY(--left == 0)) goto refill;                                    \
        if (UNLIKELY((vm->stopmap[pc >> 6] >> (pc & 63)) & 1)) goto check_stop;    \
        op = vm->mem[pc];                                                          \
        energy -= ENERGY_COST[op];                                                 \
        if (UNLIKELY(energy < 0)) goto exhausted;                                  \
        dispatch;                                                                  \
    } while (0)
#endif
#if FLUX_COMPUTED_GOTO
/* Each handler ends with its own copy of the dispatch: one indirect jump per
 * handler predicts far better than the single jump of a switch. */
#define NEXT_TO(target)                                   \
    do {                                                  \
        pc = (target);                                    \
        FAST_PATH();                                      \
    } while (0)
#else
#define NEXT_TO(target)          \
    do {                         \
        pc = (target);           \
        goto next;               \
    } while (0)
#endif
#define NEXT() NEXT_TO(pc + len)
/* A call or a return moves the profiler's frame (profiling: its cycle is
 * the next instruction's).  The optimized build does that in hooked_next,
 * where every instruction goes while profiling is on, first thing after the
 * instruction retired: the handlers then need no test of profiling. */
#if FLUX_COMPUTED_GOTO
#define PROF_TRANSITION(target) ((void)0)
#else
#define PROF_TRANSITION(target)                                                        \
    do {                                                                               \
        if (UNLIKELY(profiling) && fluxi_prof_transition(vm, op, (target), CYCLES() + 1)) { \
            trace_full = 1;                                                            \
            END_CHUNK_AFTER_THIS();                                                    \
        }                                                                              \
    } while (0)
#endif
/* Energy taken other than an instruction's cost (EXTRA_COST, ENERGY_MOVE)
 * ends the chunk: for watch-if conditions on energy (cond_distance), and in
 * the optimized build for ENERGY_BOUND, which holds only for chunks charged
 * at most max_cost an instruction. */
#define ENERGY_FELL_ENDS_CHUNK (FLUX_COMPUTED_GOTO || vm->nwcond)
#define EXTRA_COST(x)                                                                  \
    do {                                                                               \
        int64_t x_ = (int64_t)(x);                                                     \
        if (UNLIKELY(x_ < 0 || energy < x_)) goto exhausted_counted;                   \
        energy -= x_;                                                                  \
        if (profiling) vm->prof_energy[pc] += (uint64_t)x_;                            \
        if (ENERGY_FELL_ENDS_CHUNK && x_ > 0) END_CHUNK_AFTER_THIS(); /* energy fell fast */       \
    } while (0)

    if (UNLIKELY(pc >= FLUX_MEM_SIZE)) goto pc_outside;
#if FLUX_COMPUTED_GOTO
    static const void *const DISPATCH_TABLE[256] = {
#define FLUX_X_LABEL(code, name, mode, cat, cost, impl, flow, stack) [code] = &&L_##name,
        FLUX_OPCODE_TABLE(FLUX_X_LABEL)
#undef FLUX_X_LABEL
        [FLUX_OPCODE_COUNT ... 255] = &&L_INVALID,   /* bytes that are no opcode */
    };
#endif
    /* A breakpoint we stopped at does not stop us again when we resume
     * from it; any other pc is checked (a run may start where the last one
     * ran out of budget, on a breakpoint). */
    const int skip_first_stop = vm->resume_pc == pc;
    vm->resume_pc = UINT32_MAX;
#if FLUX_COMPUTED_GOTO
    if (UNLIKELY(vm->stops_all != (any_hook != 0))) fluxi_stopbytes_fill(vm, any_hook);
    if (UNLIKELY(DISPATCH[0] != DISPATCH_TABLE[0])) memcpy(DISPATCH, DISPATCH_TABLE, sizeof DISPATCH_TABLE);
#endif
    goto refill;

#if FLUX_COMPUTED_GOTO
slow_next:
    /* stopbytes[pc] was 1: a hook is on, or pc is on the stop map */
    if (any_hook) goto hooked_next;
    if (UNLIKELY(--left == 0)) goto refill;
    goto check_stop;
#endif

refill:
    if (UNLIKELY(watch_hit | out_full | trust_hit | trace_full)) goto hooks;
    if (vm->nwcond && !first) {
        /* watch-if: checked at every chunk boundary; chunks end where a
         * condition may have turned true (see cond_needs_every) */
        view.pc = pc;
        view.sp = sp;
        view.energy = energy;
        view.cycles = CYCLES();
        view.last_conf = vm->last_conf;
        for (uint32_t i = 0; i < vm->nwcond; i++) {
            watch_cond *w = &vm->wconds[i];
            uint8_t now = (uint8_t)flux_cond_eval_inline(&w->cond, &view);
            uint8_t was = w->last;
            w->last = now;
            if (now && !was) {
                st.cond_id = w->id;
                if (w->once) flux_vm_remove_watch_cond(vm, w->id);
                STOP(FLUX_STOP_WATCH_COND);
            }
        }
    }
    if (chunk_end - start_cycles >= budget) STOP(FLUX_STOP_BUDGET);
    if (atomic_load_explicit(&vm->interrupt, memory_order_relaxed)) {
        atomic_store_explicit(&vm->interrupt, 0, memory_order_relaxed);
        STOP(FLUX_STOP_BUDGET);
    }
    if (UNLIKELY(vm->nlive > 1 || ME->state != FLUX_AGENT_RUNNABLE)) {
        /* Agents take turns: a slice ends at a chunk boundary, so switching
         * costs the hot path nothing.  When the running agent's turn is over
         * (its slice ended, it blocked or ended) flux_vm_run picks who runs
         * next and calls this loop again. */
        const agent *ca = ME;
        if (ca->state != FLUX_AGENT_RUNNABLE ? !ca->retry : (int64_t)(vm->slice_end - chunk_end) <= 0)
            STOP(STOP_TURN_OVER);
        if (vm->turn_break) {  /* SPAWN changed the stack bounds: run on in run_turn_multi */
            vm->turn_break = 0;
            STOP(STOP_TURN_OVER);
        }
    }
    left = end - chunk_end > CHUNK ? CHUNK : end - chunk_end;
    if (UNLIKELY(vm->nlive > 1)) {
        uint64_t to_slice_end = vm->slice_end - chunk_end;
        if (to_slice_end < left && to_slice_end > 0) left = to_slice_end;
    }
    if (vm->nwcond) {
        uint64_t d = cond_distance(vm, energy, chunk_end);
        if (d < left) left = d;
    }
#if FLUX_COMPUTED_GOTO
    /* ENERGY_BOUND: an instruction reached by the fast path is paid for
     * (PAY) without a test of the energy, so a chunk is no longer than its
     * energy pays for at max_cost each.  Of its `left` instructions the
     * first is tested at fetch_checked; at most left - 1 follow on the fast path.
     * With energy >= left * max_cost none of them takes it below 0; near the
     * end chunks shrink, down to 1 instruction, each then paid and tested at
     * fetch_checked (or hooked_next), so the instruction that cannot be paid
     * stops at its own pc as before.  More chunk boundaries change nothing a
     * program or debugger sees: each is a check_stop like any other. */
    if (UNLIKELY(energy < (int64_t)left * vm->max_cost))
        left = energy >= vm->max_cost ? (uint64_t)(energy / vm->max_cost) : 1;
#endif
    chunk_end += left;
    if (first) {
        first = 0;
        if (skip_first_stop) goto fetch_checked;
    }
check_stop:
    if (UNLIKELY(pc >= FLUX_MEM_SIZE)) goto pc_outside; /* ran off the end of memory */
    if (UNLIKELY((vm->breakpoints[pc >> 6] >> (pc & 63)) & 1)) STOP(FLUX_STOP_BREAKPOINT);
    if ((vm->condbp_map[pc >> 6] >> (pc & 63)) & 1) {
        /* breakpoints with conditions (stub-side and gdb's agent
         * expressions): checked here, at VM speed */
        flux_view v;
        VIEW(v);
        int c = condbp_check(vm, pc, &v, &st.cond_id);
        if (c == 1) STOP(FLUX_STOP_COND_BREAKPOINT);
        if (c == 2) STOP(FLUX_STOP_OUTPUT); /* resumed here, the check is made again */
    }
fetch_checked:
    op = vm->mem[pc];
    if (UNLIKELY(pc + 1u + OPCODES[op].operand_bytes > FLUX_MEM_SIZE)) {
        st.signal = FLUX_SIGSEGV;
        set_reason(&st, "instruction at 0x%04X runs past the end of memory", pc);
        STOP(FLUX_STOP_FAULT);
    }
    energy -= ENERGY_COST[op];
    if (UNLIKELY(energy < 0)) goto exhausted;
    if (UNLIKELY(profiling)) vm->prof_count[pc]++;
    UNPAY(op);
    goto dispatch;

hooked_next:
    /* the way to the next instruction while tracing, profiling or a watch-if
     * on registers is on: the fast path's one test sends everything here */
#if FLUX_COMPUTED_GOTO
    /* the profiler's move for a call or return that retired (PROF_TRANSITION):
     * pc is its target */
    if (profiling && (op == FLUX_OP_CALL || op == FLUX_OP_SWI || op == FLUX_OP_RET || op == FLUX_OP_IRET)
        && fluxi_prof_transition(vm, op, pc, CYCLES() + 1)) {
        trace_full = 1;
        END_CHUNK_AFTER_THIS();
    }
#endif
    if (access_log && SHARED_OP[op] && fluxi_access_op(vm, op)) goto hook_event;
    if (hooked && fluxi_hook_step(vm, &hs, pc, sp, energy, CYCLES() + 1)) goto hook_event;
    if (UNLIKELY(--left == 0)) goto refill;
    if (UNLIKELY((vm->stopmap[pc >> 6] >> (pc & 63)) & 1)) goto check_stop;
    op = vm->mem[pc];
    energy -= ENERGY_COST[op];
    if (UNLIKELY(energy < 0)) goto exhausted;
    if (profiling) vm->prof_count[pc]++;
    UNPAY(op);
    goto dispatch;

hook_event:
    /* a hook asked to stop after the instruction that just retired */
    --left;
    if (hs.cond_id) {
        st.cond_id = hs.cond_id;
        STOP(FLUX_STOP_WATCH_COND);
    }
    trace_full = 1;
    chunk_end -= left; /* end the chunk here: refill stops for the buffer */
    left = 0;
    goto refill;

#if !FLUX_COMPUTED_GOTO
next:
    FAST_PATH(goto dispatch);
#endif

dispatch:
#if FLUX_COMPUTED_GOTO
    goto *DISPATCH[op];
#endif
        switch (op) {
        /* ---------------- control ---------------- */
        CASE(NOP) { OPS_NONE(); NEXT(); }
        CASE(MOV) { OPS_RR(d, s); vm->r[d] = vm->r[s]; SETCONF(d, vm->conf[s], s, NOPAR); NEXT(); }
        CASE(LOAD) {
            OPS_RR(d, a); uint32_t v; LOAD32(v, (uint32_t)vm->r[a]);
            vm->r[d] = (int32_t)v; SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT();
        }
        CASE(STORE) { OPS_RR(s, a); STORE32((uint32_t)vm->r[a], vm->r[s]); NEXT(); }
        CASE(PUSH) { OPS_I16(i); STACK_ROOM(1); PUSH_RAW(i); NEXT(); }
        CASE(POP) {
            OPS_R(d); STACK_HAS(1); uint32_t v; POP_RAW(v);
            vm->r[d] = (int32_t)v; SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT();
        }
        CASE(JMP) { OPS_I16(t); NEXT_TO(t); }
        CASE(JZ) { OPS_RI16(a, t); NEXT_TO((vm->r[a] == 0) ? t : pc + len); }
        CASE(JNZ) { OPS_RI16(a, t); NEXT_TO((vm->r[a] != 0) ? t : pc + len); }
        CASE(CALL) {
            OPS_I16(t); PUSH1(pc + len);
            PROF_TRANSITION(t);
            NEXT_TO(t);
        }
        CASE(RET) {
            OPS_NONE(); uint32_t t; POP1(t);
            if (UNLIKELY(t >= FLUX_MEM_SIZE)) {
                sp -= 4;
                FAULT(FLUX_SIGSEGV, "RET at 0x%04X to 0x%X, outside memory", pc, t);
            }
            PROF_TRANSITION(t);
            NEXT_TO(t);
        }
        CASE(HALT) {
            OPS_NONE();
            if (UNLIKELY(ME->id != FIRST_AGENT)) {
                /* ends this agent only; the program ends with agent 1 */
                left--;
                if (hooked) fluxi_hook_step(vm, &hs, pc, sp, energy, CYCLES());
                fluxi_agent_end(vm, vm->cur, vm->r[0] & 0xFF);
                goto agent_gone;
            }
            vm->state = VM_HALTED;
            vm->exit_code = vm->r[0] & 0xFF;
            st.exit_code = vm->exit_code;
            left--;
            if (hooked) fluxi_hook_step(vm, &hs, pc, sp, energy, CYCLES());
            STOP(FLUX_STOP_HALTED);
        }
        CASE(BRK) {
            OPS_NONE();
            pc += len; left--;
            if (hooked) fluxi_hook_step(vm, &hs, pc, sp, energy, CYCLES());
            st.signal = FLUX_SIGTRAP;
            STOP(FLUX_STOP_BRK);
        }
        CASE(SWI) {
            OPS_I8(n);
            uint32_t h = rd16(vm->mem, FLUX_IVT_BASE + 2 * n);
            if (h == 0) FAULT(FLUX_SIGILL, "SWI 0x%X at 0x%04X: no handler at 0x%04X", n, pc,
                              FLUX_IVT_BASE + 2 * n);
            STACK_ROOM(2); PUSH_RAW(pc + len); PUSH_RAW(flags_now(vm));
            PROF_TRANSITION(h);
            NEXT_TO(h);
        }
        CASE(IRET) {
            OPS_NONE(); STACK_HAS(2); uint32_t f, t;
            if (UNLIKELY(rd32(vm->mem, sp + 4) >= FLUX_MEM_SIZE))
                FAULT(FLUX_SIGSEGV, "IRET at 0x%04X to 0x%X, outside memory", pc, rd32(vm->mem, sp + 4));
            POP_RAW(f); POP_RAW(t);
            SET_FLAGS(f & (FLUX_FLAG_C | FLUX_FLAG_Z | FLUX_FLAG_S | FLUX_FLAG_O));
            PROF_TRANSITION(t);
            NEXT_TO(t);
        }
        CASE(LOOP) { OPS_RI16(a, t); vm->r[a] = (int32_t)((uint32_t)vm->r[a] - 1); NEXT_TO((vm->r[a] != 0) ? t : pc + len); }
        CASE(LOOPE) {
            OPS_RI16(a, t); vm->r[a] = (int32_t)((uint32_t)vm->r[a] - 1);
            NEXT_TO((vm->r[a] != 0 && (flags_now(vm) & FLUX_FLAG_Z)) ? t : pc + len);
        }
        CASE(LOOPNE) {
            OPS_RI16(a, t); vm->r[a] = (int32_t)((uint32_t)vm->r[a] - 1);
            NEXT_TO((vm->r[a] != 0 && !(flags_now(vm) & FLUX_FLAG_Z)) ? t : pc + len);
        }
/* A conditional jump reads the flags.  After a compare or a subtraction
 * (flags pending as FL_SUB, the common case) the optimized build decides
 * from the pending operands directly: with r = x - y (flux_vm_check_state
 * refuses a state where it is not), C is x < y unsigned, Z is x == y, and
 * S != O is x < y signed, so JL is one signed compare instead of packing
 * C Z S O first.  The reference build (FLUX_NO_COMPUTED_GOTO) always goes
 * through flags_now, so the differential test checks each identity. */
#if FLUX_COMPUTED_GOTO
#define FLAG_JUMP_SUB(sub_cond)                                                  \
            if (LIKELY(vm->fl_kind == FL_SUB)) {                                 \
                uint32_t x_ = vm->fl_x, y_ = vm->fl_y;                           \
                int32_t sx_ = (int32_t)x_, sy_ = (int32_t)y_;                    \
                (void)sx_; (void)sy_;                                            \
                NEXT_TO((sub_cond) ? t : pc + len);                              \
            }
#else
#define FLAG_JUMP_SUB(sub_cond)
#endif
/* OPC, its condition on the flags, the same after a subtraction x - y */
#define FLAG_JUMP(OPC, cond, sub_cond)                                 \
        CASE(OPC) {                                                    \
            OPS_RI16(a, t); (void)a;                                   \
            FLAG_JUMP_SUB(sub_cond)                                    \
            uint32_t f = flags_now(vm);                                \
            int c_ = !!(f & FLUX_FLAG_C), z_ = !!(f & FLUX_FLAG_Z);    \
            int s_ = !!(f & FLUX_FLAG_S), o_ = !!(f & FLUX_FLAG_O);    \
            (void)c_; (void)z_; (void)s_; (void)o_;                    \
            NEXT_TO((cond) ? t : pc + len);                              \
        }
/* the sign of x - y and its overflow, for JO JNO JS JNS */
#define SUB_S ((x_ - y_) >> 31)
#define SUB_O (((x_ ^ y_) & (x_ ^ (x_ - y_))) >> 31)
        FLAG_JUMP(JC, c_, x_ < y_)
        FLAG_JUMP(JNC, !c_, x_ >= y_)
        FLAG_JUMP(JA, !c_ && !z_, x_ > y_)
        FLAG_JUMP(JAE, !c_, x_ >= y_)
        FLAG_JUMP(JB, c_, x_ < y_)
        FLAG_JUMP(JBE, c_ || z_, x_ <= y_)
        FLAG_JUMP(JG, !z_ && s_ == o_, sx_ > sy_)
        FLAG_JUMP(JGE, s_ == o_, sx_ >= sy_)
        FLAG_JUMP(JL, s_ != o_, sx_ < sy_)
        FLAG_JUMP(JLE, z_ || s_ != o_, sx_ <= sy_)
        FLAG_JUMP(JO, o_, SUB_O)
        FLAG_JUMP(JNO, !o_, !SUB_O)
        FLAG_JUMP(JS, s_, SUB_S)
        FLAG_JUMP(JNS, !s_, !SUB_S)
#undef SUB_S
#undef SUB_O
#undef FLAG_JUMP_SUB
#undef FLAG_JUMP

        /* ---------------- arith ---------------- */
#define ARITH3(OPC, expr, flagexpr)                                              \
        CASE(OPC) {                                                              \
            OPS_RRR(d, a, b); uint32_t x = (uint32_t)vm->r[a], y = (uint32_t)vm->r[b];   \
            uint32_t v = (expr); flagexpr;                         \
            SETCONF_PROD(d, a, b); vm->r[d] = (int32_t)v; NEXT();              \
        }
        ARITH3(CADD, x + y, SET_ADD(x, y, v))
        ARITH3(CSUB, x - y, SET_SUB(x, y, v))
        CASE(CMUL) {
            OPS_RRR(d, a, b);
            int64_t p = (int64_t)vm->r[a] * (int64_t)vm->r[b];
            uint32_t v = (uint32_t)(uint64_t)p;
            SET_FLAGS(zs_flags(v) | (p != (int32_t)v ? FLUX_FLAG_C | FLUX_FLAG_O : 0));
            SETCONF_PROD(d, a, b); vm->r[d] = (int32_t)v; NEXT();
        }
        SHARED_CASE(CDIV)
        SHARED_CASE(CMOD) {
            OPS_RRR(d, a, b);
            int32_t x = vm->r[a], y = vm->r[b];
            if (y == 0) FAULT(FLUX_SIGFPE, "division by zero: %s at 0x%04X (r%u = 0)",
                              OPCODES[op].mnemonic, pc, b);
            int32_t v;
            if (x == INT32_MIN && y == -1) v = op == FLUX_OP_CDIV ? INT32_MIN : 0;
            else v = op == FLUX_OP_CDIV ? x / y : x % y;
            SET_ZS((uint32_t)v);
            SETCONF_PROD(d, a, b); vm->r[d] = v; NEXT();
        }
        ARITH3(CAND, x & y, SET_ZS(v))
        ARITH3(COR, x | y, SET_ZS(v))
        ARITH3(CXOR, x ^ y, SET_ZS(v))
        ARITH3(CSHL, x << (y & 31), SET_ZS(v))
        ARITH3(CSHR, x >> (y & 31), SET_ZS(v))
        ARITH3(CSAR, (uint32_t)((int32_t)x >> (y & 31)), SET_ZS(v))
        ARITH3(CMIN, (int32_t)x < (int32_t)y ? x : y, SET_ZS(v))
        ARITH3(CMAX, (int32_t)x > (int32_t)y ? x : y, SET_ZS(v))
#undef ARITH3
#define ARITH2(OPC, expr)                                                        \
        CASE(OPC) {                                                              \
            OPS_RR(d, a); uint32_t x = (uint32_t)vm->r[a]; uint32_t v = (expr);      \
            SET_ZS(v); SETCONF(d, vm->conf[a], a, NOPAR); vm->r[d] = (int32_t)v; NEXT(); \
        }
        ARITH2(CNOT, ~x)
        ARITH2(CNEG, 0u - x)
        ARITH2(CABS, (int32_t)x < 0 ? 0u - x : x)
        ARITH2(CLZ, x ? (uint32_t)__builtin_clz(x) : 32u)
        ARITH2(CTZ, x ? (uint32_t)__builtin_ctz(x) : 32u)
        ARITH2(POPCNT, (uint32_t)__builtin_popcount(x))
        ARITH2(BSWAP, __builtin_bswap32(x))
        CASE(BREV) {
            OPS_RR(d, a); uint32_t x = (uint32_t)vm->r[a], v = 0;
            for (int k = 0; k < 32; k++) v |= ((x >> k) & 1u) << (31 - k);
            SET_ZS(v); SETCONF(d, vm->conf[a], a, NOPAR); vm->r[d] = (int32_t)v; NEXT();
        }
#undef ARITH2
        CASE(ADDI) {
            OPS_RI16(d, i); uint32_t x = (uint32_t)vm->r[d], y = (uint32_t)(int32_t)(int16_t)i;
            uint32_t v = x + y; SET_ADD(x, y, v); vm->r[d] = (int32_t)v; NEXT();
        }
        CASE(SUBI) {
            OPS_RI16(d, i); uint32_t x = (uint32_t)vm->r[d], y = (uint32_t)(int32_t)(int16_t)i;
            uint32_t v = x - y; SET_SUB(x, y, v); vm->r[d] = (int32_t)v; NEXT();
        }
        CASE(MULI) {
            OPS_RI16(d, i); int64_t p = (int64_t)vm->r[d] * (int16_t)i; uint32_t v = (uint32_t)(uint64_t)p;
            SET_FLAGS(zs_flags(v) | (p != (int32_t)v ? FLUX_FLAG_C | FLUX_FLAG_O : 0));
            vm->r[d] = (int32_t)v; NEXT();
        }
        CASE(DIVI) {
            OPS_RI16(d, i); int32_t y = (int16_t)i, x = vm->r[d];
            if (y == 0) FAULT(FLUX_SIGFPE, "division by zero: DIVI at 0x%04X", pc);
            int32_t v = (x == INT32_MIN && y == -1) ? INT32_MIN : x / y;
            SET_ZS((uint32_t)v); vm->r[d] = v; NEXT();
        }
#define IMMOP(OPC, expr)                                                         \
        CASE(OPC) {                                                              \
            OPS_RI16(d, i); uint32_t x = (uint32_t)vm->r[d]; uint32_t v = (expr);    \
            SET_ZS(v); vm->r[d] = (int32_t)v; NEXT();                  \
        }
        IMMOP(ANDI, x & i)
        IMMOP(ORI, x | i)
        IMMOP(XORI, x ^ i)
        IMMOP(SHLI, x << (i & 31))
        IMMOP(SHRI, x >> (i & 31))
#undef IMMOP
        CASE(INCR) {
            OPS_R(d); uint32_t x = (uint32_t)vm->r[d], v = x + 1;
            SET_ADD(x, 1, v); vm->r[d] = (int32_t)v; NEXT();
        }
        CASE(DECR) {
            OPS_R(d); uint32_t x = (uint32_t)vm->r[d], v = x - 1;
            SET_SUB(x, 1, v); vm->r[d] = (int32_t)v; NEXT();
        }

        /* ---------------- memory ---------------- */
        CASE(LOAD8) { OPS_RI16(d, a); uint32_t v; LOAD_N(v, a, 1, rd8); vm->r[d] = (int32_t)v; SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT(); }
        CASE(LOAD16) { OPS_RI16(d, a); uint32_t v; LOAD_N(v, a, 2, rd16); vm->r[d] = (int32_t)v; SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT(); }
        CASE(LOAD32) { OPS_RI16(d, a); uint32_t v; LOAD32(v, a); vm->r[d] = (int32_t)v; SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT(); }
        CASE(STORE8) { OPS_RI16(s, a); STORE_N(a, 1, vm->r[s], wr8); NEXT(); }
        CASE(STORE16) { OPS_RI16(s, a); STORE_N(a, 2, vm->r[s], wr16); NEXT(); }
        CASE(STORE32) { OPS_RI16(s, a); STORE32(a, vm->r[s]); NEXT(); }
        CASE(LEA) { OPS_RI16(d, a); vm->r[d] = (int32_t)a; SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT(); }
        CASE(CMPXCHG) {
            OPS_RRR(d, a, b); uint32_t cur; uint32_t addr = (uint32_t)vm->r[a];
            LOAD32(cur, addr);
            if (cur == (uint32_t)vm->r[d]) {
                STORE32(addr, vm->r[b]); SET_FLAGS(flags_now(vm) | FLUX_FLAG_Z);
            } else {
                vm->r[d] = (int32_t)cur; SETCONF(d, 1.0f, NOPAR, NOPAR); SET_FLAGS(flags_now(vm) & ~FLUX_FLAG_Z);
            }
            NEXT();
        }
        CASE(XCHG) {
            OPS_RR(d, a); uint32_t addr = (uint32_t)vm->r[a], cur;
            LOAD32(cur, addr); STORE32(addr, vm->r[d]);
            vm->r[d] = (int32_t)cur; SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT();
        }
        CASE(PUSH_MEM) {
            OPS_RI16(a, base); uint32_t addr = base + (uint32_t)vm->r[a], v;
            STACK_ROOM(1); LOAD32(v, addr); PUSH_RAW(v); NEXT();
        }
        CASE(POP_MEM) {
            OPS_RI16(a, base); uint32_t addr = base + (uint32_t)vm->r[a], v;
            STACK_HAS(1); CHECK_MEM(addr, 4, "write");
            POP_RAW(v); STORE32(addr, v); NEXT();
        }
        CASE(LOADR) {
            OPS_RRR(d, a, b); uint32_t v; LOAD32(v, (uint32_t)vm->r[a] + (uint32_t)vm->r[b]);
            vm->r[d] = (int32_t)v; SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT();
        }
        CASE(STORER) { OPS_RRR(s, a, b); STORE32((uint32_t)vm->r[a] + (uint32_t)vm->r[b], vm->r[s]); NEXT(); }
        CASE(MEMCPY) {
            OPS_RI32(n, packed); uint32_t dst = packed & 0xFFFF, src = packed >> 16;
            uint32_t cnt = (uint32_t)vm->r[n];
            CHECK_MEM(src, cnt, "read"); CHECK_MEM(dst, cnt, "write");
            EXTRA_COST(cnt / 4);
            if (cnt) { WATCH(src, cnt, FLUX_WATCH_READ); WATCH(dst, cnt, FLUX_WATCH_WRITE); }
            memmove(vm->mem + dst, vm->mem + src, cnt); NEXT();
        }
        CASE(MEMSET) {
            OPS_RI32(n, packed); uint32_t dst = packed & 0xFFFF, byte = (packed >> 16) & 0xFF;
            uint32_t cnt = (uint32_t)vm->r[n];
            CHECK_MEM(dst, cnt, "write"); EXTRA_COST(cnt / 4);
            if (cnt) WATCH(dst, cnt, FLUX_WATCH_WRITE);
            memset(vm->mem + dst, (int)byte, cnt); NEXT();
        }
        CASE(MEMCMP) {
            OPS_RI32(n, packed); uint32_t a = packed & 0xFFFF, b = packed >> 16;
            uint32_t cnt = (uint32_t)vm->r[n];
            CHECK_MEM(a, cnt, "read"); CHECK_MEM(b, cnt, "read"); EXTRA_COST(cnt / 4);
            if (cnt) { WATCH(a, cnt, FLUX_WATCH_READ); WATCH(b, cnt, FLUX_WATCH_READ); }
            int c = cnt ? memcmp(vm->mem + a, vm->mem + b, cnt) : 0;
            vm->r[n] = c < 0 ? -1 : c > 0; SETCONF(n, 1.0f, NOPAR, NOPAR);
            SET_ZS((uint32_t)vm->r[n]); NEXT();
        }
        CASE(ALLOCA) {
            OPS_RI16(d, n); uint32_t bytes = (n + 3u) & ~3u;
            if (UNLIKELY(sp > stk_hi || sp < stk_lo + bytes))
                FAULT(FLUX_SIGSEGV, "stack overflow: ALLOCA of %u bytes at 0x%04X, sp=0x%X", bytes, pc, sp);
            sp -= bytes; vm->fp = sp; vm->r[d] = (int32_t)sp; SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT();
        }
        CASE(FREEA) {
            OPS_R(a); uint32_t bytes = ((uint32_t)vm->r[a] + 3u) & ~3u;
            if (UNLIKELY((uint32_t)vm->r[a] > stk_hi || sp < stk_lo || sp > stk_hi - bytes))
                FAULT(FLUX_SIGSEGV, "stack underflow: FREEA of %u bytes at 0x%04X, sp=0x%X", (unsigned)vm->r[a], pc, sp);
            sp += bytes; vm->fp = sp; NEXT();
        }
        CASE(LOAD_IND) {
            OPS_RR(d, a); uint32_t p, v; LOAD32(p, (uint32_t)vm->r[a]); LOAD32(v, p);
            vm->r[d] = (int32_t)v; SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT();
        }
        CASE(STORE_IND) {
            OPS_RR(s, a); uint32_t p; LOAD32(p, (uint32_t)vm->r[a]); STORE32(p, vm->r[s]); NEXT();
        }
        CASE(LOAD_OFF) {
            OPS_RRI8(d, a, off); uint32_t v; LOAD32(v, (uint32_t)vm->r[a] + (uint32_t)(int32_t)(int8_t)off);
            vm->r[d] = (int32_t)v; SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT();
        }
        CASE(STORE_OFF) {
            OPS_RRI8(s, a, off); STORE32((uint32_t)vm->r[a] + (uint32_t)(int32_t)(int8_t)off, vm->r[s]); NEXT();
        }
        CASE(MOVZX) { OPS_RR(d, a); vm->r[d] = (int32_t)((uint32_t)vm->r[a] & 0xFF); SETCONF(d, vm->conf[a], a, NOPAR); NEXT(); }
        CASE(MOVSX) { OPS_RR(d, a); vm->r[d] = (int32_t)(int8_t)(uint8_t)vm->r[a]; SETCONF(d, vm->conf[a], a, NOPAR); NEXT(); }
        CASE(SWAP) {
            OPS_RR(a, b); int32_t t = vm->r[a]; vm->r[a] = vm->r[b]; vm->r[b] = t;
            /* a swap moves values: confidences and their provenance go with them */
            float c = vm->conf[a]; vm->conf[a] = vm->conf[b]; vm->conf[b] = c;
            uint64_t h = vm->prov_head[a]; vm->prov_head[a] = vm->prov_head[b]; vm->prov_head[b] = h; NEXT();
        }
        CASE(PUSH_ALL) {
            OPS_NONE(); STACK_ROOM(16);
            for (unsigned k = 0; k < FLUX_NUM_REGS; k++) PUSH_RAW(vm->r[k]);
            NEXT();
        }
        CASE(POP_ALL) {
            OPS_NONE(); STACK_HAS(16);
            for (unsigned k = FLUX_NUM_REGS; k-- > 0;) { uint32_t v; POP_RAW(v); vm->r[k] = (int32_t)v; SETCONF(k, 1.0f, NOPAR, NOPAR); }
            NEXT();
        }
        CASE(LOAD_IMM) { OPS_RI32(d, i); vm->r[d] = (int32_t)i; SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT(); }
        CASE(STORE_IMM) { OPS_I32(packed); STORE_N(packed & 0xFFFF, 2, packed >> 16, wr16); NEXT(); }
        SHARED_CASE(FENCE)
        SHARED_CASE(TLB_INV)
        SHARED_CASE(CACHE_FLUSH) { OPS_NONE(); NEXT(); }

        /* ---------------- stack ---------------- */
        CASE(PUSH_R) { OPS_R(s); PUSH1(vm->r[s]); NEXT(); }
        CASE(POP_R) {
            OPS_R(d); uint32_t v; POP1(v); vm->r[d] = (int32_t)v; SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT();
        }
        CASE(DUP) {
            OPS_NONE(); STACK_HAS(1); STACK_ROOM(1); uint32_t v = rd32(vm->mem, sp);
            WATCH(sp, 4, FLUX_WATCH_READ); PUSH_RAW(v); NEXT();
        }
        CASE(SWAP2) {
            OPS_NONE(); STACK_HAS(2); uint32_t a = rd32(vm->mem, SLOT(0)), b = rd32(vm->mem, SLOT(1));
            WATCH(sp, 8, FLUX_WATCH_WRITE); wr32(vm->mem, SLOT(0), b); wr32(vm->mem, SLOT(1), a); NEXT();
        }
        CASE(ROT) { /* ( a b c -- b c a ): the third item comes to the top */
            OPS_NONE(); STACK_HAS(3);
            uint32_t c = rd32(vm->mem, SLOT(0)), b = rd32(vm->mem, SLOT(1)), a = rd32(vm->mem, SLOT(2));
            WATCH(sp, 12, FLUX_WATCH_WRITE);
            wr32(vm->mem, SLOT(0), a); wr32(vm->mem, SLOT(1), c); wr32(vm->mem, SLOT(2), b); NEXT();
        }
        CASE(OVER) {
            OPS_NONE(); STACK_HAS(2); STACK_ROOM(1); uint32_t v = rd32(vm->mem, SLOT(1));
            WATCH(SLOT(1), 4, FLUX_WATCH_READ); PUSH_RAW(v); NEXT();
        }
        CASE(PICK) {
            OPS_I8(n); STACK_HAS(n + 1); STACK_ROOM(1); uint32_t v = rd32(vm->mem, SLOT(n));
            WATCH(SLOT(n), 4, FLUX_WATCH_READ); PUSH_RAW(v); NEXT();
        }
        CASE(ROLL) {
            OPS_I8(n); STACK_HAS(n + 1); uint32_t v = rd32(vm->mem, SLOT(n));
            WATCH(sp, 4 * (n + 1), FLUX_WATCH_WRITE);
            for (uint32_t k = n; k > 0; k--) wr32(vm->mem, SLOT(k), rd32(vm->mem, SLOT(k - 1)));
            wr32(vm->mem, SLOT(0), v); NEXT();
        }
        CASE(DEPTH) {
            OPS_R(d); vm->r[d] = sp <= stk_hi ? (int32_t)((stk_hi - sp) / 4) : 0;
            SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT();
        }
        CASE(DROP) { OPS_NONE(); STACK_HAS(1); sp += 4; NEXT(); }
        CASE(NIP) { /* ( a b -- b ) */
            OPS_NONE(); STACK_HAS(2); uint32_t b = rd32(vm->mem, SLOT(0));
            WATCH(SLOT(1), 4, FLUX_WATCH_WRITE); wr32(vm->mem, SLOT(1), b); sp += 4; NEXT();
        }
        CASE(TUCK) { /* ( a b -- b a b ) */
            OPS_NONE(); STACK_HAS(2); STACK_ROOM(1);
            uint32_t b = rd32(vm->mem, SLOT(0)), a = rd32(vm->mem, SLOT(1));
            sp -= 4; WATCH(sp, 12, FLUX_WATCH_WRITE);
            wr32(vm->mem, SLOT(0), b); wr32(vm->mem, SLOT(1), a); wr32(vm->mem, SLOT(2), b); NEXT();
        }
        CASE(PUSH_IMM8) { OPS_I8(i); STACK_ROOM(1); PUSH_RAW((uint32_t)(int32_t)(int8_t)i); NEXT(); }
        CASE(PUSH_IMM16) { OPS_I16(i); STACK_ROOM(1); PUSH_RAW((uint32_t)(int32_t)(int16_t)i); NEXT(); }
        CASE(PUSH_IMM32) { OPS_I32(i); STACK_ROOM(1); PUSH_RAW(i); NEXT(); }
        CASE(PEEK) {
            OPS_R(d); STACK_HAS(1); WATCH(sp, 4, FLUX_WATCH_READ);
            vm->r[d] = (int32_t)rd32(vm->mem, sp); SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT();
        }

        /* ---------------- compare ---------------- */
#define CMP3(OPC, cond)                                                          \
        CASE(OPC) {                                                              \
            OPS_RRR(d, a, b); int32_t x = vm->r[a], y = vm->r[b];                        \
            SET_SUB((uint32_t)x, (uint32_t)y, (uint32_t)x - (uint32_t)y); \
            SETCONF_PROD(d, a, b); vm->r[d] = (cond) ? 1 : 0; NEXT();          \
        }
        CMP3(CMP_EQ, x == y)
        CMP3(CMP_NE, x != y)
        CMP3(CMP_LT, x < y)
        CMP3(CMP_GT, x > y)
        CMP3(CMP_LE, x <= y)
        CMP3(CMP_GE, x >= y)
        CMP3(CMP_ULT, (uint32_t)x < (uint32_t)y)
        CMP3(CMP_UGT, (uint32_t)x > (uint32_t)y)
#undef CMP3
        CASE(CMPX) { /* three-way: -1, 0 or 1 */
            OPS_RRR(d, a, b); int32_t x = vm->r[a], y = vm->r[b];
            SET_SUB((uint32_t)x, (uint32_t)y, (uint32_t)x - (uint32_t)y);
            SETCONF_PROD(d, a, b); vm->r[d] = (x > y) - (x < y); NEXT();
        }
        CASE(TEST) { OPS_RR(a, b); SET_ZS((uint32_t)(vm->r[a] & vm->r[b])); NEXT(); }
        CASE(CMP_TEST) {
            OPS_RR(a, b); uint32_t x = (uint32_t)vm->r[a], y = (uint32_t)vm->r[b];
            SET_SUB(x, y, x - y); NEXT();
        }
        CASE(CMP_I16) {
            OPS_RI16(a, i); uint32_t x = (uint32_t)vm->r[a], y = (uint32_t)(int32_t)(int16_t)i;
            SET_SUB(x, y, x - y); NEXT();
        }
        CASE(RANGE_CHK) {
            OPS_RRI8(d, a, n); vm->r[d] = (uint32_t)vm->r[a] < n ? 1 : 0; SETCONF(d, vm->conf[a], a, NOPAR);
            SET_ZS((uint32_t)vm->r[d]); NEXT();
        }
        SHARED_CASE(SET_FLAG)
        SHARED_CASE(GET_FLAG) {
            OPS_RI8(a, n);
            static const uint32_t FLAG_BITS[4] = {FLUX_FLAG_Z, FLUX_FLAG_S, FLUX_FLAG_C, FLUX_FLAG_O};
            if (n > 3) FAULT(FLUX_SIGILL, "illegal flag number %u in %s at 0x%04X (0=Z 1=S 2=C 3=O)",
                             n, OPCODES[op].mnemonic, pc);
            if (op == FLUX_OP_SET_FLAG) {
                SET_FLAGS(vm->r[a] ? flags_now(vm) | FLAG_BITS[n] : flags_now(vm) & ~FLAG_BITS[n]);
            } else {
                vm->r[a] = (flags_now(vm) & FLAG_BITS[n]) ? 1 : 0; SETCONF(a, 1.0f, NOPAR, NOPAR);
            }
            NEXT();
        }
        CASE(BOUND) {
            OPS_RI16(a, n);
            if (vm->r[a] < 0 || (uint32_t)vm->r[a] >= n)
                FAULT(FLUX_SIGSEGV, "BOUND at 0x%04X: r%u = %d is outside [0, %u)", pc, a, vm->r[a], n);
            NEXT();
        }

        /* ---------------- confidence ---------------- */
        CASE(CONF_FUSE) { OPS_RR(d, a); SETCONF(d, clamp01(1.0f - (1.0f - vm->conf[d]) * (1.0f - vm->conf[a])), d, a); NEXT(); }
        CASE(CONF_CHAIN) { OPS_R(d); SETCONF(d, vm->conf[d] * vm->conf[0], d, 0); NEXT(); }
        CASE(CONF_SET) { OPS_RI16(d, i); SETCONF(d, (float)(i > 100 ? 100 : i) / 100.0f, NOPAR, NOPAR); NEXT(); }
        CASE(CONF_THRESH) {
            OPS_RI16(d, i); vm->r[d] = vm->conf[d] >= pct(i) ? 1 : 0; SETCONF(d, 1.0f, NOPAR, NOPAR);
            SET_ZS((uint32_t)vm->r[d]); NEXT();
        }
        CASE(CONF_DECAY) { OPS_RR(d, a); SETCONF(d, clamp01(vm->conf[d] * (1.0f - pct(vm->r[a]))), d, NOPAR); NEXT(); }
        CASE(CONF_BOOST) { OPS_RR(d, a); SETCONF(d, clamp01(vm->conf[d] + pct(vm->r[a])), d, NOPAR); NEXT(); }
        CASE(CONF_MERGE) {
            OPS_RRR(d, a, b); float ca = vm->conf[a], cb = vm->conf[b];
            double s = (double)ca + (double)cb; /* double: a float cannot hold every int32 exactly */
            int64_t v = s > 0.0 ? (int64_t)llround(((double)vm->r[a] * ca + (double)vm->r[b] * cb) / s)
                                : ((int64_t)vm->r[a] + vm->r[b]) / 2;
            vm->r[d] = sat32(v); SETCONF(d, maxf(ca, cb), a, b); NEXT();
        }
        CASE(CONF_SPLIT) {
            OPS_RR(d, a); float h = vm->conf[a] / 2.0f; SETCONF(d, h, a, NOPAR); SETCONF(a, h, a, NOPAR); NEXT();
        }
        CASE(CONF_QUERY) { OPS_R(d); vm->r[d] = to_pct(vm->conf[d]); SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT(); }
        CASE(CONF_RESET) { OPS_R(d); SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT(); }
        CASE(CONF_MIN) { OPS_RI16(d, i); SETCONF(d, maxf(vm->conf[d], pct(i)), d, NOPAR); NEXT(); }
        CASE(CONF_MAX) { OPS_RI16(d, i); SETCONF(d, minf(vm->conf[d], pct(i)), d, NOPAR); NEXT(); }
        CASE(CONF_AVG) {
            OPS_RRR(d, a, b); vm->r[d] = (int32_t)(((int64_t)vm->r[a] + vm->r[b]) / 2);
            SETCONF(d, (vm->conf[a] + vm->conf[b]) / 2.0f, a, b); NEXT();
        }
        CASE(CONF_WEIGHT) { OPS_RRI8(d, a, w); SETCONF(d, vm->conf[a] * pct(w), a, NOPAR); NEXT(); }
        CASE(CONF_NORMALIZE) {
            OPS_RR(d, a); float s = vm->conf[d] + vm->conf[a];
            if (s > 0.0f && d != a) {
                float nd = vm->conf[d] / s, na = vm->conf[a] / s;
                SETCONF(d, nd, d, a); SETCONF(a, na, a, NOPAR);
            }
            NEXT();
        }
        CASE(CONF_SNAPSHOT) {
            OPS_R(a); uint32_t addr = (uint32_t)vm->r[a];
            CHECK_MEM(addr, FLUX_NUM_REGS, "write"); WATCH(addr, FLUX_NUM_REGS, FLUX_WATCH_WRITE);
            for (unsigned k = 0; k < FLUX_NUM_REGS; k++) vm->mem[addr + k] = (uint8_t)to_pct(vm->conf[k]);
            NEXT();
        }

        /* ---------------- trust ---------------- */
#define AGENT(x, what)                                                                 \
        uint32_t what = (uint32_t)vm->r[x];                                                \
        if (UNLIKELY(what >= FLUX_NUM_AGENTS))                                         \
            FAULT(FLUX_SIGILL, "agent id %d in r%u is outside 0-255 (%s at 0x%04X)",   \
                  vm->r[x], x, OPCODES[op].mnemonic, pc)
        CASE(TRUST_CHECK) {
            OPS_RR(d, a); AGENT(a, ag);
            int ok = vm->trust[ag] >= vm->trust_threshold;
            TRUST_EVENT(ag, vm->trust[ag], vm->trust_threshold, ok);
            vm->r[d] = ok; SETCONF(d, 1.0f, NOPAR, NOPAR); SET_ZS((uint32_t)ok); NEXT();
        }
        CASE(TRUST_UPDATE) { /* EMA: keep rc% of the old score, add (100-rc)% of rb% */
            OPS_RRR(a, b, c); AGENT(a, ag);
            float keep = pct(vm->r[c]);
            trust_store(vm, ag, vm->trust[ag] * keep + pct(vm->r[b]) * (1.0f - keep)); NEXT();
        }
        CASE(TRUST_QUERY) { OPS_R(a); AGENT(a, ag); vm->r[a] = to_pct(vm->trust[ag]); SETCONF(a, 1.0f, NOPAR, NOPAR); NEXT(); }
        CASE(TRUST_SET) { OPS_RI16(a, i); AGENT(a, ag); trust_store(vm, ag, pct(i)); NEXT(); }
        CASE(TRUST_DECAY) { OPS_RR(a, b); AGENT(a, ag); trust_store(vm, ag, vm->trust[ag] * (1.0f - pct(vm->r[b]))); NEXT(); }
        CASE(TRUST_BOOST) { OPS_RR(a, b); AGENT(a, ag); trust_store(vm, ag, vm->trust[ag] + pct(vm->r[b])); NEXT(); }
        CASE(TRUST_TRANSFER) {
            OPS_RRR(d, a, b); AGENT(d, to); AGENT(a, from);
            trust_store(vm, to, vm->trust[from] * pct(vm->r[b])); NEXT();
        }
        CASE(TRUST_VERIFY) {
            OPS_RR(d, a); AGENT(a, ag); int ok = vm->trust[ag] >= pct(vm->r[d]);
            TRUST_EVENT(ag, vm->trust[ag], pct(vm->r[d]), ok);
            vm->r[d] = ok; SETCONF(d, 1.0f, NOPAR, NOPAR); SET_ZS((uint32_t)ok); NEXT();
        }
        CASE(TRUST_REVOKE) { OPS_R(a); AGENT(a, ag); trust_store(vm, ag, 0.0f); NEXT(); }
        CASE(TRUST_LIST) {
            OPS_R(d); int32_t n = 0;
            for (unsigned k = 0; k < FLUX_NUM_AGENTS; k++) n += vm->trust[k] > 0.0f;
            vm->r[d] = n; SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT();
        }
        CASE(TRUST_SCORE) {
            OPS_RR(d, a); AGENT(a, ag); float t = vm->trust[ag];
            vm->r[d] = to_pct(t); SETCONF(d, t, NOPAR, NOPAR); NEXT();
        }
        CASE(TRUST_THRESHOLD) {
            OPS_RI16(d, i); int32_t old = to_pct(vm->trust_threshold);
            vm->trust_threshold = pct(i); vm->r[d] = old; SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT();
        }
        CASE(TRUST_AUDIT) { OPS_R(d); vm->r[d] = (int32_t)vm->trust_failures; SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT(); }
        CASE(TRUST_RESTORE) {
            OPS_R(a); AGENT(a, ag); float t = vm->trust_prev[ag];
            vm->trust_prev[ag] = vm->trust[ag]; vm->trust[ag] = t; NEXT();
        }
        CASE(TRUST_HISTORY) {
            OPS_RI16(d, ag);
            if (ag >= FLUX_NUM_AGENTS) FAULT(FLUX_SIGILL, "agent id %u is outside 0-255 (TRUST_HISTORY at 0x%04X)", ag, pc);
            vm->r[d] = to_pct(vm->trust_prev[ag]); SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT();
        }
        CASE(TRUST_PENALTY) {
            OPS_RRI8(a, d, p); AGENT(a, ag); trust_store(vm, ag, vm->trust[ag] - pct(p));
            vm->r[d] = to_pct(vm->trust[ag]); SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT();
        }

        /* ---------------- a2a: messages between agents' mailboxes ---------------- */
/* The live agent r[x] names, through the routing table: its slot in `what`. */
#define LIVE_AGENT(x, what)                                                                \
        uint32_t what##_id = (uint32_t)vm->r[x];                                               \
        if (what##_id < FLUX_NUM_AGENTS) what##_id = vm->routes[what##_id];                \
        int what = fluxi_slot_of(vm, what##_id);                                                 \
        if (UNLIKELY(what < 0))                                                            \
            FAULT(FLUX_SIGILL, "%s at 0x%04X: no agent %d (%u alive)",                     \
                  OPCODES[op].mnemonic, pc, vm->r[x], vm->nlive)
/* Waiting: the instruction does not run now (see the block label). */
#define BLOCK(how, on)                                                                     \
        do {                                                                               \
            agent *b_ = ME;                                                                \
            b_->state = (how);                                                             \
            b_->wait_on = (uint32_t)(on);                                                  \
            b_->wait_op = op;                                                              \
            goto block;                                                                    \
        } while (0)
#define UNBLOCK() (ME->state = FLUX_AGENT_RUNNABLE, ME->retry = 0)
#define ROOM_OR_BLOCK(k)                                                                   \
        if (vm->agents[k].mail_count >= MAILBOX_CAP) BLOCK(FLUX_AGENT_BLOCKED_SEND, vm->agents[k].id)
/* An event of the access log (flux_vm_log_accesses) inside a handler. */
#define ACC(kind, loc)                                                                     \
        do {                                                                               \
            if (UNLIKELY(access_log) && fluxi_access(vm, (kind), (loc), 1)) {              \
                trace_full = 1;                                                            \
                END_CHUNK_AFTER_THIS();                                                    \
            }                                                                              \
        } while (0)
#define SEND_TO(k, val, cf)                                                                \
        do {                                                                               \
            agent *to_ = &vm->agents[k];                                                   \
            ACC(FLUX_ACC_WRITE, FLUX_LOC_MAILBOX + to_->id);                               \
            to_->mailbox[(to_->mail_head + to_->mail_count++) % MAILBOX_CAP] =            \
                (message){(val), clamp01(cf), ME->id};                                     \
            /* PCT: a waiting receiver may now outrank the sender */                      \
            if (vm->sched == FLUX_SCHED_PCT && to_->state == FLUX_AGENT_BLOCKED_ASK) {      \
                vm->turn_break = 1;                                                        \
                END_CHUNK_AFTER_THIS();                                                    \
            }                                                                              \
        } while (0)
        SHARED_CASE(TELL)
        SHARED_CASE(DELEGATE) {
            OPS_RR(a, b); LIVE_AGENT(a, to); ROOM_OR_BLOCK(to); UNBLOCK();
            SEND_TO(to, vm->r[b], vm->conf[b]); NEXT();
        }
        CASE(GOSSIP) {
            OPS_RR(a, b); LIVE_AGENT(a, to); ROOM_OR_BLOCK(to); UNBLOCK();
            SEND_TO(to, vm->r[b], vm->conf[b] * vm->trust[to_id]); NEXT();
        }
        CASE(ASK) {
            OPS_RR(d, a); uint32_t from = (uint32_t)vm->r[a]; message m;
            if (!fluxi_mailbox_take(ME, from, &m)) BLOCK(FLUX_AGENT_BLOCKED_ASK, from);
            ACC(FLUX_ACC_WRITE, FLUX_LOC_MAILBOX + ME->id);
            UNBLOCK(); vm->r[d] = m.value; SETCONF(d, m.conf, NOPAR, NOPAR); NEXT();
        }
        CASE(BROADCAST) { /* imm16 to every other live agent; r0 = how many */
            OPS_I16(i); int32_t n = 0;
            for (uint32_t k = 0; k < FLUX_MAX_AGENTS; k++)
                if (k != vm->cur && slot_live(&vm->agents[k])) { ROOM_OR_BLOCK(k); }
            UNBLOCK();
            for (uint32_t k = 0; k < FLUX_MAX_AGENTS; k++)
                if (k != vm->cur && slot_live(&vm->agents[k])) { SEND_TO(k, (int32_t)i, 1.0f); n++; }
            vm->r[0] = n; SETCONF(0, 1.0f, NOPAR, NOPAR); NEXT();
        }
        CASE(REDUCE) { /* ra: 0 sum, 1 min, 2 max over the queued messages */
            OPS_RR(d, a); int32_t how = vm->r[a]; agent *me = ME;
            if (how < 0 || how > 2) FAULT(FLUX_SIGILL, "REDUCE at 0x%04X: r%u = %d is no reduction (0 sum, 1 min, 2 max)", pc, a, how);
            int64_t acc = how == 0 ? 0 : how == 1 ? INT32_MAX : INT32_MIN; float c = 1.0f;
            if (me->mail_count == 0) acc = 0;
            ACC(FLUX_ACC_WRITE, FLUX_LOC_MAILBOX + me->id);
            while (me->mail_count) {
                message m; fluxi_mailbox_take(me, 0, &m); c = minf(c, m.conf);
                if (how == 0) acc += m.value; else if (how == 1) acc = m.value < acc ? m.value : acc;
                else acc = m.value > acc ? m.value : acc;
            }
            vm->r[d] = sat32(acc); SETCONF(d, c, NOPAR, NOPAR); NEXT();
        }
        CASE(PROPOSE) {
            OPS_RRR(d, a, b); int slot = -1;
            for (unsigned k = 0; k < MAX_PROPOSALS; k++) if (!vm->proposals[k].used) { slot = (int)k; break; }
            if (slot < 0) FAULT(FLUX_SIGABRT, "PROPOSE at 0x%04X: all %u proposals are open", pc, MAX_PROPOSALS);
            vm->proposals[slot] = (proposal){vm->r[a], vm->r[b] > 0 ? (uint32_t)vm->r[b] : 1u, 0, 0, 1};
            vm->r[d] = slot; SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT();
        }
#define PROPOSAL(x, what)                                                                    \
        uint32_t what = (uint32_t)vm->r[x];                                                      \
        if (UNLIKELY(what >= MAX_PROPOSALS || !vm->proposals[what].used))                    \
            FAULT(FLUX_SIGILL, "%s at 0x%04X: no open proposal %d", OPCODES[op].mnemonic, pc, vm->r[x])
        CASE(VOTE) { OPS_RR(a, b); PROPOSAL(a, p); if (vm->r[b]) vm->proposals[p].yes++; else vm->proposals[p].no++; NEXT(); }
        CASE(CONSENSUS) {
            OPS_R(a); PROPOSAL(a, p); proposal *pp = &vm->proposals[p];
            int ok = pp->yes >= pp->quorum;
            vm->r[a] = ok ? pp->value : 0; SETCONF(a, ok ? 1.0f : 0.0f, NOPAR, NOPAR);
            SET_FLAGS(ok ? 0 : FLUX_FLAG_Z); if (ok) pp->used = 0; NEXT();
        }
        CASE(NEGOTIATE) {
            OPS_RRR(d, a, b); float ca = vm->conf[a], cb = vm->conf[b];
            double s = (double)ca + (double)cb; /* double: a float cannot hold every int32 exactly */
            int64_t v = s > 0.0 ? (int64_t)llround(((double)vm->r[a] * ca + (double)vm->r[b] * cb) / s)
                                : ((int64_t)vm->r[a] + vm->r[b]) / 2;
            vm->r[d] = sat32(v); SETCONF(d, minf(ca, cb), a, b); NEXT();
        }
        CASE(MEDIATE) {
            OPS_RR(d, a); vm->r[d] = (int32_t)(((int64_t)vm->r[d] + vm->r[a]) / 2);
            SETCONF(d, (vm->conf[d] + vm->conf[a]) / 2.0f, d, a); NEXT();
        }
        CASE(PUBLISH) { /* to every live agent subscribed to topic r0, itself included */
            OPS_R(a); uint32_t topic = (uint32_t)vm->r[0];
            if (topic < NUM_TOPICS) {
                for (uint32_t k = 0; k < FLUX_MAX_AGENTS; k++)
                    if (slot_live(&vm->agents[k]) && ((vm->agents[k].subscriptions >> topic) & 1)) { ROOM_OR_BLOCK(k); }
                for (uint32_t k = 0; k < FLUX_MAX_AGENTS; k++)
                    if (slot_live(&vm->agents[k]) && ((vm->agents[k].subscriptions >> topic) & 1)) SEND_TO(k, vm->r[a], vm->conf[a]);
            }
            UNBLOCK(); NEXT();
        }
        SHARED_CASE(SUBSCRIBE)
        SHARED_CASE(UNSUBSCRIBE) {
            OPS_RI16(a, topic); LIVE_AGENT(a, ag);
            if (topic >= NUM_TOPICS) FAULT(FLUX_SIGILL, "%s at 0x%04X: topic %u is outside 0-15", OPCODES[op].mnemonic, pc, topic);
            if (op == FLUX_OP_SUBSCRIBE) vm->agents[ag].subscriptions |= (uint16_t)(1u << topic);
            else vm->agents[ag].subscriptions &= (uint16_t)~(1u << topic);
            NEXT();
        }
        CASE(RELAY) { /* take the oldest message, send it on to ra; rd gets its value */
            OPS_RRR(d, a, b); (void)b; LIVE_AGENT(a, to); message m;
            if (ME->mail_count == 0) BLOCK(FLUX_AGENT_BLOCKED_ASK, 0);
            /* to itself: the message taken makes the room */
            if ((uint32_t)to != vm->cur) { ROOM_OR_BLOCK(to); }
            UNBLOCK(); fluxi_mailbox_take(ME, 0, &m); ACC(FLUX_ACC_WRITE, FLUX_LOC_MAILBOX + ME->id);
            SEND_TO(to, m.value, m.conf); vm->r[d] = m.value; SETCONF(d, m.conf, NOPAR, NOPAR); NEXT();
        }
        CASE(ROUTE) {
            OPS_RI16(a, via); AGENT(a, ag);
            if (via >= FLUX_NUM_AGENTS) FAULT(FLUX_SIGILL, "ROUTE at 0x%04X: agent id %u is outside 0-255", pc, via);
            vm->routes[ag] = (uint8_t)via; NEXT();
        }

        /* ---------------- instinct ---------------- */
        CASE(INSTINCT_ACT) {
            OPS_R(a); int i = instinct_find(vm, vm->r[a]);
            if (i >= 0) { vm->r[a] = vm->instincts[i].value; SETCONF(a, vm->instincts[i].strength, NOPAR, NOPAR); }
            SET_FLAGS(i >= 0 ? 0 : FLUX_FLAG_Z); NEXT();
        }
        CASE(INSTINCT_QRY) {
            OPS_R(a); int ok = instinct_find(vm, vm->r[a]) >= 0; vm->r[a] = ok; SETCONF(a, 1.0f, NOPAR, NOPAR);
            SET_FLAGS(ok ? 0 : FLUX_FLAG_Z); NEXT();
        }
        CASE(INSTINCT_LEARN) { OPS_RRR(k, v, s); instinct_learn(vm, vm->r[k], vm->r[v], pct(vm->r[s])); NEXT(); }
        CASE(INSTINCT_FORGET) { OPS_R(k); int i = instinct_find(vm, vm->r[k]); if (i >= 0) vm->instincts[i].used = 0; NEXT(); }
        CASE(INSTINCT_PRUNE) {
            OPS_R(a); float lim = pct(vm->r[a]); int32_t n = 0;
            for (unsigned k = 0; k < INSTINCT_SLOTS; k++)
                if (vm->instincts[k].used && vm->instincts[k].strength < lim) { vm->instincts[k].used = 0; n++; }
            vm->r[a] = n; SETCONF(a, 1.0f, NOPAR, NOPAR); NEXT();
        }
        SHARED_CASE(INSTINCT_BLOOM)
        SHARED_CASE(INSTINCT_EVOLVE) {
            OPS_R(a); float p = pct(vm->r[a]);
            for (unsigned k = 0; k < INSTINCT_SLOTS; k++) {
                instinct *in = &vm->instincts[k];
                in->strength = clamp01(op == FLUX_OP_INSTINCT_BLOOM ? in->strength + p : in->strength * (1.0f - p));
            }
            NEXT();
        }
        CASE(INSTINCT_MERGE) {
            OPS_RRR(d, a, b); int ia = instinct_find(vm, vm->r[a]), ib = instinct_find(vm, vm->r[b]);
            if (ia >= 0 || ib >= 0) {
                instinct x = ia >= 0 ? vm->instincts[ia] : vm->instincts[ib];
                if (ia >= 0 && ib >= 0 && vm->instincts[ib].strength > x.strength) x = vm->instincts[ib];
                instinct_learn(vm, vm->r[d], x.value, x.strength);
            }
            NEXT();
        }
        CASE(INSTINCT_FORK) {
            OPS_RR(d, a); int i = instinct_find(vm, vm->r[a]);
            if (i >= 0) { instinct x = vm->instincts[i]; instinct_learn(vm, vm->r[d], x.value, x.strength); }
            NEXT();
        }
        CASE(INSTINCT_SCORE) {
            OPS_RR(d, a); int i = instinct_find(vm, vm->r[a]);
            vm->r[d] = i >= 0 ? to_pct(vm->instincts[i].strength) : 0; SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT();
        }
        CASE(INSTINCT_SET) { OPS_RI8(a, key); instinct_learn(vm, (int32_t)key, vm->r[a], vm->conf[a]); NEXT(); }
        CASE(INSTINCT_GET) {
            OPS_RR(d, a); int i = instinct_find(vm, vm->r[a]);
            vm->r[d] = i >= 0 ? vm->instincts[i].value : 0; SETCONF(d, i >= 0 ? vm->instincts[i].strength : 0.0f, NOPAR, NOPAR); NEXT();
        }
        CASE(INSTINCT_RESET) {
            OPS_R(a); int32_t n = 0;
            for (unsigned k = 0; k < INSTINCT_SLOTS; k++) { n += vm->instincts[k].used; vm->instincts[k].used = 0; }
            vm->r[a] = n; SETCONF(a, 1.0f, NOPAR, NOPAR); NEXT();
        }
        SHARED_CASE(INSTINCT_EXPORT)
        SHARED_CASE(INSTINCT_IMPORT) { /* 16 records of key i32, value i32, strength % i32 */
            OPS_R(a); uint32_t addr = (uint32_t)vm->r[a], n = INSTINCT_SLOTS * 12;
            if (op == FLUX_OP_INSTINCT_EXPORT) {
                CHECK_MEM(addr, n, "write"); WATCH(addr, n, FLUX_WATCH_WRITE);
                for (unsigned k = 0; k < INSTINCT_SLOTS; k++) {
                    const instinct *in = &vm->instincts[k];
                    wr32(vm->mem, addr + 12 * k, (uint32_t)in->key);
                    wr32(vm->mem, addr + 12 * k + 4, (uint32_t)in->value);
                    wr32(vm->mem, addr + 12 * k + 8, in->used ? (uint32_t)to_pct(in->strength) : 0xFFFFFFFFu);
                }
            } else {
                CHECK_MEM(addr, n, "read"); WATCH(addr, n, FLUX_WATCH_READ);
                for (unsigned k = 0; k < INSTINCT_SLOTS; k++) {
                    instinct *in = &vm->instincts[k];
                    uint32_t s = rd32(vm->mem, addr + 12 * k + 8);
                    in->key = (int32_t)rd32(vm->mem, addr + 12 * k);
                    in->value = (int32_t)rd32(vm->mem, addr + 12 * k + 4);
                    in->used = s != 0xFFFFFFFFu;
                    in->strength = in->used ? pct((int32_t)s) : 0.0f;
                }
            }
            NEXT();
        }
        CASE(INSTINCT_PRIME) {
            OPS_RR(k, s); int i = instinct_find(vm, vm->r[k]);
            if (i >= 0) vm->instincts[i].strength = pct(vm->r[s]);
            else instinct_learn(vm, vm->r[k], 0, pct(vm->r[s]));
            NEXT();
        }

        /* ---------------- energy ---------------- */
        CASE(ATP_GEN) {
            OPS_R(a);
            if (vm->r[a] > 0) { /* energy saturates at INT64_MAX; net_in wraps (only differences matter) */
                int64_t add = vm->r[a] < INT64_MAX - energy ? vm->r[a] : INT64_MAX - energy;
                energy += add; vm->energy_net_in = (int64_t)((uint64_t)vm->energy_net_in + (uint64_t)add);
            }
            NEXT();
        }
        CASE(ATP_USE) {
            OPS_R(a); if (vm->r[a] > 0) EXTRA_COST(vm->r[a]); NEXT();
        }
        CASE(ATP_QRY) { OPS_NONE(); vm->r[0] = sat32(energy); SETCONF(0, 1.0f, NOPAR, NOPAR); NEXT(); }
/* An agent's energy: the running one's is the loop's local. */
/* net_in wraps (only differences matter): unsigned arithmetic, never a signed overflow */
#define NET_IN_ADD(lv, x) ((lv) = (int64_t)((uint64_t)(lv) + (uint64_t)(int64_t)(x)))
#define ENERGY_OF(k) ((uint32_t)(k) == vm->cur ? energy : vm->agents[k].energy)
#define ENERGY_MOVE(from, to, amount)                                                       \
        do {                                                                                \
            int64_t x_ = (amount);                                                          \
            if ((uint32_t)(from) == vm->cur) { energy -= x_; NET_IN_ADD(vm->energy_net_in, -x_); } \
            else { vm->agents[from].energy -= x_; NET_IN_ADD(vm->agents[from].energy_net_in, -x_); } \
            if ((uint32_t)(to) == vm->cur) { energy += x_; NET_IN_ADD(vm->energy_net_in, x_); } \
            else { vm->agents[to].energy += x_; NET_IN_ADD(vm->agents[to].energy_net_in, x_); } \
            if (ENERGY_FELL_ENDS_CHUNK && x_ > 0) END_CHUNK_AFTER_THIS(); /* energy fell fast */        \
        } while (0)
        CASE(ATP_XFER) { /* move rd units from agent ra to agent rb (as much as ra has) */
            OPS_RRR(d, a, b); LIVE_AGENT(a, from); LIVE_AGENT(b, to);
            if (vm->r[d] < 0) FAULT(FLUX_SIGILL, "ATP_XFER at 0x%04X: negative amount %d", pc, vm->r[d]);
            if (from != to) {
                int64_t x = vm->r[d], have = ENERGY_OF(from), room = INT64_MAX - ENERGY_OF(to);
                if (x > have) x = have;
                if (x > room) x = room;
                ENERGY_MOVE(from, to, x);
            }
            NEXT();
        }
        CASE(APOPTOSIS) {
            OPS_NONE(); left--;
            if (hooked) fluxi_hook_step(vm, &hs, pc, sp, energy, CYCLES());
            if (UNLIKELY(ME->id != FIRST_AGENT)) {
                /* this agent dies; the program ends with agent 1 */
                fluxi_agent_end(vm, vm->cur, 128 + FLUX_SIGXCPU);
                goto agent_gone;
            }
            vm->state = VM_TERMINATED; vm->term_signal = FLUX_SIGXCPU;
            snprintf(vm->term_reason, sizeof vm->term_reason, "apoptosis: APOPTOSIS at 0x%04X", pc);
            st.signal = FLUX_SIGXCPU; memcpy(st.reason, vm->term_reason, sizeof st.reason);
            STOP(FLUX_STOP_TERMINATED);
        }
        CASE(ENERGY_POOL) {
            OPS_R(a);
            if (vm->r[a] > 0) {
                EXTRA_COST(vm->r[a]);
                vm->energy_pool = vm->energy_pool < INT64_MAX - vm->r[a] ? vm->energy_pool + vm->r[a] : INT64_MAX;
                vm->energy_net_in = (int64_t)((uint64_t)vm->energy_net_in - (uint64_t)(int64_t)vm->r[a]);
            }
            NEXT();
        }
        CASE(ENERGY_DRAIN) {
            OPS_RR(d, a); int64_t want = vm->r[a] > 0 ? vm->r[a] : 0;
            int64_t got = want < vm->energy_pool ? want : vm->energy_pool;
            if (got > INT64_MAX - energy) got = INT64_MAX - energy; /* the rest stays in the pool */
            vm->energy_pool -= got; energy += got; vm->energy_net_in = (int64_t)((uint64_t)vm->energy_net_in + (uint64_t)got);
            vm->r[d] = sat32(got); SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT();
        }
        CASE(ENERGY_SHARE) { /* give rb units (as many as there are) to agent ra; rd = units moved */
            OPS_RRR(d, a, b); LIVE_AGENT(a, to); int64_t x = 0;
            if ((uint32_t)to != vm->cur && vm->r[b] > 0) {
                int64_t room = INT64_MAX - vm->agents[to].energy;
                x = vm->r[b] < energy ? vm->r[b] : energy;
                if (x > room) x = room;
                ENERGY_MOVE(vm->cur, to, x);
            }
            vm->r[d] = sat32(x); SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT();
        }
        CASE(ENERGY_RESERVE) {
            OPS_RI16(d, n); EXTRA_COST(n);
            vm->energy_reserve = vm->energy_reserve < INT64_MAX - (int64_t)n ? vm->energy_reserve + n : INT64_MAX;
            vm->energy_net_in = (int64_t)((uint64_t)vm->energy_net_in - (uint64_t)n);
            vm->r[d] = sat32(vm->energy_reserve); SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT();
        }
        CASE(ENERGY_RELEASE) {
            OPS_R(a); int64_t want = vm->r[a] > 0 ? vm->r[a] : 0;
            int64_t got = want < vm->energy_reserve ? want : vm->energy_reserve;
            if (got > INT64_MAX - energy) got = INT64_MAX - energy; /* the rest stays in reserve */
            vm->energy_reserve -= got; energy += got; vm->energy_net_in = (int64_t)((uint64_t)vm->energy_net_in + (uint64_t)got);
            vm->r[a] = sat32(got); SETCONF(a, 1.0f, NOPAR, NOPAR); NEXT();
        }
        CASE(ENERGY_MIN) { OPS_RI16(d, n); vm->r[d] = energy >= (int64_t)n; SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT(); }
        CASE(ENERGY_MAX) { OPS_RI16(d, n); vm->r[d] = energy <= (int64_t)n; SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT(); }
        CASE(ENERGY_SYNC) {
            OPS_RR(d, a); LIVE_AGENT(a, ag); vm->r[d] = sat32(ENERGY_OF(ag)); SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT();
        }
        CASE(ENERGY_QUERY) { OPS_R(d); vm->r[d] = sat32(energy); SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT(); }
        CASE(ENERGY_MONITOR) {
            OPS_R(d); /* used = budget + net_in - energy, in wrapping arithmetic: exact whenever it fits */
            vm->r[d] = sat32((int64_t)((uint64_t)vm->agent_budget + (uint64_t)vm->energy_net_in - (uint64_t)energy));
            SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT();
        }
        CASE(ENERGY_ALARM) {
            OPS_RI16(d, n); vm->energy_alarm = n; vm->r[d] = energy < (int64_t)n; SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT();
        }

        /* ---------------- system ---------------- */
        CASE(DBG_PRINT) {
            OPS_R(a); char buf[16]; int n = snprintf(buf, sizeof buf, "%d\n", vm->r[a]);
            out_append(vm, buf, (size_t)n); if (vm->out_len > FLUX_OUTPUT_CAP - 64) { out_full = 1; END_CHUNK_AFTER_THIS(); } NEXT();
        }
        CASE(LOG) {
            OPS_RI8(a, lvl); char buf[40]; int n = snprintf(buf, sizeof buf, "log[%u]: %d\n", lvl, vm->r[a]);
            out_append(vm, buf, (size_t)n); if (vm->out_len > FLUX_OUTPUT_CAP - 64) { out_full = 1; END_CHUNK_AFTER_THIS(); } NEXT();
        }
        CASE(BARRIER) { /* wait until every live agent waits here; the last to come opens it */
            OPS_NONE(); agent *me = ME;
            if (me->retry && me->state == FLUX_AGENT_BLOCKED_BARRIER && me->barrier_gen != vm->barrier_gen) { UNBLOCK(); NEXT(); }
            me->state = FLUX_AGENT_BLOCKED_BARRIER;
            me->barrier_gen = vm->barrier_gen;
            ACC(FLUX_ACC_WRITE, FLUX_LOC_SHARED + FLUX_SHARED_BARRIER); /* it arrives */
            fluxi_barrier_check(vm);
            if (me->barrier_gen != vm->barrier_gen) { UNBLOCK(); NEXT(); }
            BLOCK(FLUX_AGENT_BLOCKED_BARRIER, 0);
        }
        SHARED_CASE(YIELD)
        SHARED_CASE(SLEEP) { /* virtual time is the cycle count: sleeping is giving way */
            NEED(OPCODES[op].operand_bytes);
            if (vm->nlive > 1) {
                if (vm->sched == FLUX_SCHED_PCT) fluxi_pct_yield(vm);
                vm->slice_end = CYCLES() + 1;
                END_CHUNK_AFTER_THIS();
            }
            NEXT();
        }
        CASE(TRACE) { OPS_NONE(); NEXT(); }
        CASE(WAKE) { OPS_R(a); LIVE_AGENT(a, ag); (void)ag; NEXT(); }
        CASE(RESOURCE) { /* ra: 0 memory size, 1 stack limit, 2 agent id, 3 agents, 4 cycles */
            OPS_RR(d, a); int32_t v;
            switch (vm->r[a]) {
            case 0: v = FLUX_MEM_SIZE; break;
            case 1: v = (int32_t)vm->stack_lo; break;
            case 2: v = (int32_t)ME->id; break;
            case 3: v = (int32_t)vm->nlive; break;
            case 4: v = (int32_t)(uint32_t)CYCLES(); break;
            default: FAULT(FLUX_SIGILL, "RESOURCE at 0x%04X: r%u = %d names no resource (0-4)", pc, a, vm->r[a]);
            }
            vm->r[d] = v; SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT();
        }
        CASE(TIMER_START) { OPS_R(d); vm->timer_start = CYCLES(); vm->r[d] = (int32_t)(uint32_t)CYCLES(); SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT(); }
        CASE(TIMER_STOP) { OPS_R(d); vm->r[d] = (int32_t)(uint32_t)(CYCLES() - vm->timer_start); SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT(); }
        CASE(TIMER_READ) { OPS_R(d); vm->r[d] = (int32_t)(uint32_t)CYCLES(); SETCONF(d, 1.0f, NOPAR, NOPAR); NEXT(); }
        CASE(ASSERT) {
            OPS_RR(a, b);
            if (vm->r[a] != vm->r[b]) FAULT(FLUX_SIGABRT, "ASSERT failed at 0x%04X: r%u = %d, r%u = %d", pc, a, vm->r[a], b, vm->r[b]);
            NEXT();
        }
        CASE(PANIC) { OPS_I16(code); FAULT(FLUX_SIGABRT, "PANIC 0x%X at 0x%04X", code, pc); }

        /* ---------------- crypto (the deterministic part) ---------------- */
        CASE(RNG_SEED) { OPS_R(a); vm->rng = (uint64_t)(uint32_t)vm->r[a]; NEXT(); }
        CASE(RNG_NEXT) {
            OPS_R(d);
            vm->r[d] = (int32_t)(uint32_t)(splitmix64(&vm->rng) >> 32);
            if (vm->log_inputs) log_input(vm, CYCLES(), pc, FLUX_INPUT_RNG, (uint32_t)vm->r[d]);
            SETCONF(d, 1.0f, NOPAR, NOPAR);
            NEXT();
        }
        CASE(CRC32) { /* rd = crc32 of the rd bytes at address ra */
            OPS_RR(d, a); uint32_t n = (uint32_t)vm->r[d], addr = (uint32_t)vm->r[a];
            CHECK_MEM(addr, n, "read"); EXTRA_COST(n / 4);
            if (n) WATCH(addr, n, FLUX_WATCH_READ);
            vm->r[d] = (int32_t)crc32_bytes(vm->mem + addr, n); SETCONF(d, vm->conf[a], a, NOPAR); NEXT();
        }

        /* ---------------- vector: 4 lanes in 4 consecutive registers ---------------- */
#define VREGS(x) if (UNLIKELY(x > FLUX_NUM_REGS - 4)) \
            FAULT(FLUX_SIGILL, "%s at 0x%04X: vector r%u..r%u goes past r15", OPCODES[op].mnemonic, pc, x, x + 3)
#define VEC3(OPC, expr)                                                            \
        CASE(OPC) {                                                                \
            OPS_RRR(d, a, b); VREGS(d); VREGS(a); VREGS(b);                        \
            int32_t out[4]; float oc[4];                                           \
            for (unsigned k = 0; k < 4; k++) {                                     \
                uint32_t x = (uint32_t)vm->r[a + k], y = (uint32_t)vm->r[b + k];           \
                out[k] = (int32_t)(expr); oc[k] = vm->conf[a + k] * vm->conf[b + k];       \
            }                                                                      \
            for (unsigned k = 0; k < 4; k++) { vm->r[d + k] = out[k]; SETCONF(d + k, oc[k], a + k, b + k); } \
            NEXT();                                                                \
        }
        VEC3(VADD, x + y)
        VEC3(VSUB, x - y)
        VEC3(VMUL, x * y)
#undef VEC3
        CASE(VDOT) {
            OPS_RRR(d, a, b); VREGS(a); VREGS(b); uint32_t s = 0; float c = 1.0f;
            for (unsigned k = 0; k < 4; k++) { s += (uint32_t)vm->r[a + k] * (uint32_t)vm->r[b + k]; c *= vm->conf[a + k] * vm->conf[b + k]; }
            vm->r[d] = (int32_t)s; SETCONF(d, c, a, b); /* lane 0 stands for the group */ NEXT();
        }
        CASE(VLOAD) {
            OPS_RI16(d, addr); VREGS(d); CHECK_MEM(addr, 16, "read"); WATCH(addr, 16, FLUX_WATCH_READ);
            for (unsigned k = 0; k < 4; k++) { vm->r[d + k] = (int32_t)rd32(vm->mem, addr + 4 * k); SETCONF(d + k, 1.0f, NOPAR, NOPAR); }
            NEXT();
        }
        CASE(VSTORE) {
            OPS_RI16(s, addr); VREGS(s); CHECK_MEM(addr, 16, "write"); WATCH(addr, 16, FLUX_WATCH_WRITE);
            for (unsigned k = 0; k < 4; k++) wr32(vm->mem, addr + 4 * k, (uint32_t)vm->r[s + k]);
            NEXT();
        }

        CASE(SPAWN) { /* a new agent at imm16; its id in r0 */
            OPS_I16(target);
            if (vm->nlive >= FLUX_MAX_AGENTS)
                FAULT(FLUX_SIGABRT, "SPAWN at 0x%04X: %u agents are alive, the most there can be", pc, FLUX_MAX_AGENTS);
            if (vm->next_id >= FLUX_NUM_AGENTS) FAULT(FLUX_SIGABRT, "SPAWN at 0x%04X: all agent ids (1-255) are used", pc);
            uint32_t k = 1;
            while (k < FLUX_MAX_AGENTS && slot_live(&vm->agents[k])) k++;
            /* slot k's stack: the k-th slice from the bottom of the stack region */
            uint32_t lo = FLUX_STACK_LIMIT + (k - 1) * FLUX_AGENT_STACK, hi = lo + FLUX_AGENT_STACK;
            uint32_t a1_sp = vm->cur == 0 ? sp : vm->agents[0].sp;
            uint32_t a1_lo = vm->cur == 0 ? vm->stack_lo : vm->agents[0].stack_lo;
            if (hi > a1_lo) {
                /* agent 1 gives the bottom of its stack region up */
                if (a1_sp < hi)
                    FAULT(FLUX_SIGSEGV, "SPAWN at 0x%04X: agent 1's stack (sp=0x%X) reaches into the new agent's stack 0x%04X-0x%04X",
                          pc, a1_sp, lo, hi);
                if (vm->cur == 0) vm->stack_lo = hi;
                else vm->agents[0].stack_lo = hi;
            }
            agent *n = &vm->agents[k];
            memset(n, 0, sizeof *n);
            n->id = vm->next_id++;
            n->state = FLUX_AGENT_RUNNABLE;
            for (unsigned i = 0; i < FLUX_NUM_REGS; i++) n->conf[i] = 1.0f;
            n->pc = target;
            n->sp = n->fp = hi;
            n->stack_lo = lo;
            n->stack_hi = hi;
            n->energy = vm->agent_budget;
            n->last_conf = 1.0f;
            if (vm->sched == FLUX_SCHED_PCT) vm->prio[n->id] = fluxi_pct_priority(vm);
            ACC(FLUX_ACC_SPAWN, n->id);
            vm->id_state[n->id] = 1;
            vm->id_exit[n->id] = 0;
            if (++vm->nlive == 2) {
                /* agents take turns from now on: the spawner's slice begins */
                ME->retired += CYCLES() + 1 - vm->slice_start;
                vm->slice_start = CYCLES() + 1;
                vm->slice_end = vm->slice_start + fluxi_slice_length(vm, vm->slice_start);
            }
            vm->r[0] = (int32_t)n->id; SETCONF(0, 1.0f, NOPAR, NOPAR);
            /* the turn goes on in run_turn_multi, which knows the bounds */
            vm->turn_break = 1;
            END_CHUNK_AFTER_THIS();
            NEXT();
        }
        CASE(JOIN) { /* wait for agent r[a] to end; r[a] = its exit code */
            OPS_R(a); uint32_t id = (uint32_t)vm->r[a];
            if (id >= FLUX_NUM_AGENTS || vm->id_state[id] == 0) FAULT(FLUX_SIGILL, "JOIN at 0x%04X: no agent %d", pc, vm->r[a]);
            if (id == ME->id) FAULT(FLUX_SIGABRT, "deadlock: agent %u JOINs itself at 0x%04X", id, pc);
            if (vm->id_state[id] == 1) BLOCK(FLUX_AGENT_BLOCKED_JOIN, id);
            ACC(FLUX_ACC_READ, FLUX_LOC_AGENT + id);
            UNBLOCK(); vm->r[a] = vm->id_exit[id]; SETCONF(a, 1.0f, NOPAR, NOPAR); NEXT();
        }
        CASE(KILL) { /* end agent r[a] (exit code 137); agent 1's end is the program's */
            OPS_R(a); uint32_t id = (uint32_t)vm->r[a]; int k = fluxi_slot_of(vm, id);
            if (k < 0) {
                if (id < FLUX_NUM_AGENTS && vm->id_state[id] == 2) NEXT(); /* already ended */
                FAULT(FLUX_SIGILL, "KILL at 0x%04X: no agent %d", pc, vm->r[a]);
            }
            if (id == FIRST_AGENT) {
                vm->state = VM_HALTED;
                vm->exit_code = KILLED_EXIT;
                st.exit_code = KILLED_EXIT;
                left--;
                if (hooked) fluxi_hook_step(vm, &hs, pc, sp, energy, CYCLES());
                STOP(FLUX_STOP_HALTED);
            }
            if ((uint32_t)k == vm->cur) {
                left--;
                if (hooked) fluxi_hook_step(vm, &hs, pc, sp, energy, CYCLES());
                fluxi_agent_end(vm, vm->cur, KILLED_EXIT);
                goto agent_gone;
            }
            fluxi_agent_end(vm, (uint32_t)k, KILLED_EXIT);
            NEXT();
        }

        /* the opcodes not implemented yet (docs/ISA.md) */
        SHARED_CASE(HASH_MD5) SHARED_CASE(HASH_SHA256) SHARED_CASE(HASH_SHA512) SHARED_CASE(HMAC_GEN) SHARED_CASE(HMAC_VERIFY) SHARED_CASE(AES_ENC) SHARED_CASE(AES_DEC) SHARED_CASE(SIG_GEN) SHARED_CASE(SIG_VERIFY) SHARED_CASE(BASE64_ENC) SHARED_CASE(BASE64_DEC) SHARED_CASE(KEY_GEN) SHARED_CASE(KEY_DERIVE) SHARED_CASE(VMAP)
        {
            NEED(OPCODES[op].operand_bytes);
            FAULT(FLUX_SIGILL, "%s at 0x%04X is not implemented yet (see docs/ISA.md)",
                  OPCODES[op].mnemonic, pc);
        }
        default:
#if FLUX_COMPUTED_GOTO
        L_INVALID:
            op = vm->mem[pc];
            PAY(op);
#endif
            FAULT(FLUX_SIGILL, "invalid opcode 0x%02X at 0x%04X", op, pc);
        }
    /* every handler leaves through NEXT, STOP, FAULT, BLOCK or agent_gone */

block:
    /* The running agent waits (for a message, room in a mailbox, an agent's
     * end, a barrier): its instruction did not run and is not charged; it
     * runs again when the scheduler finds what it waits for there. */
    energy += ENERGY_COST[op];
    if (profiling) vm->prof_count[pc]--;
    vm->agents[vm->cur].retry = 0;
    chunk_end -= left; /* end the chunk here (nothing retired): refill switches */
    left = 0;
    goto refill;

agent_gone:
    /* the running agent ended (its last instruction retired): another one runs */
    chunk_end -= left;
    left = 0;
    goto refill;

hooks:
    if (trust_hit) STOP(FLUX_STOP_TRUST_FAIL);
    if (trace_full && !watch_hit && !out_full) STOP(FLUX_STOP_TRACE_FULL);
    if (watch_hit) {
        st.watch_addr = (uint32_t)watch_addr;
        st.watch_kind = watch_kind;
        st.watch_index = watch_index;
        STOP(FLUX_STOP_WATCHPOINT);
    }
    STOP(FLUX_STOP_OUTPUT);

exhausted_counted:
    if (profiling) vm->prof_count[pc]--;   /* counted at dispatch, but it does not run */
exhausted:
    /* The instruction cannot be paid for: it does not run. */
    energy += ENERGY_COST[op];
    vm->state = VM_EXHAUSTED;
    st.signal = FLUX_SIGXCPU;
    set_reason(&st, "apoptosis: energy exhausted at 0x%04X (%s needs more than the %lld left)", pc,
               OPCODES[op].mnemonic ? OPCODES[op].mnemonic : "?", (long long)energy);
    STOP(FLUX_STOP_FAULT);

pc_outside:
    /* pc is outside memory (the debugger put it there, or the program ran off
     * the end): nothing was fetched or paid for, so FAULT's refund is wrong here. */
    st.signal = FLUX_SIGSEGV;
    set_reason(&st, "pc 0x%X is outside memory", pc);
    STOP(FLUX_STOP_FAULT);

stop:
    if (profiling) {   /* the current call path ran until now */
        vm->prof_nodes[vm->prof_cur].self_count += prof_since_mark(vm, CYCLES());
        vm->prof_mark = CYCLES();
    }
    st.executed = CYCLES() - start_cycles;
    SYNC();
    st.pc = pc;
    st.agent = vm->agents[vm->cur].id;
    if (st.kind == FLUX_STOP_BREAKPOINT || st.kind == FLUX_STOP_COND_BREAKPOINT) vm->resume_pc = pc;
    return st;

#undef SYNC
#undef STOP
#undef FAULT
}

/* Runs turns until a stop to report: between two turns the scheduler picks
 * who runs next (outside the interpreter loop, whose hot state stays in
 * registers). */
#ifndef FLUX_VM_MULTI_PASS
static flux_stop run_turns(flux_vm *vm, uint64_t budget) {
    uint64_t executed = 0;
    const int events = vm->profiling && vm->prof_ev_on;
    uint32_t logged = 0;   /* the agent whose turn was logged last (profile events) */
    for (;;) {
        if (UNLIKELY(events) && vm->agents[vm->cur].id != logged) {
            logged = vm->agents[vm->cur].id;
            if (fluxi_prof_event(vm, FLUX_PROF_EV_TURN, vm->pc, vm->cycles) && executed > 0) {
                flux_stop st;
                memset(&st, 0, sizeof st);
                st.kind = FLUX_STOP_TRACE_FULL;
                st.executed = executed;
                st.pc = vm->pc;
                st.agent = logged;
                return st;
            }
        }
        const int alone = vm->nlive == 1 && vm->stack_lo == FLUX_STACK_LIMIT && vm->stack_hi == FLUX_STACK_TOP;
        flux_stop st = alone ? run_turn_single(vm, budget - executed) : run_turn_multi(vm, budget - executed);
        executed += st.executed;
        st.executed = executed;
        if (st.kind != STOP_TURN_OVER) return st;
        memset(&st, 0, sizeof st);
        st.executed = executed;
        if (fluxi_sched_turn(vm, vm->cycles, &st) == TURN_STOP) {
            st.pc = vm->pc;
            st.agent = vm->agents[vm->cur].id;
            return st;
        }
    }
}

flux_stop flux_vm_run(flux_vm *vm, uint64_t budget) {
    flux_stop st = run_turns(vm, budget);
    if (UNLIKELY(vm->profiling && vm->prof_ev_on)) fluxi_prof_event(vm, FLUX_PROF_EV_END, vm->pc, vm->cycles);
    return st;
}

/* The second reading of this file: the loop again, as run_turn_multi, with
 * the running agent's stack bounds in locals (they change only between turns). */
#define FLUX_VM_MULTI_PASS 1
#undef RUN_TURN
#undef STACK_BOUNDS
#define RUN_TURN run_turn_multi
#undef DISPATCH
#define DISPATCH vm->dispatch_multi
#define STACK_BOUNDS const uint32_t stk_lo = vm->stack_lo, stk_hi = vm->stack_hi
#include "flux_vm.c"
#endif /* !FLUX_VM_MULTI_PASS */
