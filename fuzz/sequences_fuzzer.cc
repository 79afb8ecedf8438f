// A SASRec sequence file (`user item` pairs or `user item...` lists) from
// arbitrary bytes, in each layout, then the leave-last-two split of what
// parsed.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_input.h"
#include "model/interaction_data.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using sasrecllm::model::SequenceFormat;
  const std::string_view text = sasrecllm::fuzz::AsText(data, size);
  for (SequenceFormat format : {SequenceFormat::kAuto, SequenceFormat::kPairs,
                                SequenceFormat::kLists}) {
    auto parsed = sasrecllm::model::ParseSequences(text, format, "fuzz.txt");
    if (parsed.ok()) (void)sasrecllm::model::SplitLeaveLastTwo(*parsed);
  }
  return 0;
}
