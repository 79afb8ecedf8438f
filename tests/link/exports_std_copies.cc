// A shared library that exports its own copy of a libstdc++ function, as
// pip's libtorch_cpu.so exports the std::filesystem it linked statically
// (cmake/libstdcxx_first.cmake). Linked into link_tests only.
#include <filesystem>

#include "tests/link/exports_std_copies.h"

namespace std::filesystem {
// Replaces libstdc++'s for any binary that binds to this library first.
path temp_directory_path() { return path(sasrecllm::kInterposedTempDirectory); }
}  // namespace std::filesystem

namespace sasrecllm {
bool ExportsStdCopiesIsLoaded() { return true; }
}  // namespace sasrecllm
