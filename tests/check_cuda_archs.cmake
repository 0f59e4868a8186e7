# cmake -P check: the default CUDA architectures (cmake/DoptCudaArchitectures.cmake)
# give every toolkit real code from Turing (75) on and end with one PTX target
# (no -real suffix) for forward compatibility; CUDA >= 12.8 covers Blackwell.
# usage: cmake -DDOPT_SOURCE_DIR=... -P check_cuda_archs.cmake
include(${DOPT_SOURCE_DIR}/cmake/DoptCudaArchitectures.cmake)
set(failures 0)
foreach(case "13.0.88|75-real;80-real;90-real;100-real;120"
              "12.8.0|75-real;80-real;90-real;100-real;120"
              "12.4.131|75-real;80-real;90"
              "11.8.89|75-real;80-real;90"
              "11.4.0|75-real;80")
  string(REPLACE "|" ";" parts "${case}")
  list(GET parts 0 CMAKE_CUDA_COMPILER_VERSION)
  list(SUBLIST parts 1 -1 want)
  dopt_default_cuda_architectures(got)
  list(GET got 0 first)
  list(GET got -1 last)
  if(NOT got STREQUAL want OR NOT first STREQUAL "75-real" OR last MATCHES "-real$")
    message(SEND_ERROR "CUDA ${CMAKE_CUDA_COMPILER_VERSION}: got '${got}', want '${want}' (75 first, PTX last)")
    math(EXPR failures "${failures} + 1")
  else()
    message(STATUS "CUDA ${CMAKE_CUDA_COMPILER_VERSION}: ${got}")
  endif()
endforeach()
if(failures)
  message(FATAL_ERROR "${failures} default architecture lists wrong")
endif()
