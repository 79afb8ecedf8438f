// Locating ../shared (read-only test data) from the LLM tests.
#ifndef SASRECLLM_TESTS_MODEL_LLM_SHARED_DATA_H_
#define SASRECLLM_TESTS_MODEL_LLM_SHARED_DATA_H_

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace sasrecllm::llm::testing {

// $SASRECLLM_SHARED, else <repo>/../shared.
inline std::string SharedDir() {
  if (const char* env = std::getenv("SASRECLLM_SHARED"); env != nullptr && *env != '\0') {
    return env;
  }
  return std::string(SASRECLLM_SOURCE_DIR) + "/../shared";
}

inline std::string Stories260kDir() { return SharedDir() + "/models/stories260K"; }

inline bool AllowMissingShared() {
  const char* env = std::getenv("SASRECLLM_ALLOW_MISSING_SHARED");
  return env != nullptr && std::string(env) == "1";
}

// A fresh temporary directory, removed by the destructor.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "sasrecllm_llm_test_XXXXXX").string();
    path_ = ::mkdtemp(pattern.data()) != nullptr ? pattern : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace sasrecllm::llm::testing

// Fails (or, with SASRECLLM_ALLOW_MISSING_SHARED=1, skips) the test when
// `path` does not exist.
#define SASRECLLM_REQUIRE_SHARED(path)                                                      \
  do {                                                                                      \
    if (!std::filesystem::exists(path)) {                                                   \
      if (::sasrecllm::llm::testing::AllowMissingShared()) {                                \
        GTEST_SKIP() << "shared test data missing: " << (path);                             \
      }                                                                                     \
      FAIL() << "shared test data missing: " << (path)                                      \
             << " (set SASRECLLM_SHARED to the shared folder, or "                          \
                "SASRECLLM_ALLOW_MISSING_SHARED=1 to skip)";                                \
    }                                                                                       \
  } while (0)

#endif  // SASRECLLM_TESTS_MODEL_LLM_SHARED_DATA_H_
