#include "model/llm/generate.h"

#include <chrono>
#include <ctime>

#include "model/llm/sampler.h"
#include "model/torch_errors.h"

namespace sasrecllm::llm {

StatusOr<GenerateResult> Generate(const LlamaModel& model, const Llama2cTokenizer& tokenizer,
                                  const GenerateOptions& options,
                                  const std::function<void(const std::string&)>& on_piece) {
  const LlamaConfig& config = model.config();
  if (tokenizer.vocab_size() != config.vocab_size) {
    return InvalidArgumentError("tokenizer has " + std::to_string(tokenizer.vocab_size()) +
                                " tokens, the model's vocab_size is " +
                                std::to_string(config.vocab_size));
  }
  int steps = options.steps;
  if (steps <= 0 || steps > config.max_position_embeddings) {
    steps = static_cast<int>(config.max_position_embeddings);
  }
  float temperature = options.temperature < 0.0f ? 0.0f : options.temperature;
  float topp = (options.topp < 0.0f || options.topp > 1.0f) ? 0.9f : options.topp;
  uint64_t seed = options.seed != 0 ? options.seed : static_cast<uint64_t>(std::time(nullptr));
  Llama2cSampler sampler(static_cast<int>(config.vocab_size), temperature, topp, seed);

  const std::vector<int> prompt = tokenizer.Encode(options.prompt, /*bos=*/true, /*eos=*/false);
  SASRECLLM_ASSIGN_OR_RETURN(KvCache cache, model.NewCache(/*batch_size=*/1, steps));

  GenerateResult result;
  int token = prompt[0];
  result.tokens.push_back(token);
  int pos = 0;
  using Clock = std::chrono::steady_clock;
  Clock::time_point start;
  bool timing = false;
  std::vector<float> logits(static_cast<size_t>(config.vocab_size));
  while (pos < steps) {
    ForwardArgs args;
    args.input_ids = torch::full({1, 1}, static_cast<int64_t>(token), torch::kLong);  // [1, 1]
    args.logits = LogitsMode::kLast;
    SASRECLLM_ASSIGN_OR_RETURN(torch::Tensor out, model.Forward(args, &cache));  // [1, 1, V]
    try {
      torch::Tensor row = out.reshape({-1}).to(torch::kCPU).contiguous();  // [V] float32
      std::copy(row.data_ptr<float>(), row.data_ptr<float>() + row.numel(), logits.begin());
    } catch (const std::exception& e) {
      return InternalError(std::string("Generate: ") + TorchErrorMessage(e));
    }
    if (pos < options.record_logits) result.logits.push_back(logits);

    int next;
    if (pos < static_cast<int>(prompt.size()) - 1) {
      next = prompt[pos + 1];  // still inside the prompt: force its next token
    } else {
      next = sampler.Sample(logits);
    }
    ++pos;
    if (next == Llama2cTokenizer::kBos) break;  // BOS delimits sequences
    result.tokens.push_back(next);
    const std::string piece = Llama2cTokenizer::SafePiece(tokenizer.Decode(token, next));
    result.text += piece;
    if (on_piece && !piece.empty()) on_piece(piece);
    token = next;
    if (!timing) {  // the first iteration can be slower
      start = Clock::now();
      timing = true;
    }
  }
  result.positions = pos;
  if (pos > 1 && timing) {
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    result.tokens_per_second = seconds > 0 ? (pos - 1) / seconds : 0.0;
  }
  return result;
}

}  // namespace sasrecllm::llm
