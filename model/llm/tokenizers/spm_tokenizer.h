// SpmTokenizer: a SentencePiece tokenizer (`tokenizer.model`, as shipped with
// Llama-2, TinyLlama, Vicuna and Mistral) through libsentencepiece.
//
// Encoding follows the model's own normalizer spec; for Llama-2 that means
// add_dummy_prefix (a "▁" before the text), no whitespace collapsing and byte
// fallback ("<0x0A>" for "\n"). This is exactly what llama.cpp's SPM
// tokenizer does (its llama-spm test vectors pass unchanged).
//
//   SASRECLLM_ASSIGN_OR_RETURN(auto tok, SpmTokenizer::Load("tokenizer.model"));
//   std::vector<int> ids = tok->Encode("Hello world", /*bos=*/true, /*eos=*/false);
//   std::string text = tok->Decode(ids);  // "Hello world"
//
// Only built where SentencePiece is found (SASRECLLM_HAVE_SENTENCEPIECE=1).
// libsentencepiece is not linked: it lives in a plugin (spm_shim.cc, the
// MODULE library sasrecllm_spm_shim) loaded on first Load(), because its
// bundled protobuf clashes with libtorch's (see spm_shim.cc).
//
// Thread safety: immutable after Load; every method is const and may be
// called from several threads (SentencePieceProcessor's const methods are).
#ifndef SASRECLLM_MODEL_LLM_TOKENIZERS_SPM_TOKENIZER_H_
#define SASRECLLM_MODEL_LLM_TOKENIZERS_SPM_TOKENIZER_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace sasrecllm::llm {

class SpmTokenizer {
 public:
  // NOT_FOUND for a missing file, DATA_LOSS for one SentencePiece cannot
  // parse (both messages name `path`), FAILED_PRECONDITION when the plugin
  // (its path: $SASRECLLM_SPM_SHIM, else PREFIX/lib/sasrecllm/ beside an
  // installed binary, else the build's) cannot be loaded.
  static StatusOr<std::unique_ptr<SpmTokenizer>> Load(const std::string& path);

  ~SpmTokenizer();
  SpmTokenizer(const SpmTokenizer&) = delete;
  SpmTokenizer& operator=(const SpmTokenizer&) = delete;

  // The ids of `text` (with the model's dummy-prefix space), preceded by BOS
  // when `bos` and followed by EOS when `eos`. Empty text gives no ids but
  // the requested BOS/EOS. Never fails: unknown text falls back to bytes.
  //
  // leading_space = false: without the dummy prefix, for text that continues
  // text encoded before (Encode("Hello") + Encode(" world", ..., false) ==
  // Encode("Hello world")). SentencePiece cannot switch add_dummy_prefix off
  // per call, so this encodes "\n" + text and drops the ids that "\n" alone
  // encodes to (Hugging Face's LlamaTokenizer, legacy=False, does the same
  // with "<unk>"): the dummy "▁" goes before the newline, and in Llama-2's
  // vocabulary a newline is a byte-fallback token that no piece spans. When
  // a piece does span it (a vocabulary with "\n" pieces, a normalizer that
  // rewrites newlines), it encodes `text` with the prefix and drops a first
  // token that is a lone "▁" when `text` does not start with a space; a first
  // piece that merged the "▁" into a word then keeps it.
  std::vector<int> Encode(std::string_view text, bool bos, bool eos,
                          bool leading_space = true) const;

  // The text of `ids`: byte-fallback tokens become their bytes, "▁" a space,
  // the dummy-prefix space of the first token is dropped, control tokens
  // (BOS, EOS) give nothing. Ids outside [0, vocab_size()) give "".
  // Decode(Encode(text)) == text for the Llama-2 model (identity normalizer).
  std::string Decode(const std::vector<int>& ids) const;

  // The id of `piece` (spelled the vocabulary's way: "▁Yes"), -1 when it is
  // not a piece of the vocabulary.
  int PieceToId(std::string_view piece) const;

  int vocab_size() const { return vocab_size_; }
  int bos_id() const { return bos_id_; }  // -1 when the model has none
  int eos_id() const { return eos_id_; }  // -1 when the model has none
  const std::string& path() const { return path_; }

  struct Api;  // the plugin's entry points

 private:
  SpmTokenizer() = default;
  // The ids of `text` as SentencePiece encodes it; none on an internal error.
  std::vector<int> EncodeRaw(const std::string& text) const;

  const Api* api_ = nullptr;
  void* processor_ = nullptr;  // owned sentencepiece::SentencePieceProcessor
  std::string path_;
  int vocab_size_ = 0;
  int bos_id_ = -1;
  int eos_id_ = -1;
};

}  // namespace sasrecllm::llm

#endif  // SASRECLLM_MODEL_LLM_TOKENIZERS_SPM_TOKENIZER_H_
