# Static checks of the Hopper kernels, no GPU needed: ptxas must not serialize the wgmma of a
# warp-specialized kernel (its C7513 note) unless scripts/check-wgmma-pipeline.sh allows it with
# the measurement that says why. Serialized, each wgmma waits for the one before, so a
# warpgroup never has more than one in flight; the kernel still computes the right numbers, so
# no GPU test notices (docs/perf-log.md, "wgmma serialization"); and no kernel may spill more
# than its budget (scripts/check-kernel-spills.sh). Compiles kernels/int8_fa_ws.cu once more
# with -Xptxas -v (about a minute). And the A/B table script's own check, below. Included from
# tests/CMakeLists.txt.
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

# scripts/kernel-ab.sh drops a variant without a binary and runs the others (exit 1), and stops
# when the first one, the A/B's base, has none. Stand-in binaries print a summary row.
set(kab_out ${CMAKE_BINARY_DIR}/kernel-ab-drop)
set(kab_fake "printf '==== summary\\nb1 h1 int8-fa(x) 1.0 ms 9.0 TOPS\\n'")
add_test(NAME scripts.kernel_ab_drops_a_variant_that_did_not_build
         COMMAND bash -c "rm -rf '${kab_out}' && mkdir -p '${kab_out}' && printf '#!/bin/sh\\n%s\\n' \"${kab_fake}\" > '${kab_out}/kb-base' && chmod +x '${kab_out}/kb-base' && cd '${CMAKE_SOURCE_DIR}' && KB_RUN_ONLY=1 KB_REPEATS=1 OUT='${kab_out}' bash scripts/kernel-ab.sh -v base=. -v gone=build-run/none wsfq; echo exit=$?")
set_tests_properties(scripts.kernel_ab_drops_a_variant_that_did_not_build PROPERTIES LABELS cpu
  PASS_REGULAR_EXPRESSION "variant gone: no .*kb-gone to run.*variant gone dropped. the others run.*== wsfq base run 1.*9.0 TOPS.*exit=1")
add_test(NAME scripts.kernel_ab_needs_its_base
         COMMAND bash -c "cd '${CMAKE_SOURCE_DIR}' && KB_RUN_ONLY=1 OUT='${CMAKE_BINARY_DIR}/kernel-ab-nobase' bash scripts/kernel-ab.sh -v nobase=. -v other=. wsfq; echo exit=$?")
set_tests_properties(scripts.kernel_ab_needs_its_base PROPERTIES LABELS cpu
  PASS_REGULAR_EXPRESSION "variant nobase: no .*kb-nobase to run.*the first variant \\(nobase\\) is the A/B's base: nothing to compare against[^=]*exit=1")

# scripts/kernel-ab.sh's closing table (scripts/ab_table.py) on a kept two-variant log: each
# variant's rounds and its best against the base, and a variant with bad elements named again.
find_program(INT8ATTN_PYTHON3_AB NAMES python3)
if(INT8ATTN_PYTHON3_AB)
  add_test(NAME scripts.ab_table
           COMMAND ${INT8ATTN_PYTHON3_AB} ${CMAKE_SOURCE_DIR}/scripts/ab_table.py
                   ${CMAKE_SOURCE_DIR}/tests/data/kernel-ab-sample.txt)
  set_tests_properties(scripts.ab_table PROPERTIES LABELS cpu
    PASS_REGULAR_EXPRESSION "int8-fa\\(u8,ws,wide\\) +b4 h16/16 sq4096 skv4096 d128 full +base: 574/573 +fasplit: 582/582 \\(\\+1\\.2%\\).*bad elements \\(their speed does not count\\): fasplit int8-qk\\(ws\\) b4 h16/16 sq4096 skv4096 d128 full: 12")
  # Rows with kernel_bench's SM clock (s63): each round's TOPS with its clock.
  add_test(NAME scripts.ab_table_clock
           COMMAND ${INT8ATTN_PYTHON3_AB} ${CMAKE_SOURCE_DIR}/scripts/ab_table.py
                   ${CMAKE_SOURCE_DIR}/tests/data/kernel-ab-clock-sample.txt)
  set_tests_properties(scripts.ab_table_clock PROPERTIES LABELS cpu
    PASS_REGULAR_EXPRESSION "int8-qk\\(ws\\) +b1 h16/16 sq16384 skv16384 d128 full +base: 745@1784/673@1612 +tree: 751@1791/677@1620 \\(\\+0\\.8%\\)")
  # scripts/sass_tools.py loop-stall-matrix on a made-up ncu source export: the loop found from
  # its backward branch (the rows outside it not counted), each reason by opcode in % of its samples.
  # (No ';' in the expression: CMake would split it into a list, any one of which passes.)
  add_test(NAME scripts.sass_tools_loop_stall_matrix
           COMMAND ${INT8ATTN_PYTHON3_AB} ${CMAKE_SOURCE_DIR}/scripts/sass_tools.py loop-stall-matrix
                   ${CMAKE_SOURCE_DIR}/tests/data/ncu-source-sample.csv)
  set_tests_properties(scripts.sass_tools_loop_stall_matrix PROPERTIES LABELS cpu
    PASS_REGULAR_EXPRESSION "4 instructions. % of the loop's 100 samples.*wait +55\\.0 +40\\.0 +0\\.0 +15\\.0 +0\\.0.*short_sb +30\\.0 +0\\.0 +30\\.0")
  # SASS_LOOP_LEN picks the step loop by its size where an outer loop holds more samples (a
  # probe's idle consumers spinning on the ring inside the tile loop): without it the 7-line tile
  # loop is the steady one, with it the 4-line step loop; a size no loop has is refused.
  add_test(NAME scripts.sass_tools_loop_len_default
           COMMAND ${INT8ATTN_PYTHON3_AB} ${CMAKE_SOURCE_DIR}/scripts/sass_tools.py loop-stall-matrix
                   ${CMAKE_SOURCE_DIR}/tests/data/ncu-source-probe-sample.csv)
  set_tests_properties(scripts.sass_tools_loop_len_default PROPERTIES LABELS cpu
    PASS_REGULAR_EXPRESSION "7 instructions. % of the loop's 400 samples.*long_sb +75\\.0")
  add_test(NAME scripts.sass_tools_loop_len
           COMMAND ${INT8ATTN_PYTHON3_AB} ${CMAKE_SOURCE_DIR}/scripts/sass_tools.py loop-stall-matrix
                   ${CMAKE_SOURCE_DIR}/tests/data/ncu-source-probe-sample.csv)
  set_tests_properties(scripts.sass_tools_loop_len PROPERTIES LABELS cpu ENVIRONMENT "SASS_LOOP_LEN=4"
    PASS_REGULAR_EXPRESSION "4 instructions. % of the loop's 100 samples.*wait +55\\.0 +40\\.0")
  add_test(NAME scripts.sass_tools_loop_len_missing
           COMMAND ${INT8ATTN_PYTHON3_AB} ${CMAKE_SOURCE_DIR}/scripts/sass_tools.py loop-stall-matrix
                   ${CMAKE_SOURCE_DIR}/tests/data/ncu-source-probe-sample.csv)
  set_tests_properties(scripts.sass_tools_loop_len_missing PROPERTIES LABELS cpu ENVIRONMENT "SASS_LOOP_LEN=30"
    PASS_REGULAR_EXPRESSION "no loop with an MMA of about 30 instructions .SASS_LOOP_LEN.. loop sizes: .4, 7.")
  # scripts/sass_tools.py chain on a made-up cuobjdump listing: the step loop found from its
  # backward branch, and the instructions from its full wgmma wait to the 1st, 32nd and last ex2.
  add_test(NAME scripts.sass_tools_chain
           COMMAND ${INT8ATTN_PYTHON3_AB} ${CMAKE_SOURCE_DIR}/scripts/sass_tools.py chain
                   ${CMAKE_SOURCE_DIR}/tests/data/sass-chain-sample.sass KernelIdE1ELi128ESample)
  set_tests_properties(scripts.sass_tools_chain PROPERTIES LABELS cpu
    PASS_REGULAR_EXPRESSION "loop 0x10-0x380 \\(56 instructions\\): S's wait at \\+2. ex2 1st / 32nd / last \\(40\\) 10 / 41 / 49 instructions after it")
  # scripts/sass_tools.py regions: the samples by region, on the same export and on one whose
  # mbarrier retry code (after the EXIT, as ptxas places it) branches back into the loop, which
  # must not count as a second loop.
  add_test(NAME scripts.sass_tools_regions
           COMMAND ${INT8ATTN_PYTHON3_AB} ${CMAKE_SOURCE_DIR}/scripts/sass_tools.py regions
                   ${CMAKE_SOURCE_DIR}/tests/data/ncu-source-sample.csv)
  set_tests_properties(scripts.sass_tools_regions PROPERTIES LABELS cpu
    PASS_REGULAR_EXPRESSION "before the first loop +1 lines +8\\.7%.*step loop 1 +4 lines +87\\.0%.*after the last loop +1 lines +4\\.3%.*8\\.7% +LDC R1")
  add_test(NAME scripts.sass_tools_regions_retry_code
           COMMAND ${INT8ATTN_PYTHON3_AB} ${CMAKE_SOURCE_DIR}/scripts/sass_tools.py regions
                   ${CMAKE_SOURCE_DIR}/tests/data/ncu-source-retry-sample.csv)
  set_tests_properties(scripts.sass_tools_regions_retry_code PROPERTIES LABELS cpu
    PASS_REGULAR_EXPRESSION "before the first loop +1 lines +8\\.3%.*step loop 1 +5 lines +62\\.5%.*after the last loop +5 lines +29\\.2%.*25\\.0% +SYNCS.PHASECHK.TRANS64 P0")
  # scripts/sass_tools.py source-lines: a made-up export attributed through a made-up nvdisasm
  # listing of tests/data/sass-source-sample.cuh (paths relative to the source tree): samples by
  # the kernel's callee, inlined code (helper) charged to its caller's line, an instruction without
  # annotations of its own (EXIT) to the line before it; and an export whose SASS the listing does
  # not match, refused.
  add_test(NAME scripts.sass_tools_source_lines
           COMMAND ${INT8ATTN_PYTHON3_AB} ${CMAKE_SOURCE_DIR}/scripts/sass_tools.py source-lines
                   tests/data/ncu-source-lines-sample.csv tests/data/nvdisasm-lines-sample.txt sample_kernel
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(scripts.sass_tools_source_lines PROPERTIES LABELS cpu
    PASS_REGULAR_EXPRESSION "agrees at 5 of 5 addresses.*consumer +55\\.0%.*producer +40\\.0%.*sample_kernel +5\\.0%.*40\\.0%  consumer:8  o\\[0\\] = helper.*15\\.0%  consumer:9")
  add_test(NAME scripts.sass_tools_source_lines_refuses_other_sass
           COMMAND ${INT8ATTN_PYTHON3_AB} ${CMAKE_SOURCE_DIR}/scripts/sass_tools.py source-lines
                   tests/data/ncu-source-sample.csv tests/data/nvdisasm-lines-sample.txt sample_kernel
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(scripts.sass_tools_source_lines_refuses_other_sass PROPERTIES LABELS cpu WILL_FAIL TRUE)
  # Its quantizer rows: each variant's best round of every configuration, in µs, against the base.
  add_test(NAME scripts.ab_table_quantize
           COMMAND ${INT8ATTN_PYTHON3_AB} ${CMAKE_SOURCE_DIR}/scripts/ab_table.py
                   ${CMAKE_SOURCE_DIR}/tests/data/kernel-ab-sample.txt)
  set_tests_properties(scripts.ab_table_quantize PROPERTIES LABELS cpu
    PASS_REGULAR_EXPRESSION "d128 full +\\(Q,K,V\\) 101 / 100 \\(-1%\\) +\\(Q,K\\) 65 / 58 \\(-11%\\).*\\(K,V\\)w 65 / 58 \\(-11%\\)")
  # scripts/clock_summary.py: each variant's SM clock under load (idle samples and malformed
  # lines left out), and the power cap's and other slowdowns' share; kernel-ab.sh closes with it.
  add_test(NAME scripts.clock_summary
           COMMAND ${INT8ATTN_PYTHON3_AB} ${CMAKE_SOURCE_DIR}/scripts/clock_summary.py
                   ${CMAKE_SOURCE_DIR}/tests/data/clock-sample/clock-base ${CMAKE_SOURCE_DIR}/tests/data/clock-sample/clock-tree)
  set_tests_properties(scripts.clock_summary PROPERTIES LABELS cpu
    PASS_REGULAR_EXPRESSION "base: SM clock median 1868 MHz, lowest 1635. power cap in 3 and slowdowns in 0 of 4 samples under load.*tree: SM clock median 1965 MHz, lowest 1950. power cap in 0 and slowdowns in 1 of 3 samples")
  add_test(NAME scripts.clock_summary_rejects_other_folders
           COMMAND ${INT8ATTN_PYTHON3_AB} ${CMAKE_SOURCE_DIR}/scripts/clock_summary.py ${CMAKE_SOURCE_DIR}/tests/data)
  set_tests_properties(scripts.clock_summary_rejects_other_folders PROPERTIES LABELS cpu WILL_FAIL TRUE)
  add_test(NAME scripts.kernel_ab_samples_the_clock
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/kernel_ab_clock_test.sh ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}/kernel-ab-clock)
  set_tests_properties(scripts.kernel_ab_samples_the_clock PROPERTIES LABELS cpu
    PASS_REGULAR_EXPRESSION "== wsfq base run 1.*9.0 TOPS.*base: SM clock median 1700 MHz, lowest 1700. power cap in 1 and slowdowns in 0 of 1 samples under load")
  add_test(NAME scripts.ab_table_rejects_other_logs
           COMMAND ${INT8ATTN_PYTHON3_AB} ${CMAKE_SOURCE_DIR}/scripts/ab_table.py ${CMAKE_SOURCE_DIR}/README.md)
  set_tests_properties(scripts.ab_table_rejects_other_logs PROPERTIES LABELS cpu WILL_FAIL TRUE)
endif()

# A device script's two halves (prepare here, run on the GPU machine): its usage message, and its
# prepare refusing to replace a folder that an earlier prepare did not make (the user's file stays).
# NAME: the tests' prefix (scripts.NAME_usage, scripts.NAME_keeps_other_folders) and the folder's
# (NAME with dashes); PREPARE: prepare's arguments before the folder; the two expected messages.
function(add_device_script_tests name script prepare usage_regex refusal_regex)
  add_test(NAME scripts.${name}_usage COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/${script})
  set_tests_properties(scripts.${name}_usage PROPERTIES LABELS cpu PASS_REGULAR_EXPRESSION "${usage_regex}")
  string(REPLACE "_" "-" folder_name "${name}")
  set(folder ${CMAKE_BINARY_DIR}/${folder_name}-user-folder)
  add_test(NAME scripts.${name}_keeps_other_folders
           COMMAND bash -c "mkdir -p '${folder}' && echo mine > '${folder}/notes.txt' && bash '${CMAKE_SOURCE_DIR}/scripts/${script}' ${prepare} '${folder}'; cat '${folder}/notes.txt'")
  set_tests_properties(scripts.${name}_keeps_other_folders PROPERTIES LABELS cpu
    PASS_REGULAR_EXPRESSION "${folder_name}-user-folder ${refusal_regex}[^m]*mine")
endfunction()

# scripts/kernel-land.sh (one device call that validates and measures a kernel change): its
# usage, its refusal to replace a folder that its prepare did not make or to take a base that
# is not a revision, and a run without the base stand-in stopping before the device work.
add_device_script_tests(kernel_land kernel-land.sh prepare
  "usage: scripts/kernel-land.sh prepare \\[DIR \\[REV\\]\\] \\| scripts/kernel-land.sh run"
  "exists and is not a stand-in that prepare made; name another folder")
add_test(NAME scripts.kernel_land_prepare_rejects_bad_rev
         COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/kernel-land.sh prepare ${CMAKE_BINARY_DIR}/kernel-land-bad-rev no-such-rev)
set_tests_properties(scripts.kernel_land_prepare_rejects_bad_rev PROPERTIES LABELS cpu
  PASS_REGULAR_EXPRESSION "no-such-rev is not a revision of this repository")
foreach(command run prebuild)  # neither the device call nor its prebuild starts without a base
  add_test(NAME scripts.kernel_land_${command}_needs_prepare
           COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/kernel-land.sh ${command} ${CMAKE_BINARY_DIR}/no-such-base)
  set_tests_properties(scripts.kernel_land_${command}_needs_prepare PROPERTIES LABELS cpu
    PASS_REGULAR_EXPRESSION "no stand-in at .*no-such-base: run 'scripts/kernel-land.sh prepare")
endforeach()
# scripts/pack-device-bins.sh (the product binaries for a device call, built here): a build
# folder that is missing, or one without the CUDA backend or without sm_90a kernels, is refused
# before anything is built.
set(pack_cache_dir ${CMAKE_BINARY_DIR}/pack-device-bins-cache)
add_test(NAME scripts.pack_device_bins_needs_a_build
         COMMAND bash -c "BUILD_DIR='${CMAKE_BINARY_DIR}/no-such-build' bash '${CMAKE_SOURCE_DIR}/scripts/pack-device-bins.sh'")
set_tests_properties(scripts.pack_device_bins_needs_a_build PROPERTIES LABELS cpu
  PASS_REGULAR_EXPRESSION "no-such-build/CMakeCache.txt not found")
add_test(NAME scripts.pack_device_bins_needs_cuda_and_sm90a
         COMMAND bash -c "mkdir -p '${pack_cache_dir}' && echo 'INT8ATTN_CUDA:BOOL=OFF' > '${pack_cache_dir}/CMakeCache.txt' && BUILD_DIR='${pack_cache_dir}' bash '${CMAKE_SOURCE_DIR}/scripts/pack-device-bins.sh'; printf 'INT8ATTN_CUDA:BOOL=ON\\nINT8ATTN_CUDA_ARCHS:STRING=80;89\\n' > '${pack_cache_dir}/CMakeCache.txt' && BUILD_DIR='${pack_cache_dir}' bash '${CMAKE_SOURCE_DIR}/scripts/pack-device-bins.sh'; rm -rf '${pack_cache_dir}'")
set_tests_properties(scripts.pack_device_bins_needs_cuda_and_sm90a PROPERTIES LABELS cpu
  PASS_REGULAR_EXPRESSION "has no CUDA backend.*has no sm_90a kernels")
# Its standin (stacked research patches as LAND_EXTRA variants): a patch made here against
# HEAD's kernels/api.h lands in the stand-in's copy and nowhere else; a missing patch, a folder
# outside the repository and one that standin did not make are refused, the latter kept.
set(kl_standin build-run/ctest-kernel-land-standin)
set(kl_patch ${CMAKE_BINARY_DIR}/kernel-land-standin.patch)
add_test(NAME scripts.kernel_land_standin_applies
         COMMAND bash -c "cd '${CMAKE_SOURCE_DIR}' && git show HEAD:kernels/api.h > '${kl_patch}.a' && cp '${kl_patch}.a' '${kl_patch}.b' && echo '// standin test' >> '${kl_patch}.b' && { diff -u '${kl_patch}.a' '${kl_patch}.b' | sed -e '1s|.*|--- a/kernels/api.h|' -e '2s|.*|+++ b/kernels/api.h|' > '${kl_patch}'; } ; bash scripts/kernel-land.sh standin ${kl_standin} '${kl_patch}' && tail -n 1 ${kl_standin}/kernels/api.h && git diff --quiet HEAD -- kernels/api.h && echo tree-unchanged; rm -rf ${kl_standin}")
set_tests_properties(scripts.kernel_land_standin_applies PROPERTIES LABELS cpu
  PASS_REGULAR_EXPRESSION "holds HEAD's kernels/api.h with 1 patch\\(es\\) applied.*// standin test[^a-z]*tree-unchanged")
# The A/B's build takes common/ headers and tools/kernel_bench.cu from a stand-in too: a patch's
# common/ file lands in the stand-in, its tests/ file is left out (kernel_bench does not build
# it), and one touching src/ is refused. (Run in this tree: its own uncommitted A/B files add
# "and HEAD's ..." lines, which the expression lets through.)
function(kernel_land_patch out)  # FILE ... : a patch appending a line to each of HEAD's FILEs
  set(script "")
  foreach(file IN LISTS ARGN)
    string(APPEND script "git show HEAD:${file} > '${out}.a' && cp '${out}.a' '${out}.b' && echo '// standin test' >> '${out}.b' && { diff -u '${out}.a' '${out}.b' | sed -e '1s|.*|--- a/${file}|' -e '2s|.*|+++ b/${file}|' >> '${out}'; } ; ")
  endforeach()
  set(kernel_land_patch_script "rm -f '${out}' && ${script}" PARENT_SCOPE)
endfunction()
set(kl_ab_patch ${CMAKE_BINARY_DIR}/kernel-land-ab-files.patch)
kernel_land_patch(${kl_ab_patch} common/numerics.h tests/CMakeLists.txt)
add_test(NAME scripts.kernel_land_standin_takes_ab_build_files
         COMMAND bash -c "cd '${CMAKE_SOURCE_DIR}' && ${kernel_land_patch_script} bash scripts/kernel-land.sh standin build-run/ctest-kl-ab '${kl_ab_patch}' && tail -n 1 build-run/ctest-kl-ab/common/numerics.h && test ! -e build-run/ctest-kl-ab/tests && echo no-tests-copied; rm -rf build-run/ctest-kl-ab")
set_tests_properties(scripts.kernel_land_standin_takes_ab_build_files PROPERTIES LABELS cpu
  PASS_REGULAR_EXPRESSION "holds HEAD's common/numerics.h with 1 patch\\(es\\) applied.*kernel-land: left out \\(not in kernel_bench's build\\): tests/CMakeLists.txt.*// standin test[^a-z]*no-tests-copied")
# The working tree's own change to an A/B file (a change being landed, next to the stand-ins)
# stays out of a stand-in: it gets HEAD's version of that file. Tried in a clone, whose tree the
# test may change (with this tree's script).
set(kl_clone ${CMAKE_BINARY_DIR}/kernel-land-clone)
kernel_land_patch(${kl_clone}.patch common/numerics.h)
add_test(NAME scripts.kernel_land_standin_keeps_tree_changes_out
         COMMAND bash -c "rm -rf '${kl_clone}' && git clone -q --shared '${CMAKE_SOURCE_DIR}' '${kl_clone}' && cd '${kl_clone}' && cp '${CMAKE_SOURCE_DIR}/scripts/kernel-land.sh' scripts/ && ${kernel_land_patch_script} echo '// tree change' >> kernels/attn_kernels.h && bash scripts/kernel-land.sh standin build-run/kl '${kl_clone}.patch' && tail -n 1 build-run/kl/kernels/attn_kernels.h | grep -vq 'tree change' && echo head-version; rm -rf '${kl_clone}'")
set_tests_properties(scripts.kernel_land_standin_keeps_tree_changes_out PROPERTIES LABELS cpu
  PASS_REGULAR_EXPRESSION "and HEAD's kernels/attn_kernels.h \\(changed in the working tree, kept out of the stand-in\\).*head-version")
set(kl_src_patch ${CMAKE_BINARY_DIR}/kernel-land-src.patch)
kernel_land_patch(${kl_src_patch} src/main.cpp)
add_test(NAME scripts.kernel_land_standin_refuses_other_files
         COMMAND bash -c "cd '${CMAKE_SOURCE_DIR}' && ${kernel_land_patch_script} bash scripts/kernel-land.sh standin build-run/ctest-kl-src '${kl_src_patch}'; test ! -e build-run/ctest-kl-src && echo nothing-made")
set_tests_properties(scripts.kernel_land_standin_refuses_other_files PROPERTIES LABELS cpu
  PASS_REGULAR_EXPRESSION "a patch touches src/main.cpp, outside the A/B's build \\(kernels/ common/ tools/kernel_bench.cu\\).*nothing was changed[^a-z]*nothing-made")
add_test(NAME scripts.kernel_land_standin_needs_patch
         COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/kernel-land.sh standin build-run/ctest-kl-none ${CMAKE_BINARY_DIR}/no-such.patch)
set_tests_properties(scripts.kernel_land_standin_needs_patch PROPERTIES LABELS cpu
  PASS_REGULAR_EXPRESSION "no patch at .*no-such.patch \\(nothing was changed\\)")
add_test(NAME scripts.kernel_land_standin_inside_repo
         COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/kernel-land.sh standin /tmp/kl-outside ${CMAKE_SOURCE_DIR}/kernels/api.h)
set_tests_properties(scripts.kernel_land_standin_inside_repo PROPERTIES LABELS cpu
  PASS_REGULAR_EXPRESSION "/tmp/kl-outside is not inside the repository")
add_test(NAME scripts.kernel_land_standin_keeps_other_folders
         COMMAND bash -c "cd '${CMAKE_SOURCE_DIR}' && mkdir -p build-run/ctest-kl-user && echo mine > build-run/ctest-kl-user/notes.txt && bash scripts/kernel-land.sh standin build-run/ctest-kl-user kernels/api.h; cat build-run/ctest-kl-user/notes.txt; rm -rf build-run/ctest-kl-user")
set_tests_properties(scripts.kernel_land_standin_keeps_other_folders PROPERTIES LABELS cpu
  PASS_REGULAR_EXPRESSION "ctest-kl-user exists and is not a stand-in that standin made; name another folder \\(nothing was changed\\)[^a-z]*mine")

# scripts/e2e-ab.sh (one device call that measures two revisions end to end): its usage, its
# refusal to replace a folder that its prepare did not make, a prepared tree that `run` accepts
# up to its configs (a missing one stops it before the device work), and its closing table
# (scripts/e2e_ab_table.py) on kept reports: each variant's best round and its change.
add_device_script_tests(e2e_ab e2e-ab.sh "prepare HEAD"
  "usage: scripts/e2e-ab.sh prepare REV \\[DIR\\] \\| scripts/e2e-ab.sh run"
  "exists and is not a tree that prepare made; name another folder")
set(e2e_ab_base ${CMAKE_BINARY_DIR}/e2e-ab-base)
add_test(NAME scripts.e2e_ab_prepare_then_run_checks_configs
         COMMAND bash -c "bash '${CMAKE_SOURCE_DIR}/scripts/e2e-ab.sh' prepare HEAD '${e2e_ab_base}' && test -f '${e2e_ab_base}/CMakeLists.txt' && bash '${CMAKE_SOURCE_DIR}/scripts/e2e-ab.sh' run '${e2e_ab_base}' no-such-config.json")
set_tests_properties(scripts.e2e_ab_prepare_then_run_checks_configs PROPERTIES LABELS cpu
  PASS_REGULAR_EXPRESSION "holds [0-9a-f]+'s source tree.*no-such-config.json: no such config")
# Its tuning mode (one binary, INT8ATTN_FUSED_TUNING per variant): the variants' checks before any
# work, and a CPU run of the tool itself that makes each variant's reports and passes each its
# own setting (a bad knob fails that variant alone, naming the variable); a second run into the
# same folder is refused.
add_test(NAME scripts.e2e_ab_tuning_needs_two_variants
         COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/e2e-ab.sh tuning ${CMAKE_SOURCE_DIR}/tests/data/config-tiny-cpu.json only=)
set_tests_properties(scripts.e2e_ab_tuning_needs_two_variants PROPERTIES LABELS cpu
  PASS_REGULAR_EXPRESSION "tuning needs two variants or more")
add_test(NAME scripts.e2e_ab_tuning_rejects_repeated_names
         COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/e2e-ab.sh tuning ${CMAKE_SOURCE_DIR}/tests/data/config-tiny-cpu.json a= a=dynamic_tiles=1)
set_tests_properties(scripts.e2e_ab_tuning_rejects_repeated_names PROPERTIES LABELS cpu
  PASS_REGULAR_EXPRESSION "e2e-ab: a: two variants of that name")
set(e2e_tuning_out ${CMAKE_BINARY_DIR}/e2e-ab-tuning-out)
add_test(NAME scripts.e2e_ab_tuning_runs_each_variant
         COMMAND bash -c "rm -rf '${e2e_tuning_out}'; cd '${CMAKE_SOURCE_DIR}' && OUT='${e2e_tuning_out}' E2E_BENCH='$<TARGET_FILE:int8attn-bench>' E2E_ARGS='--backend cpu' E2E_ROUNDS=2 bash scripts/e2e-ab.sh tuning tests/data/config-tiny-cpu.json defaults= claims=dynamic_tiles=1 bad=nosuch=1; ls '${e2e_tuning_out}/config-tiny-cpu'; ls '${e2e_tuning_out}/config-tiny-cpu' | grep -q e2e-bad || echo no-report-of-bad; OUT='${e2e_tuning_out}' E2E_BENCH='$<TARGET_FILE:int8attn-bench>' bash scripts/e2e-ab.sh tuning tests/data/config-tiny-cpu.json again= defaults=")
set_tests_properties(scripts.e2e_ab_tuning_runs_each_variant PROPERTIES LABELS cpu
  PASS_REGULAR_EXPRESSION "bad's sweep of tests/data/config-tiny-cpu.json \\(round 1\\) failed:[^=]*INT8ATTN_FUSED_TUNING \\(environment\\): 'nosuch=1': unknown key.*e2e-claims-r1.json[^a-z]*e2e-claims-r2.json[^a-z]*e2e-defaults-r1.json[^a-z]*e2e-defaults-r2.json[^a-z]*no-report-of-bad.*config-tiny-cpu already holds reports")
if(INT8ATTN_PYTHON3_AB)
  add_test(NAME scripts.e2e_ab_table_all_kernels
           COMMAND ${INT8ATTN_PYTHON3_AB} ${CMAKE_SOURCE_DIR}/scripts/e2e_ab_table.py ${CMAKE_SOURCE_DIR}/tests/data/e2e-ab --kernels all)
  set_tests_properties(scripts.e2e_ab_table_all_kernels PROPERTIES LABELS cpu
    PASS_REGULAR_EXPRESSION "fp16-fa +us: base: 266.2  tree: 266.2 \\(\\+0.0%\\)[ \n]*fp16-cudnn us: base: 257.6  tree: 257.6")
  add_test(NAME scripts.e2e_ab_table
           COMMAND ${INT8ATTN_PYTHON3_AB} ${CMAKE_SOURCE_DIR}/scripts/e2e_ab_table.py ${CMAKE_SOURCE_DIR}/tests/data/e2e-ab)
  set_tests_properties(scripts.e2e_ab_table PROPERTIES LABELS cpu
    PASS_REGULAR_EXPRESSION "fastest FP16 us: base 257.6 / tree 257.6[^i]*int8-fa +us: base: 329.7 \\(quantize 95.2\\) fp16-fallback +tree: 313.2 \\(-5.0%\\) \\(quantize 88.2\\) fp16-fallback")
  add_test(NAME scripts.e2e_ab_table_rejects_folders_without_reports
           COMMAND ${INT8ATTN_PYTHON3_AB} ${CMAKE_SOURCE_DIR}/scripts/e2e_ab_table.py ${CMAKE_SOURCE_DIR}/tests/data)
  set_tests_properties(scripts.e2e_ab_table_rejects_folders_without_reports PROPERTIES LABELS cpu WILL_FAIL TRUE)
endif()
