# The HTML report in a real browser: scripts/check-html.sh renders tests/data's sample
# report with the CLI, loads it in headless Chromium, and checks the charts are in the DOM.
# Skipped (exit 77) where Chromium is not installed.
add_test(NAME html_report_in_chromium
         COMMAND ${CMAKE_SOURCE_DIR}/scripts/check-html.sh $<TARGET_FILE:int8attn-bench>
                 ${CMAKE_SOURCE_DIR}/tests/data/report-h100-sample.json ${CMAKE_CURRENT_BINARY_DIR}/html-check)
set_tests_properties(html_report_in_chromium PROPERTIES LABELS cpu SKIP_RETURN_CODE 77 TIMEOUT 300)
# A CPU report (no latencies): only the accuracy charts, with their thresholds.
add_test(NAME html_cpu_report_in_chromium
         COMMAND ${CMAKE_SOURCE_DIR}/scripts/check-html.sh $<TARGET_FILE:int8attn-bench>
                 ${CMAKE_SOURCE_DIR}/results/ci-cpu-baseline.json ${CMAKE_CURRENT_BINARY_DIR}/html-check-cpu)
set_tests_properties(html_cpu_report_in_chromium PROPERTIES LABELS cpu SKIP_RETURN_CODE 77 TIMEOUT 300)
