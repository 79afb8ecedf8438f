// A library that exports its own std::filesystem::temp_directory_path(),
// answering kInterposedTempDirectory (see exports_std_copies.cc).
#ifndef SASRECLLM_TESTS_LINK_EXPORTS_STD_COPIES_H_
#define SASRECLLM_TESTS_LINK_EXPORTS_STD_COPIES_H_

namespace sasrecllm {

inline constexpr char kInterposedTempDirectory[] = "/a-copy-exported-by-another-library";

// Calling it makes the library a real dependency of the binary.
bool ExportsStdCopiesIsLoaded();

}  // namespace sasrecllm

#endif  // SASRECLLM_TESTS_LINK_EXPORTS_STD_COPIES_H_
