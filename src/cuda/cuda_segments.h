/* Offsets of equal-length segments for CUB's segmented reductions, computed
 * on the fly: segment i starts at i * len. 64-bit on purpose: B * n * K
 * elements exceed 2^31 on a large GPU (e.g. 4096 instances x 1000
 * coordinates x 1000 samples), where 32-bit offsets would wrap. */
#ifndef DOPT_CUDA_SEGMENTS_H
#define DOPT_CUDA_SEGMENTS_H

#include <stdint.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/transform_iterator.h>

struct dopt_seg_offset {
    int64_t len;
    __host__ __device__ int64_t operator()(int64_t i) const { return i * len; }
};
typedef thrust::transform_iterator<dopt_seg_offset, thrust::counting_iterator<int64_t> > dopt_seg_offsets;

#endif
