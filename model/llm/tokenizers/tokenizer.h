// Tokenizer: the one interface the LLM code (prompt building, generation,
// the `tokenize` command) uses for any of the supported tokenizer files:
//   tokenizer.json   Hugging Face byte-level BPE (Llama-3, Qwen2, GPT-2 style)
//   encoder.json     the same in GPT-2's layout, with vocab.bpe beside it
//                    (or HF's vocab.json + merges.txt); see bpe_tokenizer.h
//   tokenizer.model  SentencePiece (Llama-2, TinyLlama, Vicuna, Mistral)
//   tokenizer.bin    llama2.c's BPE (stories260K's tok512.bin)
//
//   SASRECLLM_ASSIGN_OR_RETURN(auto tok, LoadTokenizer("bundle/llm"));
//   std::vector<int> ids = tok->Encode("Hello world", /*bos=*/true, /*eos=*/false);
//   std::string text = tok->Decode(ids);
//
// Thread safety: implementations are immutable after loading; every method
// is const and may be called from several threads.
#ifndef SASRECLLM_MODEL_LLM_TOKENIZERS_TOKENIZER_H_
#define SASRECLLM_MODEL_LLM_TOKENIZERS_TOKENIZER_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace sasrecllm::llm {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // The ids of `text`, preceded by BOS when `bos` and followed by EOS when
  // `eos` (each only when the tokenizer has one). Never fails: text the
  // vocabulary lacks falls back to bytes.
  //
  // `leading_space`: whether the tokenizer's own "dummy prefix" space rule
  // applies (SentencePiece's add_dummy_prefix, llama2.c's leading " "
  // token). Pass false to encode a piece of text that continues other text
  // already encoded (a prompt built from several pieces); byte-level BPE has
  // no such rule and ignores it.
  virtual std::vector<int> Encode(std::string_view text, bool bos, bool eos,
                                  bool leading_space = true) const = 0;

  // The text of `ids` with every byte kept (UTF-8 round-trips); BOS/EOS and
  // other control tokens give nothing, ids outside [0, vocab_size()) give "".
  virtual std::string Decode(const std::vector<int>& ids) const = 0;

  virtual int vocab_size() const = 0;
  virtual int bos_id() const = 0;  // -1 when there is none
  virtual int eos_id() const = 0;  // -1 when there is none

  // The id of `piece` when it is exactly one token of the vocabulary (e.g.
  // "Yes", "▁Yes" or "ĠYes", spelled the vocabulary's way), else -1.
  virtual int PieceToId(std::string_view piece) const = 0;

  // "tokenizer.json", "encoder.json", "tokenizer.model" or "tokenizer.bin":
  // what was loaded.
  virtual std::string kind() const = 0;
};

// Loads a tokenizer from `path`: a file (its kind from its name:
// encoder.json, vocab.json or *.bpe / merges.txt = GPT-2's layout with the
// other file beside it, other *.json = tokenizer.json, *.model, anything
// else = llama2.c tokenizer.bin) or an HF-layout folder, where
// tokenizer.json, tokenizer.model and tokenizer.bin are tried in that order
// (a tokenizer.json this build cannot run, UNIMPLEMENTED, gives way to a
// tokenizer.model beside it), then encoder.json + vocab.bpe and vocab.json +
// merges.txt. `vocab_size` (> 0) is the model's vocabulary size: llama2.c's
// tokenizer.bin needs it (the file does not store its count); for the others
// a tokenizer larger than it is an error (INVALID_ARGUMENT). NOT_FOUND when
// nothing is there, DATA_LOSS for a corrupt file, UNIMPLEMENTED for
// tokenizer.model in a build without SentencePiece or a tokenizer.json of a
// kind not supported (see bpe_tokenizer.h); messages name the file.
StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::string& path, int vocab_size = -1);

}  // namespace sasrecllm::llm

#endif  // SASRECLLM_MODEL_LLM_TOKENIZERS_TOKENIZER_H_
