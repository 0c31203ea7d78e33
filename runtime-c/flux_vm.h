/* flux_vm.h - the public interface of the FLUX runtime (flux-runtime-c).
 *
 * A flux_vm is an opaque handle: no global state, so a process may run any
 * number of VMs.  The interpreter never reads or writes outside the VM's own
 * buffers, whatever bytes it is given, and is deterministic given the program,
 * the seed and the energy budget (no wall clock, no ambient randomness).
 *
 * flux_vm_run() executes in one tight loop until something worth reporting
 * happens (flux_stop_kind lists them all): a breakpoint (a bit in a 64 Ki-bit
 * map, never a patched byte) or a conditional one whose condition holds, a
 * watched memory access or watch-if condition, BRK, HALT, a fault, the end
 * of the program, an output or trace buffer to drain, an interrupt, or the
 * instruction budget the caller gave it running out.
 *
 * The opcode table is runtime-c/flux_opcodes.h; struct flux_vm itself is
 * defined in flux_vm_internal.h, for the runtime's own files only.
 */
#ifndef FLUX_VM_H
#define FLUX_VM_H

#include <stddef.h>
#include <stdint.h>

#include "flux_opcodes.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the machine ------------------------------------------------------ */

#define FLUX_MEM_SIZE 0x10000u       /* 64 KiB flat, little-endian           */
#define FLUX_NUM_REGS 16u            /* r0-r15, each with a confidence       */
#define FLUX_STACK_TOP 0x10000u      /* sp at reset; grows down, 4-byte slots */
#define FLUX_STACK_LIMIT 0xC000u     /* lowest address the stack may use     */
#define FLUX_IVT_BASE 0xBE00u        /* SWI handler table: 256 x u16         */
#define FLUX_NUM_AGENTS 256u         /* trust table entries (agent ids 0-255)*/
#define FLUX_MAX_WATCHPOINTS 64u
#define FLUX_MAX_COND_BREAKPOINTS 64u
#define FLUX_MAX_WATCH_CONDS 16u
#define FLUX_OUTPUT_CAP 4096u
#define FLUX_DEFAULT_ENERGY 1000000000LL
#define FLUX_PAGE_SIZE 256u          /* the unit of memory checkpoints copy  */
#define FLUX_PAGES (FLUX_MEM_SIZE / FLUX_PAGE_SIZE)
#define FLUX_LINE_SIZE 16u           /* the unit of the finer write marks    */
#define FLUX_LINES (FLUX_MEM_SIZE / FLUX_LINE_SIZE)
#define FLUX_INPUT_LOG 65536u        /* input events kept between drains     */
#define FLUX_MAX_AGENTS 8u           /* agents alive at once (agent 1 included) */
#define FLUX_AGENT_STACK 0x800u      /* stack bytes of each spawned agent (512 slots) */
#define FLUX_MAILBOX_CAP 16u         /* messages an agent's mailbox holds     */
#define FLUX_DEFAULT_SLICE 10000u    /* instructions per time slice (round-robin) */

/* Flags live at the bit positions x86 uses in eflags, so the gdb carrier
 * description shows them without translation. */
#define FLUX_FLAG_C (1u << 0)
#define FLUX_FLAG_Z (1u << 6)
#define FLUX_FLAG_S (1u << 7)
#define FLUX_FLAG_O (1u << 11)

/* ---- the opcode table --------------------------------------------------- */

typedef enum flux_mode {
#define FLUX_X_MODE(name, bytes) FLUX_MODE_##name,
    FLUX_MODE_TABLE(FLUX_X_MODE)
#undef FLUX_X_MODE
    FLUX_MODE_COUNT
} flux_mode;

typedef enum flux_category {
    FLUX_CAT_CONTROL, FLUX_CAT_ARITH, FLUX_CAT_MEMORY, FLUX_CAT_STACK,
    FLUX_CAT_COMPARE, FLUX_CAT_CONFIDENCE, FLUX_CAT_TRUST, FLUX_CAT_A2A,
    FLUX_CAT_INSTINCT, FLUX_CAT_ENERGY, FLUX_CAT_SYSTEM, FLUX_CAT_CRYPTO,
    FLUX_CAT_VECTOR, FLUX_CAT_COUNT
} flux_category;

enum flux_opcode {
#define FLUX_X_ENUM(code, name, mode, cat, cost, impl, flow, stack) FLUX_OP_##name = code,
    FLUX_OPCODE_TABLE(FLUX_X_ENUM)
#undef FLUX_X_ENUM
};

/* How many opcodes the table has: one `+ 1` per row. */
enum {
#define FLUX_X_COUNT(code, name, mode, cat, cost, impl, flow, stack) + 1
    FLUX_OPCODE_COUNT = 0 FLUX_OPCODE_TABLE(FLUX_X_COUNT)
#undef FLUX_X_COUNT
};

/* The FLOW column (flux_opcodes.h says what each kind means). */
typedef enum flux_flow {
    FLUX_FLOW_NEXT, FLUX_FLOW_JUMP, FLUX_FLOW_BRANCH, FLUX_FLOW_CALL,
    FLUX_FLOW_RETURN, FLUX_FLOW_END, FLUX_FLOW_TRAP, FLUX_FLOW_COUNT
} flux_flow;

typedef struct flux_opcode_info {
    const char *mnemonic;   /* NULL for bytes that are not opcodes (FLUX_OPCODE_COUNT-0xFF) */
    uint8_t mode;           /* flux_mode */
    uint8_t operand_bytes;  /* bytes after the opcode byte, from the mode */
    uint8_t category;       /* flux_category */
    uint8_t energy;         /* base energy cost */
    uint8_t implemented;
    uint8_t flow;           /* flux_flow */
    int8_t stack;           /* bytes pushed minus popped; FLUX_STACK_VAR: varies */
} flux_opcode_info;

/* The entry for byte `code`; its mnemonic is NULL when `code` is no opcode. */
const flux_opcode_info *flux_opcode_info_of(uint8_t code);
const char *flux_mode_name(uint8_t mode);
const char *flux_category_name(uint8_t category);
const char *flux_flow_name(uint8_t flow);   /* "next", "jump", ... "trap" */
uint8_t flux_mode_operand_bytes(uint8_t mode);

/* ---- stops ------------------------------------------------------------ */

typedef enum flux_stop_kind {
    FLUX_STOP_BUDGET = 0,    /* the instruction budget ran out (a step)       */
    FLUX_STOP_BREAKPOINT,    /* pc is on a breakpoint; the instruction has not run */
    FLUX_STOP_WATCHPOINT,    /* the last instruction touched watched memory   */
    FLUX_STOP_BRK,           /* BRK ran; pc is after it                       */
    FLUX_STOP_OUTPUT,        /* the output buffer is nearly full: drain it and go on */
    FLUX_STOP_HALTED,        /* HALT ran: exit_code holds r0 & 0xFF           */
    FLUX_STOP_FAULT,         /* signal holds the fault; pc is the faulting instruction */
    FLUX_STOP_TERMINATED,    /* the program was ended by signal (APOPTOSIS, or
                                going on after energy ran out)                */
    FLUX_STOP_COND_BREAKPOINT, /* a stub-side breakpoint (cond_id) fired at pc; the
                                  instruction has not run                     */
    FLUX_STOP_WATCH_COND,    /* a watch-if condition (cond_id) turned true after
                                the last instruction                          */
    FLUX_STOP_TRUST_FAIL,    /* break-on trust-fail: the last instruction was a
                                TRUST_CHECK that failed                       */
    FLUX_STOP_TRACE_FULL,    /* the trace buffer, the access log or the profile events nearly full: take them and go on */
    FLUX_STOP_BLOCKED        /* the scheduler is locked (flux_vm_lock_scheduler) and
                                the running agent blocked: pc is the blocking
                                instruction, which has not run */
} flux_stop_kind;

/* Signal numbers as gdb's remote protocol and Linux both number them. */
#define FLUX_SIGILL 4
#define FLUX_SIGTRAP 5
#define FLUX_SIGABRT 6
#define FLUX_SIGFPE 8
#define FLUX_SIGSEGV 11
#define FLUX_SIGXCPU 24

typedef enum flux_watch_kind {
    FLUX_WATCH_WRITE = 1, FLUX_WATCH_READ = 2, FLUX_WATCH_ACCESS = 3
} flux_watch_kind;

typedef struct flux_stop {
    uint32_t kind;         /* flux_stop_kind */
    int32_t signal;        /* FLUX_SIG*, 0 when none */
    uint32_t pc;           /* pc after the stop */
    int32_t exit_code;     /* FLUX_STOP_HALTED */
    uint32_t watch_addr;   /* FLUX_STOP_WATCHPOINT: the first watched byte touched */
    uint32_t watch_kind;   /* flux_watch_kind of that access (WRITE or READ) */
    uint32_t watch_index;  /* which watchpoint */
    uint64_t executed;     /* instructions retired by this call */
    uint32_t cond_id;      /* FLUX_STOP_COND_BREAKPOINT, FLUX_STOP_WATCH_COND */
    uint32_t agent;        /* the agent running at the stop: the one that hit the
                              breakpoint, faulted, or ran the last instruction */
    char reason[128];      /* one line, for faults and terminations */
} flux_stop;

/* ---- registers -------------------------------------------------------- */

typedef struct flux_regs {
    int32_t r[FLUX_NUM_REGS];
    float conf[FLUX_NUM_REGS];
    uint32_t pc;
    uint32_t sp;
    uint32_t fp;
    uint32_t flags;        /* FLUX_FLAG_* */
    int64_t energy;
    uint64_t cycles;
} flux_regs;

/* ---- conditions ------------------------------------------------------------ */

/* The compiled form of the condition language (src/condition.rs parses it):
 * comparisons joined by AND within a group, groups joined by OR.  One
 * evaluator, flux_cond_eval, serves the VM (stub-side breakpoints and
 * watch-if, checked inside the dispatch loop) and the library (snapshots). */
#define FLUX_COND_MAX 16

typedef enum flux_operand_kind {
    FLUX_OPND_REG, FLUX_OPND_CONF, FLUX_OPND_ENERGY, FLUX_OPND_CYCLES, FLUX_OPND_PC,
    FLUX_OPND_SP, FLUX_OPND_LAST_CONF, FLUX_OPND_MEM8, FLUX_OPND_MEM16, FLUX_OPND_MEM32,
    FLUX_OPND_TRUST
} flux_operand_kind;

typedef enum flux_cmp_op {
    FLUX_CMP_EQ, FLUX_CMP_NE, FLUX_CMP_LT, FLUX_CMP_LE, FLUX_CMP_GT, FLUX_CMP_GE
} flux_cmp_op;

typedef struct flux_cmp {
    uint8_t operand;     /* flux_operand_kind */
    uint8_t op;          /* flux_cmp_op */
    uint8_t group_end;   /* 1: the last comparison of its AND group */
    uint8_t reserved;
    uint32_t index;      /* register number, address or agent id */
    int64_t ivalue;      /* for integer operands */
    float fvalue;        /* for confidences and trust */
} flux_cmp;

typedef struct flux_cond {
    uint32_t n;
    flux_cmp cmp[FLUX_COND_MAX];
} flux_cond;

/* The machine state a condition reads: a VM's own, or a snapshot.  Pointers
 * may be NULL (a snapshot without memory): comparisons on them are false. */
typedef struct flux_view {
    const int32_t *r;        /* FLUX_NUM_REGS */
    const float *conf;       /* FLUX_NUM_REGS */
    const uint8_t *mem;
    uint32_t mem_len;
    const float *trust;      /* FLUX_NUM_AGENTS */
    uint32_t pc, sp;
    int64_t energy;
    uint64_t cycles;
    float last_conf;         /* the confidence of the last result */
    uint32_t fp, flags;      /* for agent expressions (ebp, eflags) */
} flux_view;

/* 1 when the condition holds, 0 when not (an empty condition holds). */
int flux_cond_eval(const flux_cond *cond, const flux_view *view);

/* ---- agent expressions ------------------------------------------------------ */

/* gdb's bytecode (the "Agent Expressions" appendix of the gdb manual), as gdb
 * sends breakpoint conditions (Z0/Z1 with ConditionalBreakpoints+) and
 * agent-style dprintf commands.  Values are 64-bit; `reg N` reads the
 * registers of the carrier description (src/gdb/target.xml), zero-extended
 * as gdbserver does: 4 esp = sp, 5 ebp = fp, 8 eip = pc, 9 eflags = flags,
 * 32-47 r0-r15, 48-63 conf0-conf15 (their IEEE single bits), 64 energy,
 * 65 cycles; the other i386 registers are unavailable.  ref8/16/32/64 read
 * memory (little-endian).  Evaluation is bounded: FLUX_AX_STACK values,
 * FLUX_AX_MAX_STEPS bytecodes. */
#define FLUX_AX_MAX_LEN 2048u
#define FLUX_AX_STACK 64u
#define FLUX_AX_MAX_STEPS 4096u
#define FLUX_AX_POOL 32768u        /* bytes of bytecode all breakpoints hold at once */
#define FLUX_AX_OUT_CAP 8192u      /* dprintf text not yet taken by the host */
#define FLUX_AX_LINE_MAX 1024u     /* at most this much text from one printf */

typedef enum flux_ax_status {
    FLUX_AX_OK = 0,
    FLUX_AX_EMPTY,          /* no bytecode, or too long (check) */
    FLUX_AX_BAD_OPCODE,     /* a byte that is no agent-expression opcode (check) */
    FLUX_AX_TRUNCATED,      /* an operand runs past the end (check) */
    FLUX_AX_BAD_JUMP,       /* goto/if_goto outside the expression or into an operand (check) */
    FLUX_AX_BAD_FORMAT,     /* printf's format string is not NUL-terminated (check) */
    FLUX_AX_NO_END,         /* ran off the end without `end` */
    FLUX_AX_STACK_OVERFLOW,
    FLUX_AX_STACK_UNDERFLOW,
    FLUX_AX_STEP_LIMIT,     /* more than FLUX_AX_MAX_STEPS bytecodes ran */
    FLUX_AX_BAD_REGISTER,   /* `reg` of a register the VM does not have */
    FLUX_AX_BAD_MEMORY,     /* a ref outside memory (addr holds the address) */
    FLUX_AX_DIV_ZERO,
    FLUX_AX_UNSUPPORTED     /* an opcode this evaluator does not run (floats, trace, state variables, printf in a condition) */
} flux_ax_status;

typedef struct flux_ax_result {
    uint32_t status;        /* flux_ax_status */
    uint32_t at;            /* offset of the bytecode at fault */
    uint64_t value;         /* FLUX_AX_OK: the value `end` returned */
    uint64_t addr;          /* FLUX_AX_BAD_MEMORY: the address; FLUX_AX_BAD_REGISTER: the register */
} flux_ax_result;

/* Checks bytecode before it is armed: every byte is an opcode with its
 * operands inside the expression, every jump lands on an opcode.
 * allow_printf: commands may hold printf, conditions not. */
flux_ax_result flux_ax_check(const uint8_t *code, uint32_t len, int allow_printf);

/* Evaluates an expression on a view (printf is FLUX_AX_UNSUPPORTED here). */
flux_ax_result flux_ax_eval(const uint8_t *code, uint32_t len, const flux_view *view);

/* ---- the VM ------------------------------------------------------------- */

typedef struct flux_vm flux_vm;

typedef struct flux_config {
    int64_t energy;        /* budget at reset; FLUX_DEFAULT_ENERGY when 0 is not meant */
    uint64_t seed;         /* RNG seed at reset */
} flux_config;

flux_vm *flux_vm_new(const flux_config *config);
void flux_vm_free(flux_vm *vm);

/* Copies `len` bytes of program to address 0 and resets.  Returns 0, or -1
 * when the program does not fit in memory (nothing changes then). */
int flux_vm_load(flux_vm *vm, const uint8_t *program, size_t len);

/* Back to the state right after load: memory, registers, energy, RNG, trust,
 * the FLUX state, output and the input log are reset, agent 1 runs alone
 * with the scheduler afresh, and every page counts as written; breakpoints,
 * watchpoints, conditions, the schedule chosen, tracing and profiling stay. */
void flux_vm_reset(flux_vm *vm);

/* Runs at most `budget` instructions.  When the last run stopped at a
 * breakpoint (or conditional breakpoint) at the current pc and pc was not
 * set since, that breakpoint does not stop the first instruction, so that
 * resuming from it works; any other breakpoint at pc stops the run at once. */
flux_stop flux_vm_run(flux_vm *vm, uint64_t budget);

/* Makes the VM's run stop (FLUX_STOP_BUDGET) at its next chunk boundary, at
 * most 65536 instructions later: safe to call from another thread while
 * flux_vm_run is executing. */
void flux_vm_interrupt(flux_vm *vm);

void flux_vm_get_regs(const flux_vm *vm, flux_regs *out);
void flux_vm_set_regs(flux_vm *vm, const flux_regs *in);

/* Debugger access to memory: no watchpoint fires.  0, or -1 when any byte of
 * [addr, addr+len) is outside memory (nothing is copied then). */
int flux_vm_read_mem(const flux_vm *vm, uint32_t addr, uint8_t *buf, size_t len);
/* The FLUX_MEM_SIZE bytes of memory, read-only (valid until the VM is freed;
 * their contents change when it runs or is written). */
const uint8_t *flux_vm_memory(const flux_vm *vm);
int flux_vm_write_mem(flux_vm *vm, uint32_t addr, const uint8_t *buf, size_t len);
/* flux_vm_write_mem for a checkpoint's restore: the lines written are marked
 * for flux_vm_take_dirty_lines and flux_vm_take_rehash_pages but not for
 * flux_vm_take_dirty_pages, whose caller knows which pages it restored (and
 * would otherwise take the pages again only to clear those marks). */
int flux_vm_restore_mem(flux_vm *vm, uint32_t addr, const uint8_t *buf, size_t len);

void flux_vm_set_breakpoint(flux_vm *vm, uint32_t addr, int enabled);
int flux_vm_has_breakpoint(const flux_vm *vm, uint32_t addr);
void flux_vm_clear_breakpoints(flux_vm *vm);

/* Returns 0, or -1 when the range leaves memory or the table is full. */
int flux_vm_add_watchpoint(flux_vm *vm, uint32_t addr, uint32_t len, uint32_t kind);
/* Returns 0, or -1 when no such watchpoint exists. */
int flux_vm_remove_watchpoint(flux_vm *vm, uint32_t addr, uint32_t len, uint32_t kind);
void flux_vm_clear_watchpoints(flux_vm *vm);

/* Program output (DBG_PRINT, LOG) not yet taken by the host. */
const uint8_t *flux_vm_output(const flux_vm *vm, size_t *len);
void flux_vm_clear_output(flux_vm *vm);

/* Stub-side breakpoints: stop before the instruction at addr when cond holds
 * (cond NULL: always).  0, or -1 when addr is outside memory or the table is
 * full. */
int flux_vm_add_cond_breakpoint(flux_vm *vm, uint32_t id, uint32_t addr, const flux_cond *cond);
int flux_vm_remove_cond_breakpoint(flux_vm *vm, uint32_t id);

/* gdb's breakpoint with conditions and commands as agent expressions: stop
 * before addr when one of the conditions is nonzero or fails to evaluate
 * (no conditions: always); with commands, run them there instead of
 * stopping (their printf text goes to flux_vm_ax_output).  Each list is a
 * series of [length low byte, length high byte, bytecode...].  Arming an id
 * that exists replaces it.  0; -1 when addr is outside memory or the table
 * or pool is full; -2 when a bytecode fails flux_ax_check (nothing changes). */
int flux_vm_add_ax_breakpoint(flux_vm *vm, uint32_t id, uint32_t addr, const uint8_t *conds, uint32_t conds_len,
                              const uint8_t *cmds, uint32_t cmds_len);
/* Why the last stop at an agent-expression breakpoint stopped: OK, or the
 * error that made its condition stop it. */
flux_ax_result flux_vm_ax_last(const flux_vm *vm);
/* Text from breakpoint commands (dprintf) not yet taken by the host. */
const uint8_t *flux_vm_ax_output(const flux_vm *vm, size_t *len);
void flux_vm_clear_ax_output(flux_vm *vm);

/* watch-if: stop after the instruction that makes cond true (once: then
 * forget it).  While any exist the VM checks them after every instruction. */
int flux_vm_add_watch_cond(flux_vm *vm, uint32_t id, const flux_cond *cond, int once);
int flux_vm_remove_watch_cond(flux_vm *vm, uint32_t id);

/* The VM's state as conditions read it (valid until the VM runs again). */
void flux_vm_view(const flux_vm *vm, flux_view *out);

/* The confidence of the last result (the register the last instruction wrote). */
float flux_vm_last_confidence(const flux_vm *vm);

/* The trust log: every TRUST_CHECK and TRUST_VERIFY, the newest
 * FLUX_TRUST_LOG kept.  Copies up to `max` of the newest, oldest first, and
 * returns how many. */
#define FLUX_TRUST_LOG 256u
typedef struct flux_trust_event {
    uint32_t pc;
    uint32_t agent;
    float score;
    float threshold;
    int32_t passed;
    uint32_t reserved;
    uint64_t cycle;
} flux_trust_event;
size_t flux_vm_trust_log(const flux_vm *vm, flux_trust_event *out, size_t max);

/* Confidence provenance of register `reg`: the instructions that produced its
 * current confidence, newest first, in depth-first order (depth 0 is the
 * last write; its sources follow at depth 1, and so on), up to `max`.  An
 * empty result: the confidence is 1.0 from a load or a set. */
typedef struct flux_prov_entry {
    uint32_t pc;
    uint8_t insn[6];       /* the instruction's bytes when it ran */
    uint8_t dest;
    uint8_t depth;
    float before, after;
    uint64_t cycle;
    uint8_t truncated;     /* 1: older sources fell out of the record */
    uint8_t reserved[7];
} flux_prov_entry;
size_t flux_vm_conf_trace(const flux_vm *vm, uint32_t reg, flux_prov_entry *out, size_t max);

/* Stop right after a trust check that fails (FLUX_STOP_TRUST_FAIL). */
void flux_vm_break_on_trust_fail(flux_vm *vm, int on);

/* ---- tracing and profiling ------------------------------------------------ *
 * Both run a hook after every retired instruction while on (and cost nothing
 * while off).  The trace is a byte stream of records, each a flux_trace_head,
 * then one flux_trace_reg per bit of reg_mask (lowest register first), then
 * nmem flux_trace_mem, then a flux_trace_trust when FLUX_TRACE_TRUST is set.
 * When the buffer nearly fills the VM stops with FLUX_STOP_TRACE_FULL: take
 * the data, clear it, and run on. */
#define FLUX_TRACE_TRUST 1u       /* a trust check ran */
#define FLUX_TRACE_MEM_MORE 2u    /* the instruction wrote more than nmem entries show */
#define FLUX_TRACE_MAX_MEM 16u

typedef struct flux_trace_head {
    uint64_t cycle;      /* instructions retired before this one: its index */
    int64_t energy;      /* energy after it */
    uint32_t pc;
    uint16_t reg_mask;   /* registers whose value or confidence it changed */
    uint8_t opcode;
    uint8_t nmem;
    uint8_t flags;
    uint8_t agent;       /* the id of the agent that ran it */
    uint8_t reserved[6];
} flux_trace_head;

typedef struct flux_trace_reg {
    int32_t value;
    float conf;
    float conf_before;
    int32_t value_before;
} flux_trace_reg;

typedef struct flux_trace_mem {
    uint32_t addr;
    uint32_t len;        /* bytes written; old and new hold the first 4 */
    uint32_t old_value;
    uint32_t new_value;
} flux_trace_mem;

typedef struct flux_trace_trust {
    uint32_t agent;
    float score;
    float threshold;
    uint32_t passed;
} flux_trace_trust;

/* Tracing on (allocating the buffer) or off; -1 when out of memory. */
int flux_vm_set_tracing(flux_vm *vm, int on);
const uint8_t *flux_vm_trace_data(const flux_vm *vm, size_t *len);
void flux_vm_trace_clear(flux_vm *vm);

/* Profiling: exact counts per address and per call path. */
typedef struct flux_prof_node {
    uint32_t parent;     /* index of the caller's node; node 0 is the entry */
    uint32_t func;       /* entry address of the function */
    uint64_t self_count; /* instructions executed with exactly this call path */
    uint64_t calls;      /* times this path was entered by CALL */
} flux_prof_node;

int flux_vm_set_profiling(flux_vm *vm, int on);
void flux_vm_profile_reset(flux_vm *vm);
/* Instructions executed and energy charged at each address (FLUX_MEM_SIZE
 * entries each); NULL while profiling was never on. */
const uint64_t *flux_vm_profile_counts(const flux_vm *vm);
const uint64_t *flux_vm_profile_energy(const flux_vm *vm);
/* Copies up to max call-path nodes; returns how many there are in all. */
size_t flux_vm_profile_nodes(const flux_vm *vm, flux_prof_node *out, size_t max);

/* Profile events: while profiling and on, every call (CALL, SWI), return
 * (RET, IRET) and agent turn is logged, so that the run can be drawn as a
 * timeline (which agent ran when, each function entered and left).  A
 * `cycle` is a global instruction index (the VM's cycles): a CALL's is the
 * index of the callee's first instruction, a return's the index after it, a
 * TURN's the first instruction of the agent's turn (its `addr`: the pc it
 * runs from), an END's where the run stopped.  Every run begins with a
 * TURN and ends with an END.  When the buffer nearly fills the VM stops
 * with FLUX_STOP_TRACE_FULL: take the events, clear them, and run on
 * (events that found it full are lost, and counted). */
#define FLUX_PROF_EV_CALL 1u
#define FLUX_PROF_EV_RETURN 2u
#define FLUX_PROF_EV_TURN 3u
#define FLUX_PROF_EV_END 4u
typedef struct flux_prof_event {
    uint64_t cycle;
    uint32_t addr;       /* CALL: the callee's entry; RETURN: where it returns to; TURN: the pc */
    uint8_t kind;        /* FLUX_PROF_EV_* */
    uint8_t agent;       /* the id of the agent that ran it */
    uint8_t resumed;     /* TURN: 1 when the agent had run before (not from its start) */
    uint8_t reserved;
} flux_prof_event;

/* Profile events on (allocating their buffer) or off; -1 when out of memory. */
int flux_vm_profile_events(flux_vm *vm, int on);
/* The events logged since the last clear; *lost: how many found the buffer full. */
const flux_prof_event *flux_vm_profile_event_data(const flux_vm *vm, size_t *n, uint64_t *lost);
void flux_vm_profile_events_clear(flux_vm *vm);

/* FLUX state outside the register file. */
float flux_vm_trust(const flux_vm *vm, uint32_t agent);
float flux_vm_trust_threshold(const flux_vm *vm);
int flux_vm_finished(const flux_vm *vm);   /* halted or terminated */

/* ---- the access log (schedule coverage) ------------------------------------
 * While on, the VM logs what orders agents against each other: every access
 * the program makes to memory (reads and writes, with the agent making it),
 * every message put into or taken from a mailbox, spawns, ends and joins, and
 * instructions on the FLUX state all agents share (trust, instincts,
 * proposals and routes, the energy pool, output, barriers, the generator).
 * Two events conflict when they touch the same location and one writes;
 * a happens-before fingerprint over the conflicts (src/analysis/coverage.rs)
 * counts schedules up to the reordering of independent steps.  Off, it costs
 * nothing beyond the branch the memory hooks already take.  When the buffer
 * nearly fills the VM stops with FLUX_STOP_TRACE_FULL: take the events and
 * run on. */
enum {
    FLUX_ACC_READ = 1,      /* loc is read */
    FLUX_ACC_WRITE = 2,     /* loc is written */
    FLUX_ACC_SPAWN = 3      /* the agent started agent `loc` */
};
#define FLUX_LOC_MAILBOX 0x10000u  /* + agent id: its mailbox */
#define FLUX_LOC_AGENT 0x10100u    /* + agent id: whether it lives (ends write, JOIN reads) */
#define FLUX_LOC_SHARED 0x10200u   /* + one of the FLUX_SHARED_* below */
enum {
    FLUX_SHARED_TRUST = 1, FLUX_SHARED_INSTINCT, FLUX_SHARED_A2A, FLUX_SHARED_ENERGY,
    FLUX_SHARED_OUTPUT, FLUX_SHARED_BARRIER, FLUX_SHARED_RNG,
    FLUX_SHARED_AGENTS      /* the set of live agents: SPAWN and ends write it */
};
typedef struct flux_access {
    uint32_t loc;        /* a memory address, or FLUX_LOC_* + n */
    uint32_t len;        /* bytes, for memory; 1 otherwise */
    uint8_t kind;        /* FLUX_ACC_* */
    uint8_t agent;       /* the agent id that made it */
    uint16_t reserved;
} flux_access;
/* Logging on (allocating the buffer) or off; -1 when out of memory. */
int flux_vm_log_accesses(flux_vm *vm, int on);
/* The events logged since the last clear, oldest first; *lost: events that
 * did not fit (0 unless the host let the buffer fill). */
const flux_access *flux_vm_accesses(const flux_vm *vm, size_t *n, uint32_t *lost);
void flux_vm_clear_accesses(flux_vm *vm);

/* ---- checkpoints and inputs (record, replay, reverse execution) --------------
 *
 * The VM is deterministic: given the machine state and memory it runs the
 * same way every time.  A checkpoint is the machine state (registers,
 * confidences, flags, energy, cycles, RNG, FLUX state, trust log, the run
 * state; not memory, not debugger hooks, not output) plus the memory pages
 * written since the previous checkpoint. */
size_t flux_vm_state_size(void);
void flux_vm_save_state(const flux_vm *vm, void *out);        /* flux_vm_state_size() bytes */
/* Loads a state saved by flux_vm_save_state, after checking every field
 * (states come from files people share): each holds a value the VM can
 * produce, and every index the interpreter derives from one stays inside its
 * array.  Returns 0, or -1 when the state is refused: the VM is unchanged and
 * `why` (when not NULL) holds one line naming the field, e.g. "running agent
 * slot 9 is outside 0-7".  `in` needs no alignment. */
int flux_vm_load_state(flux_vm *vm, const void *in, char *why, size_t why_len);
/* Gives dst src's machine state, as flux_vm_load_state of src's saved state
 * would (a live VM's state needs no check); memory, breakpoints and hooks
 * are dst's own. */
void flux_vm_copy_state(flux_vm *dst, const flux_vm *src);
/* Loads a state that flux_vm_save_state of this build wrote (a checkpoint's):
 * as flux_vm_load_state, without the checks, which such a state passes by
 * construction.  Never for bytes from outside (files, clients): those go
 * through flux_vm_load_state.  The state comes in the pieces a checkpoint
 * keeps it in: pieces[k] holds bytes [k * piece_size, (k + 1) * piece_size)
 * of it (the last piece what is left), so that a restore copies each piece
 * once instead of joining them first. */
void flux_vm_load_saved_state(flux_vm *vm, const uint8_t *const *pieces, size_t piece_size);
/* The same checks without loading: 0, or -1 with the reason in `why`. */
int flux_vm_check_state(const void *in, char *why, size_t why_len);

/* The fields of the machine state, for tools that compare two states: field
 * k's element i lies at offset + i * stride.  A name with "[]" is a member
 * of an array of records (its index goes there).  Padding between fields is
 * no field.  The agent table lists the fields of one agent; the state holds
 * FLUX_MAX_AGENTS agents, agent k at agents_offset + k * agent_stride. */
typedef enum flux_field_kind {
    FLUX_FIELD_INT = 0,    /* signed integer, size bytes */
    FLUX_FIELD_UINT,       /* unsigned integer */
    FLUX_FIELD_FLOAT,      /* float */
    FLUX_FIELD_TEXT,       /* a NUL-terminated string of size bytes */
    FLUX_FIELD_AGENTS      /* the agents (see flux_vm_agent_fields) */
} flux_field_kind;
typedef struct flux_state_field {
    const char *name;
    uint32_t offset, size, count, stride;
    uint32_t kind;         /* flux_field_kind */
} flux_state_field;
const flux_state_field *flux_vm_state_fields(size_t *n);
const flux_state_field *flux_vm_agent_fields(size_t *n, uint32_t *agents_offset, uint32_t *agent_stride);
/* Copies into dirty[FLUX_PAGES] which pages were written (1) since the last
 * call, and clears the map.  Resets and loads mark every page. */
void flux_vm_take_dirty_pages(flux_vm *vm, uint8_t *dirty);
/* The same, from a third map of its own, so that a running hash of memory
 * (replay digests) re-hashes only the pages written since it last looked,
 * whoever else takes pages or lines meanwhile. */
void flux_vm_take_rehash_pages(flux_vm *vm, uint8_t *dirty);
/* The same at FLUX_LINE_SIZE bytes, as bits: line l is bit l % 64 of
 * marks[l / 64] (FLUX_LINES / 64 words), set when it was written since the
 * last call; clears these marks only (history queries keep them per
 * checkpoint to know which spans may have written an address). */
void flux_vm_take_dirty_lines(flux_vm *vm, uint64_t *marks);

/* The values the program drew from outside its own state: RNG_NEXT values,
 * and the scheduler's switches from one agent to another (value: the agent
 * switched to in bits 0-7, the one switched from in bits 8-15, the length of
 * the new time slice in bits 32-63; pc: the new agent's pc; cycle: the index
 * of its first instruction). */
enum { FLUX_INPUT_RNG = 1, FLUX_INPUT_SCHED = 2 };
typedef struct flux_input_event {
    uint64_t cycle;      /* cycles when the instruction ran (before it retired) */
    uint32_t pc;
    uint32_t kind;       /* FLUX_INPUT_* */
    uint64_t value;
} flux_input_event;
void flux_vm_log_inputs(flux_vm *vm, int on);
/* Moves up to `max` logged events to `out`, oldest first; returns how many.
 * *lost: events that did not fit in the log since the last call. */
size_t flux_vm_take_inputs(flux_vm *vm, flux_input_event *out, size_t max, uint32_t *lost);

/* ---- agents and the scheduler ------------------------------------------------
 *
 * Agents share memory and each has its own registers, confidences, flags,
 * pc/sp/fp, energy, stack region and mailbox.  Agent 1 is the program's
 * first; SPAWN starts more (at most FLUX_MAX_AGENTS alive).  One agent runs
 * at a time, for a time slice; the scheduler state (its generator, the
 * running agent, where the slice ends) is machine state, so checkpoints and
 * re-execution reproduce every interleaving.  docs/ISA.md section 1.11. */
typedef enum flux_sched_kind { FLUX_SCHED_ROUND_ROBIN = 0, FLUX_SCHED_CHAOS = 1, FLUX_SCHED_PCT = 2 } flux_sched_kind;

/* PCT (probabilistic concurrency testing, Burckhardt et al., ASPLOS 2010):
 * the deepest depth bound flux_vm_set_pct takes. */
#define FLUX_PCT_MAX_DEPTH 16u

typedef enum flux_agent_state {
    FLUX_AGENT_RUNNABLE = 0,
    FLUX_AGENT_BLOCKED_ASK,      /* wait_on: the sender (0: anyone) */
    FLUX_AGENT_BLOCKED_SEND,     /* wait_on: the agent whose mailbox is full */
    FLUX_AGENT_BLOCKED_JOIN,     /* wait_on: the agent it waits to end */
    FLUX_AGENT_BLOCKED_BARRIER,
    FLUX_AGENT_ENDED
} flux_agent_state;

typedef struct flux_agent_info {
    uint32_t id;
    uint32_t state;        /* flux_agent_state */
    uint32_t wait_on;
    uint32_t wait_op;      /* the opcode it blocks in */
    uint32_t pc;
    uint32_t mailbox;      /* messages queued */
    int64_t energy;
    uint64_t retired;      /* instructions it ran */
    uint32_t stack_lo, stack_hi;
    uint32_t running;      /* 1 for the agent the VM runs now */
    int32_t exit_code;
} flux_agent_info;

typedef struct flux_message {
    int32_t value;
    float conf;
    uint32_t from;
} flux_message;

/* The scheduler: round-robin with slices of `slice` instructions, or chaos
 * (slice lengths up to `slice` and the choice among runnable agents drawn
 * from a generator seeded with the VM's seed).  Kept across resets; call it
 * before running (it starts the scheduler afresh).  slice 0 means the default. */
void flux_vm_set_schedule(flux_vm *vm, uint32_t kind, uint32_t slice);
/* The PCT scheduler with depth bound `depth` (1..FLUX_PCT_MAX_DEPTH) over
 * runs of about `steps` instructions (at least 1): every agent gets a random
 * priority when it starts, and depth - 1 change points, at global
 * instruction counts drawn uniformly from 1..steps, each lower the priority
 * of the agent that reaches it below every starting priority; the ready
 * agent of highest priority runs (re-chosen at a change point, when the
 * running agent blocks, ends, spawns, yields, or sends to an agent waiting
 * in ASK, and at least every `slice` instructions).  YIELD and SLEEP lower the
 * yielder below every other agent.  Everything is drawn from the
 * scheduler's generator (seeded with the VM's seed): the schedule is a pure
 * function of seed, depth and steps.  Kept across resets; call it before
 * running.  Returns -1 (changing nothing) for a depth or steps out of range. */
int flux_vm_set_pct(flux_vm *vm, uint32_t slice, uint32_t depth, uint64_t steps);
/* The running agent's id. */
uint32_t flux_vm_current_agent(const flux_vm *vm);
/* The id the next SPAWN gives (ids are given in order from 2; 2: the first
 * agent is the only one there has been since the reset). */
uint32_t flux_vm_next_agent_id(const flux_vm *vm);
/* The live agents in id order (up to max); returns how many there are. */
size_t flux_vm_agents(const flux_vm *vm, flux_agent_info *out, size_t max);
/* Registers of live agent `id` (the running one included); -1 when there is none. */
int flux_vm_agent_regs(const flux_vm *vm, uint32_t id, flux_regs *out);
int flux_vm_set_agent_regs(flux_vm *vm, uint32_t id, const flux_regs *in);
/* Agent id's queued messages, oldest first (up to max); returns how many. */
size_t flux_vm_mailbox(const flux_vm *vm, uint32_t id, flux_message *out, size_t max);
/* Makes live agent `id` the running one with a fresh time slice (the debugger
 * choosing who runs).  1 when that changed who runs, 0 when it already ran,
 * -1 when there is no such agent. */
int flux_vm_select_agent(flux_vm *vm, uint32_t id);
/* While on, only the running agent runs (gdb's scheduler-locking): its slice
 * never ends, and when it blocks the run stops with FLUX_STOP_BLOCKED.
 * Returns 1 when, since the last call, a locked run kept an agent past the
 * end of its slice (so the run went where the scheduler would not have). */
int flux_vm_lock_scheduler(flux_vm *vm, int on);

#ifdef __cplusplus
}
#endif

#endif /* FLUX_VM_H */
