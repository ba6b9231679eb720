# The build-time git commit (src/git_commit.cmake). Included from tests/CMakeLists.txt.
add_test(NAME provenance_git_commit
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/provenance_test.sh ${CMAKE_COMMAND} ${CMAKE_SOURCE_DIR})
set_tests_properties(provenance_git_commit PROPERTIES LABELS cpu SKIP_RETURN_CODE 77)
