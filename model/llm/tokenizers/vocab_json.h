// Reading tokenizer vocabularies, JSON objects {"piece": id, ...} with up to
// a few hundred thousand members, straight from the text. nlohmann::ordered_json
// (base/json.h) checks every object member against the ones before it for
// duplicates, which is quadratic: minutes for Llama-3's 128,000 pieces.
//
//   size_t pos = FindJsonMember(text, 0, "model");           // {"model": {...
//   if (pos != std::string_view::npos) pos = FindJsonMember(text, pos, "vocab");
//   SASRECLLM_ASSIGN_OR_RETURN(auto vocab, ParseVocabObject(text, &pos));
//
// Thread safety: stateless functions.
#ifndef SASRECLLM_MODEL_LLM_TOKENIZERS_VOCAB_JSON_H_
#define SASRECLLM_MODEL_LLM_TOKENIZERS_VOCAB_JSON_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace sasrecllm::llm {

// The object at text[*pos] (whitespace first is skipped): members in file
// order, each value an integer in [0, 2^30]; *pos ends just past the '}'.
// INVALID_ARGUMENT naming the byte offset (and the piece, for a bad id) for
// anything else. Repeated pieces are all returned.
StatusOr<std::vector<std::pair<std::string, int>>> ParseVocabObject(std::string_view text,
                                                                    size_t* pos);

// The offset of the value of member `key` (spelled without escapes) of the
// object at text[pos] (whitespace first is skipped), or npos when the value
// is not an object's member or the JSON up to it is malformed.
size_t FindJsonMember(std::string_view text, size_t pos, std::string_view key);

}  // namespace sasrecllm::llm

#endif  // SASRECLLM_MODEL_LLM_TOKENIZERS_VOCAB_JSON_H_
