/* flux_cond_eval.h - the evaluator of compiled conditions, inline so that
 * the interpreter's loop can check conditions without a call (flux_cond.c
 * exports it as flux_cond_eval for everyone else).  Internal to runtime-c. */
#ifndef FLUX_COND_EVAL_H
#define FLUX_COND_EVAL_H

#include "flux_vm.h"

/* a OP b, for integers and for floats alike */
#define COND_CMP(a, op, b)                       \
    ((op) == FLUX_CMP_EQ   ? (a) == (b)          \
     : (op) == FLUX_CMP_NE ? (a) != (b)          \
     : (op) == FLUX_CMP_LT ? (a) < (b)           \
     : (op) == FLUX_CMP_LE ? (a) <= (b)          \
     : (op) == FLUX_CMP_GT ? (a) > (b)           \
     : (op) == FLUX_CMP_GE ? (a) >= (b)          \
                           : 0)

static inline int cond_cmp_int(int64_t a, uint8_t op, int64_t b) { return COND_CMP(a, op, b); }
static inline int cond_cmp_float(float a, uint8_t op, float b) { return COND_CMP(a, op, b); }

static inline int cond_mem_ok(const flux_view *v, uint32_t addr, uint32_t n) {
    return v->mem && n <= v->mem_len && addr <= v->mem_len - n;
}

static inline int cond_eval_cmp(const flux_cmp *c, const flux_view *v) {
    uint32_t i = c->index;
    const uint8_t *m = v->mem;
    switch (c->operand) {
    case FLUX_OPND_REG: return v->r && i < FLUX_NUM_REGS && cond_cmp_int(v->r[i], c->op, c->ivalue);
    case FLUX_OPND_CONF: return v->conf && i < FLUX_NUM_REGS && cond_cmp_float(v->conf[i], c->op, c->fvalue);
    case FLUX_OPND_ENERGY: return cond_cmp_int(v->energy, c->op, c->ivalue);
    case FLUX_OPND_CYCLES:
        return cond_cmp_int(v->cycles > INT64_MAX ? INT64_MAX : (int64_t)v->cycles, c->op, c->ivalue);
    case FLUX_OPND_PC: return cond_cmp_int(v->pc, c->op, c->ivalue);
    case FLUX_OPND_SP: return cond_cmp_int(v->sp, c->op, c->ivalue);
    case FLUX_OPND_LAST_CONF: return cond_cmp_float(v->last_conf, c->op, c->fvalue);
    case FLUX_OPND_MEM8: return cond_mem_ok(v, i, 1) && cond_cmp_int(m[i], c->op, c->ivalue);
    case FLUX_OPND_MEM16:
        return cond_mem_ok(v, i, 2) && cond_cmp_int((int64_t)(m[i] | (uint32_t)m[i + 1] << 8), c->op, c->ivalue);
    case FLUX_OPND_MEM32:
        return cond_mem_ok(v, i, 4) &&
               cond_cmp_int((int64_t)(m[i] | (uint32_t)m[i + 1] << 8 | (uint32_t)m[i + 2] << 16 |
                                 (uint32_t)m[i + 3] << 24),
                       c->op, c->ivalue);
    case FLUX_OPND_TRUST: return v->trust && i < FLUX_NUM_AGENTS && cond_cmp_float(v->trust[i], c->op, c->fvalue);
    default: return 0;
    }
}

static inline int flux_cond_eval_inline(const flux_cond *cond, const flux_view *view) {
    uint32_t n = cond->n < FLUX_COND_MAX ? cond->n : FLUX_COND_MAX;
    if (n == 0) return 1;
    int group = 1;
    for (uint32_t k = 0; k < n; k++) {
        const flux_cmp *c = &cond->cmp[k];
        /* within a group, skip the rest once one comparison is false */
        if (group) group = cond_eval_cmp(c, view);
        if (c->group_end || k + 1 == n) {
            if (group) return 1;
            group = 1;
        }
    }
    return 0;
}

#endif /* FLUX_COND_EVAL_H */
