# Schema checks: a real CPU sweep's report, and every report kept in the repository, must
# validate against docs/report.schema.json. Included from tests/CMakeLists.txt.
find_program(INT8ATTN_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT INT8ATTN_PYTHON3)
  find_program(INT8ATTN_PYTHON3 NAMES python3)
endif()

if(NOT INT8ATTN_PYTHON3)
  message(STATUS "schema tests: python3 not found, not registered")
else()
  set(int8attn_schema ${CMAKE_SOURCE_DIR}/docs/report.schema.json)
  set(int8attn_validate ${INT8ATTN_PYTHON3} ${CMAKE_SOURCE_DIR}/scripts/validate_report.py ${int8attn_schema})
  set(int8attn_schema_report ${CMAKE_BINARY_DIR}/schema-check.json)
  # The second holds the fallback's rotated try, int8-hadamard decisions included.
  set(int8attn_schema_rotation_report ${CMAKE_BINARY_DIR}/schema-check-rotation.json)

  add_test(NAME schema.cpu_sweep_runs
           COMMAND $<TARGET_FILE:int8attn-bench> sweep --backend cpu
                   -c ${CMAKE_SOURCE_DIR}/configs/ci-cpu.json -o ${int8attn_schema_report} --quiet)
  add_test(NAME schema.cpu_rotation_sweep_runs
           COMMAND $<TARGET_FILE:int8attn-bench> sweep --backend cpu
                   -c ${CMAKE_SOURCE_DIR}/tests/data/config-fallback-rotation.json
                   -o ${int8attn_schema_rotation_report} --quiet)
  set_tests_properties(schema.cpu_sweep_runs schema.cpu_rotation_sweep_runs PROPERTIES
                       LABELS cpu FIXTURES_SETUP int8attn_schema_report)

  add_test(NAME schema.cpu_sweep_report_valid
           COMMAND ${int8attn_validate} ${int8attn_schema_report} ${int8attn_schema_rotation_report})
  # Exit code 2: python3-jsonschema missing -> skipped, not failed.
  set_tests_properties(schema.cpu_sweep_report_valid PROPERTIES
                       LABELS cpu FIXTURES_REQUIRED int8attn_schema_report SKIP_RETURN_CODE 2)

  # results/README.md, the index of the reports there, made from them (scripts/results_index.py):
  # it must be renewed with them; a missing index is stale.
  add_test(NAME results.index_is_current
           COMMAND ${INT8ATTN_PYTHON3} ${CMAKE_SOURCE_DIR}/scripts/results_index.py
                   --check ${CMAKE_SOURCE_DIR}/results/README.md)
  add_test(NAME results.index_check_names_the_renewal
           COMMAND ${INT8ATTN_PYTHON3} ${CMAKE_SOURCE_DIR}/scripts/results_index.py
                   --check ${CMAKE_BINARY_DIR}/no-such-index.md)
  set_tests_properties(results.index_is_current results.index_check_names_the_renewal PROPERTIES LABELS cpu)
  set_tests_properties(results.index_check_names_the_renewal PROPERTIES
                       PASS_REGULAR_EXPRESSION "no-such-index.md is stale; renew it with python3 scripts/results_index.py > ")

  # Hostile inputs for results_index.py and validate_report.py (a hunt's findings): deep nesting,
  # files that are not reports, a closed or full stdout, markup in report strings, NaN, repeated
  # keys, case ids and kernels; each its exit code and a message naming the file or path, no
  # traceback. Exit code 77: python3-jsonschema missing -> skipped after the results_index checks.
  add_test(NAME schema.scripts_hostile_inputs
           COMMAND ${INT8ATTN_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/scripts_test.py ${CMAKE_SOURCE_DIR})
  set_tests_properties(schema.scripts_hostile_inputs PROPERTIES LABELS cpu SKIP_RETURN_CODE 77)

  # Reports kept in the repository (GPU baselines, test data). Globbed at configure time:
  # re-run cmake after adding one.
  file(GLOB int8attn_kept_reports ${CMAKE_SOURCE_DIR}/results/*.json ${CMAKE_SOURCE_DIR}/tests/data/*.json)
  # tests/data may hold other JSON (configs): only files that name the report schema are
  # checked (keys are written sorted, so "schema" can sit anywhere). Deliberately broken
  # reports for negative tests belong in a subdirectory, which this glob does not enter.
  set(int8attn_reports_to_check "")
  foreach(f IN LISTS int8attn_kept_reports)
    file(READ ${f} text)
    string(FIND "${text}" "int8attn-bench/report/v1" at)
    if(at GREATER -1)
      list(APPEND int8attn_reports_to_check ${f})
    endif()
  endforeach()
  if(int8attn_reports_to_check)
    add_test(NAME schema.kept_reports_valid COMMAND ${int8attn_validate} ${int8attn_reports_to_check})
    set_tests_properties(schema.kept_reports_valid PROPERTIES LABELS cpu SKIP_RETURN_CODE 2)
  endif()
endif()
