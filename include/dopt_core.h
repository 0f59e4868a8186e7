/* dopt core: statuses, the context, the export macro. Conventions of the
 * whole API below; include dopt.h (the umbrella) or this header.
 *
 * dopt: batched, differentiable solvers for thousands of small optimization
 * problems per call, on the CPU and on CUDA GPUs.
 *
 * Conventions (all functions):
 *  - Every call returns a dopt_status; on failure a message is kept in the
 *    context (dopt_context_last_error). The library never prints, never exits.
 *  - Arrays are batch-major and contiguous, row-major inside an instance.
 *  - Array pointers live where the context's backend computes: host memory
 *    for DOPT_BACKEND_CPU, device memory for DOPT_BACKEND_CUDA.
 *  - Each instance has its own outcome (dopt_instance_status); one bad
 *    instance never disturbs the others.
 *  - The context comes first in every call that can fail; calls that cannot
 *    (_default, _free, pure queries) take none. Options structs have a
 *    _default(), and a NULL options pointer means the defaults.
 *  - Host-only parts: the MILP, MPS, generator and .npy calls (dopt_milp.h,
 *    dopt_mps.h, dopt_gen.h, dopt_npy.h) take and return host memory with a
 *    context of any backend (they use it for messages, log and threads).
 *  - A context is not thread-safe: one context must not be used by two
 *    threads at once (it owns a thread pool, a scratch arena and the last
 *    error). Use one context per calling thread; contexts are independent.
 *    Asynchronous calls (dopt_async.h) run on a thread the context owns;
 *    while one is pending, the context's other calls are refused with
 *    DOPT_ERR_INVALID_ARGUMENT (the QP and ILP layers, settings, memory
 *    helpers) and its last error says why.
 *  - Memory caps per context (dopt_context_set_memory_limit, dopt_async.h):
 *    beyond one, a call fails with DOPT_ERR_OUT_OF_MEMORY, or runs a large
 *    batch in chunks where that fits.
 *  - fork(): a CPU context created before a fork may be used in the child
 *    (it starts its own worker threads there; the parent's are not
 *    touched). A CUDA context may not: CUDA does not survive fork. */
#ifndef DOPT_CORE_H
#define DOPT_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* DOPT_API marks the exported functions. The library compiles with hidden
 * visibility, so only these are visible in libdopt.so; on Windows a DLL
 * exports them when built (DOPT_BUILDING_LIBRARY) and imports them when used,
 * unless the static library is used (DOPT_STATIC, set by its CMake target). */
#if defined(_WIN32)
#if defined(DOPT_STATIC)
#define DOPT_API
#elif defined(DOPT_BUILDING_LIBRARY)
#define DOPT_API __declspec(dllexport)
#else
#define DOPT_API __declspec(dllimport)
#endif
#elif defined(__GNUC__)
#define DOPT_API __attribute__((visibility("default")))
#else
#define DOPT_API
#endif

/* ---- call status ------------------------------------------------------- */
typedef enum dopt_status {
    DOPT_OK = 0,
    DOPT_ERR_INVALID_ARGUMENT = 1, /* null pointer, bad size, bad option */
    DOPT_ERR_OUT_OF_MEMORY = 2,
    DOPT_ERR_UNSUPPORTED = 3,      /* e.g. CUDA backend not built in */
    DOPT_ERR_NO_DEVICE = 4,        /* CUDA built in, but no usable GPU */
    DOPT_ERR_CUDA = 5,             /* a CUDA runtime or library call failed */
    DOPT_ERR_INTERNAL = 6
} dopt_status;

DOPT_API const char *dopt_status_string(dopt_status status);

/* ---- per-instance outcome (the values of status.npy in the CLI) -------- */
typedef enum dopt_instance_status {
    DOPT_SOLVED = 0,            /* optimal to the requested tolerance */
    DOPT_PRIMAL_INFEASIBLE = 1, /* certificate found: lam, nu hold it */
    DOPT_DUAL_INFEASIBLE = 2,   /* unbounded: x holds a recession direction */
    DOPT_ITERATION_LIMIT = 3,   /* x, lam, nu hold the last iterate */
    DOPT_NUMERICAL_FAILURE = 4, /* factorization failed even regularized */
    DOPT_INVALID_DATA = 5,      /* NaN/Inf in the data, or Q not PSD */
    DOPT_SOLVED_REDUCED_ACCURACY = 6, /* QP: the requested tolerance was out of the
                                        precision's reach (no progress, or out of
                                        iterations) at a point that meets 100 tol
                                        (at most 1e-3); x, lam, nu and the
                                        gradients are those of that point */
    DOPT_SOLVED_CLOSEST_FEASIBLE = 7 /* QP with infeasible_mode = DOPT_QP_INFEASIBLE_CLOSEST:
                                        the constraints were infeasible; x solves
                                        the closest feasible problem (h, b shifted
                                        by the least-squares shift, docs/QP.md) */
} dopt_instance_status;

DOPT_API const char *dopt_instance_status_string(int status);

/* ---- context -------------------------------------------------------------- */
typedef enum dopt_backend {
    DOPT_BACKEND_CPU = 0,
    DOPT_BACKEND_CUDA = 1,
    DOPT_BACKEND_AUTO = 2 /* CUDA when built in and a device is present, else CPU */
} dopt_backend;

typedef enum dopt_dtype { DOPT_FLOAT32 = 0, DOPT_FLOAT64 = 1 } dopt_dtype;

typedef struct dopt_context dopt_context;

/* Log levels passed to the callback. */
enum { DOPT_LOG_ERROR = 0, DOPT_LOG_WARN = 1, DOPT_LOG_INFO = 2 };
typedef void (*dopt_log_fn)(void *user, int level, const char *message);

/* Creates a context. DOPT_BACKEND_CUDA fails with DOPT_ERR_UNSUPPORTED when
 * the library was built without CUDA, and DOPT_ERR_NO_DEVICE without a
 * usable GPU (none visible, or this build has no kernels for its compute
 * capability: the message names both); *ctx is still created (on the CPU)
 * so the message can be read, and must be destroyed. DOPT_BACKEND_AUTO
 * falls back to the CPU in those cases and returns DOPT_OK; then
 * dopt_context_last_error says why CUDA was not used. */
DOPT_API dopt_status dopt_context_create(dopt_context **ctx, dopt_backend backend);
DOPT_API void dopt_context_destroy(dopt_context *ctx);
/* The backend calls run on (AUTO resolved). */
DOPT_API dopt_backend dopt_context_backend(const dopt_context *ctx);
/* CPU worker threads; 0 = all online processors (default). Set 1 when the
 * host framework already parallelizes over calls. The workers are started
 * at the first call that needs them and kept by the context (restarted when
 * this count changes, joined by dopt_context_destroy). */
DOPT_API dopt_status dopt_context_set_threads(dopt_context *ctx, int threads);
DOPT_API int dopt_context_threads(const dopt_context *ctx);
/* CUDA device ordinal and stream (a cudaStream_t, NULL = legacy default).
 * A CUDA context starts on the calling thread's current device
 * (cudaGetDevice: device 0 unless the caller selected another), so creating
 * it touches no other GPU.
 * Changing the device of a CUDA context releases what the context holds on
 * the old one and checks that kernels run on the new one; on failure the
 * old device stays. Calls leave the caller's current CUDA device as it was.
 * Tapes stay tied to the device they were recorded on. */
DOPT_API dopt_status dopt_context_set_cuda_device(dopt_context *ctx, int device);
/* Setting a different stream on a CUDA context first waits for the work
 * queued on the previous one (calls reuse the context's scratch memory, which
 * that work may still use); if that wait fails, its error is returned and
 * the previous stream stays. */
DOPT_API dopt_status dopt_context_set_cuda_stream(dopt_context *ctx, void *stream);
/* Messages: DOPT_LOG_ERROR for every failed call (the text of
 * dopt_context_last_error), DOPT_LOG_WARN for settings that are ignored,
 * DOPT_LOG_INFO for the backend chosen and why, the CPU worker pool and the
 * growth of the scratch arena. The backend choice happens in
 * dopt_context_create, before a callback can be set: setting one passes it
 * that message first. fn = NULL stops logging. While a job is pending
 * (dopt_async.h) the callback runs on the context's job thread, and
 * setting one is ignored. */
DOPT_API void dopt_context_set_log(dopt_context *ctx, dopt_log_fn fn, void *user);
/* Message of the last failed call on this context ("" if none). */
DOPT_API const char *dopt_context_last_error(const dopt_context *ctx);
/* Waits until all work queued by calls on ctx has finished (CUDA calls may
 * return before the stream has run them; CPU calls return when done). */
DOPT_API dopt_status dopt_context_synchronize(dopt_context *ctx);

/* ---- memory where the context's backend computes ----------------------
 * "Backend memory" is what the layers take as array arguments: host memory
 * on a CPU context, device memory (of the context's device) on a CUDA
 * context. These helpers let a caller stage host arrays without using the
 * CUDA runtime itself. All run in the order of the context's other calls
 * (its stream); copies to host memory return when the data is there, and
 * the host buffer of an upload may be reused as soon as the call returns.
 * bytes = 0 is a no-op for copies; pointers may be NULL only then.
 * Invalid arguments give DOPT_ERR_INVALID_ARGUMENT with a message. */
/* *ptr = `bytes` of backend memory (bytes = 0 gives a unique pointer that
 * must be freed too); *ptr = NULL and DOPT_ERR_OUT_OF_MEMORY (or
 * DOPT_ERR_CUDA) on failure. */
DOPT_API dopt_status dopt_memory_alloc(dopt_context *ctx, size_t bytes, void **ptr);
/* Frees memory from dopt_memory_alloc on the same context; NULL is a no-op. */
DOPT_API dopt_status dopt_memory_free(dopt_context *ctx, void *ptr);
/* Host memory -> backend memory. */
DOPT_API dopt_status dopt_memory_upload(dopt_context *ctx, void *dst, const void *host_src, size_t bytes);
/* Backend memory -> host memory. */
DOPT_API dopt_status dopt_memory_download(dopt_context *ctx, void *host_dst, const void *src, size_t bytes);
/* Backend memory -> backend memory (the ranges must not overlap, except
 * dst == src, which is a no-op on the CPU). */
DOPT_API dopt_status dopt_memory_copy(dopt_context *ctx, void *dst, const void *src, size_t bytes);
/* Sets `bytes` of backend memory to zero bytes. */
DOPT_API dopt_status dopt_memory_set_zero(dopt_context *ctx, void *ptr, size_t bytes);

/* 1 when the CUDA backend is built in and a device is visible. */
DOPT_API int dopt_cuda_available(void);
DOPT_API const char *dopt_version(void);

/* sizeof the public struct named type_name ("dopt_qp_problem"), 0 for a name
 * that is not one. A binding that mirrors the structs without a C compiler
 * (the Python package, through ctypes) checks its layouts with this against
 * the library it loaded. */
DOPT_API size_t dopt_struct_size(const char *type_name);

#ifdef __cplusplus
}
#endif
#endif
