// Scratch (not built by CMake): one instantiation, for quick local `nvcc -Xptxas -v` checks:
//   nvcc -std=c++20 -I. --expt-relaxed-constexpr -gencode=arch=compute_90a,code=sm_90a \
//        -Xptxas -v -DKS_SCHED=0 -c kernels/wip/one_instance.cu -o /tmp/one.o
// (KS_SCHED: the register schedule, an index into fa::kSchedules.)
#include "kernels/int8_flash_attn.cuh"
#ifndef KS_SCHED
#define KS_SCHED 0
#endif
namespace int8attn::kernels::fa {
template cudaError_t launch_flash_attention<Variant::Int8Full, 128, 4, true, false, KS_SCHED>(Params, int64_t, cudaStream_t);
}
