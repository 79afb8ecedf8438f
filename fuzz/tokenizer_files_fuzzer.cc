// Each tokenizer file format from arbitrary bytes, through LoadTokenizer
// (which picks the reader by file name): llama2.c's tokenizer.bin, Hugging
// Face's tokenizer.json, SentencePiece's tokenizer.model (through the
// plugin; not under ASan, see fuzz_input.h), and GPT-2's encoder.json + vocab.bpe (the input split at "\n--\n").
// What loads then encodes and decodes a text taken from the input.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "model/llm/tokenizers/llama2c_tokenizer.h"
#include "model/llm/tokenizers/tokenizer.h"

namespace {

void Exercise(const std::string& path, int vocab_size, std::string_view text) {
  auto tokenizer = sasrecllm::llm::LoadTokenizer(path, vocab_size);
  if (!tokenizer.ok()) return;
  const std::string sample(text.substr(0, 256));
  const std::vector<int> ids = (*tokenizer)->Encode(sample, true, true);
  (void)(*tokenizer)->Decode(ids);
  (void)(*tokenizer)->Decode({-1, 0, 1, 1 << 30});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using sasrecllm::fuzz::WriteInput;
  const std::string_view input = sasrecllm::fuzz::AsText(data, size);
  // llama2.c's file does not store its vocabulary size: take every token in
  // it (the reader itself, with -1), then load it as a model of that size.
  const std::string bin = WriteInput("tokenizer.bin", input);
  auto every_token = sasrecllm::llm::Llama2cTokenizer::Load(bin, -1);
  Exercise(bin, every_token.ok() ? (*every_token)->vocab_size() : 1, input);
  Exercise(WriteInput("tokenizer.json", input), -1, input);
  if (sasrecllm::fuzz::kSentencePieceLoads) {
    Exercise(WriteInput("tokenizer.model", input), -1, input);
  }
  auto [encoder, merges] = sasrecllm::fuzz::SplitInTwo(input);
  WriteInput("vocab.bpe", merges);
  Exercise(WriteInput("encoder.json", encoder), -1, input);
  return 0;
}
