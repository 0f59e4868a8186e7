/* dopt: diffusion sampling for MILP solutions (SRG).
 * Part of the public API; include dopt.h (the umbrella) or this header. */
#ifndef DOPT_DIFFUSION_PUBLIC_H
#define DOPT_DIFFUSION_PUBLIC_H

#include "dopt_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- diffusion sampling for MILP solutions (SRG) ----------------------------
 * The caller's network predicts the noise eps_hat(x_t, t) of every row of a
 * (rows, n) state between steps; dopt runs the reverse steps (DDPM, DDIM),
 * SRG's Lagrangian guidance, its training targets, and candidate selection.
 * Noise comes from Philox: a pure function of (seed, row, step), so results
 * are bitwise the same for every thread count, and equal on CPU and GPU up
 * to rounding (Box-Muller uses each platform's log/sin/cos;
 * docs/ARCHITECTURE.md). Sign conventions:
 * docs/DIFFUSION.md. Constraints follow SRG: A x >= b. */
typedef enum dopt_schedule { DOPT_SCHEDULE_LINEAR = 0, DOPT_SCHEDULE_COSINE = 1 } dopt_schedule;
typedef enum dopt_sampler { DOPT_SAMPLER_DDPM = 0, DOPT_SAMPLER_DDIM = 1 } dopt_sampler;

/* abar (T+1 values, host memory): abar[0] = 1, abar[t] = prod_{s<=t}(1 - beta_s).
 * Linear: beta from 1e-4 to 0.02 (Ho et al.); cosine: Nichol & Dhariwal
 * (offset 0.008, beta capped at 0.999). */
DOPT_API dopt_status dopt_diffusion_schedule(dopt_schedule kind, int32_t T, double *abar);

enum { DOPT_DIFFUSION_SHARE_A = 1u << 0, DOPT_DIFFUSION_SHARE_B = 1u << 1, DOPT_DIFFUSION_SHARE_C = 1u << 2 };

/* A batch of MILPs (A x >= b, objective c) for guidance and candidates; row
 * r of a (rows, n) state belongs to instance r / samples. A is CSR: each
 * instance's offsets >= 0 and non-decreasing, column indices in [0, n); a
 * column listed twice in a row counts as the sum of its entries. col_idx
 * and values may be NULL when no row has entries (nnz = 0). Every call that
 * takes a guide checks this before reading through it (O(m + nnz) per
 * distinct A; on CUDA one stream synchronization): a violation is
 * DOPT_ERR_INVALID_ARGUMENT whose message names the lowest bad instance and
 * its row. Offsets past the arrays' end cannot be checked (their length is
 * not passed). */
typedef struct dopt_diffusion_guide {
    int64_t batch;
    int32_t n, m, samples;
    dopt_dtype dtype;
    const int64_t *row_ptr; /* CSR: (batch, m+1), or (m+1) shared; absolute offsets */
    const int32_t *col_idx;
    const void *values;
    const void *b;    /* (batch, m) or (m) shared */
    const void *c;    /* (batch, n) or (n) shared */
    const void *xref; /* (batch, n) reference solution x* for O, or NULL (no O term) */
    uint32_t shared;  /* DOPT_DIFFUSION_SHARE_* */
} dopt_diffusion_guide;

typedef struct dopt_guidance {
    double gamma_o, gamma_c; /* weights of O(x) = |c.*(x - x*)|_1 and P(x) = lambda |max(b - Ax, 0)|_1 */
    double lambda;
} dopt_guidance;

/* gamma_o = 0 (no objective term: needs no x*), gamma_c = 1, lambda = 1. A
 * NULL guidance pointer next to a guide means these. */
DOPT_API void dopt_guidance_default(dopt_guidance *g);

typedef struct dopt_diffusion_step_desc {
    dopt_sampler sampler;
    const double *abar; /* host, from dopt_diffusion_schedule */
    int32_t t, t_prev;  /* DDPM: t_prev = t - 1; DDIM: any t_prev < t */
    double eta;         /* DDIM only: 0 deterministic, 1 DDPM-like */
    uint64_t seed;
} dopt_diffusion_step_desc;

/* One reverse step of every row, in place. eps_hat (rows, n) is the
 * network's prediction at (x, t); with guide non-NULL (g NULL: the
 * defaults), the guidance
 * sqrt(1 - abar_t)(gamma_o dO/dx + gamma_c dP/dx) is added to it first (it
 * is modified). */
DOPT_API dopt_status dopt_diffusion_step(dopt_context *ctx, const dopt_diffusion_step_desc *step, int64_t rows,
                                         int32_t n, dopt_dtype dtype, void *x, void *eps_hat,
                                         const dopt_diffusion_guide *guide, const dopt_guidance *g);

/* Training pairs: x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, eps from
 * (seed, row, step); writes x_t and eps (rows, n). */
DOPT_API dopt_status dopt_diffusion_noise(dopt_context *ctx, int64_t rows, int32_t n, dopt_dtype dtype,
                                          const void *x0, double abar_t, uint64_t seed, uint32_t step, void *xt,
                                          void *eps);

/* SRG's training target (eq. 19, signs of docs/DIFFUSION.md) for rows of
 * x_t with their eps: target = eps + sqrt(abar_t)(gamma_o c.*sign(c.*([x_t] - x*))
 * - gamma_c lambda A' 1[A [x_t] < b]); [x_t] = round(x_t) when round. x* is
 * guide->xref (required); g NULL: the defaults. */
DOPT_API dopt_status dopt_srg_target(dopt_context *ctx, const dopt_diffusion_guide *guide, const dopt_guidance *g,
                                     const void *xt, const void *eps, double abar_t, int round, void *target);

/* Candidates: every row (batch * samples) rounded (when round) and scored
 * (objective c'x, violation sum max(b - Ax, 0)); per instance the best:
 * feasible (violation <= feas_tol) first, then smaller violation, then smaller
 * objective, then the lower index. NaN ranks worst: a row with a NaN gap
 * gets violation NaN (never feasible) and comes after every numeric
 * violation; a NaN objective after every numeric one. The CPU and CUDA
 * backends use the same order. objective, violation (rows) and best_x
 * (batch, n) may be NULL. */
DOPT_API dopt_status dopt_diffusion_candidates(dopt_context *ctx, const dopt_diffusion_guide *guide, const void *x,
                                               int round, double feas_tol, void *objective, void *violation,
                                               int32_t *best, void *best_x);

/* ---- block-diagonal (ragged) batches ----
 * MILPs of different sizes in one call, in the layout graph libraries
 * produce (PyTorch Geometric's ptr offsets): instance i owns variables
 * [var_ptr[i], var_ptr[i+1]) of the concatenated per-instance arrays (c,
 * xref, best_x) and rows [con_ptr[i], con_ptr[i+1]) of one CSR matrix (A x
 * >= b) whose column indices are GLOBAL variable indices. A state (x, eps,
 * eps_hat, x0, x_t, target) holds samples S rows per instance, instance
 * i's S rows one after another from S * var_ptr[i] (sample k at S *
 * var_ptr[i] + k * n_i): samples * var_ptr[batch] values in all. Row r =
 * i * S + k draws its noise from (seed, r, step) with local coordinates,
 * the uniform counters: a block batch whose instances all have the same
 * sizes gives bitwise the uniform calls' results; objective, violation
 * and best keep the uniform shapes (batch * samples, batch).
 *
 * Every array is in backend memory (the device's for a CUDA context). The
 * host reads var_ptr[0], var_ptr[batch] (and con_ptr's; on CUDA one small
 * download and one stream synchronization, with the result of a check
 * kernel). DOPT_ERR_INVALID_ARGUMENT, the message naming the array or the
 * instance (and row): var_ptr[0] or con_ptr[0] not 0, a decreasing offset,
 * more than 2^31 - 1 variables or rows in all (col_idx is int32), b NULL
 * with rows, and the CSR rules of dopt_diffusion_guide with columns outside
 * the instance's own [var_ptr[i], var_ptr[i+1]). An instance without
 * variables or rows is valid. */
typedef struct dopt_diffusion_blocks {
    int64_t batch;
    int32_t samples; /* S >= 1 rows of the state per instance */
    dopt_dtype dtype;
    const int64_t *var_ptr; /* batch + 1 offsets into the variables (always required) */
    const int64_t *con_ptr; /* batch + 1 offsets into the rows; NULL only for a layout (c NULL) */
    const int64_t *row_ptr; /* con_ptr[batch] + 1 absolute offsets into col_idx and values */
    const int32_t *col_idx; /* global variable indices; NULL allowed when no row has entries */
    const void *values;
    const void *b;    /* con_ptr[batch]; NULL allowed without rows */
    const void *c;    /* var_ptr[batch]; NULL: only the layout (an unguided step, noise) */
    const void *xref; /* var_ptr[batch] reference solution x*, or NULL (no O term) */
} dopt_diffusion_blocks;

/* dopt_diffusion_step on a block batch: x and eps_hat as described above.
 * Guided (g NULL: the defaults) when blocks->c != NULL, which then needs the
 * MILP arrays; with c NULL only batch, samples and var_ptr are read. */
DOPT_API dopt_status dopt_diffusion_step_blocks(dopt_context *ctx, const dopt_diffusion_step_desc *step,
                                                const dopt_diffusion_blocks *blocks, void *x, void *eps_hat,
                                                const dopt_guidance *g);
/* dopt_diffusion_noise on a block batch (reads batch, samples, var_ptr). */
DOPT_API dopt_status dopt_diffusion_noise_blocks(dopt_context *ctx, const dopt_diffusion_blocks *blocks, const void *x0,
                                                 double abar_t, uint64_t seed, uint32_t step, void *xt, void *eps);
/* dopt_srg_target on a block batch: c and xref required. */
DOPT_API dopt_status dopt_srg_target_blocks(dopt_context *ctx, const dopt_diffusion_blocks *blocks,
                                            const dopt_guidance *g, const void *xt, const void *eps, double abar_t,
                                            int round, void *target);
/* dopt_diffusion_candidates on a block batch: objective, violation (batch *
 * samples), best (batch), best_x (var_ptr[batch]); c required. */
DOPT_API dopt_status dopt_diffusion_candidates_blocks(dopt_context *ctx, const dopt_diffusion_blocks *blocks,
                                                      const void *x, int round, double feas_tol, void *objective,
                                                      void *violation, int32_t *best, void *best_x);

/* The exact noise prediction of a Gaussian-mixture target (one component: a
 * Gaussian), for testing samplers without a network: for the noised target
 * p_t = sum_k w_k N(sqrt(abar) m_k, abar S_k + (1 - abar) I),
 * eps_hat(x) = -sqrt(1 - abar) grad log p_t(x). Host memory, float64:
 * weights (K), means (K, n), covs (K, n, n) symmetric positive
 * semidefinite, x and eps (rows, n). Weights are relative (finite, >= 0,
 * not all 0); NaN/Inf anywhere or a non-symmetric covariance is
 * DOPT_ERR_INVALID_ARGUMENT with the component named. */
DOPT_API dopt_status dopt_diffusion_mixture_eps(dopt_context *ctx, int32_t n, int32_t components, const double *weights,
                                                const double *means, const double *covs, double abar, int64_t rows,
                                                const double *x, double *eps);

#ifdef __cplusplus
}
#endif
#endif
