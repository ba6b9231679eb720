#include "kernels/sm90/int8_fa_ws.cuh"
namespace int8attn::kernels::fa { template __global__ void int8_ws_kernel<Variant::Int8Full, 128, true, false, 2, 128>(const __grid_constant__ WsParams); }
