#include "model/torch_device.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <thread>

namespace sasrecllm::model {
namespace {

// 2 * 1e-39 on this thread, at run time (volatile: no constant folding).
float TwiceADenormal() {
  volatile float x = 1e-39f;  // below FLT_MIN (1.2e-38): a denormal
  return x * 2.0f;
}

// What main() relies on: after FlushDenormalsToZero, denormal operands compute
// as 0 on the thread that called it, in torch's kernels too, and on threads it
// starts afterwards. Runs on a thread of its own so that the other tests keep
// the default FP state.
TEST(FlushDenormalsToZeroTest, DenormalsComputeAsZeroAlsoOnThreadsStartedLater) {
  float before = -1, after = -1, in_child = -1, torch_sum = -1;
  bool supported = false;
  std::thread caller([&] {
    before = TwiceADenormal();
    supported = FlushDenormalsToZero();
    after = TwiceADenormal();
    torch_sum = (torch::full({64}, 1e-39f) * 2.0f).sum().item<float>();
    std::thread child([&] { in_child = TwiceADenormal(); });
    child.join();
  });
  caller.join();
  EXPECT_GT(before, 0.0f) << "denormals are already flushed before the call";
  ASSERT_TRUE(supported) << "this CPU has no flush-to-zero mode";
  EXPECT_EQ(after, 0.0f);
  EXPECT_EQ(torch_sum, 0.0f);
  EXPECT_EQ(in_child, 0.0f) << "a thread started after the call did not inherit it";
}

}  // namespace
}  // namespace sasrecllm::model
