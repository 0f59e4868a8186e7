"""The shared libdopt, loaded through ctypes, and what every module needs from
it: the exception type, the per-thread contexts, call checking and the check
of each mirrored struct's size against the loaded library.

Why ctypes over the shared library (docs/PYTHON.md): the C API is already a
plain C ABI with caller-owned arrays, so a binding only has to pass pointers;
ctypes releases the GIL during every foreign call, needs no compiler, no
Python headers and no torch at build time, and the one wheel serves every
Python version.
"""

import ctypes
import logging
import os
import pathlib
import sys
import threading
import weakref

_HERE = pathlib.Path(__file__).resolve().parent
_LIBRARY_NAMES = {"win32": ("dopt.dll",), "darwin": ("libdopt.dylib",)}


def _library_path():
    override = os.environ.get("DOPT_LIBRARY")
    if override:
        return override
    for name in _LIBRARY_NAMES.get(sys.platform, ("libdopt.so",)):
        candidate = _HERE / name
        if candidate.exists():
            return str(candidate)
    raise ImportError(
        f"dopt: the native library was not found in {_HERE}. Install the package with "
        "`pip install .` at the root of the dopt repository (it builds libdopt), or set "
        "DOPT_LIBRARY to the path of a shared libdopt built with BUILD_SHARED_LIBS=ON.")


lib = ctypes.CDLL(_library_path())
LIBRARY_PATH = lib._name


def declare(name, restype, *argtypes):
    """Sets the prototype of lib.<name> and returns the function."""
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


c_void_p = ctypes.c_void_p
c_int = ctypes.c_int
c_int32 = ctypes.c_int32
c_int64 = ctypes.c_int64
c_double = ctypes.c_double
c_char_p = ctypes.c_char_p

# ---- statuses --------------------------------------------------------------
OK = 0
ERR_INVALID_ARGUMENT = 1
ERR_OUT_OF_MEMORY = 2
ERR_UNSUPPORTED = 3
ERR_NO_DEVICE = 4
ERR_CUDA = 5
ERR_INTERNAL = 6

BACKEND_CPU = 0
BACKEND_CUDA = 1

FLOAT32 = 0
FLOAT64 = 1

_status_string = declare("dopt_status_string", c_char_p, c_int)
_instance_status_string = declare("dopt_instance_status_string", c_char_p, c_int)
_version = declare("dopt_version", c_char_p)
_struct_size = declare("dopt_struct_size", ctypes.c_size_t, c_char_p)
_cuda_available = declare("dopt_cuda_available", c_int)
_context_create = declare("dopt_context_create", c_int, ctypes.POINTER(c_void_p), c_int)
_context_destroy = declare("dopt_context_destroy", None, c_void_p)
_context_backend = declare("dopt_context_backend", c_int, c_void_p)
_context_set_threads = declare("dopt_context_set_threads", c_int, c_void_p, c_int)
_context_set_cuda_device = declare("dopt_context_set_cuda_device", c_int, c_void_p, c_int)
_context_set_cuda_stream = declare("dopt_context_set_cuda_stream", c_int, c_void_p, c_void_p)
_context_last_error = declare("dopt_context_last_error", c_char_p, c_void_p)
_context_set_log = declare("dopt_context_set_log", None, c_void_p, c_void_p, c_void_p)


def version():
    """The version of the loaded libdopt."""
    return _version().decode()


def status_name(status):
    """dopt_status_string: the name of a call status."""
    return _status_string(int(status)).decode()


def instance_status_name(status):
    """dopt_instance_status_string: the name of a per-instance outcome."""
    return _instance_status_string(int(status)).decode()


def cuda_available():
    """True when libdopt was built with the CUDA backend and a GPU is visible."""
    return bool(_cuda_available())


class Error(RuntimeError):
    """A failed libdopt call: `status` is the dopt_status code, `status_name`
    its name, `message` the library's explanation."""

    def __init__(self, status, message):
        self.status = int(status)
        self.status_name = status_name(status)
        self.message = message
        super().__init__(f"{message} [{self.status_name}]" if message else self.status_name)


class OwnsLibraryMemory:
    """Base of the objects that own library memory (tapes, analyses): one
    owner each, so no copies (a copy would free the same memory twice) and
    no pickling (the memory does not travel). `_owned` says what is owned,
    `_advice` what to do instead."""

    _owned = "the library's tape"
    _advice = "keep a reference instead"

    def __copy__(self):
        raise TypeError(f"a {self._public_name} cannot be copied (it owns {self._owned}); {self._advice}")

    def __deepcopy__(self, memo):
        self.__copy__()

    def __reduce__(self):
        raise TypeError(f"a {self._public_name} cannot be pickled (it refers to library memory)")


def check_struct(mirror, c_name):
    """Refuses to run a mirrored struct whose size differs from the loaded
    library's: the binding and the library do not match."""
    expected = _struct_size(c_name.encode())
    if expected != ctypes.sizeof(mirror):
        raise ImportError(
            f"dopt: {c_name} is {expected} bytes in {LIBRARY_PATH} but {ctypes.sizeof(mirror)} in the "
            "Python binding: the package and the library come from different versions; reinstall")
    return mirror


# ---- contexts ----------------------------------------------------------------
_log = logging.getLogger("dopt")
_LOG_LEVELS = {0: logging.DEBUG, 1: logging.WARNING, 2: logging.DEBUG}  # errors are raised instead


@ctypes.CFUNCTYPE(None, c_void_p, c_int, c_char_p)
def _log_callback(_user, level, message):
    _log.log(_LOG_LEVELS.get(level, logging.DEBUG), "%s", message.decode(errors="replace"))


_threads_wanted = 0  # 0: all online processors (the library's default)


def set_num_threads(threads):
    """CPU worker threads for every dopt call (0 = all online processors, the
    default). Set 1 when the caller already runs calls in parallel."""
    global _threads_wanted
    threads = int(threads)
    if threads < 0:
        raise ValueError(f"set_num_threads: threads must be >= 0, got {threads}")
    _threads_wanted = threads


def get_num_threads():
    """The value set by set_num_threads (0 = all online processors)."""
    return _threads_wanted


class Context:
    """One dopt_context. Contexts are not thread-safe, so each thread gets its
    own (context_for) and every call holds `lock`: an autograd backward that
    runs on another thread (PyTorch's CUDA worker) with the context its
    forward used cannot overlap a call on the owning thread."""

    def __init__(self, backend, cuda_device=None):
        handle = c_void_p()
        if cuda_device is not None:
            # A CUDA context starts on the thread's current device: make that
            # the wanted one, so that nothing is created on GPU 0 on the way.
            torch = sys.modules.get("torch")
            if torch is not None and torch.cuda.is_available():
                with torch.cuda.device(int(cuda_device)):
                    status = _context_create(ctypes.byref(handle), backend)
            else:
                status = _context_create(ctypes.byref(handle), backend)
        else:
            status = _context_create(ctypes.byref(handle), backend)
        if status != OK:
            message = _context_last_error(handle).decode() if handle.value else ""
            if handle.value:
                _context_destroy(handle)
            raise Error(status, message)
        self.handle = handle
        self.lock = threading.Lock()
        self.backend = backend
        self.cuda_device = cuda_device
        self._stream = None
        self._threads = 0
        self._finalizers = []
        self.forked_away = False
        _all_contexts.add(self)
        _context_set_log(handle, ctypes.cast(_log_callback, c_void_p), None)
        if cuda_device is not None:
            self.check(_context_set_cuda_device(handle, int(cuda_device)))

    def add_finalizer(self, fn):
        """fn() runs before the context is destroyed (frees what a module
        keeps per context, such as pooled QP tapes)."""
        self._finalizers.append(fn)

    def __del__(self):
        handle = getattr(self, "handle", None)
        if handle is not None and handle.value and _context_destroy is not None:
            for fn in self._finalizers:
                fn()
            _context_destroy(handle)
            self.handle = None

    def last_error(self):
        return _context_last_error(self.handle).decode(errors="replace")

    def check(self, status):
        """Raises Error for a failed call on this context."""
        if status != OK:
            raise Error(status, self.last_error())

    def prepare(self, stream=None):
        """Brings the thread count and (CUDA) the stream up to date; call with
        the lock held."""
        if self.forked_away:
            raise Error(ERR_UNSUPPORTED, "this CUDA context (or a tape recorded on it) was created before fork(): "
                                         "CUDA does not survive fork; compute in the child with new tensors")
        if self._threads != _threads_wanted:
            self.check(_context_set_threads(self.handle, _threads_wanted))
            self._threads = _threads_wanted
        if self.backend == BACKEND_CUDA and stream != self._stream:
            self.check(_context_set_cuda_stream(self.handle, c_void_p(stream)))
            self._stream = stream


class _ThreadContexts:
    """The contexts one thread uses. When the thread ends (nn.DataParallel
    starts threads per forward) they go to the idle lists for the next
    threads instead of being destroyed and created again (a CUDA context
    costs a probe launch and library handles)."""

    def __init__(self):
        self.by_device = {}

    def __del__(self):
        idle = _idle
        if idle is None:  # interpreter shutdown
            return
        for device, ctx in self.by_device.items():
            idle.setdefault(device, []).append(ctx)


_per_thread = threading.local()
_idle = {}  # device -> contexts no thread holds
_all_contexts = weakref.WeakSet()


def context_for(device):
    """The calling thread's context for `device`: None for the CPU, or a CUDA
    device ordinal."""
    mine = getattr(_per_thread, "mine", None)
    if mine is None:
        mine = _per_thread.mine = _ThreadContexts()
    ctx = mine.by_device.get(device)
    if ctx is None:
        try:
            ctx = _idle.get(device, []).pop()
        except IndexError:
            ctx = Context(BACKEND_CPU) if device is None else Context(BACKEND_CUDA, cuda_device=device)
        mine.by_device[device] = ctx
    return ctx


def _after_fork_in_child():
    # The child has one thread: locks held by the parent's other threads stay
    # held forever, and CUDA contexts are unusable (CUDA does not survive
    # fork). Every inherited context gets a fresh lock; CUDA ones are
    # abandoned (leaked: destroying them would call into CUDA). CPU contexts
    # still work (the library restarts their worker threads in the child),
    # but the child's threads start with contexts of their own.
    global _per_thread, _idle
    for ctx in list(_all_contexts):
        ctx.lock = threading.Lock()
        if ctx.backend == BACKEND_CUDA:
            ctx.forked_away = True
            ctx.handle = None
    _per_thread = threading.local()
    _idle = {}


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
