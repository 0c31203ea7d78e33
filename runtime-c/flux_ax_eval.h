/* flux_ax_eval.h - the evaluator of gdb's agent expressions, inline so that
 * the interpreter's loop checks gdb's breakpoint conditions without a call
 * (flux_cond.c exports flux_ax_check and flux_ax_eval for everyone else).
 * Internal to runtime-c.  Bounded: a fixed stack, a step limit, every
 * operand and memory read checked, so no bytecode can hang the VM or read
 * outside its buffers. */
#ifndef FLUX_AX_EVAL_H
#define FLUX_AX_EVAL_H

#include <stdio.h>
#include <string.h>

#include "flux_vm.h"

enum {
    AX_FLOAT = 0x01, AX_ADD, AX_SUB, AX_MUL, AX_DIV_S, AX_DIV_U, AX_REM_S, AX_REM_U, AX_LSH,
    AX_RSH_S, AX_RSH_U, AX_TRACE, AX_TRACE_QUICK, AX_LOG_NOT, AX_BIT_AND, AX_BIT_OR, AX_BIT_XOR,
    AX_BIT_NOT, AX_EQUAL, AX_LESS_S, AX_LESS_U, AX_EXT, AX_REF8, AX_REF16, AX_REF32, AX_REF64,
    AX_REF_FLOAT, AX_REF_DOUBLE, AX_REF_LONG_DOUBLE, AX_L_TO_D, AX_D_TO_L, AX_IF_GOTO, AX_GOTO,
    AX_CONST8, AX_CONST16, AX_CONST32, AX_CONST64, AX_REG, AX_END, AX_DUP, AX_POP, AX_ZERO_EXT,
    AX_SWAP, AX_GETV, AX_SETV, AX_TRACEV, AX_TRACENZ, AX_TRACE16, AX_INVALID2, AX_PICK, AX_ROT,
    AX_PRINTF, AX_LAST = AX_PRINTF
};

/* Operand bytes of each opcode (printf: its fixed part; the format follows);
 * -1: no opcode. */
static const int8_t AX_OPERAND_BYTES[AX_LAST + 1] = {
    [0] = -1, [AX_FLOAT] = 0, [AX_ADD] = 0, [AX_SUB] = 0, [AX_MUL] = 0, [AX_DIV_S] = 0,
    [AX_DIV_U] = 0, [AX_REM_S] = 0, [AX_REM_U] = 0, [AX_LSH] = 0, [AX_RSH_S] = 0, [AX_RSH_U] = 0,
    [AX_TRACE] = 0, [AX_TRACE_QUICK] = 1, [AX_LOG_NOT] = 0, [AX_BIT_AND] = 0, [AX_BIT_OR] = 0,
    [AX_BIT_XOR] = 0, [AX_BIT_NOT] = 0, [AX_EQUAL] = 0, [AX_LESS_S] = 0, [AX_LESS_U] = 0,
    [AX_EXT] = 1, [AX_REF8] = 0, [AX_REF16] = 0, [AX_REF32] = 0, [AX_REF64] = 0,
    [AX_REF_FLOAT] = 0, [AX_REF_DOUBLE] = 0, [AX_REF_LONG_DOUBLE] = 0, [AX_L_TO_D] = 0,
    [AX_D_TO_L] = 0, [AX_IF_GOTO] = 2, [AX_GOTO] = 2, [AX_CONST8] = 1, [AX_CONST16] = 2,
    [AX_CONST32] = 4, [AX_CONST64] = 8, [AX_REG] = 2, [AX_END] = 0, [AX_DUP] = 0, [AX_POP] = 0,
    [AX_ZERO_EXT] = 1, [AX_SWAP] = 0, [AX_GETV] = 2, [AX_SETV] = 2, [AX_TRACEV] = 2,
    [AX_TRACENZ] = 0, [AX_TRACE16] = 2, [AX_INVALID2] = -1, [AX_PICK] = 1, [AX_ROT] = 0,
    [AX_PRINTF] = 3,
};

/* Where printf writes (breakpoint commands); NULL: printf is unsupported. */
typedef struct ax_out {
    uint8_t *buf;
    uint32_t cap, len;
} ax_out;

static inline uint64_t ax_be(const uint8_t *p, uint32_t n) {
    uint64_t v = 0;
    for (uint32_t i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

/* The length of the instruction at code[pc], or 0 when it is malformed
 * (*status says why). */
static inline uint32_t ax_insn_len(const uint8_t *code, uint32_t len, uint32_t pc, uint32_t *status) {
    uint8_t op = code[pc];
    if (op > AX_LAST || AX_OPERAND_BYTES[op] < 0) {
        *status = FLUX_AX_BAD_OPCODE;
        return 0;
    }
    uint32_t n = 1 + (uint32_t)AX_OPERAND_BYTES[op];
    if (pc + n > len) {
        *status = FLUX_AX_TRUNCATED;
        return 0;
    }
    if (op == AX_PRINTF) {
        uint32_t slen = (uint32_t)ax_be(code + pc + 2, 2);
        if (slen == 0 || pc + n + slen > len) {
            *status = slen == 0 ? FLUX_AX_BAD_FORMAT : FLUX_AX_TRUNCATED;
            return 0;
        }
        if (code[pc + n + slen - 1] != 0) {
            *status = FLUX_AX_BAD_FORMAT;
            return 0;
        }
        n += slen;
    }
    return n;
}

static inline flux_ax_result ax_check(const uint8_t *code, uint32_t len, int allow_printf) {
    flux_ax_result r = {FLUX_AX_OK, 0, 0, 0};
    if (!code || len == 0 || len > FLUX_AX_MAX_LEN) {
        r.status = FLUX_AX_EMPTY;
        return r;
    }
    uint8_t starts[FLUX_AX_MAX_LEN];
    memset(starts, 0, len);
    for (uint32_t pc = 0; pc < len;) {
        uint32_t n = ax_insn_len(code, len, pc, &r.status);
        if (!n) {
            r.at = pc;
            return r;
        }
        if (code[pc] == AX_PRINTF && !allow_printf) {
            r.status = FLUX_AX_UNSUPPORTED;
            r.at = pc;
            return r;
        }
        starts[pc] = 1;
        pc += n;
    }
    for (uint32_t pc = 0; pc < len; pc += ax_insn_len(code, len, pc, &r.status)) {
        if (code[pc] != AX_GOTO && code[pc] != AX_IF_GOTO) continue;
        uint32_t t = (uint32_t)ax_be(code + pc + 1, 2);
        if (t >= len || !starts[t]) {
            r.status = FLUX_AX_BAD_JUMP;
            r.at = pc;
            return r;
        }
    }
    return r;
}

static inline void ax_put(ax_out *out, uint32_t *room, const char *s, size_t n) {
    if (n > *room) n = *room;
    memcpy(out->buf + out->len, s, n);
    out->len += (uint32_t)n;
    *room -= (uint32_t)n;
}

/* gdb's printf bytecode: format with the arguments, as C's printf would
 * (conversions d i u o x X c s p f e g a, flags, width and precision; %s
 * reads a string from VM memory).  At most FLUX_AX_LINE_MAX bytes. */
static inline uint32_t ax_printf(ax_out *out, const flux_view *v, const char *fmt, uint32_t flen,
                                 const uint64_t *args, uint32_t nargs) {
    uint32_t room = out->cap - out->len;
    if (room > FLUX_AX_LINE_MAX) room = FLUX_AX_LINE_MAX;
    uint32_t next = 0;
    for (uint32_t i = 0; i < flen && fmt[i];) {
        if (fmt[i] == '\\' && i + 1 < flen && fmt[i + 1]) {
            /* gdb sends the format as typed: escapes are read here, as
             * gdbserver's format_pieces reads them */
            char c = fmt[i + 1];
            uint32_t used = 2;
            switch (c) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'a': c = '\a'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'v': c = '\v'; break;
            case 'e': c = 27; break;
            case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
                unsigned o = 0;
                used = 1;
                while (used < 4 && i + used < flen && fmt[i + used] >= '0' && fmt[i + used] <= '7')
                    o = o * 8 + (unsigned)(fmt[i + used++] - '0');
                c = (char)o;
                break;
            }
            default: break; /* \\ \" \' and the rest: the character itself */
            }
            ax_put(out, &room, &c, 1);
            i += used;
            continue;
        }
        if (fmt[i] != '%') {
            uint32_t j = i;
            while (j < flen && fmt[j] && fmt[j] != '%' && fmt[j] != '\\') j++;
            ax_put(out, &room, fmt + i, j - i);
            i = j;
            continue;
        }
        if (i + 1 < flen && fmt[i + 1] == '%') {
            ax_put(out, &room, "%", 1);
            i += 2;
            continue;
        }
        /* %[flags][width][.precision][length]conversion */
        char spec[32];
        uint32_t k = 0, j = i + 1;
        spec[k++] = '%';
        while (j < flen && strchr("-+ #0", fmt[j]) && fmt[j] && k < 8) spec[k++] = fmt[j++];
        for (int d = 0; j < flen && fmt[j] >= '0' && fmt[j] <= '9'; j++, d++)
            if (d < 3) spec[k++] = fmt[j];
        if (j < flen && fmt[j] == '.') {
            spec[k++] = fmt[j++];
            for (int d = 0; j < flen && fmt[j] >= '0' && fmt[j] <= '9'; j++, d++)
                if (d < 3) spec[k++] = fmt[j];
        }
        while (j < flen && fmt[j] && strchr("hlLqjzt", fmt[j])) j++; /* the value is 64-bit anyway */
        if (j >= flen || !fmt[j]) return FLUX_AX_UNSUPPORTED;
        char conv = fmt[j++];
        if (next >= nargs) return FLUX_AX_STACK_UNDERFLOW;
        uint64_t a = args[next++];
        char text[FLUX_AX_LINE_MAX];
        int n;
        switch (conv) {
        case 'd': case 'i':
            spec[k++] = 'l'; spec[k++] = 'l'; spec[k++] = conv; spec[k] = 0;
            n = snprintf(text, sizeof text, spec, (long long)a);
            break;
        case 'u': case 'o': case 'x': case 'X':
            spec[k++] = 'l'; spec[k++] = 'l'; spec[k++] = conv; spec[k] = 0;
            n = snprintf(text, sizeof text, spec, (unsigned long long)a);
            break;
        case 'c':
            spec[k++] = 'c'; spec[k] = 0;
            n = snprintf(text, sizeof text, spec, (int)(unsigned char)a);
            break;
        case 'p':
            n = snprintf(text, sizeof text, "0x%llx", (unsigned long long)a);
            break;
        case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': case 'a': case 'A': {
            /* a register reads as its bits: 32 of them are a single (conf) */
            double d;
            if (a >> 32) memcpy(&d, &a, sizeof d);
            else {
                uint32_t b = (uint32_t)a;
                float f;
                memcpy(&f, &b, sizeof f);
                d = f;
            }
            spec[k++] = conv; spec[k] = 0;
            n = snprintf(text, sizeof text, spec, d);
            break;
        }
        case 's': {
            char str[256];
            uint32_t m = 0;
            if (!v->mem || a >= v->mem_len) return FLUX_AX_BAD_MEMORY;
            while (m + 1 < sizeof str && a + m < v->mem_len && v->mem[a + m]) {
                str[m] = (char)v->mem[a + m];
                m++;
            }
            str[m] = 0;
            spec[k++] = 's'; spec[k] = 0;
            n = snprintf(text, sizeof text, spec, str);
            break;
        }
        default: return FLUX_AX_UNSUPPORTED;
        }
        if (n > 0) ax_put(out, &room, text, (size_t)n < sizeof text ? (size_t)n : sizeof text - 1);
        i = j;
    }
    return FLUX_AX_OK;
}

/* Evaluates code (checked or not: everything is checked again as it runs). */
static inline flux_ax_result ax_eval(const uint8_t *code, uint32_t len, const flux_view *v, ax_out *out) {
    flux_ax_result r = {FLUX_AX_OK, 0, 0, 0};
    uint64_t st[FLUX_AX_STACK];
    uint32_t n = 0, pc = 0, steps = 0;
#define AX_FAIL(s)                 \
    do {                           \
        r.status = (s);            \
        r.at = pc;                 \
        return r;                  \
    } while (0)
#define AX_NEED(k) \
    if (n < (k)) AX_FAIL(FLUX_AX_STACK_UNDERFLOW)
#define AX_PUSH(x)                                       \
    do {                                                 \
        if (n >= FLUX_AX_STACK) AX_FAIL(FLUX_AX_STACK_OVERFLOW); \
        uint64_t x_ = (x);                               \
        st[n] = x_;                                      \
        n++;                                             \
    } while (0)
#define AX_BIN(expr)              \
    do {                          \
        AX_NEED(2);               \
        uint64_t a = st[n - 2], b = st[n - 1]; \
        (void)a; (void)b;         \
        n--;                      \
        st[n - 1] = (expr);       \
    } while (0)
    for (;;) {
        if (pc >= len) AX_FAIL(FLUX_AX_NO_END);
        if (++steps > FLUX_AX_MAX_STEPS) AX_FAIL(FLUX_AX_STEP_LIMIT);
        uint32_t status = FLUX_AX_OK;
        uint32_t ilen = ax_insn_len(code, len, pc, &status);
        if (!ilen) AX_FAIL(status);
        const uint8_t *arg = code + pc + 1;
        uint32_t next = pc + ilen;
        switch (code[pc]) {
        case AX_ADD: AX_BIN(a + b); break;
        case AX_SUB: AX_BIN(a - b); break;
        case AX_MUL: AX_BIN(a * b); break;
        case AX_DIV_S: case AX_REM_S: {
            AX_NEED(2);
            int64_t a = (int64_t)st[n - 2], b = (int64_t)st[n - 1];
            if (b == 0) AX_FAIL(FLUX_AX_DIV_ZERO);
            int64_t q = (a == INT64_MIN && b == -1) ? (code[pc] == AX_DIV_S ? a : 0)
                        : (code[pc] == AX_DIV_S ? a / b : a % b);
            n--;
            st[n - 1] = (uint64_t)q;
            break;
        }
        case AX_DIV_U: case AX_REM_U:
            AX_NEED(2);
            if (st[n - 1] == 0) AX_FAIL(FLUX_AX_DIV_ZERO);
            AX_BIN(code[pc] == AX_DIV_U ? a / b : a % b);
            break;
        case AX_LSH: AX_BIN(b >= 64 ? 0 : a << b); break;
        case AX_RSH_S: AX_BIN(b >= 64 ? ((int64_t)a < 0 ? UINT64_MAX : 0) : (uint64_t)((int64_t)a >> b)); break;
        case AX_RSH_U: AX_BIN(b >= 64 ? 0 : a >> b); break;
        case AX_LOG_NOT: AX_NEED(1); st[n - 1] = !st[n - 1]; break;
        case AX_BIT_AND: AX_BIN(a & b); break;
        case AX_BIT_OR: AX_BIN(a | b); break;
        case AX_BIT_XOR: AX_BIN(a ^ b); break;
        case AX_BIT_NOT: AX_NEED(1); st[n - 1] = ~st[n - 1]; break;
        case AX_EQUAL: AX_BIN(a == b); break;
        case AX_LESS_S: AX_BIN((int64_t)a < (int64_t)b); break;
        case AX_LESS_U: AX_BIN(a < b); break;
        case AX_EXT: {
            AX_NEED(1);
            uint32_t bits = arg[0];
            if (bits == 0) st[n - 1] = 0;
            else if (bits < 64) {
                uint64_t m = 1ull << (bits - 1), x = st[n - 1] & ((1ull << bits) - 1);
                st[n - 1] = (x ^ m) - m;
            }
            break;
        }
        case AX_ZERO_EXT:
            AX_NEED(1);
            if (arg[0] < 64) st[n - 1] &= (1ull << arg[0]) - 1;
            break;
        case AX_REF8: case AX_REF16: case AX_REF32: case AX_REF64: {
            AX_NEED(1);
            uint32_t size = code[pc] == AX_REF8 ? 1 : code[pc] == AX_REF16 ? 2 : code[pc] == AX_REF32 ? 4 : 8;
            uint64_t a = st[n - 1];
            if (!v->mem || v->mem_len < size || a > v->mem_len - size) {
                r.addr = a;
                AX_FAIL(FLUX_AX_BAD_MEMORY);
            }
            uint64_t x = 0;
            for (uint32_t i = size; i-- > 0;) x = x << 8 | v->mem[a + i];
            st[n - 1] = x;
            break;
        }
        case AX_IF_GOTO:
            AX_NEED(1);
            if (st[--n]) next = (uint32_t)ax_be(arg, 2);
            break;
        case AX_GOTO: next = (uint32_t)ax_be(arg, 2); break;
        case AX_CONST8: AX_PUSH(arg[0]); break;
        case AX_CONST16: AX_PUSH(ax_be(arg, 2)); break;
        case AX_CONST32: AX_PUSH(ax_be(arg, 4)); break;
        case AX_CONST64: AX_PUSH(ax_be(arg, 8)); break;
        case AX_REG: {
            uint32_t reg = (uint32_t)ax_be(arg, 2);
            uint64_t x;
            if (reg == 4) x = v->sp;
            else if (reg == 5) x = v->fp;
            else if (reg == 8) x = v->pc;
            else if (reg == 9) x = v->flags;
            else if (reg >= 32 && reg < 48 && v->r) x = (uint32_t)v->r[reg - 32];
            else if (reg >= 48 && reg < 64 && v->conf) {
                uint32_t bits;
                memcpy(&bits, &v->conf[reg - 48], sizeof bits);
                x = bits;
            } else if (reg == 64) x = (uint64_t)v->energy;
            else if (reg == 65) x = v->cycles;
            else {
                r.addr = reg;
                AX_FAIL(FLUX_AX_BAD_REGISTER);
            }
            AX_PUSH(x);
            break;
        }
        case AX_END:
            /* a command (printf) leaves nothing: only a condition needs a value */
            if (!out) AX_NEED(1);
            r.value = n ? st[n - 1] : 0;
            return r;
        case AX_DUP: AX_NEED(1); AX_PUSH(st[n - 1]); break;
        case AX_POP: AX_NEED(1); n--; break;
        case AX_SWAP: {
            AX_NEED(2);
            uint64_t t = st[n - 1];
            st[n - 1] = st[n - 2];
            st[n - 2] = t;
            break;
        }
        case AX_PICK: AX_NEED((uint32_t)arg[0] + 1); AX_PUSH(st[n - 1 - arg[0]]); break;
        case AX_ROT: {
            /* a b c => c a b */
            AX_NEED(3);
            uint64_t a = st[n - 3], b = st[n - 2], c = st[n - 1];
            st[n - 3] = c;
            st[n - 2] = a;
            st[n - 1] = b;
            break;
        }
        case AX_PRINTF: {
            if (!out) AX_FAIL(FLUX_AX_UNSUPPORTED);
            uint32_t nargs = arg[0], flen = (uint32_t)ax_be(arg + 1, 2);
            /* the function and the channel, then the arguments, first on top */
            AX_NEED(2 + nargs);
            uint64_t args[FLUX_AX_STACK];
            for (uint32_t i = 0; i < nargs; i++) args[i] = st[n - 3 - i];
            n -= 2 + nargs;
            uint32_t s = ax_printf(out, v, (const char *)(arg + 3), flen, args, nargs);
            if (s != FLUX_AX_OK) AX_FAIL(s);
            break;
        }
        default: AX_FAIL(FLUX_AX_UNSUPPORTED); /* floats, tracing, trace state variables */
        }
        pc = next;
    }
#undef AX_FAIL
#undef AX_NEED
#undef AX_PUSH
#undef AX_BIN
}

#endif /* FLUX_AX_EVAL_H */
