# Scale-out from the command line (sweep --shard, merge, sweep --devices with CPU workers),
# and on a single-node Slurm when slurm-wlm and munge are installed (skipped otherwise).
# Included from tests/CMakeLists.txt.
add_test(NAME cli_scale_out
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/scale_out_test.sh $<TARGET_FILE:int8attn-bench> ${CMAKE_SOURCE_DIR})
set_tests_properties(cli_scale_out PROPERTIES LABELS cpu TIMEOUT 300)
add_test(NAME slurm_array_and_merge
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/slurm_test.sh $<TARGET_FILE:int8attn-bench> ${CMAKE_SOURCE_DIR})
set_tests_properties(slurm_array_and_merge PROPERTIES LABELS cpu TIMEOUT 400 SKIP_RETURN_CODE 77)
# docs/scale-out.md's cost table comes from this script: it must keep running on the kept report.
add_test(NAME scale_out_cost_script
         COMMAND python3 ${CMAKE_SOURCE_DIR}/scripts/scale_out_cost.py --cases 100
                 --report ${CMAKE_SOURCE_DIR}/results/h200-llama3-8b.json)
set_tests_properties(scale_out_cost_script PROPERTIES LABELS cpu)
