// Text generation with a LlamaModel and a llama2.c tokenizer: run.c's
// generate() loop, one token per step through the KV cache.
//
//   GenerateOptions options;
//   options.prompt = "Once upon a time";
//   options.steps = 128;
//   options.temperature = 0.0f;  // greedy
//   SASRECLLM_ASSIGN_OR_RETURN(GenerateResult r, Generate(*model, *tokenizer, options,
//       [](const std::string& piece) { std::fputs(piece.c_str(), stdout); }));
//
// Thread safety: Generate only reads the model and tokenizer.
#ifndef SASRECLLM_MODEL_LLM_GENERATE_H_
#define SASRECLLM_MODEL_LLM_GENERATE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/llm/tokenizers/llama2c_tokenizer.h"
#include "model/llm/llama_model.h"
#include "base/status.h"

namespace sasrecllm::llm {

struct GenerateOptions {
  std::string prompt;         // Default: "" (generation starts right after BOS)
  int steps = 256;            // positions, BOS and prompt included; 0 or more than
                              // max_position_embeddings = max_position_embeddings
  float temperature = 1.0f;   // 0 = greedy (argmax); < 0 is taken as 0
  float topp = 0.9f;          // nucleus; outside [0, 1] is taken as 0.9 (as run.c)
  uint64_t seed = 0;          // xorshift seed; 0 = the current time (as run.c)
  int record_logits = 0;      // keep the logits of the first N positions
};

struct GenerateResult {
  // The token fed at each position (BOS first, then the prompt, then sampled
  // tokens), followed by the last sampled token.
  std::vector<int> tokens;
  std::string text;  // what run.c prints to stdout, without its final "\n"
  std::vector<std::vector<float>> logits;  // [min(record_logits, positions)][V] float32
  int positions = 0;                        // forward passes run
  double tokens_per_second = 0.0;           // as run.c: (positions - 1) after the first step
};

// Runs run.c's loop: forward(token, pos); the next token is the prompt's
// while inside it, else sampled; stops at BOS or after `steps` positions.
// `on_piece` (may be empty) receives each printed piece as it is produced.
StatusOr<GenerateResult> Generate(const LlamaModel& model, const Llama2cTokenizer& tokenizer,
                                  const GenerateOptions& options,
                                  const std::function<void(const std::string&)>& on_piece = {});

}  // namespace sasrecllm::llm

#endif  // SASRECLLM_MODEL_LLM_GENERATE_H_
