// BpePreTokenizer: splits text into the words that byte-level BPE merges
// within, exactly as the regexes of GPT-2, Llama-3 and Qwen2 do (Hugging
// Face tokenizers' Split / ByteLevel pre-tokenizers, tiktoken), without a
// regex engine: std::regex has no \p{L} or \p{N}, so each pattern is a small
// hand-written scanner over code points with leftmost-first alternation and
// the backtracking of \s*, \s+(?!\S) spelled out.
//
//   kGpt2    's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   kLlama3  (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//            ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//   kQwen2   kLlama3 with \p{N} (one digit) instead of \p{N}{1,3}
//
//   SASRECLLM_ASSIGN_OR_RETURN(PreTokenizerPattern p, PreTokenizerPatternFromRegex(regex));
//   for (std::string_view word : PreTokenize("Hello world!", p)) ...  // "Hello" " world" "!"
//
// \s is Unicode's White_Space property, \p{L} and \p{N} the general
// categories L* and N* of unicode_tables.inc (Unicode 14). A byte that is not
// valid UTF-8 counts as one character of no class (like U+FFFD, but its
// byte is kept). Checked against Python's `regex` module on random text.
//
// Thread safety: stateless functions.
#ifndef SASRECLLM_MODEL_LLM_TOKENIZERS_BPE_PRETOKENIZER_H_
#define SASRECLLM_MODEL_LLM_TOKENIZERS_BPE_PRETOKENIZER_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace sasrecllm::llm {

enum class PreTokenizerPattern { kGpt2, kLlama3, kQwen2 };

// The pattern a Hugging Face Split pre-tokenizer's "Regex" spells (compared
// exactly, with literal CR/LF characters read as \r / \n). UNIMPLEMENTED,
// quoting `regex`, for any other.
StatusOr<PreTokenizerPattern> PreTokenizerPatternFromRegex(std::string_view regex);

// The regex of `pattern`, as tokenizer.json spells it.
const char* PreTokenizerPatternRegex(PreTokenizerPattern pattern);

// The successive matches of `pattern` in `text`: they cover the text exactly
// (every byte is in one word, in order), so joining them gives `text` back.
// The views point into `text`.
std::vector<std::string_view> PreTokenize(std::string_view text, PreTokenizerPattern pattern);

}  // namespace sasrecllm::llm

#endif  // SASRECLLM_MODEL_LLM_TOKENIZERS_BPE_PRETOKENIZER_H_
