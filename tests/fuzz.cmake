# Fuzz targets, one per parser of user files (tests/fuzz/fuzz_*.cpp). With clang and
# -DINT8ATTN_LIBFUZZER=ON they build as libFuzzer binaries (run them by hand, e.g.
# `build/tests/fuzz_npy -max_total_time=600 tests/fuzz/seeds`); otherwise each links the
# deterministic driver, and CTest runs a fixed number of mutations (about a second each).
option(INT8ATTN_LIBFUZZER "Build the fuzz targets with clang's libFuzzer (and ASan)" OFF)
if(INT8ATTN_LIBFUZZER)
  # The parsers live in int8attn_core: instrumented for coverage (libFuzzer's guide) and checked
  # by ASan and UBSan there too, not only in the few lines of each target. Configure with
  # CC=clang CXX=clang++ -DINT8ATTN_CUDA=OFF (docs/testing.md).
  target_compile_options(int8attn_core PRIVATE -fsanitize=fuzzer-no-link,address,undefined
                         -fno-sanitize-recover=undefined)
  target_link_options(int8attn_core INTERFACE -fsanitize=address,undefined)
endif()
set(fuzz_seeds_config ${CMAKE_SOURCE_DIR}/configs/ci-cpu.json ${CMAKE_SOURCE_DIR}/configs/default.json)
set(fuzz_seeds_report ${CMAKE_SOURCE_DIR}/tests/data/report-h100-sample.json)
set(fuzz_seeds_checkpoint ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/seeds/checkpoint.jsonl)
set(fuzz_seeds_npy ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/seeds/small.npy)
set(fuzz_runs_config 20000)
set(fuzz_runs_report 1000)
set(fuzz_runs_checkpoint 3000)
set(fuzz_runs_npy 20000)
foreach(target config report checkpoint npy)
  if(INT8ATTN_LIBFUZZER)
    add_executable(fuzz_${target} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_${target}.cpp)
    target_compile_options(fuzz_${target} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(fuzz_${target} PRIVATE -fsanitize=fuzzer,address,undefined)
  else()
    add_executable(fuzz_${target} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_${target}.cpp
                   ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/driver.cpp)
    add_test(NAME fuzz.${target} COMMAND fuzz_${target} --runs ${fuzz_runs_${target}} ${fuzz_seeds_${target}})
    set_tests_properties(fuzz.${target} PROPERTIES LABELS cpu TIMEOUT 120)
  endif()
  target_link_libraries(fuzz_${target} PRIVATE int8attn_core)
endforeach()
