// BpeTokenizer: byte-level BPE (GPT-2, Llama-3, Qwen2), as Hugging Face
// tokenizers runs a tokenizer.json with model.type "BPE", a ByteLevel
// pre-tokenizer and decoder.
//
// Encoding: added tokens (<|begin_of_text|>, <|eot_id|>, ...) are matched
// literally first (leftmost, longest); the text between them is split into
// words by the pre-tokenizer regex (bpe_pretokenizer.h), each word's bytes
// are spelled with GPT-2's byte-to-unicode table ("Ġ" for " ", "Ċ" for
// "\n") and merged by rank: the lowest-ranked adjacent pair first, leftmost
// among equals, through a priority queue (O(n log n) per word).
//
// Files:
//   tokenizer.json                Hugging Face's format (LoadTokenizerJson)
//   encoder.json + vocab.bpe      GPT-2's layout, also HF's vocab.json +
//                                 merges.txt (LoadGpt2Files)
//
//   SASRECLLM_ASSIGN_OR_RETURN(auto tok, BpeTokenizer::LoadTokenizerJson("tokenizer.json"));
//   std::vector<int> ids = tok->Encode("hello world", /*bos=*/false, /*eos=*/false);
//   // Llama-3: {15339, 1917}; tok->Decode(ids) == "hello world"
//
// Not supported (UNIMPLEMENTED when a tokenizer.json asks for it): other
// model types (WordPiece, Unigram), SentencePiece-style BPE (Metaspace,
// byte_fallback; load tokenizer.model instead), pre-tokenizer regexes other
// than GPT-2's, Llama-3's and Qwen2's, normalizers other than none and NFC.
// NFC is accepted but not applied: text is taken to be NFC already (it
// nearly always is); text that is not may tokenize differently from HF.
//
// Thread safety: immutable after creation; every method is const and may be
// called from several threads.
#ifndef SASRECLLM_MODEL_LLM_TOKENIZERS_BPE_TOKENIZER_H_
#define SASRECLLM_MODEL_LLM_TOKENIZERS_BPE_TOKENIZER_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "model/llm/tokenizers/bpe_pretokenizer.h"
#include "model/llm/tokenizers/tokenizer.h"
#include "base/status.h"

namespace sasrecllm::llm {

class BpeTokenizer final : public Tokenizer {
 public:
  // A token matched literally in the input before pre-tokenization.
  struct AddedToken {
    std::string content;
    int id = -1;
    bool special = true;       // a control token: Decode gives nothing for it
    bool lstrip = false;       // the match also takes ASCII whitespace before it
    bool rstrip = false;       // ... and after it
    bool single_word = false;  // not matched next to a letter, digit or '_'
  };

  // For Options::bos_id / eos_id.
  static constexpr int kNone = -1;
  static constexpr int kByName = -2;

  // A tokenizer's parts, as read from its files.
  struct Options {
    // Byte-level pieces (spelled with the byte-to-unicode table) and ids.
    std::vector<std::pair<std::string, int>> vocab;
    // Merges in rank order (rank 0 first): the pieces of each pair, which
    // must be in `vocab`, as must their concatenation.
    std::vector<std::pair<std::string, std::string>> merges;
    std::vector<AddedToken> added_tokens;
    // Default: GPT-2's.
    PreTokenizerPattern pattern = PreTokenizerPattern::kGpt2;
    // ByteLevel's add_prefix_space: a " " before each stretch of text that
    // does not start with one (only when Encode's leading_space). Default: false.
    bool add_prefix_space = false;
    // A word that is itself one vocabulary piece is that piece, merges or not
    // (tokenizer.json's model.ignore_merges; Llama-3 sets it). Default: false.
    bool ignore_merges = false;
    // BOS / EOS ids; kByName: the added token or piece named
    // <|begin_of_text|> or <s> (BOS), <|end_of_text|>, </s> or <|endoftext|>
    // (EOS), else kNone. Default: kByName.
    int bos_id = kByName;
    int eos_id = kByName;
    // What kind() returns. Default: "tokenizer.json".
    std::string kind = "tokenizer.json";
    // Named in error messages (the file read). Default: "BPE tokenizer".
    std::string source = "BPE tokenizer";
  };

  // DATA_LOSS, naming `options.source`, for a negative id, a merge whose
  // pieces are not in the vocabulary, or a BOS/EOS id outside it.
  static StatusOr<std::unique_ptr<BpeTokenizer>> Create(Options options);

  // A Hugging Face tokenizer.json. NOT_FOUND for a missing file; DATA_LOSS
  // for malformed JSON or a missing/mistyped field; UNIMPLEMENTED for a
  // tokenizer this class does not run (see above). Messages name `path`.
  // BOS/EOS come from the post_processor's template (the special token before
  // / after $A), else by name (see Options).
  static StatusOr<std::unique_ptr<BpeTokenizer>> LoadTokenizerJson(const std::string& path);

  // GPT-2's file layout: `vocab_json` (piece -> id: encoder.json or
  // vocab.json) and `merges_txt` (one "a b" per line, in rank order, after an
  // optional "#version" line: vocab.bpe or merges.txt). These files do not
  // name the pre-tokenizer; unless `pattern` is given it is inferred from the
  // vocabulary's digits, which each pattern shapes differently: a piece with 4
  // or more digits in a row or a digit after "Ġ" means GPT-2's, 2 or 3 digits
  // at most Llama-3's, single digits only Qwen2's. With Llama-3's pattern
  // (tiktoken's vocabularies) ignore_merges is set, as Llama-3's
  // tokenizer.json does.
  // Added tokens: the pieces spelled <|...|> (GPT-2's <|endoftext|>), those of
  // an added_tokens.json beside `vocab_json` (HF's {"content": id}), and, for
  // the Llama-3 vocabulary (128000 pieces, Llama-3's pattern, no <|...|>
  // piece), Llama-3.1/3.2's 256 special tokens as ids 128000..128255
  // (<|begin_of_text|>, <|end_of_text|>, <|start_header_id|>, <|eot_id|>, ...).
  // kind() is "encoder.json". Errors as LoadTokenizerJson, naming the file.
  static StatusOr<std::unique_ptr<BpeTokenizer>> LoadGpt2Files(
      const std::string& vocab_json, const std::string& merges_txt,
      std::optional<PreTokenizerPattern> pattern = std::nullopt);

  // Tokenizer. Encode's `leading_space` only matters with add_prefix_space.
  std::vector<int> Encode(std::string_view text, bool bos, bool eos,
                          bool leading_space = true) const override;
  std::string Decode(const std::vector<int>& ids) const override;
  int vocab_size() const override { return static_cast<int>(decoded_.size()); }
  int bos_id() const override { return bos_id_; }
  int eos_id() const override { return eos_id_; }
  int PieceToId(std::string_view piece) const override;
  std::string kind() const override { return kind_; }

  PreTokenizerPattern pattern() const { return pattern_; }
  int num_merges() const { return static_cast<int>(merges_.size()); }
  int num_added_tokens() const { return static_cast<int>(added_.size()); }

 private:
  struct Merge {
    int rank;
    int id;  // of the merged piece
  };
  // A stretch of the input: text to pre-tokenize, or one added token.
  struct Segment {
    std::string_view text;
    int id = -1;  // >= 0: an added token
  };

  BpeTokenizer() = default;

  static uint64_t PairKey(int left, int right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
           static_cast<uint32_t>(right);
  }
  // The added tokens and the text between them.
  std::vector<Segment> SplitAddedTokens(std::string_view text) const;
  // Length of the added token `index` matched at text[pos], or 0.
  size_t MatchAdded(std::string_view text, size_t pos, int index) const;
  // Appends the ids of one pre-tokenized word.
  void EncodeWord(std::string_view word, std::vector<int>* ids) const;

  std::string kind_;
  PreTokenizerPattern pattern_ = PreTokenizerPattern::kGpt2;
  bool add_prefix_space_ = false;
  bool ignore_merges_ = false;
  int bos_id_ = -1;
  int eos_id_ = -1;
  std::array<int, 256> byte_ids_{};             // byte -> id of its one-char piece, -1 = none
  std::array<std::string, 256> byte_chars_;     // byte -> its UTF-8 byte-level char
  std::unordered_map<std::string, int> vocab_;  // byte-level piece -> id
  std::unordered_map<uint64_t, Merge> merges_;  // PairKey(left, right) -> merge
  std::vector<AddedToken> added_;               // those with non-empty content
  // First byte -> indices into added_, longest content first.
  std::array<std::vector<int>, 256> added_by_byte_;
  std::unordered_map<std::string, int> added_ids_;  // content -> id
  std::vector<std::string> decoded_;  // [vocab_size] id -> bytes ("" for control tokens)
};

}  // namespace sasrecllm::llm

#endif  // SASRECLLM_MODEL_LLM_TOKENIZERS_BPE_TOKENIZER_H_
