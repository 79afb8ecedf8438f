#include "model/llm/sampler.h"

#include <algorithm>
#include <cmath>

namespace sasrecllm::llm {
namespace {

int SampleArgmax(const std::vector<float>& p, int n) {
  int max_i = 0;
  float max_p = p[0];
  for (int i = 1; i < n; ++i) {
    if (p[i] > max_p) {
      max_i = i;
      max_p = p[i];
    }
  }
  return max_i;
}

int SampleMult(const std::vector<float>& p, int n, float coin) {
  float cdf = 0.0f;
  for (int i = 0; i < n; ++i) {
    cdf += p[i];
    if (coin < cdf) return i;
  }
  return n - 1;  // in case of rounding errors
}

void Softmax(std::vector<float>& x, int n) {
  float max_val = x[0];
  for (int i = 1; i < n; ++i) max_val = std::max(max_val, x[i]);
  float sum = 0.0f;
  for (int i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max_val);
    sum += x[i];
  }
  for (int i = 0; i < n; ++i) x[i] /= sum;
}

}  // namespace

uint32_t RandomU32(uint64_t* state) {
  *state ^= *state >> 12;
  *state ^= *state << 25;
  *state ^= *state >> 27;
  return static_cast<uint32_t>((*state * 0x2545F4914F6CDD1Dull) >> 32);
}

float RandomF32(uint64_t* state) { return (RandomU32(state) >> 8) / 16777216.0f; }

int Llama2cSampler::SampleTopP(const std::vector<float>& probs, float coin) {
  const int n = vocab_size_;
  // Tokens below (1 - topp) / (n - 1) can never be in the nucleus: drop them
  // before sorting.
  probindex_.clear();
  const float cutoff = (1.0f - topp_) / (n - 1);
  for (int i = 0; i < n; ++i) {
    if (probs[i] >= cutoff) probindex_.push_back({probs[i], i});
  }
  // glibc's qsort is a merge sort (stable) for arrays this size.
  std::stable_sort(probindex_.begin(), probindex_.end(),
                   [](const ProbIndex& a, const ProbIndex& b) { return a.prob > b.prob; });
  const int n0 = static_cast<int>(probindex_.size());
  float cumulative_prob = 0.0f;
  int last_idx = n0 - 1;
  for (int i = 0; i < n0; ++i) {
    cumulative_prob += probindex_[i].prob;
    if (cumulative_prob > topp_) {
      last_idx = i;
      break;
    }
  }
  const float r = coin * cumulative_prob;
  float cdf = 0.0f;
  for (int i = 0; i <= last_idx; ++i) {
    cdf += probindex_[i].prob;
    if (r < cdf) return probindex_[i].index;
  }
  return probindex_[last_idx].index;
}

int Llama2cSampler::Sample(std::vector<float>& logits) {
  if (temperature_ == 0.0f) return SampleArgmax(logits, vocab_size_);
  for (int q = 0; q < vocab_size_; ++q) logits[q] /= temperature_;
  Softmax(logits, vocab_size_);
  const float coin = RandomF32(&rng_state_);
  if (topp_ <= 0 || topp_ >= 1) return SampleMult(logits, vocab_size_, coin);
  return SampleTopP(logits, coin);
}

}  // namespace sasrecllm::llm
