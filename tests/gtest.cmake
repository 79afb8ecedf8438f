# Finds GoogleTest once for every test directory. Where the package is missing
# (e.g. a GPU machine with only PyTorch), GTEST_SOURCE_DIR may point at a
# googletest source tree (Debian's /usr/src/googletest), which is then built.
# Sets SASRECLLM_HAVE_GTEST.
if(TARGET GTest::gtest_main)
  set(SASRECLLM_HAVE_GTEST ON)
  return()
endif()
find_package(GTest QUIET)
if(GTest_FOUND)
  set(SASRECLLM_HAVE_GTEST ON)
elseif(DEFINED GTEST_SOURCE_DIR)
  add_subdirectory(${GTEST_SOURCE_DIR} ${CMAKE_BINARY_DIR}/googletest EXCLUDE_FROM_ALL)
  add_library(GTest::gtest_main ALIAS gtest_main)
  add_library(GTest::gmock ALIAS gmock)
  set(SASRECLLM_HAVE_GTEST ON)
else()
  message(WARNING "GoogleTest not found (set GTEST_SOURCE_DIR): tests are not built")
  set(SASRECLLM_HAVE_GTEST OFF)
endif()
include(GoogleTest)
