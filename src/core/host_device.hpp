#pragma once
// SHOAL_HOST_DEVICE marks a function that host code and CUDA device code both call.

#if defined(__CUDACC__)
#define SHOAL_HOST_DEVICE __host__ __device__
#else
#define SHOAL_HOST_DEVICE
#endif
