// A fresh temporary folder per test, for the fixtures that write files.
#pragma once
#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace int8attn::test {

// <tmp>/<prefix>-<pid>-<test name>, emptied and created: parallel ctest runs and earlier
// crashed runs cannot share or leave files in it.
inline std::filesystem::path make_test_dir(const std::string& prefix) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / (prefix + "-" + std::to_string(::getpid()) + "-" + info->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace int8attn::test
