# Finds HiGHS's C API for the HiGHS MILP backend and defines dopt::highs (an
# imported shared library with its include directories). Sets DOPT_HAVE_HIGHS,
# DOPT_HIGHS_LIBRARY, DOPT_HIGHS_LIBRARY_DIR (for the RPATH of what links it:
# the dopt command and libdopt.so run without LD_LIBRARY_PATH) and
# DOPT_HIGHS_WHERE (for the configure summary).
set(dopt_highs_hints "")
foreach(root "${DOPT_HIGHS_ROOT}" "$ENV{HIGHS_ROOT}")
  if(root)
    list(APPEND dopt_highs_hints "${root}")
  endif()
endforeach()
set(dopt_highs_box "${PROJECT_SOURCE_DIR}/.deps/highsbox/highsbox/highs_dist")
# a cached find that is gone (.deps/ removed or reinstalled elsewhere): search again
foreach(var DOPT_HIGHS_INCLUDE_DIR DOPT_HIGHS_LIBRARY)
  if(${var} AND NOT EXISTS "${${var}}")
    unset(${var} CACHE)
  endif()
endforeach()
find_path(DOPT_HIGHS_INCLUDE_DIR interfaces/highs_c_api.h
  HINTS ${dopt_highs_hints} PATH_SUFFIXES include/highs highs PATHS "${dopt_highs_box}")
find_library(DOPT_HIGHS_LIBRARY NAMES highs
  HINTS ${dopt_highs_hints} PATH_SUFFIXES lib lib64 PATHS "${dopt_highs_box}")
if(DOPT_HIGHS_INCLUDE_DIR AND DOPT_HIGHS_LIBRARY)
  get_filename_component(dopt_highs_top "${DOPT_HIGHS_INCLUDE_DIR}" DIRECTORY) # highs_export.h lives there
  add_library(dopt::highs SHARED IMPORTED GLOBAL)
  set_target_properties(dopt::highs PROPERTIES
    IMPORTED_LOCATION "${DOPT_HIGHS_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${DOPT_HIGHS_INCLUDE_DIR};${dopt_highs_top}")
  set(DOPT_HAVE_HIGHS ON)
else()
  find_package(highs CONFIG QUIET)
  if(TARGET highs::highs)
    add_library(dopt::highs INTERFACE IMPORTED GLOBAL)
    target_link_libraries(dopt::highs INTERFACE highs::highs)
    get_target_property(DOPT_HIGHS_LIBRARY highs::highs LOCATION)
    set(DOPT_HAVE_HIGHS ON)
  endif()
endif()
if(DOPT_HAVE_HIGHS)
  get_filename_component(DOPT_HIGHS_LIBRARY_DIR "${DOPT_HIGHS_LIBRARY}" DIRECTORY)
  set(DOPT_HIGHS_WHERE " (${DOPT_HIGHS_LIBRARY})")
elseif(DOPT_WITH_HIGHS STREQUAL "ON")
  message(FATAL_ERROR "DOPT_WITH_HIGHS=ON but HiGHS was not found (scripts/ensure-highs.sh installs it into .deps/highsbox; "
    "or set DOPT_HIGHS_ROOT to a prefix with include/highs/interfaces/highs_c_api.h and lib/libhighs.so)")
endif()
