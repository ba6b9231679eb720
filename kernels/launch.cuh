// Kernel launches with programmatic dependent launch (PDL, sm_90+): a dependent launch may
// start while the grid before it in the stream finishes, so its launch latency and its CTAs'
// start overlap that grid's last wave. The dependent kernel must call fa::pdl_wait()
// (kernels/ptx.cuh) before it reads anything the earlier grid writes or writes anything that
// grid may still read; the earlier grid calls fa::pdl_launch_dependents() to let it start
// early (without that, it starts when the earlier grid's CTAs have exited). Before sm_90
// these are plain launches.
#pragma once
#include <cuda_runtime.h>

#include <utility>

namespace int8attn::kernels {

// Whether the current device takes programmatic dependent launches (compute capability 9+).
inline bool pdl_supported() {
  int device = 0, major = 0;
  if (cudaGetDevice(&device) != cudaSuccess) return false;
  if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess) return false;
  return major >= 9;
}

// kernel<<<grid, block, smem, stream>>>(args...) as a dependent of the stream's previous grid.
template <class... Params, class... Args>
cudaError_t launch_dependent(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                             Args&&... args) {
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = smem;
  config.stream = stream;
  config.attrs = attr;
  config.numAttrs = pdl_supported() ? 1 : 0;
  return cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...);
}

}  // namespace int8attn::kernels
