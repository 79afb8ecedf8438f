// What model/ returns when a libtorch call throws: every public entry point
// that runs tensors catches std::exception (c10::Error for shape, dtype and
// device errors; std::bad_alloc when memory runs out) and returns a Status
// with context, so nothing thrown by libtorch crosses model/'s boundary.
//
//   try { ... tensors ... } catch (const std::exception& e) {
//     return InternalError("SasrecRanker::Rank: " + TorchErrorMessage(e));
//   }
//
// Thread safety: a pure function.
#ifndef SASRECLLM_MODEL_TORCH_ERRORS_H_
#define SASRECLLM_MODEL_TORCH_ERRORS_H_

#include <c10/util/Exception.h>

#include <exception>
#include <string>

namespace sasrecllm {

// c10::Error's message without its C++ backtrace; what() for the others.
inline std::string TorchErrorMessage(const std::exception& e) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) {
    return c10_error->what_without_backtrace();
  }
  return e.what();
}

}  // namespace sasrecllm

#endif  // SASRECLLM_MODEL_TORCH_ERRORS_H_
