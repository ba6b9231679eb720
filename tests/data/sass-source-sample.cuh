// A made-up kernel for scripts/sass_tools.py source-lines (tests/kernel_static.cmake): its
// nvdisasm listing is tests/data/nvdisasm-lines-sample.txt, its ncu export
// tests/data/ncu-source-lines-sample.csv.
__device__ __forceinline__ float helper(float x) {
  return x * 2.f;
}
__device__ __forceinline__ void consumer(float* o) {
  o[0] = helper(o[0]);
  o[1] = o[0] + 1.f;
}
__device__ __forceinline__ void producer(float* o) {
  o[2] = 3.f;
}
__global__ void __launch_bounds__(256, 1) sample_kernel(float* o) {
  if (threadIdx.x < 128) consumer(o);
  else producer(o);
}
