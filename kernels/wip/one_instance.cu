#include "kernels/int8_flash_attn.cuh"
namespace int8attn::kernels::fa {
template cudaError_t launch_flash_attention<Variant::Int8Full, 128, 8, true, false, false>(Params, int64_t, cudaStream_t);
}
