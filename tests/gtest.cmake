# Finds GoogleTest once for every test directory. Where the package is missing
# (e.g. a GPU machine with only PyTorch), GTEST_SOURCE_DIR may point at a
# googletest source tree (Debian's /usr/src/googletest), which is then built.
# Sets SASRECLLM_HAVE_GTEST and defines sasrecllm_test_binary().

# sasrecllm_test_binary(NAME LIBRARY): one GoogleTest binary, build/tests/NAME,
# from every *_test.cc of the calling folder, linked to LIBRARY and registered
# with ctest. Tests find ../shared through SASRECLLM_SOURCE_DIR (overridable
# with $SASRECLLM_SHARED). Suites named *Worker are not registered: they are
# the bodies of worker processes a test starts itself (data_parallel_workers.h),
# and skip when run without it.
get_filename_component(SASRECLLM_REPO_DIR ${CMAKE_CURRENT_LIST_DIR}/.. ABSOLUTE)
function(sasrecllm_test_binary name library)
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cc)
  add_executable(${name} ${sources})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  target_link_libraries(${name} PRIVATE ${library} GTest::gtest_main GTest::gmock)
  target_compile_definitions(${name} PRIVATE
    SASRECLLM_SOURCE_DIR="${SASRECLLM_REPO_DIR}")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 120 PROPERTIES TIMEOUT 600
    TEST_FILTER "-*Worker.*")
endfunction()

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
