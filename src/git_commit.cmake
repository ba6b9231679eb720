# Writes OUTPUT (a header defining INT8ATTN_GIT_COMMIT) at build time, so a report names the
# commit the binary was built from, not the one CMake configured. Run by the
# int8attn_git_commit target on every build; OUTPUT is rewritten only when its text changes,
# so an unchanged commit recompiles nothing.
#   cmake -DSOURCE_DIR=<tree> -DOUTPUT=<header> -DGIVEN=<commit or empty> -P git_commit.cmake
# A commit the builder gives (-DINT8ATTN_GIT_COMMIT=<sha>) wins: the GPU machine's copy of the
# tree can be a checkout of an older commit with the working tree laid over it, which would
# read as "<old>-dirty". Otherwise the commit is `git rev-parse --short=12 HEAD` of SOURCE_DIR,
# with "-dirty" when tracked files differ from it (staged or not); "unknown" for a tree that
# is not its own git checkout.
set(commit "${GIVEN}")
execute_process(COMMAND git rev-parse --show-toplevel WORKING_DIRECTORY "${SOURCE_DIR}"
                OUTPUT_VARIABLE toplevel OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
if(rc EQUAL 0)
  file(REAL_PATH "${toplevel}" toplevel)
  file(REAL_PATH "${SOURCE_DIR}" source_dir)
endif()
if(NOT commit AND rc EQUAL 0 AND toplevel STREQUAL source_dir)  # not a copy inside another repository
  execute_process(COMMAND git rev-parse --short=12 HEAD WORKING_DIRECTORY "${SOURCE_DIR}"
                  OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  execute_process(COMMAND git status --porcelain --untracked-files=no WORKING_DIRECTORY "${SOURCE_DIR}"
                  OUTPUT_VARIABLE changes OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(commit AND changes)
    string(APPEND commit "-dirty")
  endif()
endif()
if(NOT commit)
  set(commit "unknown")
endif()
set(text "#pragma once\n// Generated at build time by src/git_commit.cmake.\n#define INT8ATTN_GIT_COMMIT \"${commit}\"\n")
set(old "")
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
endif()
if(NOT old STREQUAL text)
  file(WRITE "${OUTPUT}" "${text}")
endif()
