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
 *    instance never disturbs the others. */
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
    DOPT_INVALID_DATA = 5       /* NaN/Inf in the data, or Q not PSD */
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
 * the library was built without CUDA and DOPT_ERR_NO_DEVICE without a GPU;
 * *ctx is still created (on the CPU) so the message can be read, and must
 * be destroyed. */
DOPT_API dopt_status dopt_context_create(dopt_context **ctx, dopt_backend backend);
DOPT_API void dopt_context_destroy(dopt_context *ctx);
/* The backend calls run on (AUTO resolved). */
DOPT_API dopt_backend dopt_context_backend(const dopt_context *ctx);
/* CPU worker threads; 0 = all online processors (default). Set 1 when the
 * host framework already parallelizes over calls. */
DOPT_API dopt_status dopt_context_set_threads(dopt_context *ctx, int threads);
DOPT_API int dopt_context_threads(const dopt_context *ctx);
/* CUDA device ordinal and stream (a cudaStream_t, NULL = legacy default). */
DOPT_API dopt_status dopt_context_set_cuda_device(dopt_context *ctx, int device);
DOPT_API dopt_status dopt_context_set_cuda_stream(dopt_context *ctx, void *stream);
DOPT_API void dopt_context_set_log(dopt_context *ctx, dopt_log_fn fn, void *user);
/* Message of the last failed call on this context ("" if none). */
DOPT_API const char *dopt_context_last_error(const dopt_context *ctx);
/* 1 when the CUDA backend is built in and a device is visible. */
DOPT_API int dopt_cuda_available(void);
DOPT_API const char *dopt_version(void);

#ifdef __cplusplus
}
#endif
#endif
