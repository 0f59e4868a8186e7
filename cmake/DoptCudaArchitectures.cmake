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
function(dopt_default_cuda_architectures out_var)
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
