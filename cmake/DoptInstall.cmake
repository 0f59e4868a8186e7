# Install rules: the library, the public headers (with the generated
# dopt_version.h), the dopt command, the CMake package (dopt::dopt) and
# dopt.pc. The test fixtures (dopt_fixtures) and the internal/probe copies of
# the library are not installed. Nothing here carries -march=native, -Werror or
# sanitizer flags: those are PRIVATE compile options of dopt's own targets.
include(CMakePackageConfigHelpers)

# HiGHS from .deps/ or another non-system prefix: the installed library and
# command find it where the build did (as the build tree's RPATH does).
if(DOPT_HAVE_HIGHS AND NOT DOPT_HIGHS_LIBRARY_DIR IN_LIST CMAKE_C_IMPLICIT_LINK_DIRECTORIES)
  foreach(t dopt dopt_cli)
    if(TARGET ${t})
      set_property(TARGET ${t} APPEND PROPERTY INSTALL_RPATH "${DOPT_HIGHS_LIBRARY_DIR}")
    endif()
  endforeach()
endif()
install(TARGETS dopt EXPORT dopt-targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
file(GLOB dopt_public_headers ${PROJECT_SOURCE_DIR}/include/*.h)
install(FILES ${dopt_public_headers} ${PROJECT_BINARY_DIR}/include/dopt_version.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(TARGET dopt_cli)
  install(TARGETS dopt_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

set(dopt_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/dopt)
install(EXPORT dopt-targets NAMESPACE dopt:: DESTINATION ${dopt_cmake_dir})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/dopt-config.cmake.in
  ${PROJECT_BINARY_DIR}/dopt-config.cmake INSTALL_DESTINATION ${dopt_cmake_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/dopt-config-version.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/dopt-config.cmake ${PROJECT_BINARY_DIR}/dopt-config-version.cmake
  DESTINATION ${dopt_cmake_dir})

# ---- dopt.pc --------------------------------------------------------------
# The prefix is computed from the .pc file's own location, so installing with
# `cmake --install build --prefix DIR` (any DIR) gives a working file.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(DOPT_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(DOPT_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  file(RELATIVE_PATH dopt_pc_up "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
  string(REGEX REPLACE "/$" "" dopt_pc_up "${dopt_pc_up}")
  set(DOPT_PC_PREFIX "\${pcfiledir}/${dopt_pc_up}")
  set(DOPT_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(DOPT_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(DOPT_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()

# What linking libdopt statically needs besides -ldopt.
set(dopt_pc_deps "")
if(DOPT_HAVE_CUDA)
  list(APPEND dopt_pc_deps -L${CUDAToolkit_LIBRARY_DIR} -lcusolver -lcublas -lcudart)
  foreach(lib ${DOPT_CXX_RUNTIME_LIBS})
    list(APPEND dopt_pc_deps -l${lib})
  endforeach()
endif()
if(DOPT_HAVE_HIGHS)
  list(APPEND dopt_pc_deps -L${DOPT_HIGHS_LIBRARY_DIR} -Wl,-rpath,${DOPT_HIGHS_LIBRARY_DIR} -lhighs)
endif()
if(DOPT_HAVE_CHOLMOD)
  list(APPEND dopt_pc_deps ${DOPT_CHOLMOD_LIBRARY})
endif()
list(APPEND dopt_pc_deps ${CMAKE_THREAD_LIBS_INIT} -lm)
list(JOIN dopt_pc_deps " " dopt_pc_deps)
set(dopt_pc_requires "")
if(DOPT_HAVE_CBC)
  list(APPEND dopt_pc_requires "cbc")
endif()
if(DOPT_HAVE_ZLIB)
  list(APPEND dopt_pc_requires "zlib")
endif()
list(JOIN dopt_pc_requires ", " dopt_pc_requires)
if(DOPT_SHARED)
  # the shared library carries its dependencies; --static lists them
  set(DOPT_PC_REQUIRES "")
  set(DOPT_PC_REQUIRES_PRIVATE "${dopt_pc_requires}")
  set(DOPT_PC_LIBS "")
  set(DOPT_PC_LIBS_PRIVATE "${dopt_pc_deps}")
else()
  # only libdopt.a is installed: every link needs them, --static or not
  set(DOPT_PC_REQUIRES "${dopt_pc_requires}")
  set(DOPT_PC_REQUIRES_PRIVATE "")
  set(DOPT_PC_LIBS "${dopt_pc_deps}")
  set(DOPT_PC_LIBS_PRIVATE "")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/dopt.pc.in ${PROJECT_BINARY_DIR}/dopt.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/dopt.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
