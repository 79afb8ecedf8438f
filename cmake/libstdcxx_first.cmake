# Every binary of this build binds the C++ standard library's symbols to
# libstdc++.so itself, never to a copy that another library exports.
#
# Why: pip's PyTorch wheels (and the libtorch archives built the same way) link
# parts of libstdc++ statically into libtorch_cpu.so and export them, among
# them std::filesystem (pytorch/pytorch#133437). The dynamic linker binds a
# symbol to the first library in load order that defines it, and a link line
# names libstdc++ last, so our std::filesystem calls go to libtorch's copies,
# built against another libstdc++'s internals. That is the likely reason why,
# on an H200 with PyTorch 2.11, every test suite that made a temporary
# directory died at once with SIGSEGV while the suites without files passed
# (not yet confirmed on a GPU machine). Naming libstdc++ first, and keeping it
# although nothing before it needs it (--no-as-needed), makes it the first
# library searched after the binary itself. Where libtorch exports no such
# symbol (Debian's libtorch) nothing changes.
#
# tests/link/ checks it: its test links a library that exports its own
# std::filesystem::temp_directory_path().
if(CMAKE_SYSTEM_NAME STREQUAL "Linux" AND CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  add_link_options("LINKER:--push-state,--no-as-needed" "-lstdc++" "LINKER:--pop-state")
endif()
