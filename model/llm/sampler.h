// Llama2cSampler: run.c's sampler, bit for bit: argmax at temperature 0,
// otherwise softmax(logits / T) then multinomial or top-p (nucleus)
// sampling with run.c's xorshift generator, so a seeded run picks the same
// tokens as llama2.c.
//
//   Llama2cSampler sampler(vocab_size, /*temperature=*/0.8f, /*topp=*/0.9f, /*seed=*/42);
//   int next = sampler.Sample(logits);  // logits: std::vector<float> [V], modified
//
// Thread safety: not thread-safe (holds the RNG state).
#ifndef SASRECLLM_MODEL_LLM_SAMPLER_H_
#define SASRECLLM_MODEL_LLM_SAMPLER_H_

#include <cstdint>
#include <vector>

namespace sasrecllm::llm {

// run.c random_u32 / random_f32 (xorshift*).
uint32_t RandomU32(uint64_t* state);
float RandomF32(uint64_t* state);

class Llama2cSampler {
 public:
  // temperature 0 = greedy; topp outside (0, 1) = plain multinomial.
  Llama2cSampler(int vocab_size, float temperature, float topp, uint64_t seed)
      : vocab_size_(vocab_size), temperature_(temperature), topp_(topp), rng_state_(seed) {}

  // Samples one id from `logits` ([vocab_size] float32; overwritten with the
  // probabilities when temperature > 0).
  int Sample(std::vector<float>& logits);

 private:
  struct ProbIndex {
    float prob;
    int index;
  };
  int SampleTopP(const std::vector<float>& probs, float coin);

  int vocab_size_;
  float temperature_;
  float topp_;
  uint64_t rng_state_;
  std::vector<ProbIndex> probindex_;  // [V] scratch for top-p
};

}  // namespace sasrecllm::llm

#endif  // SASRECLLM_MODEL_LLM_SAMPLER_H_
