/* The dual normal equations' structure on the CPU: which rows of G are
 * singletons, R = [G's other rows; A] by columns with each value's position
 * in Kf, the pattern of S = C + R D^-1 R', where each product R_aj R_bj
 * lands in S's values, and CHOLMOD's supernodal analysis of S (AMD ordering).
 * S is then stored already permuted, as the lower triangle of P S P', and
 * analysed again in that natural order: CHOLMOD's supernodal factorization
 * reads such a matrix as it is, where an upper triangle in the original
 * order costs a permuted transpose per factorization (measured: 12-18 % of
 * a set cover's forward). Built once per structure
 * (kernels/sparse_qp_normal.h). */
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
                    nm->Rdiag, nm->Rstk, nm->Sp, nm->Si, nm->Sdiag, nm->pairpos, nm->perm};
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
    cholmod_sparse A = sqp_cpu_upper_view(nm->map.nR, nm->Sp, nm->Si, values);
    A.stype = nm->stype;
    return A;
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
    nm->Sdiag = alloc_i64(nR);
    nm->stype = 1;
    int ok = nm->Sdiag && grow_of && mark && list && nm->sg && nm->sc && nm->scol && nm->srow && nm->Rdiag && nm->Rstk && nm->Rcp &&
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
        nm->Sdiag[b] = nnzS - 1;
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
    mp->Sdiag = nm->Sdiag;
    mp->pairpos = nm->pairpos;
done:
    free(grow_of);
    free(mark);
    free(list);
    return ok;
}

typedef struct {
    int64_t row, old; /* an entry of P S P''s lower triangle and its position in S's upper one */
} sqp_entry;

static int cmp_entry(const void *a, const void *b)
{
    int64_t x = ((const sqp_entry *)a)->row, y = ((const sqp_entry *)b)->row;
    return (x > y) - (x < y);
}

/* Rewrites S's pattern as the lower triangle of P S P' (perm: CHOLMOD's
 * Perm, new index -> old) and moves Sdiag and pairpos with it. 0 when out
 * of memory (nothing changed). */
static int permute_lower(sqp_cpu_normal *nm, const int64_t *perm)
{
    int64_t nR = nm->map.nR, nnzS = nm->map.nnzS;
    int64_t *inv = alloc_i64(nR), *Sp = (int64_t *)calloc((size_t)nR + 1, sizeof(int64_t));
    int64_t *Si = alloc_i64(nnzS), *moved = alloc_i64(nnzS);
    sqp_entry *ent = (sqp_entry *)malloc(sizeof(sqp_entry) * (size_t)(nnzS > 0 ? nnzS : 1));
    if (!inv || !Sp || !Si || !moved || !ent) {
        free(inv), free(Sp), free(Si), free(moved), free(ent);
        return 0;
    }
    for (int64_t q = 0; q < nR; ++q) inv[perm[q]] = q;
    for (int64_t b = 0; b < nR; ++b)
        for (int64_t q = nm->Sp[b]; q < nm->Sp[b + 1]; ++q) {
            int64_t ia = inv[nm->Si[q]], ib = inv[b];
            Sp[(ia < ib ? ia : ib) + 1] += 1;
        }
    for (int64_t c = 0; c < nR; ++c) Sp[c + 1] += Sp[c];
    int64_t *fill = moved; /* borrowed as the column fill counters, then overwritten */
    for (int64_t c = 0; c < nR; ++c) fill[c] = 0;
    for (int64_t b = 0; b < nR; ++b)
        for (int64_t q = nm->Sp[b]; q < nm->Sp[b + 1]; ++q) {
            int64_t ia = inv[nm->Si[q]], ib = inv[b], col = ia < ib ? ia : ib;
            sqp_entry *e = ent + Sp[col] + fill[col]++;
            e->row = ia < ib ? ib : ia;
            e->old = q;
        }
    for (int64_t c = 0; c < nR; ++c) /* the diagonal, the smallest row, first */
        qsort(ent + Sp[c], (size_t)(Sp[c + 1] - Sp[c]), sizeof(sqp_entry), cmp_entry);
    for (int64_t q = 0; q < nnzS; ++q) {
        Si[q] = ent[q].row;
        moved[ent[q].old] = q;
    }
    int64_t npairs = 0;
    for (int64_t j = 0; j < nm->map.n; ++j) {
        int64_t c = nm->Rcp[j + 1] - nm->Rcp[j];
        npairs += c * (c + 1) / 2;
    }
    for (int64_t t = 0; t < npairs; ++t) nm->pairpos[t] = moved[nm->pairpos[t]];
    for (int64_t a = 0; a < nR; ++a) nm->Sdiag[a] = moved[nm->Sdiag[a]];
    free(nm->Sp);
    free(nm->Si);
    nm->Sp = Sp;
    nm->Si = Si;
    nm->stype = -1;
    free(inv);
    free(moved);
    free(ent);
    return 1;
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
        int saved_super = cc->supernodal, saved_post = cc->postorder, saved_order = cc->method[0].ordering;
        cc->supernodal = CHOLMOD_SUPERNODAL;
        cholmod_sparse S = sqp_cpu_normal_view(nm, NULL);
        nm->LS = cholmod_l_analyze(&S, cc);
        nm->flops = cc->fl;
        /* again on P S P' in its natural order (the same factor, no
         * postordering: P is already postordered) */
        cholmod_factor *LN = NULL;
        nm->perm = alloc_i64(nm->map.nR);
        if (nm->LS && nm->perm && permute_lower(nm, (const int64_t *)nm->LS->Perm)) {
            cc->method[0].ordering = CHOLMOD_NATURAL;
            cc->postorder = 0;
            S = sqp_cpu_normal_view(nm, NULL);
            LN = cholmod_l_analyze(&S, cc);
        }
        if (LN && LN->ordering == CHOLMOD_NATURAL) {
            /* S's row perm[j] is row j of the factored matrix */
            const int64_t *p0 = (const int64_t *)nm->LS->Perm, *p1 = (const int64_t *)LN->Perm;
            for (int64_t j = 0; j < nm->map.nR; ++j) nm->perm[j] = p0[p1[j]];
        } else if (LN) {
            cholmod_l_free_factor(&LN, cc);
        }
        if (nm->LS) cholmod_l_free_factor(&nm->LS, cc);
        nm->LS = LN; /* NULL: the analysis failed */
        cc->supernodal = saved_super;
        cc->postorder = saved_post;
        cc->method[0].ordering = saved_order;
        if (!nm->LS) {
            sqp_cpu_normal_free(nm, cc);
            return NULL;
        }
    }
    return nm;
}
