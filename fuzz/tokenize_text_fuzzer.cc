// Encode and decode of arbitrary bytes with the real tokenizers in
// ../shared (llama2's SentencePiece tokenizer.model, except under ASan: see
// fuzz_input.h; llama2.c's tok512.bin,
// Llama 3's byte-level BPE as GPT-2 files), each with and without BOS/EOS and
// the leading-space rule. Byte-level BPE loses nothing: decoding what it
// encoded must give the input back (checked, for text that spells no added
// token; a difference aborts).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "model/llm/tokenizers/tokenizer.h"

namespace {

struct Tokenizers {
  std::unique_ptr<sasrecllm::llm::Tokenizer> spm, llama2c, bpe;
};

std::unique_ptr<sasrecllm::llm::Tokenizer> LoadOrDie(const std::string& path, int vocab_size) {
  auto tokenizer = sasrecllm::llm::LoadTokenizer(path, vocab_size);
  if (!tokenizer.ok()) {
    std::fprintf(stderr, "tokenize_text_fuzzer: %s\n", tokenizer.status().ToString().c_str());
    std::abort();
  }
  return std::move(tokenizer).value();
}

const Tokenizers& Shared() {
  static const Tokenizers tokenizers = [] {
    const char* env = std::getenv("SASRECLLM_SHARED");
    const std::string shared = env != nullptr ? env : SASRECLLM_SHARED_DIR;
    Tokenizers t;
    if (sasrecllm::fuzz::kSentencePieceLoads) {
      t.spm = LoadOrDie(shared + "/tokenizers/llama2-spm/tokenizer.model", -1);
    }
    t.llama2c = LoadOrDie(shared + "/models/stories260K/tok512.bin", 512);
    t.bpe = LoadOrDie(shared + "/tokenizers/llama3-bpe/encoder.json", -1);
    return t;
  }();
  return tokenizers;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = sasrecllm::fuzz::AsText(data, size);
  const Tokenizers& t = Shared();
  for (const auto* tokenizer : {t.spm.get(), t.llama2c.get(), t.bpe.get()}) {
    if (tokenizer == nullptr) continue;  // SentencePiece under ASan
    for (bool flags : {false, true}) {
      const std::vector<int> ids = tokenizer->Encode(text, flags, flags, flags);
      (void)tokenizer->Decode(ids);
    }
  }
  // Text spelling an added token ("<|eot_id|>") encodes to that control
  // token, as Hugging Face's tokenizers do, and control tokens decode to "":
  // the round trip holds for text without one.
  if (text.find("<|") != std::string_view::npos) return 0;
  const std::string round_trip = t.bpe->Decode(t.bpe->Encode(text, false, false, false));
  if (round_trip != text) {
    std::fprintf(stderr, "byte-level BPE lost bytes: %zu in, %zu out\n", text.size(),
                 round_trip.size());
    std::abort();
  }
  return 0;
}
