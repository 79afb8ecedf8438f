// Our binaries bind std:: symbols to libstdc++ even when a library linked
// before it exports copies of them, as pip's libtorch_cpu.so does
// (cmake/libstdcxx_first.cmake). Without that, every test that made a
// temporary directory crashed on a GPU machine with pip's PyTorch.
#include <filesystem>

#include <gtest/gtest.h>

#include "tests/link/exports_std_copies.h"

namespace sasrecllm {
namespace {

TEST(LibstdcxxFirstTest, StdSymbolsBindToLibstdcxxNotToAnotherLibrarysCopy) {
  ASSERT_TRUE(ExportsStdCopiesIsLoaded());
  EXPECT_NE(std::filesystem::temp_directory_path().string(), kInterposedTempDirectory);
}

}  // namespace
}  // namespace sasrecllm
