/* flux_sched.c - agents and the scheduler of the FLUX runtime.
 *
 * Agents take turns on one interpreter: the running agent's registers are
 * the VM's own fields (the dispatch loop works on them), saved into its slot
 * and loaded from the next one's only when the scheduler switches
 * (fluxi_agent_save, fluxi_agent_load).  A turn ends at a chunk boundary of
 * the loop when the time slice is used up (round-robin: FLUX_DEFAULT_SLICE
 * or the configured length; chaos: lengths and choices drawn from the
 * scheduler's own generator; PCT: at the next priority change point), or
 * when the agent blocks (ASK, a full mailbox, JOIN, BARRIER) or ends;
 * flux_vm_run then calls fluxi_sched_turn.  All of
 * this is machine state: checkpoints and re-execution reproduce every
 * interleaving.  docs/ISA.md section 1.11.
 */
#include "flux_vm_internal.h"

#include <stdio.h>

/* PCT's state afresh: under PCT, agent 1's priority, then the depth - 1
 * change points, drawn in that order from the scheduler's generator (which
 * must be freshly seeded); all zeros under the other schedulers. */
static void pct_start(flux_vm *vm) {
    vm->pct_depth = vm->pct_next = 0;
    memset(vm->pct_at, 0, sizeof vm->pct_at);
    memset(vm->pct_low, 0, sizeof vm->pct_low);
    memset(vm->prio, 0, sizeof vm->prio);
    if (vm->sched != FLUX_SCHED_PCT) return;
    uint32_t d = vm->pct_depth_cfg;
    vm->pct_depth = d;
    vm->prio[FIRST_AGENT] = fluxi_pct_priority(vm);
    /* change point i (1..d-1) gives priority i, as in the paper: drawn in
     * that order, then sorted by when they come */
    for (uint32_t i = 0; i + 1 < d; i++) {
        uint64_t at = 1 + splitmix64(&vm->sched_rng) % vm->pct_steps_cfg;
        uint32_t j = i;
        while (j > 0 && vm->pct_at[j - 1] > at) {
            vm->pct_at[j] = vm->pct_at[j - 1];
            vm->pct_low[j] = vm->pct_low[j - 1];
            j--;
        }
        vm->pct_at[j] = at;
        vm->pct_low[j] = i + 1;
    }
}

/* A starting priority: above every change point's (2^40 up), random. */
int64_t fluxi_pct_priority(flux_vm *vm) { return (int64_t)(1ull << 40) + (int64_t)(splitmix64(&vm->sched_rng) >> 32); }

/* YIELD and SLEEP under PCT: the running agent below every other live one. */
void fluxi_pct_yield(flux_vm *vm) {
    uint32_t me = vm->agents[vm->cur].id;
    int64_t low = vm->prio[me];
    for (uint32_t k = 0; k < FLUX_MAX_AGENTS; k++) {
        const agent *a = &vm->agents[k];
        if (slot_live(a) && a->id != me && vm->prio[a->id] <= low) low = vm->prio[a->id] - 1;
    }
    vm->prio[me] = low;
}

/* Agent 1 alone, with the whole stack region (so that a program that never
 * spawns runs exactly as on a single-agent machine); the scheduler afresh. */
void fluxi_sched_reset(flux_vm *vm) {
    memset(vm->agents, 0, sizeof vm->agents);
    memset(vm->id_state, 0, sizeof vm->id_state);
    memset(vm->id_exit, 0, sizeof vm->id_exit);
    vm->agents[0].id = FIRST_AGENT;
    vm->agents[0].state = FLUX_AGENT_RUNNABLE;
    vm->agents[0].stack_lo = FLUX_STACK_LIMIT;
    vm->agents[0].stack_hi = FLUX_STACK_TOP;
    vm->id_state[FIRST_AGENT] = 1;
    vm->stack_lo = FLUX_STACK_LIMIT;
    vm->stack_hi = FLUX_STACK_TOP;
    vm->cur = 0;
    vm->nlive = 1;
    vm->next_id = FIRST_AGENT + 1;
    vm->sched = vm->sched_cfg;
    vm->slice = vm->slice_cfg ? vm->slice_cfg : FLUX_DEFAULT_SLICE;
    /* its own stream, so that RNG_NEXT draws the same values under any schedule */
    vm->sched_rng = vm->seed ^ 0x5CED5CED5CED5CEDull;
    vm->slice_start = vm->slice_end = 0;
    vm->barrier_gen = 0;
    vm->agent_budget = vm->energy_budget;
    pct_start(vm);
}

void fluxi_agent_save(flux_vm *vm, uint32_t slot) {
    agent *a = &vm->agents[slot];
#define SAVE_ARRAY(f) memcpy(a->f, vm->f, sizeof a->f);
#define SAVE_SCALAR(f) a->f = vm->f;
    AGENT_ARRAYS(SAVE_ARRAY)
    AGENT_SCALARS(SAVE_SCALAR)
#undef SAVE_ARRAY
#undef SAVE_SCALAR
}

void fluxi_agent_load(flux_vm *vm, uint32_t slot) {
    const agent *a = &vm->agents[slot];
#define LOAD_ARRAY(f) memcpy(vm->f, a->f, sizeof vm->f);
#define LOAD_SCALAR(f) vm->f = a->f;
    AGENT_ARRAYS(LOAD_ARRAY)
    AGENT_SCALARS(LOAD_SCALAR)
#undef LOAD_ARRAY
#undef LOAD_SCALAR
    vm->cur = slot;
}

/* The slot of live agent `id`, or -1. */
COLD int fluxi_slot_of(const flux_vm *vm, uint32_t id) {
    if (id == 0 || id >= FLUX_NUM_AGENTS || vm->id_state[id] != 1) return -1;
    for (uint32_t k = 0; k < FLUX_MAX_AGENTS; k++)
        if (vm->agents[k].id == id && slot_live(&vm->agents[k])) return (int)k;
    return -1;
}

static int mailbox_has(const agent *a, uint32_t from) {
    for (uint32_t k = 0; k < a->mail_count; k++)
        if (from == 0 || a->mailbox[(a->mail_head + k) % MAILBOX_CAP].from == from) return 1;
    return 0;
}

/* Whether the scheduler may run agent `a`: runnable, or blocked on something
 * that has come (it then runs its blocking instruction again). */
static COLD int agent_ready(const flux_vm *vm, const agent *a) {
    if (!slot_live(a)) return 0;
    switch (a->state) {
    case FLUX_AGENT_RUNNABLE: return 1;
    case FLUX_AGENT_BLOCKED_ASK: return mailbox_has(a, a->wait_on);
    case FLUX_AGENT_BLOCKED_SEND: {
        int t = fluxi_slot_of(vm, a->wait_on);
        /* an ended receiver: the send runs again and faults */
        return t < 0 || vm->agents[t].mail_count < MAILBOX_CAP;
    }
    case FLUX_AGENT_BLOCKED_JOIN: return vm->id_state[a->wait_on] != 1;
    case FLUX_AGENT_BLOCKED_BARRIER: return a->barrier_gen != vm->barrier_gen;
    default: return 0;
    }
}

/* A barrier opens when every live agent waits in it. */
COLD void fluxi_barrier_check(flux_vm *vm) {
    uint32_t waiting = 0;
    for (uint32_t k = 0; k < FLUX_MAX_AGENTS; k++) {
        const agent *a = &vm->agents[k];
        if (!slot_live(a)) continue;
        if (a->state != FLUX_AGENT_BLOCKED_BARRIER || a->barrier_gen != vm->barrier_gen) return;
        waiting++;
    }
    if (waiting) vm->barrier_gen++;
}

/* The length of the next time slice, from global cycle `now` on. */
COLD uint64_t fluxi_slice_length(flux_vm *vm, uint64_t now) {
    uint64_t max = vm->slice ? vm->slice : 1;
    if (vm->sched == FLUX_SCHED_PCT) {
        /* up to the next change point */
        if (vm->pct_next + 1 < vm->pct_depth && vm->pct_at[vm->pct_next] > now && vm->pct_at[vm->pct_next] - now < max)
            return vm->pct_at[vm->pct_next] - now;
        return max;
    }
    if (vm->sched != FLUX_SCHED_CHAOS) return max;
    /* log-uniform: short slices (tight interleavings) as often as long ones */
    uint64_t x = splitmix64(&vm->sched_rng);
    uint64_t cap = 1ull << (x % 14);
    if (cap > max) cap = max;
    return 1 + (x >> 8) % cap;
}

/* Ends the agent in `slot` with `code`: its JOINers may go on. */
COLD void fluxi_agent_end(flux_vm *vm, uint32_t slot, int32_t code) {
    agent *a = &vm->agents[slot];
    if (vm->access_log) {
        /* by the agent itself or its killer: its mailbox goes, JOINers may go on */
        fluxi_access(vm, FLUX_ACC_WRITE, FLUX_LOC_AGENT + a->id, 1);
        fluxi_access(vm, FLUX_ACC_WRITE, FLUX_LOC_MAILBOX + a->id, 1);
        fluxi_access(vm, FLUX_ACC_WRITE, FLUX_LOC_SHARED + FLUX_SHARED_AGENTS, 1);
    }
    a->state = FLUX_AGENT_ENDED;
    a->exit_code = code;
    a->mail_count = 0;
    vm->id_state[a->id] = 2;
    vm->id_exit[a->id] = (uint8_t)code;
    vm->nlive--;
}

/* Picks who runs from global cycle `now` on: 1 when somebody can, 0 when
 * every live agent is blocked (a deadlock).  The VM's fields hold the running
 * agent's registers on entry and the chosen one's on return. */
static COLD int sched_next(flux_vm *vm, uint64_t now) {
    fluxi_barrier_check(vm);
    agent *cur = &vm->agents[vm->cur];
    int cur_ready = agent_ready(vm, cur);
    int pick = -1;
    if (vm->sched == FLUX_SCHED_CHAOS) {
        uint32_t cand[FLUX_MAX_AGENTS], n = 0;
        for (uint32_t k = 0; k < FLUX_MAX_AGENTS; k++)
            if (agent_ready(vm, &vm->agents[k])) cand[n++] = k;
        if (n) pick = (int)cand[splitmix64(&vm->sched_rng) % n];
    } else if (vm->sched == FLUX_SCHED_PCT) {
        /* the change points reached lower the priority of the agent that
         * reached them (the one that ran up to now) */
        while (vm->pct_next + 1 < vm->pct_depth && vm->pct_at[vm->pct_next] <= now)
            vm->prio[cur->id] = vm->pct_low[vm->pct_next++];
        /* the ready agent of highest priority (ties: the lowest id) */
        for (uint32_t k = 0; k < FLUX_MAX_AGENTS; k++) {
            const agent *a = &vm->agents[k];
            if (!agent_ready(vm, a)) continue;
            if (pick < 0 || vm->prio[a->id] > vm->prio[vm->agents[pick].id] ||
                (vm->prio[a->id] == vm->prio[vm->agents[pick].id] && a->id < vm->agents[pick].id))
                pick = (int)k;
        }
    } else {
        /* the next ready agent after the running one in id order, wrapping */
        uint32_t best = UINT32_MAX, first = UINT32_MAX;
        int best_k = -1, first_k = -1;
        for (uint32_t k = 0; k < FLUX_MAX_AGENTS; k++) {
            const agent *a = &vm->agents[k];
            if (k == vm->cur || !agent_ready(vm, a)) continue;
            if (a->id > cur->id && a->id < best) { best = a->id; best_k = (int)k; }
            if (a->id < first) { first = a->id; first_k = (int)k; }
        }
        pick = best_k >= 0 ? best_k : first_k;
        if (pick < 0 && cur_ready) pick = (int)vm->cur;
    }
    if (pick < 0) return 0;
    uint64_t len = fluxi_slice_length(vm, now);
    if (slot_live(cur)) cur->retired += now - vm->slice_start;
    if ((uint32_t)pick != vm->cur) {
        uint32_t from = cur->id;
        if (slot_live(cur)) fluxi_agent_save(vm, vm->cur);
        fluxi_agent_load(vm, (uint32_t)pick);
        if (vm->log_inputs)
            log_input(vm, now, vm->pc, FLUX_INPUT_SCHED, vm->agents[pick].id | (uint64_t)(from & 0xFF) << 8 | len << 32);
    }
    vm->slice_start = now;
    vm->slice_end = now + len;
    return 1;
}

static const char *const AGENT_STATE_VERBS[] = {"runs", "waits in ASK", "waits to send", "waits in JOIN", "waits in BARRIER", "ended"};

/* One line on the running agent's wait, for the deadlock fault. */
static COLD void deadlock_reason(const flux_vm *vm, flux_stop *st) {
    const agent *a = &vm->agents[vm->cur];
    const char *m = flux_opcode_info_of((uint8_t)a->wait_op)->mnemonic;
    if (!m) m = "?";
    uint32_t blocked = 0;
    for (uint32_t k = 0; k < FLUX_MAX_AGENTS; k++) blocked += slot_live(&vm->agents[k]);
    char more[48] = "";
    if (blocked > 1) snprintf(more, sizeof more, " (all %u agents blocked)", blocked);
    switch (a->state) {
    case FLUX_AGENT_BLOCKED_ASK:
        if (a->wait_on)
            snprintf(st->reason, sizeof st->reason, "deadlock: agent %u waits in %s at 0x%04X for a message from agent %u%s",
                     a->id, m, vm->pc, a->wait_on, more);
        else
            snprintf(st->reason, sizeof st->reason, "deadlock: agent %u waits in %s at 0x%04X for a message from anyone%s",
                     a->id, m, vm->pc, more);
        break;
    case FLUX_AGENT_BLOCKED_SEND:
        snprintf(st->reason, sizeof st->reason, "deadlock: agent %u waits in %s at 0x%04X on the full mailbox of agent %u%s",
                 a->id, m, vm->pc, a->wait_on, more);
        break;
    case FLUX_AGENT_BLOCKED_JOIN:
        snprintf(st->reason, sizeof st->reason, "deadlock: agent %u waits in JOIN at 0x%04X for agent %u to end%s",
                 a->id, vm->pc, a->wait_on, more);
        break;
    default:
        snprintf(st->reason, sizeof st->reason, "deadlock: agent %u %s at 0x%04X%s", a->id,
                 AGENT_STATE_VERBS[a->state < 6 ? a->state : 0], vm->pc, more);
    }
}

/* At a chunk boundary (global cycle `now`, the VM's fields in sync with the
 * loop): whether the running agent goes on (TURN_SAME), another one (or it
 * again) runs now (TURN_SWITCHED; TURN_RETRY when it goes on with the
 * instruction it blocked in), or the run stops (TURN_STOP: *st says why). */
COLD int fluxi_sched_turn(flux_vm *vm, uint64_t now, flux_stop *st) {
    agent *ca = &vm->agents[vm->cur];
    /* PCT chooses again at every turn boundary (a SPAWN or a message may
     * have made an agent of higher priority ready) */
    if (ca->state == FLUX_AGENT_RUNNABLE ? (int64_t)(vm->slice_end - now) > 0 && (vm->sched != FLUX_SCHED_PCT || vm->sched_locked)
                                         : ca->retry)
        return TURN_SAME;
    if (vm->sched_locked) {
        /* gdb's scheduler-locking: only this agent may run */
        if (ca->state != FLUX_AGENT_RUNNABLE && !agent_ready(vm, ca)) {
            st->kind = FLUX_STOP_BLOCKED;
            return TURN_STOP;
        }
        if ((int64_t)(vm->slice_end - now) <= 0 && vm->nlive > 1) {
            vm->slice_end = now + fluxi_slice_length(vm, now);
            vm->lock_deviated = 1;
        }
    } else if (!sched_next(vm, now)) {
        if (!slot_live(ca)) {
            /* the agent that just ended leaves the others waiting: report
             * the deadlock on the first of them */
            uint32_t k = 0;
            while (k + 1 < FLUX_MAX_AGENTS && !slot_live(&vm->agents[k])) k++;
            fluxi_agent_load(vm, k);
        }
        deadlock_reason(vm, st);
        st->signal = FLUX_SIGABRT;
        st->kind = FLUX_STOP_FAULT;
        return TURN_STOP;
    }
    ca = &vm->agents[vm->cur];
    if (ca->state != FLUX_AGENT_RUNNABLE) {
        /* it runs the instruction it blocked in again (what it waited for
         * has come); the stop map was checked at that pc already */
        ca->retry = 1;
        vm->resume_pc = vm->pc;
        return TURN_RETRY;
    }
    return TURN_SWITCHED;
}

void flux_vm_set_schedule(flux_vm *vm, uint32_t kind, uint32_t slice) {
    vm->sched_cfg = kind == FLUX_SCHED_CHAOS ? FLUX_SCHED_CHAOS : FLUX_SCHED_ROUND_ROBIN;
    vm->slice_cfg = slice ? slice : FLUX_DEFAULT_SLICE;
    vm->sched = vm->sched_cfg;
    vm->slice = vm->slice_cfg;
    vm->sched_rng = vm->seed ^ 0x5CED5CED5CED5CEDull;
    pct_start(vm);
}

int flux_vm_set_pct(flux_vm *vm, uint32_t slice, uint32_t depth, uint64_t steps) {
    if (depth < 1 || depth > FLUX_PCT_MAX_DEPTH || steps < 1) return -1;
    vm->pct_depth_cfg = depth;
    vm->pct_steps_cfg = steps;
    flux_vm_set_schedule(vm, FLUX_SCHED_ROUND_ROBIN, slice);
    vm->sched = vm->sched_cfg = FLUX_SCHED_PCT;
    pct_start(vm);
    return 0;
}

uint32_t flux_vm_current_agent(const flux_vm *vm) { return vm->agents[vm->cur].id; }
uint32_t flux_vm_next_agent_id(const flux_vm *vm) { return vm->next_id; }

static void agent_info(const flux_vm *vm, uint32_t k, flux_agent_info *o) {
    const agent *a = &vm->agents[k];
    int running = k == vm->cur;
    o->id = a->id;
    o->state = a->state;
    o->wait_on = a->wait_on;
    o->wait_op = a->wait_op;
    o->pc = running ? vm->pc : a->pc;
    o->mailbox = a->mail_count;
    o->energy = running ? vm->energy : a->energy;
    o->retired = a->retired + (running ? vm->cycles - vm->slice_start : 0);
    o->stack_lo = running ? vm->stack_lo : a->stack_lo;
    o->stack_hi = running ? vm->stack_hi : a->stack_hi;
    o->running = (uint32_t)running;
    o->exit_code = a->exit_code;
}

size_t flux_vm_agents(const flux_vm *vm, flux_agent_info *out, size_t max) {
    size_t n = 0;
    for (uint32_t id = 1; id < FLUX_NUM_AGENTS; id++) {
        /* most ids have no agent: that test before the (out of line) lookup,
         * which otherwise made a gdb stop pay 255 calls per agent list */
        if (vm->id_state[id] != 1) continue;
        int k = fluxi_slot_of(vm, id);
        if (k < 0) continue;
        if (n < max) agent_info(vm, (uint32_t)k, &out[n]);
        n++;
    }
    return n;
}

int flux_vm_agent_regs(const flux_vm *vm, uint32_t id, flux_regs *out) {
    int k = fluxi_slot_of(vm, id);
    if (k < 0) return -1;
    if ((uint32_t)k == vm->cur) {
        flux_vm_get_regs(vm, out);
        return 0;
    }
    const agent *a = &vm->agents[k];
    memcpy(out->r, a->r, sizeof out->r);
    memcpy(out->conf, a->conf, sizeof out->conf);
    out->pc = a->pc;
    out->sp = a->sp;
    out->fp = a->fp;
    switch (a->fl_kind) {   /* as flags_now, on the saved lazy-flag fields */
    case FL_ZS: out->flags = zs_flags(a->fl_res); break;
    case FL_ADD: out->flags = add_flags(a->fl_x, a->fl_y, a->fl_res); break;
    case FL_SUB: out->flags = sub_flags(a->fl_x, a->fl_y, a->fl_res); break;
    default: out->flags = a->flags;
    }
    out->energy = a->energy;
    out->cycles = vm->cycles;   /* the machine's clock, shared */
    return 0;
}

int flux_vm_set_agent_regs(flux_vm *vm, uint32_t id, const flux_regs *in) {
    int k = fluxi_slot_of(vm, id);
    if (k < 0) return -1;
    agent *a = &vm->agents[k];
    uint32_t old_pc = (uint32_t)k == vm->cur ? vm->pc : a->pc;
    if (in->pc != old_pc && a->state != FLUX_AGENT_RUNNABLE) {
        /* moved off its blocking instruction: it no longer waits */
        a->state = FLUX_AGENT_RUNNABLE;
        a->retry = 0;
    }
    if ((uint32_t)k == vm->cur) {
        flux_vm_set_regs(vm, in);
        return 0;
    }
    memcpy(a->r, in->r, sizeof a->r);
    for (unsigned i = 0; i < FLUX_NUM_REGS; i++) a->conf[i] = clamp01(in->conf[i]);
    a->pc = in->pc;
    a->sp = in->sp;
    a->fp = in->fp;
    a->flags = in->flags & (FLUX_FLAG_C | FLUX_FLAG_Z | FLUX_FLAG_S | FLUX_FLAG_O);
    a->fl_kind = FL_DONE;
    a->energy = in->energy < 0 ? 0 : in->energy;
    vm->cycles = in->cycles;
    return 0;
}

size_t flux_vm_mailbox(const flux_vm *vm, uint32_t id, flux_message *out, size_t max) {
    int k = fluxi_slot_of(vm, id);
    if (k < 0) return 0;
    const agent *a = &vm->agents[k];
    for (uint32_t i = 0; i < a->mail_count && i < max; i++) {
        const message *m = &a->mailbox[(a->mail_head + i) % MAILBOX_CAP];
        out[i] = (flux_message){m->value, m->conf, m->from};
    }
    return a->mail_count;
}

int flux_vm_select_agent(flux_vm *vm, uint32_t id) {
    int k = fluxi_slot_of(vm, id);
    if (k < 0) return -1;
    if ((uint32_t)k == vm->cur) return 0;
    agent *cur = &vm->agents[vm->cur];
    cur->retired += vm->cycles - vm->slice_start;
    fluxi_agent_save(vm, vm->cur);
    fluxi_agent_load(vm, (uint32_t)k);
    vm->slice_start = vm->cycles;
    vm->slice_end = vm->cycles + fluxi_slice_length(vm, vm->cycles);
    vm->resume_pc = UINT32_MAX;
    return 1;
}

int flux_vm_lock_scheduler(flux_vm *vm, int on) {
    int deviated = vm->lock_deviated;
    vm->sched_locked = on != 0;
    vm->lock_deviated = 0;
    return deviated;
}

int fluxi_mailbox_take(agent *a, uint32_t from, message *out) {
    for (uint32_t k = 0; k < a->mail_count; k++) {
        uint32_t idx = (a->mail_head + k) % MAILBOX_CAP;
        if (from == 0 || a->mailbox[idx].from == from) {
            *out = a->mailbox[idx];
            /* close the gap, keeping the order of the rest */
            for (uint32_t j = k; j + 1 < a->mail_count; j++)
                a->mailbox[(a->mail_head + j) % MAILBOX_CAP] =
                    a->mailbox[(a->mail_head + j + 1) % MAILBOX_CAP];
            a->mail_count--;
            return 1;
        }
    }
    return 0;
}
