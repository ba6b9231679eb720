add_test(NAME cli_end_to_end
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli_test.sh $<TARGET_FILE:int8attn-bench> ${CMAKE_SOURCE_DIR})
set_tests_properties(cli_end_to_end PROPERTIES LABELS cpu TIMEOUT 300)
add_test(NAME ci_docs_examples
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/ci_docs_test.sh $<TARGET_FILE:int8attn-bench> ${CMAKE_SOURCE_DIR})
set_tests_properties(ci_docs_examples PROPERTIES LABELS cpu TIMEOUT 300)
add_test(NAME scripts.ci_gate_update_all_or_nothing
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/ci_gate_test.sh ${CMAKE_SOURCE_DIR})
set_tests_properties(scripts.ci_gate_update_all_or_nothing PROPERTIES LABELS cpu)
