# The CUDA architectures dopt compiles for when the user does not choose
# (-DCMAKE_CUDA_ARCHITECTURES=..., or the CUDAARCHS environment variable).
#
# Deliberate default: real SASS for each data-center generation the toolkit
# supports from Turing on, plus PTX of the newest one so later GPUs can JIT:
#   75-real   Turing (T4)
#   80-real   Ampere (A100; the same SASS runs on every 8.x: A10, A40, L4, L40, RTX 30/40)
#   90-real   Hopper (H100, H200, GH200)
#   100-real  Blackwell data center (B200, GB200; runs on 10.x)
#   120       Blackwell RTX (RTX 50, RTX PRO 6000; SASS for 12.x) + compute_120 PTX
# A cubin runs on its own major version at an equal or higher minor only, so
# without 75 every kernel launch on a T4 fails. Older toolkits get the subset
# they know (CUDA 11.8-12.7: up to 90, with compute_90 PTX). Volta and older
# (CUDA 12 and below only) are left out; add them with
# -DCMAKE_CUDA_ARCHITECTURES="70-real;75-real;80" if needed.
# To build on a node without a GPU for the GPUs of a cluster, list them, e.g.
# -DCMAKE_CUDA_ARCHITECTURES="80-real;90-real"; on a node with the GPU, `native`.
#
# `pip install .` (scikit-build-core sets SKBUILD) builds for the machine it
# runs on: with GPUs visible, for exactly their compute capabilities (one
# architecture compiles about five times faster than the list below, and
# PyTorch's own extensions default the same way); without, the list below.
function(dopt_visible_gpu_architectures out_var)
  set(${out_var} "" PARENT_SCOPE)
  find_program(dopt_nvidia_smi nvidia-smi)
  if(NOT dopt_nvidia_smi)
    return()
  endif()
  execute_process(COMMAND ${dopt_nvidia_smi} --query-gpu=compute_cap --format=csv,noheader
    OUTPUT_VARIABLE caps RESULT_VARIABLE rc ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0 OR caps STREQUAL "")
    return()
  endif()
  string(REPLACE "." "" caps "${caps}")
  string(REGEX REPLACE "[\r\n]+" ";" caps "${caps}")
  list(REMOVE_DUPLICATES caps)
  set(${out_var} "${caps}" PARENT_SCOPE)
endfunction()

function(dopt_default_cuda_architectures out_var)
  if(DEFINED SKBUILD)
    dopt_visible_gpu_architectures(visible)
    if(visible)
      set(${out_var} "${visible}" PARENT_SCOPE)
      return()
    endif()
  endif()
  set(v ${CMAKE_CUDA_COMPILER_VERSION})
  if(v VERSION_GREATER_EQUAL 12.8)
    set(archs 75-real 80-real 90-real 100-real 120)
  elseif(v VERSION_GREATER_EQUAL 11.8)
    set(archs 75-real 80-real 90)
  else()
    set(archs 75-real 80)
  endif()
  set(${out_var} "${archs}" PARENT_SCOPE)
endfunction()
