/* The QP interior point of qp_ipm_impl.h on interleaved instances
 * ("lanes"), instance the fastest index of every array: element e of lane l
 * at [e * DREAL_LANE_STRIDE + l]. One call computes DREAL_LANES lanes in
 * lock step: on the CPU the SIMD width (stride as wide), on the GPU one
 * lane per thread (stride 32: qp_ilv_layouts.h). The workspace has the
 * per-instance layout (qp_work_map) with every element widened to
 * DREAL_LANE_STRIDE, so lane
 * l's tape prefix is a strided copy, and the data (p, G, h, A, b) is copied
 * into the same interleaved form when an instance enters a lane.
 *
 * What runs interleaved is the iteration's hot path: the residuals and
 * termination sums (qp_ipm_check), the scaling, the assembly and Cholesky
 * of H, the Schur complement, the KKT solves with refinement, and the
 * predictor-corrector step. Every one does, per lane, the arithmetic of its
 * per-instance counterpart in the same order, and the termination decision
 * is the same function (qp_check_tests), so a lane's iterates, status,
 * iteration count and tape are bit for bit those of the per-instance path
 * (with floating-point contraction off, the C11 default of the build).
 *
 * Per-lane divergence is masked: a lane outside the mask computes like the
 * others, but its iterate and its persistent values are not written (a
 * blend, not a branch). The rare or once-per-instance events run the
 * per-instance code on a de-interleaved copy of that lane (qpl_gather /
 * qpl_scatter): the setup (qp_phase_begin), the start point, a failed
 * Cholesky of H (the retries with a larger delta), a failed Schur
 * complement (its eps_s retries) and the outputs (qp_phase_end). The driver
 * (qpl_run, qp_ilv_driver_impl.h) refills a lane with the next waiting instance as soon
 * as its instance is done, so lanes idle only at the end of a range.
 *
 * Included per precision and layout by qp_ilv_layouts.h with DREAL / DFN /
 * LFN / DREAL_LANES / DREAL_LANE_STRIDE set, after qp_ipm_impl.h and
 * qp_batch_impl.h. No guard on purpose. */

#define QL DREAL_LANES       /* lanes one call computes */
#define QS DREAL_LANE_STRIDE /* the interleaving: element e of lane l at [e * QS + l] */
/* every element e < len of the lanes this call computes, as the flat index
 * (a flat loop over len * QS would, on the GPU, touch other threads' lanes) */
#define QPL_EACH(e, len)                                                                                            \
    for (size_t e##_el = 0; e##_el < (len); ++e##_el)                                                              \
        for (size_t e = e##_el * QS; e < e##_el * QS + QL; ++e)

/* The lane count as a constant the drivers can use (DREAL_LANES is not
 * defined outside qp_ipm.h): qpl_width_d, qpl_width_f. */
enum { LFN(qpl_width) = DREAL_LANES };

/* The interleaved data of the lanes: p (n), G (m x n), h (m), A (k x n),
 * b (k), each element widened to QS. */
typedef struct {
    int n, m, k;
    DREAL *p, *G, *h, *A, *b;
} LFN(qpl_data);

DOPT_KFN size_t LFN(qpl_data_size)(int n, int m, int k)
{
    return (size_t)QS * ((size_t)n + (size_t)m * n + (size_t)m + (size_t)k * n + (size_t)k);
}

DOPT_KFN LFN(qpl_data) LFN(qpl_data_map)(DREAL *base, int n, int m, int k)
{
    LFN(qpl_data) d;
    d.n = n;
    d.m = m;
    d.k = k;
    d.p = base;
    d.G = d.p + (size_t)QS * n;
    d.h = d.G + (size_t)QS * m * n;
    d.A = d.h + (size_t)QS * m;
    d.b = d.A + (size_t)QS * k * n;
    return d;
}

/* The lane workspace: qp_work_map's layout with every offset times QS. */
DOPT_KFN DFN(qp_work) LFN(qpl_work_map)(DREAL *base, int n, int m, int k)
{
    DFN(qp_work) w = DFN(qp_work_map)(base, n, m, k);
#define QPL_WIDEN(f) w.f = base + (size_t)(w.f - base) * QS
    QPL_WIDEN(Qs); QPL_WIDEN(L); QPL_WIDEN(M); QPL_WIDEN(S); QPL_WIDEN(W); QPL_WIDEN(Winv); QPL_WIDEN(rho);
    QPL_WIDEN(Hb); QPL_WIDEN(Gw); QPL_WIDEN(s);
    QPL_WIDEN(rx); QPL_WIDEN(rz); QPL_WIDEN(ry); QPL_WIDEN(Qx); QPL_WIDEN(Gz); QPL_WIDEN(Ay);
    QPL_WIDEN(dx); QPL_WIDEN(dz); QPL_WIDEN(dy); QPL_WIDEN(ds);
    QPL_WIDEN(vx); QPL_WIDEN(vz); QPL_WIDEN(vy);
    QPL_WIDEN(bx); QPL_WIDEN(bz); QPL_WIDEN(by);
    QPL_WIDEN(ex); QPL_WIDEN(ez); QPL_WIDEN(ey);
    QPL_WIDEN(tn); QPL_WIDEN(tk);
#undef QPL_WIDEN
    return w;
}

/* lane l of an interleaved array of len elements <-> a contiguous one */
DOPT_KFN void LFN(qpl_gather)(size_t len, const DREAL *lanes, int l, DREAL *out)
{
    for (size_t e = 0; e < len; ++e) out[e] = lanes[e * QS + l];
}

DOPT_KFN void LFN(qpl_scatter)(size_t len, const DREAL *in, int l, DREAL *lanes)
{
    for (size_t e = 0; e < len; ++e) lanes[e * QS + l] = in[e];
}

/* ---- the iteration, interleaved ------------------------------------- */

/* max |diag(Qs)| per lane (qp_qdiag) */
DOPT_KFN void LFN(qpl_qdiag)(int n, const DFN(qp_work) *w, DREAL *qdiag)
{
    for (int l = 0; l < QL; ++l) qdiag[l] = 0;
    for (int i = 0; i < n; ++i) {
        const DREAL *q = w->Qs + ((size_t)i * n + i) * QS;
        for (int l = 0; l < QL; ++l) {
            DREAL d = DABS(q[l]);
            qdiag[l] = d > qdiag[l] ? d : qdiag[l];
        }
    }
}

/* qp_ipm_check on the lanes in run[]: the residuals (written on every lane:
 * rx, rz, ry, Qx, Gz, Ay are scratch until the next check), then the
 * decision per running lane. */
DOPT_KFN void LFN(qpl_check)(const LFN(qpl_data) *d, const DFN(qp_settings) *set, DFN(qp_work) *w,
                             DFN(qp_state) *st, const int *run, const DREAL *x, const DREAL *z, const DREAL *y)
{
    int n = d->n, m = d->m, k = d->k;
    DREAL tau[QL];
    for (int l = 0; l < QL; ++l) tau[l] = st[l].tau;
    if (DREAL_MIXED) {
        for (int j0 = 0; j0 < n; j0 += 8) {
            int width = n - j0 < 8 ? n - j0 : 8;
            double qx[8][QL], gz[8][QL], ay[8][QL];
            for (int q = 0; q < 8; ++q)
                for (int l = 0; l < QL; ++l) qx[q][l] = gz[q][l] = ay[q][l] = 0;
            LFN(lv_gemv_t_block8_acc)(n, n, w->Qs, x, j0, width, qx);
            LFN(lv_gemv_t_block8_acc)(m, n, d->G, z, j0, width, gz);
            LFN(lv_gemv_t_block8_acc)(k, n, d->A, y, j0, width, ay);
            for (int q = 0; q < width; ++q) {
                size_t o = (size_t)(j0 + q) * QS;
                for (int l = 0; l < QL; ++l) {
                    w->Qx[o + l] = (DREAL)qx[q][l];
                    w->Gz[o + l] = (DREAL)gz[q][l];
                    w->Ay[o + l] = (DREAL)ay[q][l];
                    w->rx[o + l] = (DREAL)(qx[q][l] + gz[q][l] + ay[q][l] + (double)d->p[o + l] * tau[l]);
                }
            }
        }
    } else {
        LFN(lv_gemv)(n, n, w->Qs, x, w->Qx);
        QPL_EACH(e, (size_t)n) w->Gz[e] = w->Ay[e] = 0;
        LFN(lv_gemv_t_add)(m, n, d->G, z, w->Gz);
        LFN(lv_gemv_t_add)(k, n, d->A, y, w->Ay);
        for (int j = 0; j < n; ++j)
            for (int l = 0; l < QL; ++l) {
                size_t e = (size_t)j * QS + l;
                w->rx[e] = w->Qx[e] + w->Gz[e] + w->Ay[e] + d->p[e] * tau[l];
            }
    }
    /* the norms and sums per lane, one array per quantity so that each loop
     * is one SIMD body (a compare and keep in qp_ipm_check's order) */
    DREAL nQx[QL], nGz[QL], nAy[QL], np[QL], nrx[QL], nsum[QL];
    DREAL nrz[QL], nGx[QL], ns[QL], nh[QL], gxpos[QL], nry[QL], nAx[QL], nb[QL];
    double hz[QL], sz[QL], by[QL], xQx[QL], px[QL];
    int mact[QL];
    for (int l = 0; l < QL; ++l) {
        nQx[l] = nGz[l] = nAy[l] = np[l] = nrx[l] = nsum[l] = 0;
        nrz[l] = nGx[l] = ns[l] = nh[l] = gxpos[l] = nry[l] = nAx[l] = nb[l] = 0;
        hz[l] = sz[l] = by[l] = 0;
        mact[l] = 0;
    }
    for (int j = 0; j < n; ++j) {
        const DREAL *qx = w->Qx + (size_t)j * QS, *gz = w->Gz + (size_t)j * QS, *ay = w->Ay + (size_t)j * QS,
                    *pj = d->p + (size_t)j * QS, *rx = w->rx + (size_t)j * QS;
        for (int l = 0; l < QL; ++l) {
            DREAL a = DABS(qx[l]), g = DABS(gz[l]), cc = DABS(ay[l]), pp = DABS(pj[l]), rr = DABS(rx[l]);
            DREAL gy = DABS(gz[l] + ay[l]);
            nQx[l] = a > nQx[l] ? a : nQx[l];
            nGz[l] = g > nGz[l] ? g : nGz[l];
            nAy[l] = cc > nAy[l] ? cc : nAy[l];
            np[l] = pp > np[l] ? pp : np[l];
            nrx[l] = rr > nrx[l] ? rr : nrx[l];
            nsum[l] = gy > nsum[l] ? gy : nsum[l];
        }
    }
    double acc[QL];
    for (int r = 0; r < m; ++r) {
        LFN(lv_dot_acc)(n, d->G + (size_t)r * n * QS, x, acc);
        const DREAL *hr = d->h + (size_t)r * QS, *sr = w->s + (size_t)r * QS, *zr = z + (size_t)r * QS;
        DREAL *rz = w->rz + (size_t)r * QS;
        for (int l = 0; l < QL; ++l) {
            int on = hr[l] <= DREAL_MAX;
            DREAL gx = (DREAL)acc[l];
            DREAL rzl = (DREAL)(acc[l] + sr[l] - (double)hr[l] * tau[l]);
            rz[l] = on ? rzl : 0;
            mact[l] += on;
            nrz[l] = on && DABS(rzl) > nrz[l] ? DABS(rzl) : nrz[l];
            nGx[l] = on && DABS(gx) > nGx[l] ? DABS(gx) : nGx[l];
            gxpos[l] = on && gx > gxpos[l] ? gx : gxpos[l];
            ns[l] = on && sr[l] > ns[l] ? sr[l] : ns[l];
            nh[l] = on && DABS(hr[l]) > nh[l] ? DABS(hr[l]) : nh[l];
            hz[l] = on ? hz[l] + (double)hr[l] * zr[l] : hz[l];
            sz[l] = on ? sz[l] + (double)sr[l] * zr[l] : sz[l];
        }
    }
    for (int r = 0; r < k; ++r) {
        LFN(lv_dot_acc)(n, d->A + (size_t)r * n * QS, x, acc);
        const DREAL *br = d->b + (size_t)r * QS, *yr = y + (size_t)r * QS;
        DREAL *ry = w->ry + (size_t)r * QS;
        for (int l = 0; l < QL; ++l) {
            DREAL ax = (DREAL)acc[l];
            ry[l] = (DREAL)(acc[l] - (double)br[l] * tau[l]);
            nry[l] = DABS(ry[l]) > nry[l] ? DABS(ry[l]) : nry[l];
            nAx[l] = DABS(ax) > nAx[l] ? DABS(ax) : nAx[l];
            nb[l] = DABS(br[l]) > nb[l] ? DABS(br[l]) : nb[l];
            by[l] += (double)br[l] * yr[l];
        }
    }
    LFN(lv_dot_acc)(n, x, w->Qx, xQx);
    LFN(lv_dot_acc)(n, d->p, x, px);
    DFN(qp_norms) c[QL];
    for (int l = 0; l < QL; ++l) {
        c[l].nQx = nQx[l]; c[l].nGz = nGz[l]; c[l].nAy = nAy[l]; c[l].np = np[l]; c[l].nrx = nrx[l];
        c[l].nsum = nsum[l]; c[l].nrz = nrz[l]; c[l].nGx = nGx[l]; c[l].ns = ns[l]; c[l].nh = nh[l];
        c[l].gxpos = gxpos[l]; c[l].nry = nry[l]; c[l].nAx = nAx[l]; c[l].nb = nb[l];
        c[l].hz = hz[l]; c[l].sz = sz[l]; c[l].by = by[l]; c[l].xQx = xQx[l]; c[l].px = px[l];
        c[l].mact = mact[l];
    }
    for (int l = 0; l < QL; ++l)
        if (run[l]) DFN(qp_check_tests)(set, &st[l], &c[l], &st[l].rtau, &st[l].mu);
}

/* qp_set_scaling on the lanes in on[] (W, W^-1 of the others unchanged) */
DOPT_KFN void LFN(qpl_set_scaling)(const LFN(qpl_data) *d, DFN(qp_work) *w, const int *on, const DREAL *z)
{
    int n = d->n;
    DREAL qdiag[QL], cap[QL], g2[QL];
    LFN(qpl_qdiag)(n, w, qdiag);
    for (int l = 0; l < QL; ++l) cap[l] = (1 + qdiag[l]) / DREAL_EPS_3_4;
    for (int r = 0; r < d->m; ++r) {
        const DREAL *g = d->G + (size_t)r * n * QS;
        LFN(lv_dot)(n, g, g, g2);
        for (int l = 0; l < QL; ++l) {
            size_t e = (size_t)r * QS + l;
            int row_on = d->h[e] <= DREAL_MAX;
            DREAL wr = z[e] / w->s[e];
            DREAL wn = row_on ? (g2[l] > 0 && wr * g2[l] > cap[l] ? cap[l] / g2[l] : wr) : 0;
            DREAL winv = row_on ? w->s[e] / z[e] : 0;
            w->W[e] = on[l] ? wn : w->W[e];
            w->Winv[e] = on[l] ? winv : w->Winv[e];
        }
    }
}

/* qp_assemble on every lane, Gw = W^1/2 G (its L = Hb is made by
 * qpl_factor_assembled, in the same pass as the Gram update) */
DOPT_KFN void LFN(qpl_assemble)(const LFN(qpl_data) *d, DFN(qp_work) *w)
{
    int n = d->n, m = d->m;
    for (int r = 0; r < m; ++r) {
        DREAL sw[QL];
        for (int l = 0; l < QL; ++l) sw[l] = DSQRT(w->W[(size_t)r * QS + l]);
        const DREAL *g = d->G + (size_t)r * n * QS;
        DREAL *o = w->Gw + (size_t)r * n * QS;
        for (int j = 0; j < n; ++j)
            for (int l = 0; l < QL; ++l) o[(size_t)j * QS + l] = sw[l] * g[(size_t)j * QS + l];
    }
}

/* qp_factor_assembled on every lane after qpl_assemble: L = Hb + Gw'Gw,
 * its Cholesky; info per lane */
DOPT_KFN void LFN(qpl_factor_assembled)(const LFN(qpl_data) *d, DFN(qp_work) *w, int *info)
{
    int n = d->n;
    if (d->m > 0) {
        LFN(lv_syrk_upper_set)(n, d->m, w->Gw, w->Hb, w->L); /* L = Hb + Gw'Gw */
    } else {
        QPL_EACH(e, (size_t)n * n) w->L[e] = w->Hb[e];
    }
    LFN(lv_cholesky)(n, w->L, info);
}

/* qp_factor_schur's first attempt on every lane (eps_s per lane out);
 * info[l] != 0 where it failed: that lane needs the per-instance retries. */
DOPT_KFN void LFN(qpl_factor_schur)(const LFN(qpl_data) *d, DFN(qp_work) *w, DREAL *eps_s, int *info)
{
    int n = d->n, k = d->k;
    for (int l = 0; l < QL; ++l) {
        info[l] = 0;
        eps_s[l] = 0;
    }
    if (k == 0) return;
    QPL_EACH(e, (size_t)k * n) w->M[e] = d->A[e];
    for (int r = 0; r < k; ++r) LFN(lv_solve_lower)(n, w->L, w->M + (size_t)r * n * QS);
    DREAL sdiag[QL], t[QL];
    for (int l = 0; l < QL; ++l) sdiag[l] = 0;
    for (int i = 0; i < k; ++i) {
        const DREAL *mi = w->M + (size_t)i * n * QS;
        LFN(lv_dot)(n, mi, mi, t);
        for (int l = 0; l < QL; ++l) sdiag[l] = t[l] > sdiag[l] ? t[l] : sdiag[l];
    }
    for (int l = 0; l < QL; ++l) eps_s[l] = DREAL_REG * sdiag[l] + DREAL_MIN_NORMAL;
    for (int i = 0; i < k; ++i)
        for (int j = i; j < k; ++j) {
            LFN(lv_dot)(n, w->M + (size_t)i * n * QS, w->M + (size_t)j * n * QS, t);
            DREAL *sij = w->S + ((size_t)i * k + j) * QS;
            for (int l = 0; l < QL; ++l) sij[l] = t[l] + (i == j ? eps_s[l] : 0);
        }
    LFN(lv_cholesky)(k, w->S, info);
}

/* qp_factor_complete on the lanes in fast[] whose Cholesky of H succeeded
 * (info 0): delta and the Schur complement's first attempt. A lane whose
 * Schur complement failed leaves fast[] (it needs the per-instance
 * retries of qp_factor_schur). */
DOPT_KFN void LFN(qpl_factor_complete)(const LFN(qpl_data) *d, DFN(qp_work) *w, DFN(qp_state) *st, int *fast)
{
    DREAL eps_s[QL], qdiag[QL];
    int sinfo[QL];
    LFN(qpl_factor_schur)(d, w, eps_s, sinfo);
    LFN(qpl_qdiag)(d->n, w, qdiag);
    for (int l = 0; l < QL; ++l) {
        if (!fast[l]) continue;
        if (sinfo[l]) {
            fast[l] = 0;
            continue;
        }
        st[l].delta = DREAL_REG * (1 + qdiag[l]); /* qp_delta0 */
        if (d->k > 0) st[l].eps_s = eps_s[l];
    }
}

/* qp_kkt_base_solve on every lane */
DOPT_KFN void LFN(qpl_kkt_base_solve)(const LFN(qpl_data) *d, DFN(qp_work) *w, const DREAL *bx, const DREAL *bz,
                                      const DREAL *by, DREAL *dx, DREAL *dz, DREAL *dy)
{
    int n = d->n, m = d->m, k = d->k;
    DREAL a[QL];
    DREAL a4[4][QL];
    size_t row = (size_t)n * QS;
    QPL_EACH(e, (size_t)n) dx[e] = bx[e];
    /* dx += G' (W bz), A' (rho by), four rows per pass (lv_axpy_rows: the
     * per-row order of qp_kkt_base_solve). A row that is off (W = 0) adds
     * 0 * G_r where qp_kkt_base_solve skips it: the same up to the sign of
     * a zero (see lv_gemv_t_add). */
    for (int r0 = 0; r0 < m; r0 += 4) {
        int rows = m - r0 < 4 ? m - r0 : 4;
        for (int q = 0; q < rows; ++q)
            for (int l = 0; l < QL; ++l) {
                size_t e = (size_t)(r0 + q) * QS + l;
                a4[q][l] = w->W[e] != 0 ? w->W[e] * bz[e] : 0;
            }
        LFN(lv_axpy_rows)(n, rows, &a4[0][0], d->G + (size_t)r0 * row, row, dx);
    }
    for (int r0 = 0; r0 < k; r0 += 4) {
        int rows = k - r0 < 4 ? k - r0 : 4;
        for (int q = 0; q < rows; ++q)
            for (int l = 0; l < QL; ++l) a4[q][l] = w->rho[l] * by[(size_t)(r0 + q) * QS + l];
        LFN(lv_axpy_rows)(n, rows, &a4[0][0], d->A + (size_t)r0 * row, row, dx);
    }
    LFN(lv_solve_lower)(n, w->L, dx);
    if (k > 0) {
        for (int r = 0; r < k; ++r) {
            LFN(lv_dot)(n, w->M + (size_t)r * n * QS, dx, a);
            for (int l = 0; l < QL; ++l) dy[(size_t)r * QS + l] = a[l] - by[(size_t)r * QS + l];
        }
        LFN(lv_cholesky_solve)(k, w->S, dy);
        for (int r0 = 0; r0 < k; r0 += 4) {
            int rows = k - r0 < 4 ? k - r0 : 4;
            for (int q = 0; q < rows; ++q)
                for (int l = 0; l < QL; ++l) a4[q][l] = -dy[(size_t)(r0 + q) * QS + l];
            LFN(lv_axpy_rows)(n, rows, &a4[0][0], w->M + (size_t)r0 * row, row, dx);
        }
    }
    LFN(lv_solve_lower_t)(n, w->L, dx);
    for (int r = 0; r < m; ++r) {
        LFN(lv_dot)(n, d->G + (size_t)r * n * QS, dx, a);
        for (int l = 0; l < QL; ++l) {
            size_t e = (size_t)r * QS + l;
            dz[e] = w->W[e] != 0 ? w->W[e] * (a[l] - bz[e]) : 0;
        }
    }
}

/* qp_kkt_residual on every lane: e = b - K d into ex, ez, ey; rel per lane */
DOPT_KFN void LFN(qpl_kkt_residual)(const LFN(qpl_data) *d, DFN(qp_work) *w, const DREAL *bx, const DREAL *bz,
                                    const DREAL *by, const DREAL *dx, const DREAL *dz, const DREAL *dy, DREAL *rel)
{
    int n = d->n, m = d->m, k = d->k;
    DREAL en[QL], bn[QL];
    for (int l = 0; l < QL; ++l) en[l] = bn[l] = 0;
    if (DREAL_MIXED) {
        for (int j0 = 0; j0 < n; j0 += 8) {
            int width = n - j0 < 8 ? n - j0 : 8;
            double acc[8][QL];
            for (int q = 0; q < 8; ++q)
                for (int l = 0; l < QL; ++l) acc[q][l] = 0;
            LFN(lv_gemv_t_block8_acc)(n, n, w->Qs, dx, j0, width, acc);
            LFN(lv_gemv_t_block8_acc)(m, n, d->G, dz, j0, width, acc);
            LFN(lv_gemv_t_block8_acc)(k, n, d->A, dy, j0, width, acc);
            for (int q = 0; q < width; ++q)
                for (int l = 0; l < QL; ++l) {
                    size_t e = (size_t)(j0 + q) * QS + l;
                    w->ex[e] = (DREAL)((double)bx[e] - acc[q][l]);
                }
        }
    } else {
        LFN(lv_gemv)(n, n, w->Qs, dx, w->ex);
        LFN(lv_gemv_t_add)(m, n, d->G, dz, w->ex);
        LFN(lv_gemv_t_add)(k, n, d->A, dy, w->ex);
        QPL_EACH(e, (size_t)n) w->ex[e] = bx[e] - w->ex[e];
    }
    for (int j = 0; j < n; ++j)
        for (int l = 0; l < QL; ++l) {
            size_t e = (size_t)j * QS + l;
            if (DABS(w->ex[e]) > en[l]) en[l] = DABS(w->ex[e]);
            if (DABS(bx[e]) > bn[l]) bn[l] = DABS(bx[e]);
        }
    double acc[QL];
    for (int r = 0; r < m; ++r) {
        LFN(lv_dot_acc)(n, d->G + (size_t)r * n * QS, dx, acc);
        for (int l = 0; l < QL; ++l) {
            size_t e = (size_t)r * QS + l;
            int on = w->W[e] != 0;
            DREAL ez = on ? (DREAL)((double)bz[e] - (acc[l] - (double)w->Winv[e] * dz[e])) : 0;
            w->ez[e] = ez;
            en[l] = on && DABS(ez) > en[l] ? DABS(ez) : en[l];
            bn[l] = on && DABS(bz[e]) > bn[l] ? DABS(bz[e]) : bn[l];
        }
    }
    for (int r = 0; r < k; ++r) {
        LFN(lv_dot_acc)(n, d->A + (size_t)r * n * QS, dx, acc);
        for (int l = 0; l < QL; ++l) {
            size_t e = (size_t)r * QS + l;
            w->ey[e] = (DREAL)((double)by[e] - acc[l]);
            if (DABS(w->ey[e]) > en[l]) en[l] = DABS(w->ey[e]);
            if (DABS(by[e]) > bn[l]) bn[l] = DABS(by[e]);
        }
    }
    for (int l = 0; l < QL; ++l) rel[l] = en[l] != en[l] ? en[l] : (bn[l] > 0 ? en[l] / bn[l] : en[l]);
}

/* qp_kkt_solve on every lane, each lane refining until its own stopping
 * test (lanes outside on[] stop at once: their result is not used) */
DOPT_KFN void LFN(qpl_kkt_solve)(const LFN(qpl_data) *d, DFN(qp_work) *w, const int *on, int refine, DREAL stop,
                                 const DREAL *bx, const DREAL *bz, const DREAL *by, DREAL *dx, DREAL *dz, DREAL *dy)
{
    int n = d->n, m = d->m, k = d->k;
    LFN(qpl_kkt_base_solve)(d, w, bx, bz, by, dx, dz, dy);
    DREAL prev[QL], rel[QL];
    int act[QL];
    for (int l = 0; l < QL; ++l) {
        prev[l] = DREAL_MAX;
        act[l] = on[l];
    }
    for (int it = 0; it < refine; ++it) {
        LFN(qpl_kkt_residual)(d, w, bx, bz, by, dx, dz, dy, rel);
        int any = 0;
        for (int l = 0; l < QL; ++l) {
            if (act[l] && (!(rel[l] > stop) || !(rel[l] < (DREAL)0.5 * prev[l]))) act[l] = 0;
            if (act[l]) prev[l] = rel[l];
            any |= act[l];
        }
        if (!any) break;
        LFN(qpl_kkt_base_solve)(d, w, w->ex, w->ez, w->ey, w->tn, w->ez, w->tk);
        for (int j = 0; j < n; ++j)
            for (int l = 0; l < QL; ++l) {
                size_t e = (size_t)j * QS + l;
                dx[e] = act[l] ? dx[e] + w->tn[e] : dx[e];
            }
        for (int r = 0; r < m; ++r)
            for (int l = 0; l < QL; ++l) {
                size_t e = (size_t)r * QS + l;
                dz[e] = act[l] ? dz[e] + w->ez[e] : dz[e];
            }
        for (int r = 0; r < k; ++r)
            for (int l = 0; l < QL; ++l) {
                size_t e = (size_t)r * QS + l;
                dy[e] = act[l] ? dy[e] + w->tk[e] : dy[e];
            }
    }
}

/* qp_ipm_start_point on the lanes in go[] (K factored at W = I, the
 * right-hand side in bx, bz, by from qp_ipm_setup); the other lanes'
 * iterate and s are unchanged. */
DOPT_KFN void LFN(qpl_start_point)(const LFN(qpl_data) *d, const DFN(qp_settings) *set, DFN(qp_work) *w,
                                   DFN(qp_state) *st, const int *go, DREAL *x, DREAL *z, DREAL *y)
{
    int n = d->n, m = d->m, k = d->k;
    LFN(qpl_kkt_solve)(d, w, go, set->refine, DREAL_REFINE_FWD, w->bx, w->bz, w->by, w->dx, w->dz, w->dy);
    /* dz holds Gx - h on rows that are on */
    DREAL smin[QL], zmin[QL];
    for (int l = 0; l < QL; ++l) smin[l] = zmin[l] = DREAL_MAX;
    for (int r = 0; r < m; ++r)
        for (int l = 0; l < QL; ++l) {
            size_t e = (size_t)r * QS + l;
            int on = d->h[e] <= DREAL_MAX;
            DREAL sr = on ? -w->dz[e] : 1, zr = on ? w->dz[e] : 0;
            smin[l] = on && sr < smin[l] ? sr : smin[l];
            zmin[l] = on && zr < zmin[l] ? zr : zmin[l];
            w->s[e] = go[l] ? sr : w->s[e];
            z[e] = go[l] ? zr : z[e];
        }
    for (int r = 0; r < m; ++r)
        for (int l = 0; l < QL; ++l) {
            size_t e = (size_t)r * QS + l;
            int on = go[l] && d->h[e] <= DREAL_MAX;
            /* the margin of 1 (qp_ipm_start_point) */
            w->s[e] = on && smin[l] < 1 ? w->s[e] + (1 - smin[l]) : w->s[e];
            z[e] = on && zmin[l] < 1 ? z[e] + (1 - zmin[l]) : z[e];
        }
    int finite[QL];
    for (int l = 0; l < QL; ++l) finite[l] = 1;
    for (int j = 0; j < n; ++j)
        for (int l = 0; l < QL; ++l) {
            size_t e = (size_t)j * QS + l;
            x[e] = go[l] ? w->dx[e] : x[e];
            finite[l] &= DABS(w->dx[e]) <= DREAL_MAX;
        }
    for (int r = 0; r < k; ++r)
        for (int l = 0; l < QL; ++l) {
            size_t e = (size_t)r * QS + l;
            y[e] = go[l] ? w->dy[e] : y[e];
            finite[l] &= DABS(w->dy[e]) <= DREAL_MAX;
        }
    for (int l = 0; l < QL; ++l) {
        if (!go[l]) continue;
        if (!finite[l]) {
            st[l].status = DOPT_INST_NUMERICAL;
        } else {
            st[l].started = 1;
            st[l].status = DOPT_INST_RUNNING;
        }
    }
}

/* qp_max_step per lane */
DOPT_KFN void LFN(qpl_max_step)(const LFN(qpl_data) *d, const DFN(qp_work) *w, const DREAL *z,
                                const DFN(qp_state) *st, const DREAL *dtau, const DREAL *dkappa, DREAL *a)
{
    for (int l = 0; l < QL; ++l) a[l] = 2;
    for (int r = 0; r < d->m; ++r)
        for (int l = 0; l < QL; ++l) {
            size_t e = (size_t)r * QS + l;
            int on = w->W[e] != 0;
            DREAL as = -w->s[e] / w->ds[e], az = -z[e] / w->dz[e];
            a[l] = on && w->ds[e] < 0 && as < a[l] ? as : a[l];
            a[l] = on && w->dz[e] < 0 && az < a[l] ? az : a[l];
        }
    for (int l = 0; l < QL; ++l) {
        if (dtau[l] < 0 && -st[l].tau / dtau[l] < a[l]) a[l] = -st[l].tau / dtau[l];
        if (dkappa[l] < 0 && -st[l].kappa / dkappa[l] < a[l]) a[l] = -st[l].kappa / dkappa[l];
    }
}

/* qp_direction on every lane (rhs_tau, den, dtau per lane) */
DOPT_KFN void LFN(qpl_direction)(const LFN(qpl_data) *d, int refine, DFN(qp_work) *w, const DFN(qp_state) *st,
                                 const int *on, const DREAL *rhs_tau, const DREAL *den, DREAL *dtau)
{
    int n = d->n, m = d->m, k = d->k;
    LFN(qpl_kkt_solve)(d, w, on, refine, DREAL_REFINE_FWD, w->bx, w->bz, w->by, w->dx, w->dz, w->dy);
    /* the tau row, (p + 2Qx/tau)'dx + h'dz + b'dy (qp_tau_row) */
    DREAL row[QL];
    int free_tau[QL];
    for (int l = 0; l < QL; ++l) {
        row[l] = 0;
        free_tau[l] = !st[l].tau_fixed;
    }
    for (int j = 0; j < n; ++j)
        for (int l = 0; l < QL; ++l) {
            size_t e = (size_t)j * QS + l;
            row[l] += (d->p[e] + 2 * w->Qx[e] / st[l].tau) * w->dx[e];
        }
    for (int r = 0; r < m; ++r)
        for (int l = 0; l < QL; ++l) {
            size_t e = (size_t)r * QS + l;
            row[l] = w->W[e] != 0 ? row[l] + d->h[e] * w->dz[e] : row[l];
        }
    for (int r = 0; r < k; ++r)
        for (int l = 0; l < QL; ++l) {
            size_t e = (size_t)r * QS + l;
            row[l] += d->b[e] * w->dy[e];
        }
    DREAL t[QL];
    for (int l = 0; l < QL; ++l) {
        t[l] = (rhs_tau[l] - row[l]) / den[l];
        dtau[l] = free_tau[l] ? t[l] : 0;
    }
    LFN(lv_axpy_if)(n, free_tau, t, w->vx, w->dx);
    LFN(lv_axpy_if)(m, free_tau, t, w->vz, w->dz);
    LFN(lv_axpy_if)(k, free_tau, t, w->vy, w->dy);
}

/* qp_ipm_step on the lanes in go[] (their factorization current); the
 * other lanes' iterate, s, tau, kappa, status and iter are unchanged. */
DOPT_KFN void LFN(qpl_step)(const LFN(qpl_data) *d, const DFN(qp_settings) *set, DFN(qp_work) *w,
                            DFN(qp_state) *st, const int *go, DREAL *x, DREAL *z, DREAL *y)
{
    int n = d->n, m = d->m, k = d->k;
    DREAL tau[QL], kappa[QL], den[QL], t[QL], rhs[QL], dtau[QL], dkappa[QL], a[QL];
    int mact[QL], solve_v[QL];
    for (int l = 0; l < QL; ++l) {
        tau[l] = st[l].tau;
        kappa[l] = st[l].kappa;
        mact[l] = 0;
        solve_v[l] = go[l] && !st[l].tau_fixed;
    }
    QPL_EACH(e, (size_t)n) w->bx[e] = -d->p[e];
    for (int r = 0; r < m; ++r)
        for (int l = 0; l < QL; ++l) {
            size_t e = (size_t)r * QS + l;
            int on = w->W[e] != 0;
            mact[l] += on;
            w->bz[e] = on ? d->h[e] : 0;
        }
    QPL_EACH(e, (size_t)k) w->by[e] = d->b[e];
    LFN(qpl_kkt_solve)(d, w, solve_v, set->refine > 3 ? set->refine : 3, DREAL_REFINE_STOP, w->bx, w->bz, w->by,
                       w->vx, w->vz, w->vy);
    /* held tau: v = 0 and den = -1 (qp_ipm_step) */
    for (int j = 0; j < n; ++j)
        for (int l = 0; l < QL; ++l) {
            size_t e = (size_t)j * QS + l;
            w->vx[e] = st[l].tau_fixed ? 0 : w->vx[e];
            w->tn[e] = w->vx[e] - x[e] / tau[l];
        }
    for (int r = 0; r < m; ++r)
        for (int l = 0; l < QL; ++l) w->vz[(size_t)r * QS + l] = st[l].tau_fixed ? 0 : w->vz[(size_t)r * QS + l];
    for (int r = 0; r < k; ++r)
        for (int l = 0; l < QL; ++l) w->vy[(size_t)r * QS + l] = st[l].tau_fixed ? 0 : w->vy[(size_t)r * QS + l];
    LFN(lv_gemv)(n, n, w->Qs, w->tn, w->ex);
    LFN(lv_dot)(n, w->tn, w->ex, t);
    for (int l = 0; l < QL; ++l) den[l] = -t[l] - kappa[l] / tau[l];
    for (int r = 0; r < m; ++r)
        for (int l = 0; l < QL; ++l) {
            size_t e = (size_t)r * QS + l;
            den[l] = w->W[e] != 0 ? den[l] - w->vz[e] * w->vz[e] * w->Winv[e] : den[l];
        }
    for (int l = 0; l < QL; ++l) den[l] = st[l].tau_fixed ? -1 : den[l];

    /* predictor */
    QPL_EACH(e, (size_t)n) w->bx[e] = -w->rx[e];
    QPL_EACH(e, (size_t)m) w->bz[e] = w->W[e] != 0 ? -w->rz[e] + w->s[e] : 0;
    QPL_EACH(e, (size_t)k) w->by[e] = -w->ry[e];
    for (int l = 0; l < QL; ++l) rhs[l] = -st[l].rtau + kappa[l];
    LFN(qpl_direction)(d, 0, w, st, go, rhs, den, dtau);
    QPL_EACH(e, (size_t)m) w->ds[e] = w->W[e] != 0 ? -w->s[e] - w->Winv[e] * w->dz[e] : 0;
    for (int l = 0; l < QL; ++l) dkappa[l] = st[l].tau_fixed ? 0 : -kappa[l] - kappa[l] * dtau[l] / tau[l];
    for (int j = 0; j < n; ++j)
        for (int l = 0; l < QL; ++l) {
            size_t e = (size_t)j * QS + l;
            w->tn[e] = w->dx[e] - x[e] * dtau[l] / tau[l];
        }
    LFN(lv_gemv)(n, n, w->Qs, w->tn, w->ex);
    DREAL tso[QL];
    LFN(lv_dot)(n, w->tn, w->ex, tso);
    for (int l = 0; l < QL; ++l) tso[l] = tso[l] / tau[l];
    LFN(qpl_max_step)(d, w, z, st, dtau, dkappa, a);
    DREAL mu_aff[QL], eta[QL], smu[QL];
    for (int l = 0; l < QL; ++l) {
        if (a[l] > 1) a[l] = 1;
        mu_aff[l] = (tau[l] + a[l] * dtau[l]) * (kappa[l] + a[l] * dkappa[l]);
    }
    for (int r = 0; r < m; ++r)
        for (int l = 0; l < QL; ++l) {
            size_t e = (size_t)r * QS + l;
            DREAL c = (w->s[e] + a[l] * w->ds[e]) * (z[e] + a[l] * w->dz[e]);
            mu_aff[l] = w->W[e] != 0 ? mu_aff[l] + c : mu_aff[l];
        }
    for (int l = 0; l < QL; ++l) {
        mu_aff[l] /= (DREAL)(mact[l] + 1);
        DFN(qp_centering)(mu_aff[l], st[l].mu, &eta[l], &smu[l]);
    }

    /* corrector */
    for (int j = 0; j < n; ++j)
        for (int l = 0; l < QL; ++l) {
            size_t e = (size_t)j * QS + l;
            w->bx[e] = -eta[l] * w->rx[e];
        }
    for (int r = 0; r < m; ++r)
        for (int l = 0; l < QL; ++l) {
            size_t e = (size_t)r * QS + l;
            w->bz[e] = w->W[e] != 0 ? -eta[l] * w->rz[e] + (w->s[e] * z[e] + w->ds[e] * w->dz[e] - smu[l]) / z[e]
                                    : 0;
        }
    for (int r = 0; r < k; ++r)
        for (int l = 0; l < QL; ++l) {
            size_t e = (size_t)r * QS + l;
            w->by[e] = -eta[l] * w->ry[e];
        }
    DREAL rkappa[QL];
    for (int l = 0; l < QL; ++l) {
        rkappa[l] = tau[l] * kappa[l] + dtau[l] * dkappa[l] - smu[l];
        rhs[l] = -eta[l] * st[l].rtau + rkappa[l] / tau[l] - tso[l];
    }
    LFN(qpl_direction)(d, set->refine, w, st, go, rhs, den, dtau);
    for (int r = 0; r < m; ++r)
        for (int l = 0; l < QL; ++l) {
            size_t e = (size_t)r * QS + l;
            w->ds[e] = w->W[e] != 0 ? -(w->bz[e] + eta[l] * w->rz[e]) - w->Winv[e] * w->dz[e] : 0;
        }
    for (int l = 0; l < QL; ++l) dkappa[l] = st[l].tau_fixed ? 0 : -(rkappa[l] + kappa[l] * dtau[l]) / tau[l];
    LFN(qpl_max_step)(d, w, z, st, dtau, dkappa, a);
    int take[QL], take_s[QL];
    for (int l = 0; l < QL; ++l) {
        a[l] *= DREAL_STEP_FRACTION;
        if (a[l] > 1) a[l] = 1;
        take[l] = go[l] && a[l] > 0;
        if (go[l] && !(a[l] > 0)) st[l].status = DOPT_INST_NUMERICAL;
    }
    LFN(lv_axpy_if)(n, take, a, w->dx, x);
    LFN(lv_axpy_if)(k, take, a, w->dy, y);
    for (int r = 0; r < m; ++r) {
        for (int l = 0; l < QL; ++l) take_s[l] = take[l] && w->W[(size_t)r * QS + l] != 0;
        LFN(lv_axpy_if)(1, take_s, a, w->ds + (size_t)r * QS, w->s + (size_t)r * QS);
        LFN(lv_axpy_if)(1, take_s, a, w->dz + (size_t)r * QS, z + (size_t)r * QS);
    }
    for (int l = 0; l < QL; ++l)
        if (take[l]) {
            st[l].tau = tau[l] + a[l] * dtau[l];
            st[l].kappa = kappa[l] + a[l] * dkappa[l];
            st[l].iter += 1;
        }
}

#undef QL
#undef QS
#undef QPL_EACH
