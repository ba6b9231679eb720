// Host/device qualifiers for code shared by the CUDA kernels and the CPU emulation.
// Plain C++ when compiled by a host compiler.
#pragma once
#if defined(__CUDACC__)
#define I8A_HD __host__ __device__ __forceinline__
#else
#define I8A_HD inline
#endif
