/* The dual normal equations' structure on the CPU: which rows of G are
 * singletons, R = [G's other rows; A] by columns with each value's position
 * in Kf, the pattern of S = C + R D^-1 R' (upper CSC), where each product
 * R_aj R_bj lands in S's values, and CHOLMOD's supernodal analysis of S (AMD
 * ordering). Built once per structure (kernels/sparse_qp_normal.h). */
#include "sparse_qp_normal_cpu.h"

#include <stdlib.h>
#include <string.h>

int sqp_cpu_q_is_diagonal(const dopt_sparse_qp_structure *s)
{
    for (int32_t i = 0; i < s->n; ++i)
        for (int64_t e = s->Qp[i]; e < s->Qp[i + 1]; ++e)
            if (s->Qi[e] != i) return 0;
    return 1;
}

void sqp_cpu_normal_free(sqp_cpu_normal *nm, cholmod_common *cc)
{
    if (!nm) return;
    int64_t *a[] = {nm->sg, nm->sc, nm->scol, nm->srow, nm->Rcp, nm->Rr, nm->Rk,
                    nm->Rdiag, nm->Rstk, nm->Sp, nm->Si, nm->pairpos};
    for (size_t q = 0; q < sizeof a / sizeof a[0]; ++q) free(a[q]);
    if (nm->LS) cholmod_l_free_factor(&nm->LS, cc);
    free(nm);
}

cholmod_sparse sqp_cpu_upper_view(int64_t ncol, int64_t *colp, int64_t *rowi, double *values)
{
    cholmod_sparse A;
    memset(&A, 0, sizeof A);
    A.nrow = (size_t)ncol;
    A.ncol = (size_t)ncol;
    A.nzmax = (size_t)colp[ncol];
    A.p = colp;
    A.i = rowi;
    A.x = values;
    A.stype = 1; /* upper triangle */
    A.itype = CHOLMOD_LONG;
    A.xtype = values ? CHOLMOD_REAL : CHOLMOD_PATTERN;
    A.dtype = CHOLMOD_DOUBLE;
    A.sorted = 1;
    A.packed = 1;
    return A;
}

cholmod_sparse sqp_cpu_normal_view(const sqp_cpu_normal *nm, double *values)
{
    return sqp_cpu_upper_view(nm->map.nR, nm->Sp, nm->Si, values);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t *alloc_i64(int64_t len) { return (int64_t *)malloc(sizeof(int64_t) * (size_t)(len > 0 ? len : 1)); }

/* R's row a as a CSR row of G or A: its first entry, its end, and the Kf
 * column that holds its values. */
static void r_row(const dopt_sparse_qp_structure *s, const int64_t *grow_of, int64_t a, int64_t nRG, int64_t *e0,
                  int64_t *e1, const int32_t **cols, int64_t *kcol)
{
    if (a < nRG) {
        int64_t r = grow_of[a];
        *e0 = s->Gp[r];
        *e1 = s->Gp[r + 1];
        *cols = s->Gi;
        *kcol = s->Kp[s->n + r];
    } else {
        int64_t r = a - nRG;
        *e0 = s->Ap[r];
        *e1 = s->Ap[r + 1];
        *cols = s->Ai;
        *kcol = s->Kp[s->n + s->m + r];
    }
}

/* The map and S's pattern; 0 when out of memory. */
static int build_map(const dopt_sparse_qp_structure *s, sqp_cpu_normal *nm)
{
    int64_t n = s->n, m = s->m, k = s->k, nsing = 0;
    for (int64_t r = 0; r < m; ++r) nsing += s->Gp[r + 1] - s->Gp[r] == 1;
    int64_t nRG = m - nsing, nR = nRG + k;
    int64_t *grow_of = alloc_i64(nRG), *mark = alloc_i64(nR), *list = alloc_i64(nR);
    nm->sg = alloc_i64(nsing);
    nm->sc = alloc_i64(nsing);
    nm->scol = alloc_i64(nsing);
    nm->srow = alloc_i64(nsing);
    nm->Rdiag = alloc_i64(nR);
    nm->Rstk = alloc_i64(nR);
    nm->Rcp = (int64_t *)calloc((size_t)n + 1, sizeof(int64_t));
    nm->Sp = (int64_t *)calloc((size_t)nR + 1, sizeof(int64_t));
    int ok = grow_of && mark && list && nm->sg && nm->sc && nm->scol && nm->srow && nm->Rdiag && nm->Rstk && nm->Rcp &&
             nm->Sp;
    if (!ok) goto done;
    int64_t q = 0, a = 0;
    for (int64_t r = 0; r < m; ++r) {
        if (s->Gp[r + 1] - s->Gp[r] == 1) {
            nm->sg[q] = s->Kp[n + r];
            nm->sc[q] = s->Kp[n + r + 1] - 1;
            nm->scol[q] = s->Gi[s->Gp[r]];
            nm->srow[q] = n + r;
            ++q;
        } else {
            grow_of[a] = r;
            nm->Rdiag[a] = s->Kp[n + r + 1] - 1;
            nm->Rstk[a] = n + r;
            ++a;
        }
    }
    for (int64_t r = 0; r < k; ++r) {
        nm->Rdiag[nRG + r] = s->Kp[n + m + r + 1] - 1;
        nm->Rstk[nRG + r] = n + m + r;
    }
    /* R by columns, rows increasing within a column */
    for (a = 0; a < nR; ++a) {
        int64_t e0, e1, kcol;
        const int32_t *cols;
        r_row(s, grow_of, a, nRG, &e0, &e1, &cols, &kcol);
        for (int64_t e = e0; e < e1; ++e) nm->Rcp[cols[e] + 1] += 1;
    }
    for (int64_t j = 0; j < n; ++j) nm->Rcp[j + 1] += nm->Rcp[j];
    int64_t nnzR = nm->Rcp[n], npairs = 0;
    nm->Rr = alloc_i64(nnzR);
    nm->Rk = alloc_i64(nnzR);
    int64_t *fill = (int64_t *)calloc((size_t)n + 1, sizeof(int64_t));
    ok = nm->Rr && nm->Rk && fill;
    if (!ok) {
        free(fill);
        goto done;
    }
    for (a = 0; a < nR; ++a) {
        int64_t e0, e1, kcol;
        const int32_t *cols;
        r_row(s, grow_of, a, nRG, &e0, &e1, &cols, &kcol);
        for (int64_t e = e0; e < e1; ++e) {
            int64_t j = cols[e], t = nm->Rcp[j] + fill[j]++;
            nm->Rr[t] = a;
            nm->Rk[t] = kcol + (e - e0);
        }
    }
    free(fill);
    /* S's pattern: column b holds the rows a <= b that share a column with b */
    for (a = 0; a < nR; ++a) mark[a] = -1;
    int64_t cap = nR + nnzR, nnzS = 0;
    nm->Si = alloc_i64(cap);
    if (!(ok = nm->Si != NULL)) goto done;
    for (int64_t b = 0; b < nR; ++b) {
        int64_t e0, e1, kcol, len = 0;
        const int32_t *cols;
        r_row(s, grow_of, b, nRG, &e0, &e1, &cols, &kcol);
        mark[b] = b;
        list[len++] = b;
        for (int64_t e = e0; e < e1; ++e) {
            int64_t j = cols[e];
            for (int64_t t = nm->Rcp[j]; t < nm->Rcp[j + 1] && nm->Rr[t] < b; ++t)
                if (mark[nm->Rr[t]] != b) {
                    mark[nm->Rr[t]] = b;
                    list[len++] = nm->Rr[t];
                }
        }
        qsort(list, (size_t)len, sizeof(int64_t), cmp_i64); /* b, the largest, ends the column */
        if (nnzS + len > cap) {
            int64_t ncap = 2 * cap > nnzS + len ? 2 * cap : nnzS + len;
            int64_t *grown = (int64_t *)realloc(nm->Si, sizeof(int64_t) * (size_t)ncap);
            if (!(ok = grown != NULL)) goto done;
            nm->Si = grown;
            cap = ncap;
        }
        memcpy(nm->Si + nnzS, list, sizeof(int64_t) * (size_t)len);
        nnzS += len;
        nm->Sp[b + 1] = nnzS;
    }
    for (int64_t j = 0; j < n; ++j) {
        int64_t c = nm->Rcp[j + 1] - nm->Rcp[j];
        npairs += c * (c + 1) / 2;
    }
    nm->pairpos = alloc_i64(npairs);
    if (!(ok = nm->pairpos != NULL)) goto done;
    int64_t pp = 0;
    for (int64_t j = 0; j < n; ++j)
        for (int64_t t = nm->Rcp[j]; t < nm->Rcp[j + 1]; ++t)
            for (int64_t u = t; u < nm->Rcp[j + 1]; ++u) {
                int64_t row = nm->Rr[t], col = nm->Rr[u];
                const int64_t *lo = nm->Si + nm->Sp[col];
                const int64_t *hit = (const int64_t *)bsearch(&row, lo, (size_t)(nm->Sp[col + 1] - nm->Sp[col]),
                                                              sizeof(int64_t), cmp_i64);
                nm->pairpos[pp++] = hit - nm->Si; /* present: the pattern was built from these pairs */
            }
    sqp_normal_map *mp = &nm->map;
    mp->n = (int)n;
    mp->nR = nR;
    mp->nsing = nsing;
    mp->nnzS = nnzS;
    mp->kdiag = s->kdiag;
    mp->sg = nm->sg;
    mp->sc = nm->sc;
    mp->scol = nm->scol;
    mp->srow = nm->srow;
    mp->Rcp = nm->Rcp;
    mp->Rr = nm->Rr;
    mp->Rk = nm->Rk;
    mp->Rdiag = nm->Rdiag;
    mp->Rstk = nm->Rstk;
    mp->Sp = nm->Sp;
    mp->pairpos = nm->pairpos;
done:
    free(grow_of);
    free(mark);
    free(list);
    return ok;
}

sqp_cpu_normal *sqp_cpu_normal_analyze(const dopt_sparse_qp_structure *s, cholmod_common *cc)
{
    sqp_cpu_normal *nm = (sqp_cpu_normal *)calloc(1, sizeof *nm);
    if (!nm) return NULL;
    if (!build_map(s, nm)) {
        sqp_cpu_normal_free(nm, cc);
        return NULL;
    }
    if (nm->map.nR > 0) {
        int saved = cc->supernodal;
        cc->supernodal = CHOLMOD_SUPERNODAL;
        cholmod_sparse S = sqp_cpu_normal_view(nm, NULL);
        nm->LS = cholmod_l_analyze(&S, cc);
        nm->flops = cc->fl;
        cc->supernodal = saved;
        if (!nm->LS) {
            sqp_cpu_normal_free(nm, cc);
            return NULL;
        }
    }
    return nm;
}
