# Finds SuiteSparse's CHOLMOD (the sparse QP layer's LDL' on the CPU) and
# defines dopt::cholmod (an imported shared library with its include
# directory). Sets DOPT_HAVE_CHOLMOD and DOPT_CHOLMOD_WHERE (for the
# configure summary). Debian/Ubuntu: libsuitesparse-dev (its headers live
# in /usr/include/suitesparse); DOPT_CHOLMOD_ROOT or $CHOLMOD_ROOT: a prefix
# to search first.
set(dopt_cholmod_hints "")
foreach(root "${DOPT_CHOLMOD_ROOT}" "$ENV{CHOLMOD_ROOT}")
  if(root)
    list(APPEND dopt_cholmod_hints "${root}")
  endif()
endforeach()
# a cached find that is gone (the package removed): search again
foreach(var DOPT_CHOLMOD_INCLUDE_DIR DOPT_CHOLMOD_LIBRARY)
  if(${var} AND NOT EXISTS "${${var}}")
    unset(${var} CACHE)
  endif()
endforeach()
find_path(DOPT_CHOLMOD_INCLUDE_DIR cholmod.h
  HINTS ${dopt_cholmod_hints} PATH_SUFFIXES include/suitesparse suitesparse include)
find_library(DOPT_CHOLMOD_LIBRARY NAMES cholmod
  HINTS ${dopt_cholmod_hints} PATH_SUFFIXES lib lib64)
if(DOPT_CHOLMOD_INCLUDE_DIR AND DOPT_CHOLMOD_LIBRARY)
  add_library(dopt::cholmod UNKNOWN IMPORTED GLOBAL)
  set_target_properties(dopt::cholmod PROPERTIES
    IMPORTED_LOCATION "${DOPT_CHOLMOD_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${DOPT_CHOLMOD_INCLUDE_DIR}")
  set(DOPT_HAVE_CHOLMOD ON)
  set(DOPT_CHOLMOD_WHERE " (${DOPT_CHOLMOD_LIBRARY})")
elseif(DOPT_WITH_CHOLMOD STREQUAL "ON")
  message(FATAL_ERROR "DOPT_WITH_CHOLMOD=ON but CHOLMOD was not found (apt-get install libsuitesparse-dev, "
    "or set DOPT_CHOLMOD_ROOT to a prefix with include/suitesparse/cholmod.h and lib/libcholmod.so)")
endif()
