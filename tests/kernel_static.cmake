# Static checks of the Hopper kernels, no GPU needed: ptxas must not serialize the wgmma of a
# warp-specialized kernel (its C7513 note) unless scripts/check-wgmma-pipeline.sh allows it with
# the measurement that says why. Serialized, each wgmma waits for the one before, so a
# warpgroup never has more than one in flight; the kernel still computes the right numbers, so
# no GPU test notices (docs/perf-log.md, "wgmma serialization"); and no kernel may spill more
# than its budget (scripts/check-kernel-spills.sh). Compiles kernels/int8_fa_ws.cu once more
# with -Xptxas -v (about a minute). Included from tests/CMakeLists.txt.
if(INT8ATTN_CUDA AND "90a" IN_LIST INT8ATTN_CUDA_ARCHS)
  find_program(INT8ATTN_PYTHON3_STATIC NAMES python3)
  if(INT8ATTN_PYTHON3_STATIC)
    add_test(NAME kernels.wgmma_not_serialized
             COMMAND ${CMAKE_COMMAND} -E env PYTHON=${INT8ATTN_PYTHON3_STATIC} NVCC=${CMAKE_CUDA_COMPILER}
                     bash ${CMAKE_SOURCE_DIR}/scripts/check-wgmma-pipeline.sh ${CMAKE_BINARY_DIR}/kernel-static)
    set_tests_properties(kernels.wgmma_not_serialized PROPERTIES LABELS cpu TIMEOUT 900
                         FIXTURES_SETUP kernel_resources)
    # No kernel spills more than its budget (scripts/check-kernel-spills.sh), from the ptxas
    # resources the check above wrote.
    add_test(NAME kernels.spills_within_budget
             COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/check-kernel-spills.sh
                     ${CMAKE_BINARY_DIR}/kernel-static/resources.txt)
    set_tests_properties(kernels.spills_within_budget PROPERTIES LABELS cpu FIXTURES_REQUIRED kernel_resources)
  endif()
endif()
