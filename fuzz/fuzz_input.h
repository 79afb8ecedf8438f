// Helpers shared by the fuzz targets (fuzz/*_fuzzer.cc): the loaders that
// read from a path get the input as a file, and inputs that feed two readers
// are split in two.
#ifndef SASRECLLM_FUZZ_FUZZ_INPUT_H_
#define SASRECLLM_FUZZ_FUZZ_INPUT_H_

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sasrecllm::fuzz {

// SentencePiece's plugin cannot load under AddressSanitizer: the plugin is
// dlopen()ed with RTLD_DEEPBIND (its libprotobuf must not meet libtorch's),
// which ASan refuses, and without it libprotobuf's version check aborts. The
// ASan build (scripts/fuzz.sh) skips tokenizer.model; the replay in the test
// suite, without ASan, runs it. SentencePiece's own parser is fuzzed upstream
// (OSS-Fuzz).
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSentencePieceLoads = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kSentencePieceLoads = false;
#else
inline constexpr bool kSentencePieceLoads = true;
#endif
#else
inline constexpr bool kSentencePieceLoads = true;
#endif

// A folder of this process's own under the temporary directory, made once.
inline const std::filesystem::path& ScratchDir() {
  static const std::filesystem::path dir = [] {
    std::filesystem::path d =
        std::filesystem::temp_directory_path() / ("sasrecllm-fuzz-" + std::to_string(getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

// Writes `data` to ScratchDir()/`name` (overwriting it) and returns its path.
inline std::string WriteInput(const std::string& name, std::string_view data) {
  const std::string path = (ScratchDir() / name).string();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (!data.empty() && std::fwrite(data.data(), 1, data.size(), f) != data.size()) std::abort();
  std::fclose(f);
  return path;
}

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The input up to its first "\n--\n" and what follows it (all, and "" when
// there is none): one fuzz input for two files.
inline std::pair<std::string_view, std::string_view> SplitInTwo(std::string_view input) {
  constexpr std::string_view kSeparator = "\n--\n";
  const size_t at = input.find(kSeparator);
  if (at == std::string_view::npos) return {input, {}};
  return {input.substr(0, at), input.substr(at + kSeparator.size())};
}

// The input cut at every "\n--\n" into exactly `n` parts: the last one keeps
// any further separators, and missing parts are "". One fuzz input for n files.
inline std::vector<std::string_view> SplitInParts(std::string_view input, size_t n) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < n) {
    auto [head, rest] = SplitInTwo(input);
    parts.push_back(head);
    input = rest;
  }
  parts.push_back(input);
  return parts;
}

}  // namespace sasrecllm::fuzz

#endif  // SASRECLLM_FUZZ_FUZZ_INPUT_H_
