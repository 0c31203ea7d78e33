/* flux_hooks.c - the debugger's hooks into the FLUX runtime.
 *
 * Breakpoints are bits in a 64 Ki-bit map (never patched bytes); the loop
 * tests one byte of the stop bytes (breakpoints, conditional breakpoints and
 * the last bytes of memory, a byte per address, kept from the stop map by
 * stopmap_sync) per instruction.  Watchpoints cost a branch on
 * memory-touching instructions while any are set (a byte per 16-byte granule
 * says where to look).  Stub-side conditional breakpoints and gdb's
 * agent-expression breakpoints are checked inside the loop at their address
 * (condbp_check in flux_vm_internal.h); watch-if conditions at chunk
 * boundaries, or after every instruction when they read what any
 * instruction may change.  Tracing and profiling run a hook after every
 * retired instruction while on (fluxi_hook_step): the stop bytes are all
 * set then, so that the loop's one test sends every instruction to them,
 * and while off they cost nothing.
 */
#include "flux_vm_internal.h"

#include <stdlib.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Addresses 0xFFFB-0xFFFF: an instruction there may not fit in memory. */
#define GUARD_WORD (FLUX_MEM_SIZE / 64 - 1)
#define GUARD_BITS (~0ull << 59)

/* stopbytes for the 64 addresses of stop map word `word`, whose bits are m */
static void stopbytes_word(flux_vm *vm, uint32_t word, uint64_t m) {
    for (uint32_t b = 0; b < 64; b++) vm->stopbytes[word * 64 + b] = (uint8_t)((m >> b) & 1);
}

static void stopmap_sync(flux_vm *vm, uint32_t word) {
    uint64_t m = vm->breakpoints[word] | vm->condbp_map[word] | (word == GUARD_WORD ? GUARD_BITS : 0);
    if (m != vm->stopmap[word] && !vm->stops_all) stopbytes_word(vm, word, m);
    vm->stopmap[word] = m;
}

void fluxi_stopbytes_fill(flux_vm *vm, int all) {
    vm->stops_all = (uint8_t)(all != 0);
    if (all) memset(vm->stopbytes, 1, sizeof vm->stopbytes);
    else
        for (uint32_t w = 0; w < FLUX_MEM_SIZE / 64; w++) stopbytes_word(vm, w, vm->stopmap[w]);
    memset(vm->stopbytes + FLUX_MEM_SIZE, 1, sizeof vm->stopbytes - FLUX_MEM_SIZE);
}

void flux_vm_set_breakpoint(flux_vm *vm, uint32_t addr, int enabled) {
    if (addr >= FLUX_MEM_SIZE) return;
    uint64_t bit = 1ull << (addr & 63);
    if (enabled) vm->breakpoints[addr >> 6] |= bit;
    else vm->breakpoints[addr >> 6] &= ~bit;
    stopmap_sync(vm, addr >> 6);
}

int flux_vm_has_breakpoint(const flux_vm *vm, uint32_t addr) {
    return addr < FLUX_MEM_SIZE && ((vm->breakpoints[addr >> 6] >> (addr & 63)) & 1);
}

void flux_vm_clear_breakpoints(flux_vm *vm) {
    memset(vm->breakpoints, 0, sizeof vm->breakpoints);
    for (uint32_t w = 0; w < FLUX_MEM_SIZE / 64; w++) stopmap_sync(vm, w);
    vm->stopmap[FLUX_MEM_SIZE / 64] = ~0ull;
    memset(vm->stopbytes + FLUX_MEM_SIZE, 1, sizeof vm->stopbytes - FLUX_MEM_SIZE);
}

int flux_vm_add_watchpoint(flux_vm *vm, uint32_t addr, uint32_t len, uint32_t kind) {
    if (len == 0 || !range_ok(addr, len) || kind < FLUX_WATCH_WRITE || kind > FLUX_WATCH_ACCESS)
        return -1;
    if (vm->nwatch >= FLUX_MAX_WATCHPOINTS) return -1;
    vm->watch[vm->nwatch++] = (watchpoint){addr, len, kind, 0};
    fluxi_watch_gran_rebuild(vm);
    return 0;
}

int flux_vm_remove_watchpoint(flux_vm *vm, uint32_t addr, uint32_t len, uint32_t kind) {
    for (uint32_t i = 0; i < vm->nwatch; i++) {
        watchpoint *w = &vm->watch[i];
        if (w->addr == addr && w->len == len && w->kind == kind && w->owner == 0) {
            memmove(w, w + 1, (vm->nwatch - i - 1) * sizeof *w);
            vm->nwatch--;
            fluxi_watch_gran_rebuild(vm);
            return 0;
        }
    }
    return -1;
}

void flux_vm_clear_watchpoints(flux_vm *vm) {
    uint32_t k = 0;
    for (uint32_t i = 0; i < vm->nwatch; i++)
        if (vm->watch[i].owner) vm->watch[k++] = vm->watch[i];   /* keep watch-if triggers */
    vm->nwatch = k;
    fluxi_watch_gran_rebuild(vm);
}

void flux_vm_view(const flux_vm *vm, flux_view *out) {
    out->r = vm->r;
    out->conf = vm->conf;
    out->mem = vm->mem;
    out->mem_len = FLUX_MEM_SIZE;
    out->trust = vm->trust;
    out->pc = vm->pc;
    out->sp = vm->sp;
    out->energy = vm->energy;
    out->cycles = vm->cycles;
    out->last_conf = vm->last_conf;
    out->fp = vm->fp;
    out->flags = flags_now(vm);
}

static void condbp_rebuild_map(flux_vm *vm, uint32_t addr) {
    uint32_t word = addr >> 6;
    uint64_t bit = 1ull << (addr & 63);
    vm->condbp_map[word] &= ~bit;
    for (uint32_t i = 0; i < vm->ncondbp; i++)
        if (vm->condbps[i].addr == addr) vm->condbp_map[word] |= bit;
    stopmap_sync(vm, word);
}

int flux_vm_add_cond_breakpoint(flux_vm *vm, uint32_t id, uint32_t addr, const flux_cond *cond) {
    if (addr >= FLUX_MEM_SIZE || vm->ncondbp >= FLUX_MAX_COND_BREAKPOINTS) return -1;
    if (cond && cond->n > FLUX_COND_MAX) return -1;
    cond_breakpoint *b = &vm->condbps[vm->ncondbp++];
    memset(b, 0, sizeof *b);
    b->id = id;
    b->addr = addr;
    b->has_cond = cond ? COND_EXPR : COND_NONE;
    if (cond) b->cond = *cond;
    condbp_rebuild_map(vm, addr);
    return 0;
}

/* Gives back the pool bytes [off, off + len): the pool stays packed. */
static void ax_pool_release(flux_vm *vm, uint32_t off, uint32_t len) {
    if (!len) return;
    memmove(vm->ax_pool + off, vm->ax_pool + off + len, vm->ax_pool_len - off - len);
    vm->ax_pool_len -= len;
    for (uint32_t i = 0; i < vm->ncondbp; i++) {
        cond_breakpoint *b = &vm->condbps[i];
        if (b->ax_len && b->ax_off > off) b->ax_off -= len;
        if (b->cmd_len && b->cmd_off > off) b->cmd_off -= len;
    }
}

/* Whether list (see flux_vm_add_ax_breakpoint) is well-formed, each bytecode passing flux_ax_check. */
static int ax_list_ok(const uint8_t *list, uint32_t len, int allow_printf) {
    for (uint32_t at = 0; at < len;) {
        if (len - at < 2) return 0;
        uint32_t n = list[at] | (uint32_t)list[at + 1] << 8;
        if (n > len - at - 2 || ax_check(list + at + 2, n, allow_printf).status != FLUX_AX_OK) return 0;
        at += 2 + n;
    }
    return 1;
}

int flux_vm_add_ax_breakpoint(flux_vm *vm, uint32_t id, uint32_t addr, const uint8_t *conds, uint32_t conds_len,
                              const uint8_t *cmds, uint32_t cmds_len) {
    if (addr >= FLUX_MEM_SIZE) return -1;
    if ((conds_len && !conds) || (cmds_len && !cmds)) return -2;
    if (!ax_list_ok(conds, conds_len, 0) || !ax_list_ok(cmds, cmds_len, 1)) return -2;
    /* room once the breakpoint it replaces is gone */
    uint32_t freed = 0, exists = 0;
    for (uint32_t i = 0; i < vm->ncondbp; i++)
        if (vm->condbps[i].id == id) {
            exists = 1;
            freed = vm->condbps[i].ax_len + vm->condbps[i].cmd_len;
        }
    if (!exists && vm->ncondbp >= FLUX_MAX_COND_BREAKPOINTS) return -1;
    if ((uint64_t)vm->ax_pool_len - freed + conds_len + cmds_len > FLUX_AX_POOL) return -1;
    if (exists) flux_vm_remove_cond_breakpoint(vm, id);
    cond_breakpoint *b = &vm->condbps[vm->ncondbp++];
    memset(b, 0, sizeof *b);
    b->id = id;
    b->addr = addr;
    b->has_cond = conds_len ? COND_AX : COND_NONE;
    b->ax_off = vm->ax_pool_len;
    b->ax_len = conds_len;
    if (conds_len) memcpy(vm->ax_pool + vm->ax_pool_len, conds, conds_len);
    vm->ax_pool_len += conds_len;
    b->cmd_off = vm->ax_pool_len;
    b->cmd_len = cmds_len;
    if (cmds_len) memcpy(vm->ax_pool + vm->ax_pool_len, cmds, cmds_len);
    vm->ax_pool_len += cmds_len;
    condbp_rebuild_map(vm, addr);
    return 0;
}

flux_ax_result flux_vm_ax_last(const flux_vm *vm) { return vm->ax_last; }

const uint8_t *flux_vm_ax_output(const flux_vm *vm, size_t *len) {
    *len = vm->ax_out_len;
    return vm->ax_out;
}

void flux_vm_clear_ax_output(flux_vm *vm) { vm->ax_out_len = 0; }

int flux_vm_remove_cond_breakpoint(flux_vm *vm, uint32_t id) {
    for (uint32_t i = 0; i < vm->ncondbp; i++) {
        if (vm->condbps[i].id != id) continue;
        uint32_t addr = vm->condbps[i].addr;
        uint32_t ax_off = vm->condbps[i].ax_off, ax_len = vm->condbps[i].ax_len;
        uint32_t cmd_off = vm->condbps[i].cmd_off, cmd_len = vm->condbps[i].cmd_len;
        memmove(&vm->condbps[i], &vm->condbps[i + 1], (vm->ncondbp - i - 1) * sizeof vm->condbps[0]);
        vm->ncondbp--;
        /* commands after conditions: release the later block first */
        ax_pool_release(vm, cmd_off, cmd_len);
        ax_pool_release(vm, ax_off, ax_len);
        condbp_rebuild_map(vm, addr);
        return 0;
    }
    return -1;
}

/* Whether a condition must be checked after every instruction.  Memory is
 * checked when written (write-triggers), a falling energy and a rising cycle
 * count when they can have crossed the value (the chunk length is cut to
 * that distance); registers, confidences, pc, sp and trust change anywhere. */
static int cond_needs_every(const flux_cond *c) {
    for (uint32_t k = 0; k < c->n; k++) {
        const flux_cmp *m = &c->cmp[k];
        switch (m->operand) {
        case FLUX_OPND_MEM8: case FLUX_OPND_MEM16: case FLUX_OPND_MEM32: break;
        case FLUX_OPND_ENERGY: if (m->op != FLUX_CMP_LT && m->op != FLUX_CMP_LE) return 1; break;
        case FLUX_OPND_CYCLES:
            if (m->op != FLUX_CMP_GT && m->op != FLUX_CMP_GE && m->op != FLUX_CMP_EQ) return 1;
            break;
        default: return 1;
        }
    }
    return 0;
}

static void cond_add_triggers(flux_vm *vm, uint32_t id, const flux_cond *c) {
    for (uint32_t k = 0; k < c->n && vm->nwatch < FLUX_MAX_WATCHPOINTS; k++) {
        const flux_cmp *m = &c->cmp[k];
        uint32_t n = m->operand == FLUX_OPND_MEM8 ? 1 : m->operand == FLUX_OPND_MEM16 ? 2 :
                     m->operand == FLUX_OPND_MEM32 ? 4 : 0;
        if (n && range_ok(m->index, n)) vm->watch[vm->nwatch++] = (watchpoint){m->index, n, WATCH_TRIGGER, id};
    }
    fluxi_watch_gran_rebuild(vm);
}

static void cond_remove_triggers(flux_vm *vm, uint32_t id) {
    uint32_t k = 0;
    for (uint32_t i = 0; i < vm->nwatch; i++)
        if (vm->watch[i].owner != id) vm->watch[k++] = vm->watch[i];
    vm->nwatch = k;
    fluxi_watch_gran_rebuild(vm);
}

int flux_vm_add_watch_cond(flux_vm *vm, uint32_t id, const flux_cond *cond, int once) {
    if (!cond || cond->n > FLUX_COND_MAX || vm->nwcond >= FLUX_MAX_WATCH_CONDS) return -1;
    int every = cond_needs_every(cond);
    if (!every) {
        /* memory conditions need a write-trigger per memory operand */
        uint32_t need = 0;
        for (uint32_t k = 0; k < cond->n; k++)
            need += cond->cmp[k].operand >= FLUX_OPND_MEM8 && cond->cmp[k].operand <= FLUX_OPND_MEM32;
        if (vm->nwatch + need > FLUX_MAX_WATCHPOINTS) every = 1;
    }
    watch_cond *w = &vm->wconds[vm->nwcond++];
    w->id = id;
    w->once = once != 0;
    w->every = (uint8_t)every;
    w->cond = *cond;
    if (every) vm->nwcond_every++;
    else cond_add_triggers(vm, id, cond);
    flux_view v;
    flux_vm_view(vm, &v);
    w->last = (uint8_t)flux_cond_eval(cond, &v);
    return 0;
}

int flux_vm_remove_watch_cond(flux_vm *vm, uint32_t id) {
    for (uint32_t i = 0; i < vm->nwcond; i++) {
        if (vm->wconds[i].id != id) continue;
        if (vm->wconds[i].every) vm->nwcond_every--;
        else cond_remove_triggers(vm, id);
        memmove(&vm->wconds[i], &vm->wconds[i + 1], (vm->nwcond - i - 1) * sizeof vm->wconds[0]);
        vm->nwcond--;
        return 0;
    }
    return -1;
}

/* watch_any and watch_gran, after the watchpoints, the trace or the access
 * log changed: the interpreter's memory accesses take the slow path only
 * where a granule is marked, and a trace or the access log needs them all. */
void fluxi_watch_gran_rebuild(flux_vm *vm) {
    vm->watch_any = vm->nwatch > 0 || vm->tracing || vm->access_log;
    memset(vm->watch_gran, vm->tracing || vm->access_log, sizeof vm->watch_gran);
    for (uint32_t i = 0; i < vm->nwatch; i++) {
        const watchpoint *w = &vm->watch[i];
        for (uint32_t g = w->addr >> 4; g <= (w->addr + w->len - 1) >> 4; g++) vm->watch_gran[g] = 1;
    }
}

/* The first watched byte of [addr, addr+len) that gdb's watchpoints catch for
 * an access of `kind`, or -1; *trigger is set when a write touches the range
 * of a watch-if condition.  Only called while watchpoints exist. */
int64_t fluxi_watch_check(flux_vm *vm, uint32_t addr, uint32_t len, uint32_t kind,
                           uint32_t *index, int *trigger) {
    int64_t found = -1;
    for (uint32_t i = 0; i < vm->nwatch; i++) {
        const watchpoint *w = &vm->watch[i];
        uint32_t wants = w->kind == WATCH_TRIGGER ? FLUX_WATCH_WRITE : w->kind;
        if (!(wants & kind)) continue;
        uint32_t lo = addr > w->addr ? addr : w->addr;
        uint32_t hi_a = addr + len, hi_w = w->addr + w->len;
        uint32_t hi = hi_a < hi_w ? hi_a : hi_w;
        if (lo >= hi) continue;
        if (w->kind == WATCH_TRIGGER) {
            *trigger = 1;
        } else if (found < 0) {
            *index = i;
            found = lo;
        }
    }
    return found;
}

void flux_vm_break_on_trust_fail(flux_vm *vm, int on) { vm->break_on_trust_fail = on != 0; }

#define TRACE_BUF_SIZE (1u << 20)
#define TRACE_MAX_RECORD \
    (sizeof(flux_trace_head) + FLUX_NUM_REGS * sizeof(flux_trace_reg) + \
     FLUX_TRACE_MAX_MEM * sizeof(flux_trace_mem) + sizeof(flux_trace_trust))
#define PROF_NODES 65536u

/* A write the running instruction is about to make (memory still old). */
void fluxi_trace_mem(flux_vm *vm, uint32_t addr, uint32_t len) {
    if (vm->ntmem >= FLUX_TRACE_MAX_MEM) {
        vm->tmem_more = 1;
        return;
    }
    flux_trace_mem *m = &vm->tmem[vm->ntmem++];
    uint32_t old = 0;
    memcpy(&old, vm->mem + addr, len < 4 ? len : 4);
    *m = (flux_trace_mem){addr, len, old, 0};
}

/* Which registers differ (value or confidence, bit by bit) from the snapshot. */
static inline uint16_t changed_regs(const flux_vm *vm) {
#if defined(__SSE2__)
    uint32_t m = 0;
    for (unsigned k = 0; k < FLUX_NUM_REGS; k += 4) {
        __m128i a = _mm_loadu_si128((const __m128i *)(const void *)&vm->r[k]);
        __m128i b = _mm_loadu_si128((const __m128i *)(const void *)&vm->snap_r[k]);
        __m128i c = _mm_loadu_si128((const __m128i *)(const void *)&vm->conf[k]);
        __m128i d = _mm_loadu_si128((const __m128i *)(const void *)&vm->snap_conf[k]);
        __m128i same = _mm_and_si128(_mm_cmpeq_epi32(a, b), _mm_cmpeq_epi32(c, d));
        m |= (uint32_t)_mm_movemask_ps(_mm_castsi128_ps(same)) << k;
    }
    return (uint16_t)~m;
#else
    uint16_t m = 0;
    for (unsigned k = 0; k < FLUX_NUM_REGS; k++)
        if (vm->r[k] != vm->snap_r[k] || memcmp(&vm->conf[k], &vm->snap_conf[k], sizeof(float)))
            m |= (uint16_t)(1u << k);
    return m;
#endif
}

static inline void put(flux_vm *vm, const void *p, size_t n) {
    memcpy(vm->trace_buf + vm->trace_len, p, n);
    vm->trace_len += n;
}

/* Appends the record of the instruction that just retired; 1 when the
 * buffer has no room for another. */
static int trace_retire(flux_vm *vm, uint32_t pc, uint8_t op, uint64_t cycle, int64_t energy) {
    flux_trace_head h = {cycle, energy, pc, 0, op, (uint8_t)vm->ntmem, 0, (uint8_t)vm->agents[vm->cur].id, {0}};
    h.reg_mask = changed_regs(vm);
    int trust = vm->trust_log_count != vm->snap_trust_count;
    h.flags = (uint8_t)((trust ? FLUX_TRACE_TRUST : 0) | (vm->tmem_more ? FLUX_TRACE_MEM_MORE : 0));
    put(vm, &h, sizeof h);
    for (uint32_t m = h.reg_mask; m; m &= m - 1) {
        unsigned k = (unsigned)__builtin_ctz(m);
        flux_trace_reg r = {vm->r[k], vm->conf[k], vm->snap_conf[k], vm->snap_r[k]};
        put(vm, &r, sizeof r);
    }
    for (uint32_t i = 0; i < vm->ntmem; i++) {
        flux_trace_mem *m = &vm->tmem[i];
        memcpy(&m->new_value, vm->mem + m->addr, m->len < 4 ? m->len : 4);
        put(vm, m, sizeof *m);
    }
    if (trust) {
        const flux_trust_event *e = &vm->trust_log[(vm->trust_log_count - 1) % FLUX_TRUST_LOG];
        flux_trace_trust t = {e->agent, e->score, e->threshold, (uint32_t)e->passed};
        put(vm, &t, sizeof t);
    }
    trace_snapshot(vm);
    return vm->trace_len + TRACE_MAX_RECORD > vm->trace_cap;
}

static uint32_t prof_child(flux_vm *vm, uint32_t parent, uint32_t func) {
    uint32_t slots = 2 * vm->prof_cap;
    uint32_t h = (parent * 2654435761u ^ func * 40503u) % slots;
    for (uint32_t probe = 0; probe < slots; probe++, h = (h + 1) % slots) {
        uint32_t e = vm->prof_hash[h];
        if (e == 0) {
            if (vm->prof_nnodes >= vm->prof_cap) return parent;   /* full: stay on the caller's node */
            uint32_t n = vm->prof_nnodes++;
            vm->prof_nodes[n] = (flux_prof_node){parent, func, 0, 0};
            vm->prof_hash[h] = n + 1;
            return n;
        }
        const flux_prof_node *node = &vm->prof_nodes[e - 1];
        if (node->parent == parent && node->func == func) return e - 1;
    }
    return parent;
}

/* Profiling counts each instruction at dispatch (prof_count) and charges
 * a call path's instructions when the path changes: at CALL/SWI (into the
 * callee's node) and RET/IRET (back to the caller's). */
/* Profile events: room for PROF_EV_CAP, a stop asked for PROF_EV_SLACK
 * before that (the run's END and the turns between two checks use it). */
#define PROF_EV_CAP 65536u
#define PROF_EV_SLACK 64u

/* Logs one profile event of the running agent; 1 when the buffer nearly
 * filled (the run should stop for it to be taken). */
int fluxi_prof_event(flux_vm *vm, uint32_t kind, uint32_t addr, uint64_t cycles) {
    if (vm->prof_ev_len >= PROF_EV_CAP) {
        vm->prof_ev_lost++;
        return 1;
    }
    const agent *a = &vm->agents[vm->cur];
    /* a turn logged between turns, where vm->cycles is in step */
    const uint8_t resumed = kind == FLUX_PROF_EV_TURN && a->retired + (vm->cycles - vm->slice_start) > 0;
    vm->prof_ev[vm->prof_ev_len++] = (flux_prof_event){cycles, addr, (uint8_t)kind, (uint8_t)a->id, resumed, 0};
    return vm->prof_ev_len >= PROF_EV_CAP - PROF_EV_SLACK;
}

/* Returns 1 when the profile events' buffer nearly filled. */
int fluxi_prof_transition(flux_vm *vm, uint32_t op, uint32_t target, uint64_t cycles) {
    vm->prof_nodes[vm->prof_cur].self_count += prof_since_mark(vm, cycles);
    vm->prof_mark = cycles;
    const int call = op == FLUX_OP_CALL || op == FLUX_OP_SWI;
    if (call) {
        uint32_t c = prof_child(vm, vm->prof_cur, target);
        if (c != vm->prof_cur) {
            vm->prof_nodes[c].calls++;
            vm->prof_cur = c;
        }
    } else if (vm->prof_cur != 0) {
        vm->prof_cur = vm->prof_nodes[vm->prof_cur].parent;
    }
    if (!vm->prof_ev_on) return 0;
    return fluxi_prof_event(vm, call ? FLUX_PROF_EV_CALL : FLUX_PROF_EV_RETURN, target, cycles);
}

int flux_vm_profile_events(flux_vm *vm, int on) {
    if (on && !vm->prof_ev) {
        vm->prof_ev = malloc(PROF_EV_CAP * sizeof *vm->prof_ev);
        if (!vm->prof_ev) return -1;
        vm->prof_ev_len = 0;
        vm->prof_ev_lost = 0;
    }
    vm->prof_ev_on = on != 0;
    return 0;
}

const flux_prof_event *flux_vm_profile_event_data(const flux_vm *vm, size_t *n, uint64_t *lost) {
    *n = vm->prof_ev_len;
    if (lost) *lost = vm->prof_ev_lost;
    return vm->prof_ev;
}

void flux_vm_profile_events_clear(flux_vm *vm) {
    vm->prof_ev_len = 0;
    vm->prof_ev_lost = 0;
}

int flux_vm_set_tracing(flux_vm *vm, int on) {
    if (on && !vm->trace_buf) {
        vm->trace_buf = malloc(TRACE_BUF_SIZE);
        if (!vm->trace_buf) return -1;
        vm->trace_cap = TRACE_BUF_SIZE;
        vm->trace_len = 0;
    }
    vm->tracing = on != 0;
    fluxi_watch_gran_rebuild(vm);
    return 0;
}

/* The access log: room for ACC_CAP events, a stop ACC_SLACK before that
 * (one instruction logs a few: a copy two, a broadcast one per agent). */
#define ACC_CAP 65536u
#define ACC_SLACK 256u

int flux_vm_log_accesses(flux_vm *vm, int on) {
    if (on && !vm->acc_buf) {
        vm->acc_buf = malloc(ACC_CAP * sizeof *vm->acc_buf);
        if (!vm->acc_buf) return -1;
    }
    vm->nacc = vm->acc_lost = 0;
    vm->access_log = on != 0;
    fluxi_watch_gran_rebuild(vm);
    return 0;
}

const flux_access *flux_vm_accesses(const flux_vm *vm, size_t *n, uint32_t *lost) {
    *n = vm->nacc;
    if (lost) *lost = vm->acc_lost;
    return vm->acc_buf;
}

void flux_vm_clear_accesses(flux_vm *vm) { vm->nacc = vm->acc_lost = 0; }

int fluxi_access(flux_vm *vm, uint32_t kind, uint32_t loc, uint32_t len) {
    if (vm->nacc >= ACC_CAP) {
        vm->acc_lost++;
        return 1;
    }
    vm->acc_buf[vm->nacc++] = (flux_access){loc, len, (uint8_t)kind, (uint8_t)vm->agents[vm->cur].id, 0};
    return vm->nacc >= ACC_CAP - ACC_SLACK;
}

int fluxi_access_op(flux_vm *vm, uint32_t op) {
#define SHARED(kind, what) fluxi_access(vm, FLUX_ACC_##kind, FLUX_LOC_SHARED + FLUX_SHARED_##what, 1)
    switch (op) {
    case FLUX_OP_GOSSIP: /* reads trust and the routing table */
        return SHARED(READ, TRUST) | SHARED(READ, A2A);
    case FLUX_OP_TELL: case FLUX_OP_DELEGATE: case FLUX_OP_RELAY: case FLUX_OP_PUBLISH:
        return SHARED(READ, A2A);   /* routes, subscriptions */
    case FLUX_OP_SUBSCRIBE: case FLUX_OP_UNSUBSCRIBE: case FLUX_OP_PROPOSE: case FLUX_OP_VOTE:
    case FLUX_OP_CONSENSUS: case FLUX_OP_ROUTE:
        return SHARED(WRITE, A2A);
    case FLUX_OP_BROADCAST: case FLUX_OP_RESOURCE:
        return SHARED(READ, AGENTS);
    case FLUX_OP_DBG_PRINT: case FLUX_OP_LOG:
        return SHARED(WRITE, OUTPUT);
    case FLUX_OP_BARRIER:
        return SHARED(WRITE, BARRIER);
    case FLUX_OP_RNG_NEXT: case FLUX_OP_RNG_SEED:
        return SHARED(WRITE, RNG);
    default: break;
    }
    switch (flux_opcode_info_of((uint8_t)op)->category) {
    case FLUX_CAT_TRUST: return SHARED(WRITE, TRUST);
    case FLUX_CAT_INSTINCT: return SHARED(WRITE, INSTINCT);
    case FLUX_CAT_ENERGY: return SHARED(WRITE, ENERGY);
    default: return 0;
    }
#undef SHARED
}

const uint8_t *flux_vm_trace_data(const flux_vm *vm, size_t *len) {
    *len = vm->trace_len;
    return vm->trace_buf;
}

void flux_vm_trace_clear(flux_vm *vm) { vm->trace_len = 0; }

void flux_vm_profile_reset(flux_vm *vm) {
    if (!vm->prof_count) return;
    memset(vm->prof_count, 0, FLUX_MEM_SIZE * sizeof *vm->prof_count);
    memset(vm->prof_energy, 0, FLUX_MEM_SIZE * sizeof *vm->prof_energy);
    memset(vm->prof_hash, 0, 2 * (size_t)vm->prof_cap * sizeof *vm->prof_hash);
    vm->prof_nodes[0] = (flux_prof_node){0, 0, 0, 0};
    vm->prof_nnodes = 1;
    vm->prof_cur = 0;
    vm->prof_mark = vm->cycles;
}

int flux_vm_set_profiling(flux_vm *vm, int on) {
    if (on && !vm->prof_count) {
        vm->prof_count = calloc(FLUX_MEM_SIZE, sizeof *vm->prof_count);
        vm->prof_energy = calloc(FLUX_MEM_SIZE, sizeof *vm->prof_energy);
        vm->prof_nodes = calloc(PROF_NODES, sizeof *vm->prof_nodes);
        vm->prof_hash = calloc(2 * PROF_NODES, sizeof *vm->prof_hash);
        if (!vm->prof_count || !vm->prof_energy || !vm->prof_nodes || !vm->prof_hash) {
            free(vm->prof_count); free(vm->prof_energy); free(vm->prof_nodes); free(vm->prof_hash);
            vm->prof_count = NULL; vm->prof_energy = NULL; vm->prof_nodes = NULL; vm->prof_hash = NULL;
            return -1;
        }
        vm->prof_cap = PROF_NODES;
        flux_vm_profile_reset(vm);
    }
    vm->profiling = on != 0;
    return 0;
}

const uint64_t *flux_vm_profile_counts(const flux_vm *vm) { return vm->prof_count; }

/* Energy per address: the table's cost times the count, plus the extra. */
const uint64_t *flux_vm_profile_energy(const flux_vm *vm) {
    if (!vm->prof_energy) return NULL;
    flux_vm *mut = (flux_vm *)vm;   /* a cache of derived values, not state */
    if (!mut->prof_energy_out) mut->prof_energy_out = calloc(FLUX_MEM_SIZE, sizeof *mut->prof_energy_out);
    if (!mut->prof_energy_out) return NULL;
    const flux_opcode_info *table = flux_opcode_info_of(0);   /* all 256 entries */
    for (uint32_t a = 0; a < FLUX_MEM_SIZE; a++)
        mut->prof_energy_out[a] = vm->prof_count[a] * table[vm->mem[a]].energy + vm->prof_energy[a];
    return mut->prof_energy_out;
}

size_t flux_vm_profile_nodes(const flux_vm *vm, flux_prof_node *out, size_t max) {
    size_t n = vm->prof_nodes ? vm->prof_nnodes : 0;
    for (size_t i = 0; i < n && i < max; i++) {
        out[i] = vm->prof_nodes[i];
    }
    return n;
}

/* After an instruction retired (pc: the next one; cycles: counting it):
 * trace it, profile it, check the watch-if conditions that need every
 * instruction.  0: go on; 1: the trace buffer is full; 2: condition
 * hs->cond_id turned true. */
int fluxi_hook_step(flux_vm *vm, hook_state *hs, uint32_t pc, uint32_t sp, int64_t energy, uint64_t cycles) {
    int r = 0;
    if (vm->tracing && trace_retire(vm, hs->pc, hs->op, cycles - 1, energy)) r = 1;
    hs->pc = pc;
    hs->op = pc < FLUX_MEM_SIZE ? vm->mem[pc] : 0;
    hs->energy = energy;
    if (vm->nwcond_every) {
        flux_view v;
        flux_vm_view(vm, &v);
        v.pc = pc;
        v.sp = sp;
        v.energy = energy;
        v.cycles = cycles;
        for (uint32_t i = 0; i < vm->nwcond; i++) {
            watch_cond *w = &vm->wconds[i];
            if (!w->every) continue;
            uint8_t now = (uint8_t)flux_cond_eval_inline(&w->cond, &v);
            uint8_t was = w->last;
            w->last = now;
            if (now && !was) {
                hs->cond_id = w->id;
                if (w->once) flux_vm_remove_watch_cond(vm, w->id);
                return 2;
            }
        }
    }
    return r;
}
