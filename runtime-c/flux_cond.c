/* flux_cond.c - the public entries to the condition evaluators
 * (flux_cond_eval.h, flux_ax_eval.h). */
#include "flux_ax_eval.h"
#include "flux_cond_eval.h"

int flux_cond_eval(const flux_cond *cond, const flux_view *view) { return flux_cond_eval_inline(cond, view); }

flux_ax_result flux_ax_check(const uint8_t *code, uint32_t len, int allow_printf) {
    return ax_check(code, len, allow_printf);
}

flux_ax_result flux_ax_eval(const uint8_t *code, uint32_t len, const flux_view *view) {
    if (!code || len > FLUX_AX_MAX_LEN) {
        flux_ax_result r = {FLUX_AX_EMPTY, 0, 0, 0};
        return r;
    }
    return ax_eval(code, len, view, NULL);
}
