// Llama2cTokenizer: llama2.c's BPE tokenizer (tokenizer.bin), encoding and
// decoding exactly as run.c's encode() / decode() / safe_printf().
//
// tokenizer.bin: int32 max_token_length, then per token: float32 score,
// int32 byte length, the bytes. The token count is not stored: it is the
// model's vocab_size (or, when unknown, whatever the file holds).
// Token 1 = BOS, 2 = EOS; byte-fallback tokens "<0x00>".."<0xFF>" are 3..258.
//
//   SASRECLLM_ASSIGN_OR_RETURN(auto tok, Llama2cTokenizer::Load("tok512.bin", 512));
//   std::vector<int> ids = tok->Encode("Once upon", /*bos=*/true, /*eos=*/false);
//   std::string piece = tok->Decode(prev_id, id);
//
// Thread safety: immutable after Load; every method is const.
#ifndef SASRECLLM_MODEL_LLM_TOKENIZERS_LLAMA2C_TOKENIZER_H_
#define SASRECLLM_MODEL_LLM_TOKENIZERS_LLAMA2C_TOKENIZER_H_

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/status.h"

namespace sasrecllm::llm {

class Llama2cTokenizer {
 public:
  static constexpr int kUnk = 0;
  static constexpr int kBos = 1;
  static constexpr int kEos = 2;

  // Reads `vocab_size` tokens (vocab_size < 0: every token in the file).
  // NOT_FOUND for a missing file, DATA_LOSS naming the token index for a
  // truncated or malformed one.
  static StatusOr<std::unique_ptr<Llama2cTokenizer>> Load(const std::string& path,
                                                          int vocab_size = -1);

  int vocab_size() const { return static_cast<int>(vocab_.size()); }
  int max_token_length() const { return max_token_length_; }
  // The token's text as run.c sees it (a C string: cut at the first NUL byte).
  const std::string& piece(int id) const { return vocab_[id]; }
  float score(int id) const { return scores_[id]; }

  // run.c encode(): optional BOS, a dummy-prefix " " token when `text` is
  // non-empty, UTF-8 code points looked up with byte fallback (+3), then
  // greedy merges of the adjacent pair with the highest score; optional EOS.
  // A byte whose fallback token (byte + 3) is not in a short vocabulary
  // becomes <unk> (0), so every id returned is < vocab_size().
  // `text` is treated as a C string (it ends at its first NUL).
  // dummy_prefix = false leaves out the " " token (for text that continues
  // text encoded before); the merges then run over the text alone.
  std::vector<int> Encode(const std::string& text, bool bos, bool eos,
                          bool dummy_prefix = true) const;

  // run.c decode(): the piece for `token`, without its leading space when
  // `prev_token` is BOS, "<0xXX>" turned into that byte. Ids out of range
  // give "".
  std::string Decode(int prev_token, int token) const;

  // What run.c's safe_printf prints for `piece`: nothing for an empty piece
  // or a single byte that is neither printable nor whitespace; otherwise the
  // piece up to its first NUL.
  static std::string SafePiece(const std::string& piece);

  // Decodes a whole sequence: each id but BOS through Decode(previous id, id)
  // (the first id has no previous). safe = true filters each piece through
  // SafePiece, exactly what run.c prints (raw bytes >= 0x80 of byte-fallback
  // tokens are dropped); safe = false keeps every byte, so UTF-8 text that
  // fell back to bytes comes back whole.
  std::string DecodeSequence(const std::vector<int>& ids, bool safe = true) const;

  // The lowest id whose piece is exactly `piece` (spaces are " ", as in
  // " Yes"), else -1.
  int PieceToId(const std::string& piece) const { return Lookup(piece); }

 private:
  Llama2cTokenizer() = default;
  int Lookup(const std::string& s) const;
  int ByteFallback(unsigned char byte) const;  // byte + 3, or kUnk when past the vocabulary

  int max_token_length_ = 0;
  std::vector<std::string> vocab_;  // [V] C-string pieces
  std::vector<float> scores_;       // [V] merge scores
  std::unordered_map<std::string, int> index_;  // piece -> lowest id
};

}  // namespace sasrecllm::llm

#endif  // SASRECLLM_MODEL_LLM_TOKENIZERS_LLAMA2C_TOKENIZER_H_
