/* flux_opcodes.h - the FLUX instruction table, defined once.
 *
 * Every consumer of the opcode table (the interpreter, the Rust crate through
 * bindgen, the assembler and disassembler, the gdb extension via `monitor isa
 * json`) reads this X-macro, directly or through flux_opcode_info_of().
 * The encoding follows flux-disasm's 247-opcode table: one opcode byte, then the
 * operand bytes of its mode, immediates little-endian.  The codes are dense
 * (0x00 up to FLUX_OPCODE_COUNT - 1, in order: flux_vm.c checks it at compile
 * time); FLUX_OPCODE_COUNT is counted from this table.
 *
 * X(code, MNEMONIC, MODE, CATEGORY, energy cost, implemented, FLOW, stack)
 *   MODE:        the operand layout, a row of FLUX_MODE_TABLE below.
 *   energy cost: the base cost charged before the instruction runs (docs/ISA.md
 *                lists the opcodes whose cost also grows with their operands).
 *   implemented: 0 for the opcodes that fault with SIGILL "not implemented"
 *                (their FLOW and stack columns say what they are meant to do).
 *   FLOW:        where control can go when the instruction runs, besides a
 *                fault (any instruction may fault on a bad operand, a bad
 *                address, a division by zero, running out of energy):
 *     NEXT    falls through to the next instruction, and only there.  Opcodes
 *             that wait (ASK, JOIN, BARRIER...) or give way (YIELD, SLEEP)
 *             count here: when they run, they fall through.  SPAWN too: the
 *             new agent starts at its operand, the spawner goes on.
 *     JUMP    always to its target (JMP: the imm16).
 *     BRANCH  to its target (the imm16) or to the next instruction, as the
 *             register, the flags or the counter say (Jcc, JZ/JNZ, LOOPs).
 *     CALL    to a routine, pushing the address of the next instruction:
 *             CALL to its imm16; SWI n to the handler in the IVT's entry n
 *             (FLUX_IVT_BASE + 2n), pushing that address and then the flags
 *             (and faulting when the entry is 0).
 *     RETURN  to the address it pops (RET; IRET pops the flags, then it).
 *     END     can end the running agent, and with agent 1 the program: HALT
 *             (agent 1: the program halts with r0 & 0xFF), APOPTOSIS (agent 1:
 *             terminated, SIGXCPU), KILL (of agent 1: halted, exit code 137;
 *             of itself: its agent ends; of another agent: falls through).
 *     TRAP    stops the run on purpose: BRK always (SIGTRAP, pc after it),
 *             PANIC always (SIGABRT fault, pc on it), ASSERT when its two
 *             registers differ (SIGABRT) and BOUND when the register is
 *             outside [0, imm16) (SIGSEGV); otherwise they fall through.
 *     The kind of an opcode whose outcome depends on operands or state is
 *     what it can do beyond falling through: LOOP is a BRANCH, ASSERT a TRAP,
 *     KILL an END.
 *   stack:       bytes pushed minus bytes popped, i.e. how far the
 *                instruction moves sp down when it runs (the stack grows
 *                down in 4-byte slots).  For CALL kinds it is the
 *                instruction's own push (CALL +4, SWI +8), which the
 *                routine's RETURN takes back.  FLUX_STACK_VAR: it depends on
 *                an operand (ALLOCA: its imm16 rounded up to a slot) or a
 *                register (FREEA: the register's value rounded up, popped).
 */
#ifndef FLUX_OPCODES_H
#define FLUX_OPCODES_H

/* The stack column's "varies with the operands or registers". */
#define FLUX_STACK_VAR 127

/* The operand layouts: X(MODE, operand bytes after the opcode byte).
 * R: a register byte (0-15); I8/I16/I32: an immediate of that width. */
#define FLUX_MODE_TABLE(X) \
    X(NONE,  0) \
    X(R,     1) \
    X(RR,    2) \
    X(RRR,   3) \
    X(RI16,  3) \
    X(I16,   2) \
    X(I8,    1) \
    X(RI8,   2) \
    X(RRI8,  3) \
    X(RRRI8, 4) \
    X(I32,   4) \
    X(RI32,  5) \

#define FLUX_OPCODE_TABLE(X) \
    X(0x00, NOP,             NONE,  CONTROL,    1, 1, NEXT,   0) \
    X(0x01, MOV,             RR,    CONTROL,    1, 1, NEXT,   0) \
    X(0x02, LOAD,            RR,    CONTROL,    1, 1, NEXT,   0) \
    X(0x03, STORE,           RR,    CONTROL,    1, 1, NEXT,   0) \
    X(0x04, PUSH,            I16,   CONTROL,    1, 1, NEXT,   +4) \
    X(0x05, POP,             R,     CONTROL,    1, 1, NEXT,   -4) \
    X(0x06, JMP,             I16,   CONTROL,    1, 1, JUMP,   0) \
    X(0x07, JZ,              RI16,  CONTROL,    1, 1, BRANCH, 0) \
    X(0x08, JNZ,             RI16,  CONTROL,    1, 1, BRANCH, 0) \
    X(0x09, CALL,            I16,   CONTROL,    1, 1, CALL,   +4) \
    X(0x0A, RET,             NONE,  CONTROL,    1, 1, RETURN, -4) \
    X(0x0B, HALT,            NONE,  CONTROL,    1, 1, END,    0) \
    X(0x0C, BRK,             NONE,  CONTROL,    1, 1, TRAP,   0) \
    X(0x0D, SWI,             I8,    CONTROL,    1, 1, CALL,   +8) \
    X(0x0E, IRET,            NONE,  CONTROL,    1, 1, RETURN, -8) \
    X(0x0F, LOOP,            RI16,  CONTROL,    1, 1, BRANCH, 0) \
    X(0x10, LOOPE,           RI16,  CONTROL,    1, 1, BRANCH, 0) \
    X(0x11, LOOPNE,          RI16,  CONTROL,    1, 1, BRANCH, 0) \
    X(0x12, JC,              RI16,  CONTROL,    1, 1, BRANCH, 0) \
    X(0x13, JNC,             RI16,  CONTROL,    1, 1, BRANCH, 0) \
    X(0x14, JA,              RI16,  CONTROL,    1, 1, BRANCH, 0) \
    X(0x15, JAE,             RI16,  CONTROL,    1, 1, BRANCH, 0) \
    X(0x16, JB,              RI16,  CONTROL,    1, 1, BRANCH, 0) \
    X(0x17, JBE,             RI16,  CONTROL,    1, 1, BRANCH, 0) \
    X(0x18, JG,              RI16,  CONTROL,    1, 1, BRANCH, 0) \
    X(0x19, JGE,             RI16,  CONTROL,    1, 1, BRANCH, 0) \
    X(0x1A, JL,              RI16,  CONTROL,    1, 1, BRANCH, 0) \
    X(0x1B, JLE,             RI16,  CONTROL,    1, 1, BRANCH, 0) \
    X(0x1C, JO,              RI16,  CONTROL,    1, 1, BRANCH, 0) \
    X(0x1D, JNO,             RI16,  CONTROL,    1, 1, BRANCH, 0) \
    X(0x1E, JS,              RI16,  CONTROL,    1, 1, BRANCH, 0) \
    X(0x1F, JNS,             RI16,  CONTROL,    1, 1, BRANCH, 0) \
    X(0x20, CADD,            RRR,   ARITH,      1, 1, NEXT,   0) \
    X(0x21, CSUB,            RRR,   ARITH,      1, 1, NEXT,   0) \
    X(0x22, CMUL,            RRR,   ARITH,      2, 1, NEXT,   0) \
    X(0x23, CDIV,            RRR,   ARITH,      4, 1, NEXT,   0) \
    X(0x24, CMOD,            RRR,   ARITH,      4, 1, NEXT,   0) \
    X(0x25, CAND,            RRR,   ARITH,      1, 1, NEXT,   0) \
    X(0x26, COR,             RRR,   ARITH,      1, 1, NEXT,   0) \
    X(0x27, CXOR,            RRR,   ARITH,      1, 1, NEXT,   0) \
    X(0x28, CSHL,            RRR,   ARITH,      1, 1, NEXT,   0) \
    X(0x29, CSHR,            RRR,   ARITH,      1, 1, NEXT,   0) \
    X(0x2A, CSAR,            RRR,   ARITH,      1, 1, NEXT,   0) \
    X(0x2B, CNOT,            RR,    ARITH,      1, 1, NEXT,   0) \
    X(0x2C, CNEG,            RR,    ARITH,      1, 1, NEXT,   0) \
    X(0x2D, CABS,            RR,    ARITH,      1, 1, NEXT,   0) \
    X(0x2E, CMIN,            RRR,   ARITH,      1, 1, NEXT,   0) \
    X(0x2F, CMAX,            RRR,   ARITH,      1, 1, NEXT,   0) \
    X(0x30, ADDI,            RI16,  ARITH,      1, 1, NEXT,   0) \
    X(0x31, SUBI,            RI16,  ARITH,      1, 1, NEXT,   0) \
    X(0x32, MULI,            RI16,  ARITH,      2, 1, NEXT,   0) \
    X(0x33, DIVI,            RI16,  ARITH,      4, 1, NEXT,   0) \
    X(0x34, ANDI,            RI16,  ARITH,      1, 1, NEXT,   0) \
    X(0x35, ORI,             RI16,  ARITH,      1, 1, NEXT,   0) \
    X(0x36, XORI,            RI16,  ARITH,      1, 1, NEXT,   0) \
    X(0x37, SHLI,            RI16,  ARITH,      1, 1, NEXT,   0) \
    X(0x38, SHRI,            RI16,  ARITH,      1, 1, NEXT,   0) \
    X(0x39, INCR,            R,     ARITH,      1, 1, NEXT,   0) \
    X(0x3A, DECR,            R,     ARITH,      1, 1, NEXT,   0) \
    X(0x3B, CLZ,             RR,    ARITH,      1, 1, NEXT,   0) \
    X(0x3C, CTZ,             RR,    ARITH,      1, 1, NEXT,   0) \
    X(0x3D, POPCNT,          RR,    ARITH,      1, 1, NEXT,   0) \
    X(0x3E, BREV,            RR,    ARITH,      1, 1, NEXT,   0) \
    X(0x3F, BSWAP,           RR,    ARITH,      1, 1, NEXT,   0) \
    X(0x40, LOAD8,           RI16,  MEMORY,     1, 1, NEXT,   0) \
    X(0x41, LOAD16,          RI16,  MEMORY,     1, 1, NEXT,   0) \
    X(0x42, LOAD32,          RI16,  MEMORY,     1, 1, NEXT,   0) \
    X(0x43, STORE8,          RI16,  MEMORY,     1, 1, NEXT,   0) \
    X(0x44, STORE16,         RI16,  MEMORY,     1, 1, NEXT,   0) \
    X(0x45, STORE32,         RI16,  MEMORY,     1, 1, NEXT,   0) \
    X(0x46, LEA,             RI16,  MEMORY,     1, 1, NEXT,   0) \
    X(0x47, CMPXCHG,         RRR,   MEMORY,     1, 1, NEXT,   0) \
    X(0x48, XCHG,            RR,    MEMORY,     1, 1, NEXT,   0) \
    X(0x49, PUSH_MEM,        RI16,  MEMORY,     1, 1, NEXT,   +4) \
    X(0x4A, POP_MEM,         RI16,  MEMORY,     1, 1, NEXT,   -4) \
    X(0x4B, LOADR,           RRR,   MEMORY,     1, 1, NEXT,   0) \
    X(0x4C, STORER,          RRR,   MEMORY,     1, 1, NEXT,   0) \
    X(0x4D, MEMCPY,          RI32,  MEMORY,     2, 1, NEXT,   0) \
    X(0x4E, MEMSET,          RI32,  MEMORY,     2, 1, NEXT,   0) \
    X(0x4F, MEMCMP,          RI32,  MEMORY,     2, 1, NEXT,   0) \
    X(0x50, ALLOCA,          RI16,  MEMORY,     1, 1, NEXT,   FLUX_STACK_VAR) \
    X(0x51, FREEA,           R,     MEMORY,     1, 1, NEXT,   FLUX_STACK_VAR) \
    X(0x52, LOAD_IND,        RR,    MEMORY,     1, 1, NEXT,   0) \
    X(0x53, STORE_IND,       RR,    MEMORY,     1, 1, NEXT,   0) \
    X(0x54, LOAD_OFF,        RRI8,  MEMORY,     1, 1, NEXT,   0) \
    X(0x55, STORE_OFF,       RRI8,  MEMORY,     1, 1, NEXT,   0) \
    X(0x56, MOVZX,           RR,    MEMORY,     1, 1, NEXT,   0) \
    X(0x57, MOVSX,           RR,    MEMORY,     1, 1, NEXT,   0) \
    X(0x58, SWAP,            RR,    MEMORY,     1, 1, NEXT,   0) \
    X(0x59, PUSH_ALL,        NONE,  MEMORY,     4, 1, NEXT,   +64) \
    X(0x5A, POP_ALL,         NONE,  MEMORY,     4, 1, NEXT,   -64) \
    X(0x5B, LOAD_IMM,        RI32,  MEMORY,     1, 1, NEXT,   0) \
    X(0x5C, STORE_IMM,       I32,   MEMORY,     1, 1, NEXT,   0) \
    X(0x5D, FENCE,           NONE,  MEMORY,     1, 1, NEXT,   0) \
    X(0x5E, TLB_INV,         NONE,  MEMORY,     1, 1, NEXT,   0) \
    X(0x5F, CACHE_FLUSH,     NONE,  MEMORY,     1, 1, NEXT,   0) \
    X(0x60, PUSH_R,          R,     STACK,      1, 1, NEXT,   +4) \
    X(0x61, POP_R,           R,     STACK,      1, 1, NEXT,   -4) \
    X(0x62, DUP,             NONE,  STACK,      1, 1, NEXT,   +4) \
    X(0x63, SWAP2,           NONE,  STACK,      1, 1, NEXT,   0) \
    X(0x64, ROT,             NONE,  STACK,      1, 1, NEXT,   0) \
    X(0x65, OVER,            NONE,  STACK,      1, 1, NEXT,   +4) \
    X(0x66, PICK,            I8,    STACK,      1, 1, NEXT,   +4) \
    X(0x67, ROLL,            I8,    STACK,      1, 1, NEXT,   0) \
    X(0x68, DEPTH,           R,     STACK,      1, 1, NEXT,   0) \
    X(0x69, DROP,            NONE,  STACK,      1, 1, NEXT,   -4) \
    X(0x6A, NIP,             NONE,  STACK,      1, 1, NEXT,   -4) \
    X(0x6B, TUCK,            NONE,  STACK,      1, 1, NEXT,   +4) \
    X(0x6C, PUSH_IMM8,       I8,    STACK,      1, 1, NEXT,   +4) \
    X(0x6D, PUSH_IMM16,      I16,   STACK,      1, 1, NEXT,   +4) \
    X(0x6E, PUSH_IMM32,      I32,   STACK,      1, 1, NEXT,   +4) \
    X(0x6F, PEEK,            R,     STACK,      1, 1, NEXT,   0) \
    X(0x70, CMP_EQ,          RRR,   COMPARE,    1, 1, NEXT,   0) \
    X(0x71, CMP_NE,          RRR,   COMPARE,    1, 1, NEXT,   0) \
    X(0x72, CMP_LT,          RRR,   COMPARE,    1, 1, NEXT,   0) \
    X(0x73, CMP_GT,          RRR,   COMPARE,    1, 1, NEXT,   0) \
    X(0x74, CMP_LE,          RRR,   COMPARE,    1, 1, NEXT,   0) \
    X(0x75, CMP_GE,          RRR,   COMPARE,    1, 1, NEXT,   0) \
    X(0x76, CMP_ULT,         RRR,   COMPARE,    1, 1, NEXT,   0) \
    X(0x77, CMP_UGT,         RRR,   COMPARE,    1, 1, NEXT,   0) \
    X(0x78, TEST,            RR,    COMPARE,    1, 1, NEXT,   0) \
    X(0x79, CMP_I16,         RI16,  COMPARE,    1, 1, NEXT,   0) \
    X(0x7A, RANGE_CHK,       RRI8,  COMPARE,    1, 1, NEXT,   0) \
    X(0x7B, SET_FLAG,        RI8,   COMPARE,    1, 1, NEXT,   0) \
    X(0x7C, GET_FLAG,        RI8,   COMPARE,    1, 1, NEXT,   0) \
    X(0x7D, CMP_TEST,        RR,    COMPARE,    1, 1, NEXT,   0) \
    X(0x7E, BOUND,           RI16,  COMPARE,    1, 1, TRAP,   0) \
    X(0x7F, CMPX,            RRR,   COMPARE,    1, 1, NEXT,   0) \
    X(0x80, CONF_FUSE,       RR,    CONFIDENCE, 1, 1, NEXT,   0) \
    X(0x81, CONF_CHAIN,      R,     CONFIDENCE, 1, 1, NEXT,   0) \
    X(0x82, CONF_SET,        RI16,  CONFIDENCE, 1, 1, NEXT,   0) \
    X(0x83, CONF_THRESH,     RI16,  CONFIDENCE, 1, 1, NEXT,   0) \
    X(0x84, CONF_DECAY,      RR,    CONFIDENCE, 1, 1, NEXT,   0) \
    X(0x85, CONF_BOOST,      RR,    CONFIDENCE, 1, 1, NEXT,   0) \
    X(0x86, CONF_MERGE,      RRR,   CONFIDENCE, 1, 1, NEXT,   0) \
    X(0x87, CONF_SPLIT,      RR,    CONFIDENCE, 1, 1, NEXT,   0) \
    X(0x88, CONF_QUERY,      R,     CONFIDENCE, 1, 1, NEXT,   0) \
    X(0x89, CONF_RESET,      R,     CONFIDENCE, 1, 1, NEXT,   0) \
    X(0x8A, CONF_MIN,        RI16,  CONFIDENCE, 1, 1, NEXT,   0) \
    X(0x8B, CONF_MAX,        RI16,  CONFIDENCE, 1, 1, NEXT,   0) \
    X(0x8C, CONF_AVG,        RRR,   CONFIDENCE, 1, 1, NEXT,   0) \
    X(0x8D, CONF_WEIGHT,     RRI8,  CONFIDENCE, 1, 1, NEXT,   0) \
    X(0x8E, CONF_NORMALIZE,  RR,    CONFIDENCE, 1, 1, NEXT,   0) \
    X(0x8F, CONF_SNAPSHOT,   R,     CONFIDENCE, 1, 1, NEXT,   0) \
    X(0x90, TRUST_CHECK,     RR,    TRUST,      1, 1, NEXT,   0) \
    X(0x91, TRUST_UPDATE,    RRR,   TRUST,      1, 1, NEXT,   0) \
    X(0x92, TRUST_QUERY,     R,     TRUST,      1, 1, NEXT,   0) \
    X(0x93, TRUST_SET,       RI16,  TRUST,      1, 1, NEXT,   0) \
    X(0x94, TRUST_DECAY,     RR,    TRUST,      1, 1, NEXT,   0) \
    X(0x95, TRUST_BOOST,     RR,    TRUST,      1, 1, NEXT,   0) \
    X(0x96, TRUST_TRANSFER,  RRR,   TRUST,      1, 1, NEXT,   0) \
    X(0x97, TRUST_VERIFY,    RR,    TRUST,      1, 1, NEXT,   0) \
    X(0x98, TRUST_REVOKE,    R,     TRUST,      1, 1, NEXT,   0) \
    X(0x99, TRUST_LIST,      R,     TRUST,      1, 1, NEXT,   0) \
    X(0x9A, TRUST_SCORE,     RR,    TRUST,      1, 1, NEXT,   0) \
    X(0x9B, TRUST_THRESHOLD, RI16,  TRUST,      1, 1, NEXT,   0) \
    X(0x9C, TRUST_AUDIT,     R,     TRUST,      1, 1, NEXT,   0) \
    X(0x9D, TRUST_RESTORE,   R,     TRUST,      1, 1, NEXT,   0) \
    X(0x9E, TRUST_HISTORY,   RI16,  TRUST,      1, 1, NEXT,   0) \
    X(0x9F, TRUST_PENALTY,   RRI8,  TRUST,      1, 1, NEXT,   0) \
    X(0xA0, TELL,            RR,    A2A,        1, 1, NEXT,   0) \
    X(0xA1, ASK,             RR,    A2A,        1, 1, NEXT,   0) \
    X(0xA2, DELEGATE,        RR,    A2A,        1, 1, NEXT,   0) \
    X(0xA3, BROADCAST,       I16,   A2A,        1, 1, NEXT,   0) \
    X(0xA4, REDUCE,          RR,    A2A,        1, 1, NEXT,   0) \
    X(0xA5, GOSSIP,          RR,    A2A,        1, 1, NEXT,   0) \
    X(0xA6, PROPOSE,         RRR,   A2A,        1, 1, NEXT,   0) \
    X(0xA7, VOTE,            RR,    A2A,        1, 1, NEXT,   0) \
    X(0xA8, CONSENSUS,       R,     A2A,        1, 1, NEXT,   0) \
    X(0xA9, NEGOTIATE,       RRR,   A2A,        1, 1, NEXT,   0) \
    X(0xAA, MEDIATE,         RR,    A2A,        1, 1, NEXT,   0) \
    X(0xAB, PUBLISH,         R,     A2A,        1, 1, NEXT,   0) \
    X(0xAC, SUBSCRIBE,       RI16,  A2A,        1, 1, NEXT,   0) \
    X(0xAD, UNSUBSCRIBE,     RI16,  A2A,        1, 1, NEXT,   0) \
    X(0xAE, RELAY,           RRR,   A2A,        1, 1, NEXT,   0) \
    X(0xAF, ROUTE,           RI16,  A2A,        1, 1, NEXT,   0) \
    X(0xB0, INSTINCT_ACT,    R,     INSTINCT,   1, 1, NEXT,   0) \
    X(0xB1, INSTINCT_QRY,    R,     INSTINCT,   1, 1, NEXT,   0) \
    X(0xB2, INSTINCT_LEARN,  RRR,   INSTINCT,   1, 1, NEXT,   0) \
    X(0xB3, INSTINCT_FORGET, R,     INSTINCT,   1, 1, NEXT,   0) \
    X(0xB4, INSTINCT_PRUNE,  R,     INSTINCT,   1, 1, NEXT,   0) \
    X(0xB5, INSTINCT_BLOOM,  R,     INSTINCT,   1, 1, NEXT,   0) \
    X(0xB6, INSTINCT_MERGE,  RRR,   INSTINCT,   1, 1, NEXT,   0) \
    X(0xB7, INSTINCT_FORK,   RR,    INSTINCT,   1, 1, NEXT,   0) \
    X(0xB8, INSTINCT_EVOLVE, R,     INSTINCT,   1, 1, NEXT,   0) \
    X(0xB9, INSTINCT_SCORE,  RR,    INSTINCT,   1, 1, NEXT,   0) \
    X(0xBA, INSTINCT_SET,    RI8,   INSTINCT,   1, 1, NEXT,   0) \
    X(0xBB, INSTINCT_GET,    RR,    INSTINCT,   1, 1, NEXT,   0) \
    X(0xBC, INSTINCT_RESET,  R,     INSTINCT,   1, 1, NEXT,   0) \
    X(0xBD, INSTINCT_EXPORT, R,     INSTINCT,   1, 1, NEXT,   0) \
    X(0xBE, INSTINCT_IMPORT, R,     INSTINCT,   1, 1, NEXT,   0) \
    X(0xBF, INSTINCT_PRIME,  RR,    INSTINCT,   1, 1, NEXT,   0) \
    X(0xC0, ATP_GEN,         R,     ENERGY,     1, 1, NEXT,   0) \
    X(0xC1, ATP_USE,         R,     ENERGY,     1, 1, NEXT,   0) \
    X(0xC2, ATP_QRY,         NONE,  ENERGY,     1, 1, NEXT,   0) \
    X(0xC3, ATP_XFER,        RRR,   ENERGY,     1, 1, NEXT,   0) \
    X(0xC4, APOPTOSIS,       NONE,  ENERGY,     1, 1, END,    0) \
    X(0xC5, ENERGY_POOL,     R,     ENERGY,     1, 1, NEXT,   0) \
    X(0xC6, ENERGY_DRAIN,    RR,    ENERGY,     1, 1, NEXT,   0) \
    X(0xC7, ENERGY_SHARE,    RRR,   ENERGY,     1, 1, NEXT,   0) \
    X(0xC8, ENERGY_RESERVE,  RI16,  ENERGY,     1, 1, NEXT,   0) \
    X(0xC9, ENERGY_RELEASE,  R,     ENERGY,     1, 1, NEXT,   0) \
    X(0xCA, ENERGY_MIN,      RI16,  ENERGY,     1, 1, NEXT,   0) \
    X(0xCB, ENERGY_MAX,      RI16,  ENERGY,     1, 1, NEXT,   0) \
    X(0xCC, ENERGY_SYNC,     RR,    ENERGY,     1, 1, NEXT,   0) \
    X(0xCD, ENERGY_QUERY,    R,     ENERGY,     1, 1, NEXT,   0) \
    X(0xCE, ENERGY_MONITOR,  R,     ENERGY,     1, 1, NEXT,   0) \
    X(0xCF, ENERGY_ALARM,    RI16,  ENERGY,     1, 1, NEXT,   0) \
    X(0xD0, DBG_PRINT,       R,     SYSTEM,     1, 1, NEXT,   0) \
    X(0xD1, BARRIER,         NONE,  SYSTEM,     1, 1, NEXT,   0) \
    X(0xD2, RESOURCE,        RR,    SYSTEM,     1, 1, NEXT,   0) \
    X(0xD3, TIMER_START,     R,     SYSTEM,     1, 1, NEXT,   0) \
    X(0xD4, TIMER_STOP,      R,     SYSTEM,     1, 1, NEXT,   0) \
    X(0xD5, TIMER_READ,      R,     SYSTEM,     1, 1, NEXT,   0) \
    X(0xD6, LOG,             RI8,   SYSTEM,     1, 1, NEXT,   0) \
    X(0xD7, TRACE,           NONE,  SYSTEM,     1, 1, NEXT,   0) \
    X(0xD8, ASSERT,          RR,    SYSTEM,     1, 1, TRAP,   0) \
    X(0xD9, PANIC,           I16,   SYSTEM,     1, 1, TRAP,   0) \
    X(0xDA, YIELD,           NONE,  SYSTEM,     1, 1, NEXT,   0) \
    X(0xDB, SLEEP,           I16,   SYSTEM,     1, 1, NEXT,   0) \
    X(0xDC, WAKE,            R,     SYSTEM,     1, 1, NEXT,   0) \
    X(0xDD, SPAWN,           I16,   SYSTEM,     1, 1, NEXT,   0) \
    X(0xDE, JOIN,            R,     SYSTEM,     1, 1, NEXT,   0) \
    X(0xDF, KILL,            R,     SYSTEM,     1, 1, END,    0) \
    X(0xE0, HASH_MD5,        RR,    CRYPTO,     8, 0, NEXT,   0) \
    X(0xE1, HASH_SHA256,     RR,    CRYPTO,     8, 0, NEXT,   0) \
    X(0xE2, HASH_SHA512,     RR,    CRYPTO,     8, 0, NEXT,   0) \
    X(0xE3, HMAC_GEN,        RRR,   CRYPTO,     8, 0, NEXT,   0) \
    X(0xE4, HMAC_VERIFY,     RRR,   CRYPTO,     8, 0, NEXT,   0) \
    X(0xE5, AES_ENC,         RRR,   CRYPTO,     8, 0, NEXT,   0) \
    X(0xE6, AES_DEC,         RRR,   CRYPTO,     8, 0, NEXT,   0) \
    X(0xE7, SIG_GEN,         RR,    CRYPTO,     8, 0, NEXT,   0) \
    X(0xE8, SIG_VERIFY,      RRR,   CRYPTO,     8, 0, NEXT,   0) \
    X(0xE9, RNG_SEED,        R,     CRYPTO,     1, 1, NEXT,   0) \
    X(0xEA, RNG_NEXT,        R,     CRYPTO,     1, 1, NEXT,   0) \
    X(0xEB, CRC32,           RR,    CRYPTO,     2, 1, NEXT,   0) \
    X(0xEC, BASE64_ENC,      RR,    CRYPTO,     8, 0, NEXT,   0) \
    X(0xED, BASE64_DEC,      RR,    CRYPTO,     8, 0, NEXT,   0) \
    X(0xEE, KEY_GEN,         R,     CRYPTO,     8, 0, NEXT,   0) \
    X(0xEF, KEY_DERIVE,      RRR,   CRYPTO,     8, 0, NEXT,   0) \
    X(0xF0, VADD,            RRR,   VECTOR,     1, 1, NEXT,   0) \
    X(0xF1, VSUB,            RRR,   VECTOR,     1, 1, NEXT,   0) \
    X(0xF2, VMUL,            RRR,   VECTOR,     1, 1, NEXT,   0) \
    X(0xF3, VDOT,            RRR,   VECTOR,     2, 1, NEXT,   0) \
    X(0xF4, VLOAD,           RI16,  VECTOR,     1, 1, NEXT,   0) \
    X(0xF5, VSTORE,          RI16,  VECTOR,     1, 1, NEXT,   0) \
    X(0xF6, VMAP,            RRR,   VECTOR,     1, 0, NEXT,   0) \

#endif /* FLUX_OPCODES_H */
