# The Python package's build (`pip install .`, scikit-build-core; see
# pyproject.toml and docs/PYTHON.md). The package talks to the shared libdopt
# through ctypes, so the wheel holds exactly two native files: dopt/libdopt.so
# (no Python ABI: one wheel serves every Python >= 3.10) and the `dopt`
# command in the environment's bin/.
if(NOT DOPT_SHARED)
  message(FATAL_ERROR "the Python package needs the shared libdopt (BUILD_SHARED_LIBS=ON, as pyproject.toml sets)")
endif()
# One plain file: a wheel cannot hold the libdopt.so -> .so.0 -> .so.0.1.0 links.
set_property(TARGET dopt PROPERTY VERSION)
set_property(TARGET dopt PROPERTY SOVERSION)
if(DOPT_HAVE_CUDA)
  # cudart, cuBLAS and cuSOLVER are the toolkit's shared libraries: let the
  # loader find them where this build found them.
  set_property(TARGET dopt APPEND PROPERTY INSTALL_RPATH "${CUDAToolkit_LIBRARY_DIR}")
  if(TARGET dopt_cli)
    set_property(TARGET dopt_cli APPEND PROPERTY INSTALL_RPATH "${CUDAToolkit_LIBRARY_DIR}")
  endif()
endif()
if(DOPT_HAVE_HIGHS)
  # HiGHS (e.g. .deps/highsbox): found where this build found it, as CUDA's libraries are
  set_property(TARGET dopt APPEND PROPERTY INSTALL_RPATH "${DOPT_HIGHS_LIBRARY_DIR}")
  if(TARGET dopt_cli)
    set_property(TARGET dopt_cli APPEND PROPERTY INSTALL_RPATH "${DOPT_HIGHS_LIBRARY_DIR}")
  endif()
endif()
install(TARGETS dopt LIBRARY DESTINATION dopt RUNTIME DESTINATION dopt)
if(TARGET dopt_cli)
  install(TARGETS dopt_cli RUNTIME DESTINATION "${SKBUILD_SCRIPTS_DIR}")
endif()
