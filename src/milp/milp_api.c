/* Public entry points of the model, MPS and binary-form calls: the context
 * checked, the work done with a message buffer (milp_internal.h says why),
 * and a failure's message handed to the context. Host only: the context's
 * backend does not matter here. */
#include "internal.h"
#include "milp_internal.h"

int milp_begin(dopt_context *ctx)
{
    if (!ctx) return 0;
    ctx->error[0] = 0;
    return 1;
}

dopt_status milp_report(dopt_context *ctx, dopt_status st, const char *msg)
{
    if (st == DOPT_OK) return st;
    return dopt_fail(ctx, st, "%s", msg && *msg ? msg : dopt_status_string(st));
}

dopt_status dopt_milp_alloc(dopt_context *ctx, int32_t n, int32_t m, int64_t nnz, dopt_milp **out)
{
    if (!milp_begin(ctx)) return DOPT_ERR_INVALID_ARGUMENT;
    if (!out) return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "milp alloc: out is NULL");
    *out = NULL;
    if (n < 0 || m < 0 || nnz < 0)
        return dopt_fail(ctx, DOPT_ERR_INVALID_ARGUMENT, "milp alloc: negative size (n = %d, m = %d, nnz = %lld)", n,
                         m, (long long)nnz);
    if (!(*out = milp_alloc(n, m, nnz)))
        return dopt_fail(ctx, DOPT_ERR_OUT_OF_MEMORY, "milp alloc: out of memory for n = %d, m = %d, nnz = %lld", n, m,
                         (long long)nnz);
    return DOPT_OK;
}

dopt_status dopt_milp_check(dopt_context *ctx, const dopt_milp *model)
{
    if (!milp_begin(ctx)) return DOPT_ERR_INVALID_ARGUMENT;
    char msg[MILP_MSG_LEN] = "";
    return milp_report(ctx, milp_check(model, msg, sizeof msg), msg);
}

void dopt_mps_read_options_default(dopt_mps_read_options *opt)
{
    if (opt) milp_mps_read_options_default(opt);
}

/* what the read skipped, as DOPT_LOG_WARN messages (prefix: the path, if any) */
static void log_warnings(dopt_context *ctx, const char *prefix, const milp_mps_warnings *w)
{
    int kept = w->count < MILP_MPS_WARNINGS ? w->count : MILP_MPS_WARNINGS;
    for (int k = 0; k < kept; ++k)
        dopt_log(ctx, DOPT_LOG_WARN, "%s%s%s", prefix ? prefix : "", prefix ? ": " : "", w->text[k]);
    if (w->count > kept)
        dopt_log(ctx, DOPT_LOG_WARN, "%s%s%d more warnings not shown", prefix ? prefix : "", prefix ? ": " : "",
                 w->count - kept);
}

dopt_status dopt_mps_parse_with(dopt_context *ctx, const char *text, size_t len, const dopt_mps_read_options *opt,
                                dopt_milp **out)
{
    if (!milp_begin(ctx)) return DOPT_ERR_INVALID_ARGUMENT;
    char msg[MILP_MSG_LEN] = "";
    milp_mps_warnings w;
    dopt_status st = milp_mps_parse_opts(text, len, opt, &w, out, msg, sizeof msg);
    if (st == DOPT_OK) log_warnings(ctx, NULL, &w);
    return milp_report(ctx, st, msg);
}

dopt_status dopt_mps_read_with(dopt_context *ctx, const char *path, const dopt_mps_read_options *opt, dopt_milp **out)
{
    if (!milp_begin(ctx)) return DOPT_ERR_INVALID_ARGUMENT;
    char msg[MILP_MSG_LEN] = "";
    milp_mps_warnings w;
    dopt_status st = milp_mps_read_opts(path, opt, &w, out, msg, sizeof msg);
    if (st == DOPT_OK) log_warnings(ctx, path, &w);
    return milp_report(ctx, st, msg);
}

/* the calls without options: the defaults with the format given */
dopt_status dopt_mps_parse(dopt_context *ctx, const char *text, size_t len, dopt_mps_format format, dopt_milp **out)
{
    dopt_mps_read_options opt;
    milp_mps_read_options_default(&opt);
    opt.format = format;
    return dopt_mps_parse_with(ctx, text, len, &opt, out);
}

dopt_status dopt_mps_read(dopt_context *ctx, const char *path, dopt_mps_format format, dopt_milp **out)
{
    dopt_mps_read_options opt;
    milp_mps_read_options_default(&opt);
    opt.format = format;
    return dopt_mps_read_with(ctx, path, &opt, out);
}

dopt_status dopt_mps_write(dopt_context *ctx, const dopt_milp *model, const char *path)
{
    if (!milp_begin(ctx)) return DOPT_ERR_INVALID_ARGUMENT;
    char msg[MILP_MSG_LEN] = "";
    return milp_report(ctx, milp_mps_write(model, path, msg, sizeof msg), msg);
}

dopt_status dopt_milp_to_binary_form(dopt_context *ctx, const dopt_milp *model, dopt_milp_row_sense sense,
                                     dopt_milp_binary_form *out)
{
    if (!milp_begin(ctx)) return DOPT_ERR_INVALID_ARGUMENT;
    char msg[MILP_MSG_LEN] = "";
    return milp_report(ctx, milp_binary_form(model, sense, out, msg, sizeof msg), msg);
}
