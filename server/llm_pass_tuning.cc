#include "server/llm_pass_tuning.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/status_util.h"

namespace sasrecllm::server {

namespace {

// A larger pass must be this much cheaper per request to be kept: below it,
// the difference is noise, and the smaller pass answers sooner.
constexpr double kRequiredGain = 0.95;

}  // namespace

int ChoosePassRequests(const std::vector<LlmPassMeasurement>& measured) {
  LlmPassMeasurement best = measured.front();
  for (const LlmPassMeasurement& m : measured) {
    if (m.seconds_per_request < kRequiredGain * best.seconds_per_request) best = m;
  }
  return best.requests;
}

std::string LlmPassTuning::Summary() const {
  std::string out;
  for (const LlmPassMeasurement& m : measured) {
    absl::StrAppend(&out, out.empty() ? "" : ", ", m.requests, ": ",
                    absl::StrFormat("%.3g", m.seconds_per_request), " s");
  }
  absl::StrAppend(&out, " per request -> ", requests_per_pass,
                  requests_per_pass == 1 ? " request" : " requests", " per pass (budget ",
                  max_batch_tokens, " tokens; one request ", tokens_per_request, ")");
  return out;
}

absl::StatusOr<LlmPassTuning> LlmPassTuner::Tune(hybrid::HybridReranker* reranker,
                                                 const hybrid::RerankQuery& query) const {
  torch::NoGradGuard no_grad;
  const int64_t configured = reranker->options().max_batch_tokens;
  LlmPassTuning tuning;
  {
    hybrid::RerankStats stats;
    auto first = reranker->YesLogits({query}, nullptr, &stats);  // untimed: allocations, caches
    if (!first.ok()) return FromModelStatus(first.status());
    tuning.tokens_per_request = std::max<int64_t>(stats.budget_tokens, 1);
  }
  // Seconds per request of a pass of `requests` copies of `query`: the
  // fastest of `repeats` runs.
  auto time_pass = [&](int requests, int repeats) -> absl::StatusOr<double> {
    const std::vector<hybrid::RerankQuery> queries(requests, query);
    double best = 0;
    for (int r = 0; r < repeats; ++r) {
      const auto start = std::chrono::steady_clock::now();
      auto logits = reranker->YesLogits(queries);
      if (!logits.ok()) return FromModelStatus(logits.status());
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      best = r == 0 ? s : std::min(best, s);
    }
    return best / requests;
  };
  int repeats = 1;
  for (int requests = 1; requests <= std::max(options_.max_requests, 1); requests *= 2) {
    if (requests > 1) {
      // A pass the configured budget would split is no larger pass at all.
      if (requests * tuning.tokens_per_request > configured) break;
      const double expected = requests * tuning.measured.back().seconds_per_request;
      if (expected > options_.max_pass_seconds) break;
    }
    absl::StatusOr<double> seconds = time_pass(requests, repeats);
    if (!seconds.ok()) return seconds.status();
    if (requests == 1 && *seconds < 0.5) {
      // Fast passes are noisy: time this one and the rest several times.
      repeats = std::max(options_.repeats_below_half_second, 1);
      seconds = time_pass(1, repeats);
      if (!seconds.ok()) return seconds.status();
    }
    tuning.measured.push_back({requests, *seconds});
    if (ChoosePassRequests(tuning.measured) != requests && requests > 1) break;  // no better
  }
  tuning.requests_per_pass = ChoosePassRequests(tuning.measured);
  if (tuning.StillImproving()) {
    // Larger passes are not known to be worse: the configured budget stands.
    tuning.max_batch_tokens = configured;
  } else {
    // That many requests, and half of one more for prompts longer than the
    // warm-up's.
    tuning.max_batch_tokens = std::min<int64_t>(
        configured, tuning.tokens_per_request * (2 * tuning.requests_per_pass + 1) / 2);
  }
  return tuning;
}

}  // namespace sasrecllm::server
