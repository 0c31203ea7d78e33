/* flux_cond.c - the public entry to the condition evaluator (flux_cond_eval.h). */
#include "flux_cond_eval.h"

int flux_cond_eval(const flux_cond *cond, const flux_view *view) { return flux_cond_eval_inline(cond, view); }
