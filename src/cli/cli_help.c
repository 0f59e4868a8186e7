/* Every command's usage text, and `--help` for all of them.
 *
 * main() hands the arguments to cli_help() before any command runs: when
 * --help or -h appears anywhere, the usage of the command (and subcommand)
 * named goes to stdout and dopt exits 0, before any other option is parsed
 * and before any file is opened or created. The same texts are what usage
 * errors print to stderr (cli_usage), so the two never disagree. Each
 * option is listed once per command with its default; tests/test_cli_help.c
 * checks the texts against the options the command parsers accept. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct {
    const char *cmd, *sub; /* sub NULL: the command's own usage (or overview) */
    const char *text;
} cli_usage_entry;

static const char top_usage[] =
    "usage: dopt COMMAND [SUBCOMMAND] [options]\n"
    "commands:\n"
    "  dopt qp solve DIR          batch QP solve (and backward) from .npy files\n"
    "  dopt cone solve DIR        batch cone programs (SOC, PSD; and backward) from .npy files\n"
    "  dopt bern DIR              Bernoulli surrogate loss and gradient from .npy files\n"
    "  dopt ilp solve DIR         exact small ILPs (and their gradients) from .npy files\n"
    "  dopt diffuse sample        DDPM / DDIM sampling of a Gaussian (mixture) target\n"
    "  dopt gen FAMILY OUTDIR     generate MILP benchmark instances as MPS files\n"
    "  dopt milp solve|search|convert|info FILE.mps\n"
    "                             MILPs from MPS files; predict-and-search\n"
    "  dopt bench qp|bern|bern-train|diffusion|milp\n"
    "                             benchmarks\n"
    "  dopt demo [combopt]        demos: learning QP / ILP constraints\n"
    "  dopt --version             the library version\n"
    "  dopt --help                this help\n"
    "Run 'dopt COMMAND [SUBCOMMAND] --help' (or -h) for a command's options and defaults.\n"
    "Exit status: 0 done, 1 failed (the message names the file or call), 2 usage error.\n"
    "See README.md for file formats and status codes.\n";

static const char cone_solve_usage[] =
    "usage: dopt cone solve DIR [options]\n"
    "  Solves min c'x s.t. Ax = b, Gx + s = h, s in K for a batch read from DIR/cones.json\n"
    "  {\"l\": int, \"q\": [ints], \"s\": [ints]} (missing keys: none; K = orthant l, second-order cones q,\n"
    "  PSD cones s in svec order: lower triangle column by column, off-diagonals times sqrt(2); the rows of\n"
    "  G and h follow l, then each q, then each s), DIR/c.npy (B,n)|(n), G.npy (B,m,n)|(m,n), h.npy (B,m)|(m),\n"
    "  optional A.npy (B,k,n)|(k,n) with b.npy (B,k)|(k); m = l + sum q + sum s(s+1)/2 (an array without B\n"
    "  is shared; float64 when any input is). Writes x.npy (B,n), s.npy (B,m), z.npy (B,m) (cone duals),\n"
    "  y.npy (B,k), status.npy (B) int32 (the QP layer's codes), iters.npy (B) int32; with --dx also dc.npy,\n"
    "  dG.npy, dh.npy, dA.npy, db.npy shaped like their inputs.\n"
    "options:\n"
    "  --out OUTDIR        where the outputs go (default: DIR)\n"
    "  --backend B         cpu, cuda or auto (default: cpu)\n"
    "  --threads N         CPU worker threads, 0 = as many as processors (default: 0)\n"
    "  --tol EPS           relative residuals and gap (default: 1e-8 float64, 1e-4 float32)\n"
    "  --max-iter K        interior-point iterations per instance (default: 100)\n"
    "  --dx FILE           dL/dx (B,n): also run the backward and write the gradients (default: none)\n"
    "  --quiet             no summary or notes on stdout/stderr\n"
    "  -h, --help          this help\n";

static const char qp_solve_usage[] =
    "usage: dopt qp solve DIR [options]\n"
    "       dopt qp solve --ragged IN.npz [--out OUT.npz] [--dx DX.npy] [options]\n"
    "  Solves min 1/2 x'Qx + p'x s.t. Gx <= h, Ax = b for a batch read from DIR/Q.npy (B,n,n)|(n,n),\n"
    "  p.npy (B,n)|(n), optional G.npy (B,m,n)|(m,n) with h.npy (B,m)|(m), optional A.npy (B,k,n)|(k,n)\n"
    "  with b.npy (B,k)|(k) (an array without B is shared; float64 when any input is). Writes x.npy (B,n),\n"
    "  lam.npy (B,m), nu.npy (B,k), status.npy (B) int32, iters.npy (B) int32; with --dx also dQ.npy,\n"
    "  dp.npy, dG.npy, dh.npy, dA.npy, db.npy shaped like their inputs.\n"
    "  With --ragged, instances of different sizes: IN.npz holds int32 n, m, k (B) and Q, p, G, h, A, b,\n"
    "  every instance's row-major arrays concatenated in order (Q sum n_i^2 values, p sum n_i, G sum m_i*n_i,\n"
    "  h sum m_i, A sum k_i*n_i, b sum k_i; one float dtype). Writes OUT.npz with x (sum n_i), lam (sum m_i),\n"
    "  nu (sum k_i), status and iters (B) int32; with --dx DX.npy (sum n_i) also dQ, dp, dG, dh, dA, db in the\n"
    "  input layout (--dlam (sum m_i), --dnu (sum k_i) likewise).\n"
    "  Sparse matrices: any of Q, G, A may be DIR/Q.npz, G.npz, A.npz instead, a CSR matrix as\n"
    "  scipy.sparse.save_npz writes it (keys data, indices, indptr, shape, format 'csr'; csc, coo and other\n"
    "  formats are refused), one pattern and one set of values shared by the batch; the .npy of the same\n"
    "  name must then be absent. Indices unsorted or repeated within a row are made canonical (sorted,\n"
    "  repeats summed, as scipy's sum_duplicates). The whole problem then runs in the sparse layer: dense\n"
    "  .npy matrices become the union of their nonzeros over the batch, Q may be left out (an LP, n from\n"
    "  p). With --dx the gradients of .npz inputs are written as dQ.npz, dG.npz, dA.npz on their canonical\n"
    "  patterns (scipy.sparse.load_npz reads them), the others as .npy as above.\n"
    "options:\n"
    "  --ragged IN.npz     a ragged batch from one archive instead of DIR (default: none)\n"
    "  --ragged-policy P   with --ragged: auto, exact or pad (default: auto: the backend's native path;\n"
    "                      exact: classes of equal sizes; pad: padded size classes, docs/QP.md)\n"
    "  --max-pad-waste W   with --ragged-policy pad: padded work per class, 0..0.99, 0 = 0.25 (default: 0)\n"
    "  --out OUTDIR        where the outputs go (default: DIR; with --ragged the file OUT.npz,\n"
    "                      default IN's folder/out.npz)\n"
    "  --backend B         cpu, cuda or auto (default: cpu)\n"
    "  --threads N         CPU worker threads, 0 = all processors (default: 0)\n"
    "  --tol EPS           convergence tolerance in (0, 1] (default: 1e-8 float64, 1e-6 float32)\n"
    "  --max-iter K        interior-point iterations, 1..100000 (default: 50)\n"
    "  --dx FILE           dL/dx (B,n): also run the backward pass (default: forward only)\n"
    "  --dlam FILE         dL/dlam (B,m), needs --dx (default: zero)\n"
    "  --dnu FILE          dL/dnu (B,k), needs --dx (default: zero)\n"
    "  --closest-feasible  infeasible instances: the closest feasible problem's solution, status 7 (default:\n"
    "                      off: status 1 and a certificate; h, b shifted by the least-norm shift; dense\n                      inputs only: not with --ragged or .npz)\n"
    "  --quiet             no summary on stdout (default: off)\n"
    "  -h, --help          this help\n";

static const char bern_usage[] =
    "usage: dopt bern DIR [options]\n"
    "  The Bernoulli surrogate's loss and gradient for a batch read from DIR/xhat.npy (B,n),\n"
    "  A.npy (B,m,n)|(m,n), b.npy (B,m)|(m), optional c.npy (B,n)|(n). Writes loss.npy (B), grad.npy (B,n),\n"
    "  status.npy (B) int32 (0 ok, 5 invalid data) and, for the sampling estimators, loss_se.npy, grad_se.npy.\n"
    "options:\n"
    "  --out OUTDIR        where the outputs go (default: DIR)\n"
    "  --estimator E       unbiased, reinforce, diffilo or exact (n <= 16) (default: unbiased)\n"
    "  --samples K         samples per instance, 1..16777216 (default: 64)\n"
    "  --seed S            random seed >= 0 (default: 0)\n"
    "  --mu M              penalty weight > 0 (default: 1)\n"
    "  --logits            xhat.npy holds logits; the gradient is with respect to them (default: off)\n"
    "  --backend B         cpu, cuda or auto (default: cpu)\n"
    "  --threads N         CPU worker threads, 0 = all processors (default: 0)\n"
    "  --quiet             no summary on stdout (default: off)\n"
    "  -h, --help          this help\n";

static const char ilp_solve_usage[] =
    "usage: dopt ilp solve DIR [options]\n"
    "       dopt ilp solve --ragged IN.npz [--out OUT.npz] [options]\n"
    "  Exact small ILPs (n <= 256, m <= 256) read from DIR/c.npy (B,n)|(n), A.npy (B,m,n)|(m,n),\n"
    "  b.npy (B,m)|(m), optional lb.npy, ub.npy (B,n)|(n) (default 0 and 1). Writes y.npy (B,n), obj.npy (B),\n"
    "  bound.npy (B), status.npy (B) int32 (0 optimal, 1 infeasible, 3 node or time limit, 4 numerical,\n"
    "  5 invalid data), nodes.npy (B) int64; with --dy also dA.npy, db.npy, dc.npy shaped like A, b, c\n"
    "  (perturbed: also y_eps.npy).\n"
    "  Ragged batch (instances of different sizes): IN.npz holds int32 n, m (B) and, in one float dtype,\n"
    "  c (sum n_i), A (sum m_i*n_i), b (sum m_i), optional lb, ub (sum n_i): each instance's row-major\n"
    "  arrays one after another. OUT.npz gets y (sum n_i), obj, bound, status (B, int32), nodes (B, int64)\n"
    "  and with --dy DY.npy (sum n_i) dA, db, dc in the input layout (perturbed: also y_eps).\n"
    "options:\n"
    "  --ragged IN.npz     read a ragged batch from IN.npz instead of DIR (default: off)\n"
    "  --out OUT           where the outputs go: OUTDIR (default: DIR); with --ragged the file OUT.npz\n"
    "                      (default: IN's folder/out.npz)\n"
    "  --backend B         cpu, cuda or auto (default: cpu)\n"
    "  --threads N         CPU worker threads, 0 = all processors (default: 0)\n"
    "  --node-limit K      LP relaxations per instance >= 1 (default: 1000000)\n"
    "  --time-limit S      wall-clock seconds for the whole call, 0 = none (default: 0)\n"
    "  --dy FILE           dL/dy (B,n), ragged (sum n_i): also run the backward pass (default: forward only)\n"
    "  --method M          combopt, dbb, perturbed or identity, needs --dy (default: combopt)\n"
    "  --tau T             combopt soft-min temperature >= 0 (default: 0.5)\n"
    "  --lambda L          dbb interpolation > 0 (default: 10)\n"
    "  --epsilon E         perturbed: noise scale > 0 (default: 1)\n"
    "  --samples K         perturbed: samples, 1..1000000 (default: 10)\n"
    "  --seed S            perturbed: random seed >= 0 (default: 0)\n"
    "  --quiet             no summary on stdout (default: off)\n"
    "  -h, --help          this help\n";

static const char diffuse_sample_usage[] =
    "usage: dopt diffuse sample (--gaussian DIR | --mixture DIR) --sampler ddpm|ddim --samples K --seed S\n"
    "                           --out FILE [options]\n"
    "  Draws K samples of a Gaussian or Gaussian-mixture target with the exact score of the noised target\n"
    "  at every step and writes FILE, a (K, n) float64 .npy.\n"
    "options:\n"
    "  --gaussian DIR      DIR/mean.npy (n), DIR/cov.npy (n,n) (required: this or --mixture)\n"
    "  --mixture DIR       DIR/weights.npy (c), means.npy (c,n), covs.npy (c,n,n) (required: this or --gaussian)\n"
    "  --sampler S         ddpm or ddim (required)\n"
    "  --samples K         number of samples, 1..2147483648 (required)\n"
    "  --seed S            random seed >= 0 (required)\n"
    "  --out FILE          the samples, (K, n) float64 (required)\n"
    "  --steps T           reverse steps, 1..100000 (default: 1000 ddpm, 100 ddim)\n"
    "  --eta E             ddim stochasticity in [0, 1] (default: 0)\n"
    "  --schedule S        linear or cosine (default: linear)\n"
    "  --backend B         cpu, cuda or auto (default: cpu)\n"
    "  --threads N         CPU worker threads, 0 = all processors (default: 0)\n"
    "  --quiet             no progress or notes on stderr (default: progress every 2 s on long runs)\n"
    "  -h, --help          this help\n";

static const char gen_usage[] =
    "usage: dopt gen sc|ca|cfl|mis|rc|wsc|knapsack --size easy|medium|hard --count N --seed S OUTDIR [options]\n"
    "  Writes N MPS files OUTDIR/FAMILY_SIZE_K.mps (K = 0..N-1; instance K uses seed S+K). Families: set\n"
    "  cover, combinatorial auction, capacitated facility location, maximum independent set (Gasse et al.\n"
    "  2019), CombOptNet's random constraints and weighted set cover, knapsack.\n"
    "options:\n"
    "  --size Z            easy, medium or hard: the preset below (required)\n"
    "  --count N           instances, 1..100000000 (required)\n"
    "  --seed S            seed of instance 0, >= 0 (required)\n"
    "  --rows R            sc: rows (default: 500 / 1000 / 2000 by size)\n"
    "  --cols C            sc: columns (default: 1000)\n"
    "  --density D         sc: density in [0, 1] (default: 0.05)\n"
    "  --items I           ca: items (default: 100 / 200 / 300)\n"
    "  --bids B            ca: bids (default: 500 / 1000 / 1500)\n"
    "  --add-item-prob P   ca: in [0, 1] (default: 0.7, as Gasse et al.)\n"
    "  --customers C       cfl: customers (default: 100 / 200 / 400)\n"
    "  --facilities F      cfl: facilities (default: 100)\n"
    "  --ratio R           cfl: capacity ratio (default: 5)\n"
    "  --nodes N           mis: nodes (default: 500 / 1000 / 1500)\n"
    "  --graph G           mis: ba (Barabasi-Albert) or er (Erdos-Renyi) (default: ba)\n"
    "  --affinity A        mis, ba: edges per new node (default: 4)\n"
    "  --edge-prob P       mis, er: edge probability in [0, 1] (default: 0.25)\n"
    "  --n N               rc, wsc, knapsack: variables (default: rc 16; wsc 2m; knapsack 10 / 50 / 100)\n"
    "  --m M               rc, wsc, knapsack: constraints (default: rc 2 / 4 / 8; wsc 4 / 8 / 10; knapsack 1)\n"
    "  --dense             rc: integer box [-5, 5] instead of binary (default: off)\n"
    "  --quiet             no progress on stderr (default: off)\n"
    "  -h, --help          this help\n";

static const char milp_usage[] =
    "usage: dopt milp solve FILE.mps [options]\n"
    "       dopt milp search FILE.mps [FILE.mps ...] (--pred P.npy | --pred-dir DIR) [options]\n"
    "       dopt milp convert IN.mps OUT.mps [options]\n"
    "       dopt milp info FILE.mps [options]\n"
    "MPS files may be gzipped (.mps.gz). What a file has that is skipped is a warning on stderr.\n"
    "Run 'dopt milp SUBCOMMAND --help' for the options and their defaults.\n"
    "Exit status: 0 when the solver ran (whatever its status), 1 on errors (file, solver), 2 on usage errors.\n";

static const char milp_solve_usage[] =
    "usage: dopt milp solve FILE.mps [options]\n"
    "  Solves the MILP and prints status (optimal, infeasible, unbounded, time_limit, numerical, invalid),\n"
    "  objective, bound, gap, time_s, nodes, solver (highs, cbc or exact), solver_status (the backend's own\n"
    "  words); with --json one object {\"status\": ..., \"objective\":\n"
    "  number|null, \"time_s\": number, ...}.\n"
    "options:\n"
    "  --time-limit S      wall-clock seconds from the command's start, 0 = none (default: 0); reading the\n"
    "                      file included; the command ends by S + 1 s, whatever the solver does\n"
    "  --gap G             relative gap to stop at, 0 = prove optimality (default: 0)\n"
    "  --solver S          auto, highs, cbc, exact or portfolio (default: auto: HiGHS when built in, else Cbc\n"
    "                      when built in, else exact; portfolio: HiGHS and Cbc side by side, the first proof\n"
    "                      or the better incumbent and tighter bound at the limit, `solver` names the one kept)\n"
    "  --threads N         the solver's threads (HiGHS, Cbc), 1..1024 (default: 1)\n"
    "  --relax             solve the LP relaxation (default: off)\n"
    "  --x-out FILE.npy    write the solution (n) float64 (default: not written)\n"
    "  --ray-out FILE.npy  when unbounded, a recession direction (n) float64, max |r_j| = 1 (default: not written)\n"
    "  --format F          MPS format: auto, free or fixed (default: auto)\n"
    "  --int-bounds B      integer columns no BOUNDS entry names: binary [0, 1] or nonneg [0, inf) (default: binary)\n"
    "  --json              one JSON object on stdout (default: text)\n"
    "  --verbose           the solver's log on stdout (default: off)\n"
    "  -h, --help          this help\n";

static const char milp_search_usage[] =
    "usage: dopt milp search FILE.mps (--pred P.npy | --pred-dir DIR) [options]\n"
    "       dopt milp search FILE.mps [FILE.mps ...] --pred-dir DIR [options]\n"
    "  Predict-and-search: P.npy holds one prediction (n) or K candidates (K, n) (binaries: probability of\n"
    "  1); every candidate's trust-region subproblem is solved and the best is reported, one result per\n"
    "  file (with --json one object per line, with \"file\").\n"
    "options:\n"
    "  --pred P.npy        the prediction for one file (required: this or --pred-dir)\n"
    "  --pred-dir DIR      DIR/STEM.npy for each FILE = .../STEM.mps (required: this or --pred)\n"
    "  --delta D           Hamming radius of the trust region >= 0 (default: 0)\n"
    "  --k0 K              binaries of smallest p in the trust set, centered at 0 (default: 0)\n"
    "  --k1 K              binaries of largest p, centered at 1 (default: 0; k0 = k1 = 0: all binaries)\n"
    "  --no-repair         do not widen delta while the subproblem is infeasible (default: repair on)\n"
    "  --workers N         threads running the candidates, 0 = all processors (default: 0)\n"
    "  --time-limit S      wall-clock seconds per candidate, 0 = none (default: 0); all its repair rounds\n"
    "                      included, reading the files taken off\n"
    "  --gap G             relative gap to stop at, 0 = prove optimality (default: 0)\n"
    "  --batch-time-limit S  wall-clock seconds for all candidates together, 0 = none (default: 0); each\n"
    "                      gets at most what is left, one started with none left reports time_limit unsolved\n"
    "  --solver S          auto, highs, cbc, exact or portfolio (default: auto: HiGHS, else Cbc, else exact;\n"
    "                      candidates run side by side on the workers, each Cbc in a process of its own)\n"
    "  --threads N         the solver's threads per subproblem (HiGHS, Cbc), 1..1024 (default: 1)\n"
    "  --x-out FILE.npy    write the best solution (n) float64, one MPS file only (default: not written)\n"
    "  --format F          MPS format: auto, free or fixed (default: auto)\n"
    "  --int-bounds B      integer columns no BOUNDS entry names: binary [0, 1] or nonneg [0, inf) (default: binary)\n"
    "  --json              one JSON object per file on stdout (default: text)\n"
    "  --verbose           the solver's log on stdout (default: off)\n"
    "  -h, --help          this help\n";

static const char milp_convert_usage[] =
    "usage: dopt milp convert IN.mps OUT.mps [options]\n"
    "  Reads IN.mps (free or fixed format, detected; gzipped or not) and writes it as free-format MPS to\n"
    "  OUT.mps, with explicit bounds for every integer column.\n"
    "options:\n"
    "  --format F          MPS format: auto, free or fixed (default: auto)\n"
    "  --int-bounds B      integer columns no BOUNDS entry names: binary [0, 1] or nonneg [0, inf) (default: binary)\n"
    "  -h, --help          this help\n";

static const char milp_info_usage[] =
    "usage: dopt milp info FILE.mps [options]\n"
    "  Prints the model's name, sense, rows, cols, nonzeros, integers and binaries.\n"
    "options:\n"
    "  --format F          MPS format: auto, free or fixed (default: auto)\n"
    "  --int-bounds B      integer columns no BOUNDS entry names: binary [0, 1] or nonneg [0, inf) (default: binary)\n"
    "  -h, --help          this help\n";

static const char bench_usage[] =
    "usage: dopt bench qp|ragged|bern|bern-train|diffusion|milp [options]\n"
    "  dopt bench qp          QP forward and forward+backward throughput over a grid of B and n\n"
    "  dopt bench ragged      heterogeneous QP and ILP batches: one ragged call vs per-size, padded, one by one\n"
    "  dopt bench bern        Bernoulli surrogate throughput (sampling + penalty + gradient)\n"
    "  dopt bench bern-train  DiffILO-style training on set cover and independent set, per estimator\n"
    "  dopt bench diffusion   guided DDPM step throughput against the memory bandwidth\n"
    "  dopt bench milp        predict-and-search against the full MILP (needs HiGHS or Cbc)\n"
    "Run 'dopt bench SUBCOMMAND --help' for the options and their defaults.\n";

static const char bench_qp_usage[] =
    "usage: dopt bench qp [options]\n"
    "  Forward and forward+backward throughput (float64, m = n inequalities, k = n/4 equalities) over\n"
    "  B x n, every solve checked against the known optimum; then the factorization's GFLOP/s (one core,\n"
    "  per-instance layout / interleaved lanes; not with --batch).\n"
    "options:\n"
    "  --batch B           only this batch size, 1..16777216 (default: the grid 1, 64, 1024, 8192)\n"
    "  --n N               only this problem size, 4..1024 (default: the grid 8, 32, 128)\n"
    "  --quick             skip grid configurations with B n^3 > 1024 * 32^3 (default: off)\n"
    "  --tol EPS           convergence tolerance in (0, 1] (default: 1e-8)\n"
    "  --min-time S        seconds of repetitions per measurement, 0..3600 (default: 0.5)\n"
    "  --backend B         cpu, cuda or auto (default: cpu)\n"
    "  --threads N         CPU worker threads, 0 = all processors (default: 0)\n"
    "  --export DIR        also write the instances to DIR/B<B>_n<n>/ for bench/compare_qp.py (default: none)\n"
    "  --json FILE         also write the results as JSON (default: none)\n"
    "  -h, --help          this help\n";

static const char bench_ragged_usage[] =
    "usage: dopt bench ragged [options]\n"
    "  A mixed QP batch (n log-uniform in [nmin, nmax], m = n, k = n/4, float64) and a mixed binary ILP\n"
    "  batch (n in [4, 20], m in [1, n]), each solved as one ragged call, as uniform batches per size back\n"
    "  to back (a), padded to the largest size (b), and one instance per call (c): instances/s, the ratios,\n"
    "  the useful fraction of the executed work, GFLOP/s against the factorization kernel's measured\n"
    "  rate; fails when exact-size results differ bitwise.\n"
    "options:\n"
    "  --batch B           QP instances, 1..4194304 (default: 10000)\n"
    "  --ilp-batch B       ILP instances, 0 = no ILP part (default: 10000)\n"
    "  --nmin N, --nmax N  QP size range, 4..1024 (default: 8 and 128)\n"
    "  --no-padded         skip (b), which needs B * nmax^2 * 20 bytes of memory (default: run it)\n"
    "  --quick             at most 500 instances each and nmax <= 48, a smoke run (default: off)\n"
    "  --seed S            instance seed (default: 1)\n"
    "  --threads N         CPU worker threads, 0 = all processors (default: 0)\n"
    "  --json FILE         also write the results as JSON (default: none)\n"
    "  -h, --help          this help\n";

static const char bench_bern_usage[] =
    "usage: dopt bench bern [options]\n"
    "  Throughput of sampling + penalty + gradient ((samples x nonzeros)/s) on sparse A, n = 1000, 3000,\n"
    "  10000, per estimator, with the machine's memory bandwidth for reference.\n"
    "options:\n"
    "  --threads N         CPU worker threads, 0 = all processors (default: 0)\n"
    "  -h, --help          this help\n";

static const char bench_bern_train_usage[] =
    "usage: dopt bench bern-train [options]\n"
    "  Unsupervised DiffILO-style training of xhat per instance (Adam on logits, growing mu) on set cover\n"
    "  and maximum independent set with each estimator, then rounding and repair.\n"
    "options:\n"
    "  --count C           instances per family, 1..10000 (default: 8)\n"
    "  --steps S           Adam steps, 1..1000000 (default: 300)\n"
    "  --samples K         samples per step, 2..1048576 (default: 64)\n"
    "  --n N               variables (set cover: n sets, n/2 elements; MIS: n nodes), 10..100000 (default: 200)\n"
    "  --mu-end F          final penalty weight in units of max|c|, 1..1e12 (default: 100)\n"
    "  --threads N         CPU worker threads, 0 = all processors (default: 0)\n"
    "  --export DIR        write the instances and DIR/results.json for bench/compare_bern.py (default: none)\n"
    "  -h, --help          this help\n";

static const char bench_diffusion_usage[] =
    "usage: dopt bench diffusion [options]\n"
    "  Reverse steps per second of the guided DDPM step (network excluded) for rows = 64 .. 65536 and\n"
    "  n = 500, 1000, 5000, with the bytes a step moves against the measured memory bandwidth.\n"
    "options:\n"
    "  --threads N         CPU worker threads, 0 = all processors (default: 0)\n"
    "  --max-elements E    skip configurations with rows x n > E, 1..1e12 (default: 1.7e8)\n"
    "  -h, --help          this help\n";

static const char bench_milp_usage[] =
    "usage: dopt bench milp [options]\n"
    "  On generated instances of each family, the full MILP against predict-and-search seeded by the LP\n"
    "  relaxation and by a perturbed optimum (one solver thread); prints a markdown table. Needs HiGHS or Cbc.\n"
    "  PaS statuses are the trust region's (opt = optimal within the trust region).\n"
    "options:\n"
    "  --size Z            easy, medium or hard (default: medium)\n"
    "  --count N           instances per family, 1..1000 (default: 2)\n"
    "  --seed S            seed of the first instance >= 0 (default: 1000)\n"
    "  --time-limit S      wall-clock seconds per solve or search, 0.01..1e6 (default: 60)\n"
    "  --noise SIGMA       noise of the perturbed predictor, 0..100 (default: 1.5)\n"
    "  --family F          only sc, ca, cfl or mis (default: all four)\n"
    "  --solver S          auto, highs or cbc (default: auto: HiGHS when built in, else Cbc)\n"
    "  -h, --help          this help\n";

static const char demo_usage[] =
    "usage: dopt demo [options]\n"
    "       dopt demo combopt [options]   (see 'dopt demo combopt --help')\n"
    "  Learns a hidden polytope (6 facets in R^3) from projections onto it with a 12-row QP layer trained\n"
    "  through dopt_qp_backward; prints the loss falling and the held-out error.\n"
    "options:\n"
    "  --steps N           Adam steps of 512 pairs, 1..1000000 (default: 300)\n"
    "  --seed S            random seed >= 0 (default: 1)\n"
    "  --threads N         CPU worker threads, 0 = all processors (default: 0)\n"
    "  -h, --help          this help\n";

static const char demo_combopt_usage[] =
    "usage: dopt demo combopt [options]\n"
    "  CombOptNet's constraint-learning experiments (Paulus et al. 2021): learns hidden ILP constraints\n"
    "  from (cost, optimum) pairs through dopt_ilp_backward; prints accuracy against the paper's.\n"
    "options:\n"
    "  --task T            rc-binary, rc-dense, wsc or all (default: all)\n"
    "  --seeds K           runs per (task, m), 1..1000 (default: 10)\n"
    "  --epochs E          training epochs, 1..100000 (default: 100)\n"
    "  --threads N         worker threads (one run each), 0 = as many as processors (default: 0)\n"
    "  -h, --help          this help\n";

/* The first entry of a command is what `dopt CMD --help` prints. `group`
 * marks commands whose first argument must be one of their subcommands. */
static const cli_usage_entry entries[] = {
    {"qp", "solve", qp_solve_usage},
    {"cone", "solve", cone_solve_usage},
    {"bern", NULL, bern_usage},
    {"ilp", "solve", ilp_solve_usage},
    {"diffuse", "sample", diffuse_sample_usage},
    {"gen", NULL, gen_usage},
    {"milp", NULL, milp_usage},
    {"milp", "solve", milp_solve_usage},
    {"milp", "search", milp_search_usage},
    {"milp", "convert", milp_convert_usage},
    {"milp", "info", milp_info_usage},
    {"bench", NULL, bench_usage},
    {"bench", "qp", bench_qp_usage},
    {"bench", "ragged", bench_ragged_usage},
    {"bench", "bern", bench_bern_usage},
    {"bench", "bern-train", bench_bern_train_usage},
    {"bench", "diffusion", bench_diffusion_usage},
    {"bench", "milp", bench_milp_usage},
    {"demo", NULL, demo_usage},
    {"demo", "combopt", demo_combopt_usage},
};
enum { ENTRY_COUNT = (int)(sizeof entries / sizeof entries[0]) };

/* commands that take a subcommand first (anything else there is an error) */
static int is_group(const char *cmd)
{
    static const char *groups[] = {"qp", "cone", "ilp", "diffuse", "milp", "bench"};
    for (size_t k = 0; k < sizeof groups / sizeof groups[0]; ++k)
        if (!strcmp(cmd, groups[k])) return 1;
    return 0;
}

static void print_top(FILE *f)
{
    fprintf(f, "dopt %s - batched differentiable optimization\n", dopt_version());
    fputs(top_usage, f);
}

static const cli_usage_entry *find(const char *cmd, const char *sub)
{
    const cli_usage_entry *first = NULL;
    for (int k = 0; k < ENTRY_COUNT; ++k) {
        if (strcmp(entries[k].cmd, cmd)) continue;
        if (!first) first = &entries[k];
        if (sub ? entries[k].sub && !strcmp(entries[k].sub, sub) : !entries[k].sub) return &entries[k];
    }
    return sub ? NULL : first;
}

void cli_usage(FILE *f, const char *cmd, const char *sub)
{
    const cli_usage_entry *e = cmd ? find(cmd, sub) : NULL;
    if (!e && cmd && sub) e = find(cmd, NULL);
    if (e) fputs(e->text, f);
    else print_top(f);
}

int cli_usage_error(const char *cmd, const char *sub, const char *fmt, ...)
{
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "dopt %s%s%s: ", cmd, sub ? " " : "", sub ? sub : "");
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
    }
    cli_usage(stderr, cmd, sub);
    return CLI_USAGE;
}

static int is_help(const char *a) { return !strcmp(a, "--help") || !strcmp(a, "-h"); }

int cli_help(int argc, char **argv)
{
    int asked = argc > 0 && !strcmp(argv[0], "help"); /* `dopt help [CMD [SUB]]` */
    if (asked) --argc, ++argv;
    for (int i = 0; i < argc && !asked; ++i) asked = is_help(argv[i]);
    if (!asked) return -1;
    if (argc < 1 || argv[0][0] == '-') { /* dopt --help, dopt --version -h, ... */
        print_top(stdout);
        return CLI_OK;
    }
    const char *cmd = argv[0], *sub = argc > 1 && argv[1][0] != '-' ? argv[1] : NULL;
    if (!find(cmd, NULL)) {
        fprintf(stderr, "dopt: unknown command '%s'\n", cmd);
        print_top(stderr);
        return CLI_USAGE;
    }
    const cli_usage_entry *e = sub ? find(cmd, sub) : NULL;
    if (!e && sub && is_group(cmd)) {
        fprintf(stderr, "dopt %s: unknown subcommand '%s'\n", cmd, sub);
        cli_usage(stderr, cmd, NULL);
        return CLI_USAGE;
    }
    fputs(e ? e->text : find(cmd, NULL)->text, stdout);
    return CLI_OK;
}
