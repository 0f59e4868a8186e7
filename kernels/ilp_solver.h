/* Exact branch and bound for one small integer program (n, m <= 64), in
 * float64, the same code on a CPU worker and a GPU thread.
 *
 * LP relaxations: a bounded dual simplex on a dense tableau of
 * [A I | b] (slacks s = b - A y >= 0) with the reduced costs as its last row.
 * The slack basis with every y_j at the bound its cost prefers is dual
 * feasible, and bound changes never break dual feasibility (a nonbasic
 * boxed variable moves to the bound its reduced cost prefers), so every node
 * re-optimizes from the tableau it inherits:
 *  - the first child continues from its parent's optimal tableau;
 *  - a sibling, reached by backtracking, continues from the last tableau
 *    (a descendant of the same parent), as depth-first solvers do.
 * The tableau is rebuilt from the original data every ILP_REFACTOR pivots.
 *
 * Search: depth first, branching on the most fractional variable (ties: the
 * lowest index), the nearer rounding first. The trail stores one entry per
 * level (variable, its old bounds, the sibling still to do, the parent's
 * LP bound), so memory is O(depth), not O(open nodes).
 *
 * Exactness (docs/ILP.md): an incumbent is a rounded LP vertex that passes
 * a direct check  a_i'y - b_i <= 1e-9 max(1, |b_i|, sum_j |a_ij y_j|);
 * a node is pruned when its LP bound z >= z_inc - 1e-10 max(1, |z_inc|)
 * (with integer costs: z > z_inc - 1 + 1e-6), so the result is optimal to
 * well within 1e-9 relative unless LP round-off exceeds ~1e-10 |z|. */
#ifndef DOPT_ILP_SOLVER_H
#define DOPT_ILP_SOLVER_H

#include "ilp_view.h"

#if !defined(__CUDA_ARCH__)
#include <time.h>
#endif

#define ILP_PRIMAL_TOL 1e-9
#define ILP_DUAL_TOL 1e-10
#define ILP_PIVOT_TOL 1e-9
#define ILP_INT_TOL 1e-9
#define ILP_REFACTOR 100
#define ILP_MAX_TRAIL 2048
#define ILP_TRAIL_WIDTH 6
#define ILP_MAX_DIM 256 /* n, m accepted; designed for <= 64 */

enum { ILP_AT_LB = 0, ILP_AT_UB = 1, ILP_BASIC = 2 };
enum { ILP_LP_OPTIMAL = 0, ILP_LP_INFEASIBLE = 1, ILP_LP_CUTOFF = 2, ILP_LP_FAILED = 3 };

/* Nanoseconds: the host's wall clock on a CPU, the device's global timer
 * (%globaltimer, one clock for all SMs) on a GPU. A call's deadline is taken
 * on the clock its solves compare against: the CPU backend reads this
 * function on the host, the CUDA backend reads it in a kernel at the start
 * of the call (the two clocks are not assumed to agree). */
DOPT_KFN uint64_t ilp_now_ns(void)
{
#if defined(__CUDA_ARCH__)
    uint64_t t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    return t;
#else
    struct timespec ts; /* C11's clock: wall time, adequate for a time limit */
    timespec_get(&ts, TIME_UTC);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
#endif
}

typedef struct {
    int64_t node_limit;   /* >= 1 */
    uint64_t deadline_ns; /* absolute, on ilp_now_ns's clock, one for the whole call; 0 = none */
} ilp_limits;

/* Workspace of one solve, carved from one buffer (ilp_work_bytes). */
typedef struct {
    int n, m, W;         /* W = n + m + 1 tableau columns */
    double *c, *A, *b;   /* the instance (c is c_eff) */
    double *L0, *U0;     /* integer bounds of the instance */
    double *L, *U;       /* bounds at the current node */
    double *T;           /* (m + 1) x W: B^-1 [A I | b]; row m: reduced costs */
    double *x;           /* n + m values of y and s */
    double *ybest, *trail;
    int *head, *stat;    /* basic variable of each row; ILP_AT_LB/UB/BASIC */
    int trail_cap;       /* trail levels carved (ilp_trail_depth) */
    int since_refactor;
} ilp_work;

/* Trail levels that data instance `inst` can need: min(ILP_MAX_TRAIL,
 * sum_j (u_j - l_j)) over its integer box [l, u] (0 when the instance never
 * reaches branch and bound: invalid bounds or an empty box).
 * Why the box width bounds the depth: a trail level is a branching on a
 * variable j whose LP value is fractional, so l_j < y_j < u_j at that node
 * and its interval holds at least two integers (width >= 1). The children
 * take [l_j, floor y_j] or [floor y_j + 1, u_j]: the width of j drops by at
 * least 1, and bounds only tighten on the way down. So a path branches on j
 * at most u_j - l_j times, and the depth is at most the total width. (A
 * bits-per-variable bound, log2(width + 1), would hold only for bisection:
 * branching at floor(y_j) may peel off one value at a time.) Binary
 * problems need n levels, not ILP_MAX_TRAIL. */
DOPT_KFN int ilp_trail_depth(const ilp_view *v, int64_t inst)
{
    double width = 0;
    int n = ilp_n_of(v, inst);
    for (int j = 0; j < n; ++j) {
        double l, u;
        ilp_int_bounds(v, inst, j, &l, &u);
        if (!(fabs(l) <= ILP_MAX_BOUND) || !(fabs(u) <= ILP_MAX_BOUND) || l > u) return 0;
        width += u - l;
    }
    return width < (double)ILP_MAX_TRAIL ? (int)width : ILP_MAX_TRAIL;
}

/* Bytes of one solve's workspace with room for `depth` trail levels. */
DOPT_KFN size_t ilp_work_bytes(int n, int m, int depth)
{
    size_t doubles = (size_t)n * 9 + (size_t)m * n + (size_t)m * 2 + (size_t)(m + 1) * (n + m + 1) +
                     (size_t)depth * ILP_TRAIL_WIDTH;
    size_t ints = (size_t)m + (size_t)(n + m);
    return doubles * sizeof(double) + ints * sizeof(int);
}

/* The workspace in buf (ilp_work_bytes(n, m, depth) bytes). */
DOPT_KFN ilp_work ilp_work_carve(void *buf, int n, int m, int depth)
{
    ilp_work w;
    double *p = (double *)buf;
    w.n = n;
    w.m = m;
    w.W = n + m + 1;
    w.c = p, p += n;
    w.A = p, p += (size_t)m * n;
    w.b = p, p += m;
    w.L0 = p, p += n;
    w.U0 = p, p += n;
    w.L = p, p += n;
    w.U = p, p += n;
    w.T = p, p += (size_t)(m + 1) * w.W;
    w.x = p, p += n + m;
    w.ybest = p, p += n;
    w.trail = p, p += (size_t)depth * ILP_TRAIL_WIDTH;
    w.head = (int *)p;
    w.stat = w.head + m;
    w.trail_cap = depth;
    w.since_refactor = 0;
    return w;
}

/* Reads solve s into the workspace. A row with b_i = +inf is absent (as
 * h_i = +inf in the QP layer): it is loaded as 0'y <= 0. Returns
 * DOPT_INST_INVALID for other non-finite data (NaN anywhere, b_i = -inf,
 * Inf in A or c) or bounds beyond ILP_MAX_BOUND, DOPT_INST_PRIMAL_INFEASIBLE
 * when the integer box is empty, else DOPT_INST_RUNNING. Bounds are rounded
 * inward to integers. */
DOPT_KFN int ilp_load(const ilp_view *v, int64_t s, ilp_work *w)
{
    int64_t inst = ilp_inst_of(v, s);
    int n = ilp_n_of(v, inst), m = ilp_m_of(v, inst);
    uint32_t sample = (uint32_t)(s % v->group);
    int64_t oc = ilp_off(v, ILP_SHARE_C, inst, ILP_OFF_N), oa = ilp_off(v, ILP_SHARE_A, inst, ILP_OFF_MN);
    int64_t ob = ilp_off(v, ILP_SHARE_B, inst, ILP_OFF_M), oadd = ilp_off(v, ILP_SHARE_CADD, inst, ILP_OFF_N);
    int bad = 0, empty = 0;
    if (v->eps != 0) ilp_noise(v->seed, (uint32_t)inst, sample, n, w->c);
    for (int j = 0; j < n; ++j) {
        double cj = v->c_scale * ilp_ld(v->c, v->dt_c, oc + j);
        if (v->c_add) cj += v->add_scale * ilp_ld(v->c_add, v->dt_cadd, oadd + j);
        if (v->eps != 0) cj += v->eps * w->c[j];
        w->c[j] = cj;
        double l, u;
        ilp_int_bounds(v, inst, j, &l, &u);
        if (!isfinite(cj) || !(fabs(l) <= ILP_MAX_BOUND) || !(fabs(u) <= ILP_MAX_BOUND)) bad = 1;
        if (l > u) empty = 1;
        w->L0[j] = w->L[j] = l;
        w->U0[j] = w->U[j] = u;
    }
    for (int i = 0; i < m; ++i) {
        double bi = ilp_ld(v->b, v->dt_b, ob + i);
        int absent = ilp_row_absent(bi);
        if (!absent && !isfinite(bi)) bad = 1; /* NaN, -inf */
        w->b[i] = absent ? 0.0 : bi;
        for (int j = 0; j < n; ++j) {
            double a = ilp_ld(v->A, v->dt_A, oa + (int64_t)i * n + j);
            if (!isfinite(a)) bad = 1; /* also in an absent row, as in the QP layer */
            w->A[(size_t)i * n + j] = absent ? 0.0 : a; /* 0'y <= 0: always satisfied */
        }
    }
    if (bad) return DOPT_INST_INVALID;
    return empty ? DOPT_INST_PRIMAL_INFEASIBLE : DOPT_INST_RUNNING;
}

DOPT_KFN double ilp_lower(const ilp_work *w, int j) { return j < w->n ? w->L[j] : 0.0; }
DOPT_KFN double ilp_upper(const ilp_work *w, int j) { return j < w->n ? w->U[j] : INFINITY; }

/* Gauss-Jordan pivot of the whole tableau (with its cost row) on (r, q). */
DOPT_KFN void ilp_pivot(ilp_work *w, int r, int q)
{
    int W = w->W, m = w->m;
    double *Tr = w->T + (size_t)r * W;
    double inv = 1.0 / Tr[q];
    for (int k = 0; k < W; ++k) Tr[k] *= inv;
    Tr[q] = 1.0;
    for (int i = 0; i <= m; ++i) {
        if (i == r) continue;
        double *Ti = w->T + (size_t)i * W;
        double f = Ti[q];
        if (f == 0) continue;
        for (int k = 0; k < W; ++k) Ti[k] -= f * Tr[k];
        Ti[q] = 0.0;
    }
    w->head[r] = q;
    w->stat[q] = ILP_BASIC;
    w->since_refactor++;
}

/* The tableau of the slack basis: [A I | b] with costs [c 0 | 0]. */
DOPT_KFN void ilp_tableau_reset(ilp_work *w)
{
    int n = w->n, m = w->m, W = w->W;
    for (int i = 0; i <= m; ++i) {
        double *Ti = w->T + (size_t)i * W;
        for (int k = 0; k < W; ++k) Ti[k] = 0.0;
        if (i < m) {
            for (int j = 0; j < n; ++j) Ti[j] = w->A[(size_t)i * n + j];
            Ti[n + i] = 1.0;
            Ti[W - 1] = w->b[i];
        } else {
            for (int j = 0; j < n; ++j) Ti[j] = w->c[j];
        }
    }
    w->since_refactor = 0;
}

/* Rebuilds B^-1 [A I | b] for the current basis from the data (removing the
 * round-off pivots accumulate). Returns 0 when the basis is numerically
 * singular; the caller then restarts from the slack basis. */
DOPT_KFN int ilp_refactor(ilp_work *w)
{
    int n = w->n, m = w->m, W = w->W;
    int want[ILP_MAX_DIM], nwant = 0; /* structural columns of the basis */
    for (int i = 0; i < m; ++i)
        if (w->head[i] < n) want[nwant++] = w->head[i];
    ilp_tableau_reset(w);
    for (int i = 0; i < m; ++i) w->head[i] = n + i;
    /* pivot each structural into a row held by a slack that is nonbasic in
     * the target basis (stat says so), largest pivot first */
    for (int t = 0; t < nwant; ++t) {
        int q = want[t], r = -1;
        double best = 1e-11;
        for (int i = 0; i < m; ++i) {
            int h = w->head[i];
            if (h < n || w->stat[h] == ILP_BASIC) continue;
            double a = fabs(w->T[(size_t)i * W + q]);
            if (a > best) best = a, r = i;
        }
        if (r < 0) return 0;
        ilp_pivot(w, r, q);
    }
    w->since_refactor = 0;
    return 1;
}

/* Sets the basic values from the nonbasic ones (at their bounds). */
DOPT_KFN void ilp_primal_values(ilp_work *w)
{
    int n = w->n, m = w->m, W = w->W;
    for (int j = 0; j < n + m; ++j)
        if (w->stat[j] != ILP_BASIC) w->x[j] = w->stat[j] == ILP_AT_UB ? ilp_upper(w, j) : ilp_lower(w, j);
    for (int i = 0; i < m; ++i) {
        const double *Ti = w->T + (size_t)i * W;
        double v = Ti[W - 1];
        for (int j = 0; j < n + m; ++j)
            if (w->stat[j] != ILP_BASIC && w->x[j] != 0) v -= Ti[j] * w->x[j];
        w->x[w->head[i]] = v;
    }
}

/* Keeps nonbasic boxed variables at the bound their reduced cost prefers. */
DOPT_KFN void ilp_dual_repair(ilp_work *w)
{
    const double *d = w->T + (size_t)w->m * w->W;
    for (int j = 0; j < w->n; ++j) {
        if (w->stat[j] == ILP_BASIC) continue;
        if (d[j] > ILP_DUAL_TOL) w->stat[j] = ILP_AT_LB;
        else if (d[j] < -ILP_DUAL_TOL) w->stat[j] = ILP_AT_UB;
    }
}

/* Column j as an entering candidate for row r (whose basic variable must
 * move in direction dir): eligible when nonbasic, not fixed, and its pivot
 * moves x_r the right way; *dj = its reduced cost toward the bound it
 * leaves (>= 0 when dual feasible), *aj = |pivot|. */
DOPT_KFN int ilp_ratio_entry(const ilp_work *w, const double *Tr, const double *d, int dir, int j, double *dj,
                             double *aj)
{
    if (w->stat[j] == ILP_BASIC || ilp_lower(w, j) == ilp_upper(w, j)) return 0;
    double a = Tr[j] * dir; /* x_r changes by -a * (step of x_j up) */
    int up = w->stat[j] == ILP_AT_LB;
    if (!(up ? a < -ILP_PIVOT_TOL : a > ILP_PIVOT_TOL)) return 0;
    *dj = up ? fmax(d[j], 0.0) : fmax(-d[j], 0.0);
    *aj = fabs(a);
    return 1;
}

/* Bounded dual simplex from the current (dual feasible) tableau. Stops early
 * when the objective (a lower bound, nondecreasing) reaches `cutoff`. */
DOPT_KFN int ilp_dual_simplex(ilp_work *w, double cutoff, double *z_out)
{
    int n = w->n, m = w->m, W = w->W;
    int max_iter = 50 * (n + m) + 100;
    for (int it = 0; it <= max_iter; ++it) {
        if (w->since_refactor >= ILP_REFACTOR && !ilp_refactor(w)) {
            /* singular: restart from the slack basis */
            for (int i = 0; i < m; ++i) w->head[i] = n + i;
            for (int j = 0; j < n; ++j) w->stat[j] = ILP_AT_LB;
            for (int i = 0; i < m; ++i) w->stat[n + i] = ILP_BASIC;
            ilp_tableau_reset(w);
        }
        ilp_dual_repair(w);
        ilp_primal_values(w);
        double z = 0;
        for (int j = 0; j < n; ++j) z += w->c[j] * w->x[j];
        *z_out = z;
        if (z >= cutoff) return ILP_LP_CUTOFF;
        /* leaving row: the largest bound violation */
        int r = -1, dir = 0;
        double worst = 0;
        for (int i = 0; i < m; ++i) {
            int h = w->head[i];
            double xv = w->x[h], lo = ilp_lower(w, h), hi = ilp_upper(w, h);
            if (xv < lo - ILP_PRIMAL_TOL * (1 + fabs(lo)) && lo - xv > worst) worst = lo - xv, r = i, dir = 1;
            if (xv > hi + ILP_PRIMAL_TOL * (1 + fabs(hi)) && xv - hi > worst) worst = xv - hi, r = i, dir = -1;
        }
        if (r < 0) return ILP_LP_OPTIMAL;
        if (it == max_iter) break;
        /* Harris two-pass ratio test over the nonbasic columns that move x_r
         * toward its violated bound */
        const double *Tr = w->T + (size_t)r * W, *d = w->T + (size_t)m * W;
        double theta_max = INFINITY, dj, aj;
        for (int j = 0; j < n + m; ++j)
            if (ilp_ratio_entry(w, Tr, d, dir, j, &dj, &aj) && (dj + ILP_DUAL_TOL) / aj < theta_max)
                theta_max = (dj + ILP_DUAL_TOL) / aj;
        if (theta_max == INFINITY) return ILP_LP_INFEASIBLE;
        int q = -1;
        double best_a = 0;
        for (int j = 0; j < n + m; ++j)
            if (ilp_ratio_entry(w, Tr, d, dir, j, &dj, &aj) && dj / aj <= theta_max && aj > best_a) best_a = aj, q = j;
        int leaving = w->head[r];
        ilp_pivot(w, r, q);
        w->stat[leaving] = dir > 0 ? ILP_AT_LB : ILP_AT_UB;
    }
    return ILP_LP_FAILED;
}

/* Basis of the root: slacks basic, y_j at the bound its cost prefers. */
DOPT_KFN void ilp_root_basis(ilp_work *w)
{
    for (int i = 0; i < w->m; ++i) w->head[i] = w->n + i, w->stat[w->n + i] = ILP_BASIC;
    for (int j = 0; j < w->n; ++j) w->stat[j] = w->c[j] >= 0 ? ILP_AT_LB : ILP_AT_UB;
    ilp_tableau_reset(w);
}

/* y (integer) satisfies A y <= b to the documented tolerance. */
DOPT_KFN int ilp_feasible(const ilp_work *w, const double *y)
{
    for (int i = 0; i < w->m; ++i) {
        const double *a = w->A + (size_t)i * w->n;
        double act = 0, mag = fabs(w->b[i]);
        for (int j = 0; j < w->n; ++j) act += a[j] * y[j], mag += fabs(a[j] * y[j]);
        if (act - w->b[i] > ILP_PRIMAL_TOL * fmax(1.0, mag)) return 0;
    }
    return 1;
}

typedef struct {
    int status;     /* DOPT_INST_* */
    double obj;     /* c_eff'y of the incumbent; +inf without one */
    double bound;   /* proven lower bound (= obj when optimal) */
    int64_t nodes;  /* LP relaxations solved */
} ilp_result;

DOPT_KFN double ilp_prune_level(double z_inc, int integral_costs)
{
    if (z_inc == INFINITY) return INFINITY;
    if (integral_costs) return z_inc - 1.0 + 1e-6;
    return z_inc - 1e-10 * fmax(1.0, fabs(z_inc));
}

/* Branch and bound on a loaded workspace. y (n) receives the incumbent (0
 * without one). */
DOPT_KFN ilp_result ilp_branch_and_bound(ilp_work *w, const ilp_limits *lim, double *y)
{
    int n = w->n;
    ilp_result res;
    res.status = DOPT_INST_RUNNING;
    res.obj = INFINITY;
    res.bound = -INFINITY;
    res.nodes = 0;
    int integral_costs = 1;
    for (int j = 0; j < n; ++j)
        if (w->c[j] != floor(w->c[j]) || fabs(w->c[j]) > 1e6) integral_costs = 0;
    int cap = 0; /* the depth can never exceed the total box width (ilp_trail_depth) */
    {
        double width = 0;
        for (int j = 0; j < n; ++j) width += w->U0[j] - w->L0[j];
        cap = width < (double)ILP_MAX_TRAIL ? (int)width : ILP_MAX_TRAIL;
        /* callers size the trail to every instance's need, so this never
         * binds; if it did, the node would stay open (a limit, not a crash) */
        if (cap > w->trail_cap) cap = w->trail_cap;
    }
    ilp_root_basis(w);
    int depth = 0, limited = 0;
    double open_bound = INFINITY; /* min LP bound of nodes left unexplored */
    double node_lower = -INFINITY;
    for (;;) {
        if (res.nodes >= lim->node_limit ||
            (lim->deadline_ns && (res.nodes & 15) == 0 && ilp_now_ns() > lim->deadline_ns)) {
            limited = 1;
            open_bound = fmin(open_bound, node_lower);
            break;
        }
        res.nodes++;
        double z = 0;
        int lp = ilp_dual_simplex(w, ilp_prune_level(res.obj, integral_costs), &z);
        if (lp == ILP_LP_FAILED) {
            res.status = DOPT_INST_NUMERICAL;
            break;
        }
        int descend = 0;
        if (lp == ILP_LP_OPTIMAL) {
            int bj = -1;
            double bfrac = 0;
            for (int j = 0; j < n; ++j) {
                double xv = w->x[j], f = xv - floor(xv), frac = fmin(f, 1 - f);
                if (frac > ILP_INT_TOL * fmax(1.0, fabs(xv)) && frac > bfrac) bfrac = frac, bj = j;
            }
            if (bj < 0) {
                /* an integer vertex: verify it directly, keep it if better */
                double obj = 0;
                for (int j = 0; j < n; ++j) w->ybest[j] = fmin(fmax(floor(w->x[j] + 0.5), w->L[j]), w->U[j]);
                for (int j = 0; j < n; ++j) obj += w->c[j] * w->ybest[j];
                if (ilp_feasible(w, w->ybest) && obj < res.obj) {
                    res.obj = obj;
                    for (int j = 0; j < n; ++j) y[j] = w->ybest[j];
                }
            } else if (depth >= cap) {
                limited = 1;
                open_bound = fmin(open_bound, z);
            } else {
                double xv = w->x[bj], split = floor(xv);
                int up_first = xv - split >= 0.5;
                double *e = w->trail + (size_t)depth * ILP_TRAIL_WIDTH;
                e[0] = bj;
                e[1] = w->L[bj];
                e[2] = w->U[bj];
                e[3] = up_first ? -1 : 1; /* the sibling: -1 down (ub = split), +1 up (lb = split + 1) */
                e[4] = split;
                e[5] = z;
                if (up_first)
                    w->L[bj] = split + 1;
                else
                    w->U[bj] = split;
                depth++;
                node_lower = z;
                descend = 1;
            }
        }
        if (descend) continue;
        /* backtrack to the deepest pending sibling */
        int found = 0;
        while (depth > 0) {
            double *e = w->trail + (size_t)(depth - 1) * ILP_TRAIL_WIDTH;
            int j = (int)e[0];
            w->L[j] = e[1];
            w->U[j] = e[2];
            if (e[3] != 0) {
                if (e[5] >= ilp_prune_level(res.obj, integral_costs)) {
                    e[3] = 0; /* the parent's bound already prunes the sibling */
                } else {
                    if (e[3] < 0)
                        w->U[j] = e[4];
                    else
                        w->L[j] = e[4] + 1;
                    e[3] = 0;
                    node_lower = e[5];
                    found = 1;
                    break;
                }
            }
            depth--;
        }
        if (!found) break;
    }
    if (res.status == DOPT_INST_NUMERICAL) {
        if (res.obj == INFINITY)
            for (int j = 0; j < n; ++j) y[j] = 0;
        return res;
    }
    if (limited) {
        for (int t = 0; t < depth; ++t) {
            const double *e = w->trail + (size_t)t * ILP_TRAIL_WIDTH;
            if (e[3] != 0) open_bound = fmin(open_bound, e[5]);
        }
        res.bound = fmin(open_bound, res.obj);
        res.status = DOPT_INST_ITERATION_LIMIT;
    } else {
        res.bound = res.obj;
        res.status = res.obj < INFINITY ? DOPT_INST_SOLVED : DOPT_INST_PRIMAL_INFEASIBLE;
    }
    if (res.obj == INFINITY)
        for (int j = 0; j < n; ++j) y[j] = 0;
    return res;
}

/* Loads and solves solve s; y (n_i of its instance). buf holds
 * ilp_work_bytes(v->n, v->m, depth) bytes: enough for any instance of the
 * view (v->n, v->m are the largest sizes), carved here for this instance's
 * own sizes, so a ragged batch runs exactly the arithmetic of a uniform one. */
DOPT_KFN ilp_result ilp_solve_one(const ilp_view *v, int64_t s, const ilp_limits *lim, void *buf, int depth, double *y)
{
    int64_t inst = ilp_inst_of(v, s);
    int n = ilp_n_of(v, inst);
    ilp_work wk = ilp_work_carve(buf, n, ilp_m_of(v, inst), depth);
    ilp_work *w = &wk;
    ilp_result res;
    res.obj = INFINITY;
    res.bound = INFINITY;
    res.nodes = 0;
    res.status = ilp_load(v, s, w);
    if (res.status != DOPT_INST_RUNNING) {
        for (int j = 0; j < n; ++j) y[j] = 0;
        if (res.status == DOPT_INST_INVALID) res.obj = res.bound = NAN;
        return res;
    }
    return ilp_branch_and_bound(w, lim, y);
}

#endif
