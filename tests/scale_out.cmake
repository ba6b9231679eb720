# Scale-out from the command line (sweep --shard, merge, sweep --devices with CPU workers),
# and on a single-node Slurm when slurm-wlm and munge are installed (skipped otherwise).
# Included from tests/CMakeLists.txt.
add_test(NAME cli_scale_out
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/scale_out_test.sh $<TARGET_FILE:int8attn-bench> ${CMAKE_SOURCE_DIR})
set_tests_properties(cli_scale_out PROPERTIES LABELS cpu TIMEOUT 300)
