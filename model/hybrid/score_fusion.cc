#include "model/hybrid/score_fusion.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <unordered_map>

#include "base/auc.h"

namespace sasrecllm::hybrid {
namespace {

constexpr int kFeatures = 3;  // intercept, yes logit, sasrec logit
using Weights = std::array<double, kFeatures>;

double Sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

// Newton's method for the L2-regularised logistic regression on the rows in
// `rows`. *iterations receives the steps taken; false when it did not
// converge.
bool FitLogistic(const std::vector<float>& yes, const std::vector<float>& sasrec,
                 const std::vector<int>& labels, const std::vector<size_t>& rows, Weights* w,
                 int* iterations) {
  constexpr double kL2 = 1e-6;
  *w = {0.0, 0.0, 0.0};
  for (int step = 1; step <= 100; ++step) {
    std::array<double, kFeatures> gradient{};
    std::array<std::array<double, kFeatures>, kFeatures> hessian{};
    for (size_t i : rows) {
      const Weights x = {1.0, yes[i], sasrec[i]};
      const double p = Sigmoid((*w)[0] * x[0] + (*w)[1] * x[1] + (*w)[2] * x[2]);
      const double r = p - labels[i];
      const double h = p * (1.0 - p);
      for (int a = 0; a < kFeatures; ++a) {
        gradient[a] += r * x[a];
        for (int b = 0; b < kFeatures; ++b) hessian[a][b] += h * x[a] * x[b];
      }
    }
    for (int a = 1; a < kFeatures; ++a) {
      gradient[a] += kL2 * (*w)[a];
      hessian[a][a] += kL2;
    }
    // Solve hessian * delta = gradient (Gaussian elimination, partial pivoting).
    std::array<std::array<double, kFeatures + 1>, kFeatures> m{};
    for (int a = 0; a < kFeatures; ++a) {
      for (int b = 0; b < kFeatures; ++b) m[a][b] = hessian[a][b];
      m[a][kFeatures] = gradient[a];
    }
    for (int c = 0; c < kFeatures; ++c) {
      int pivot = c;
      for (int r = c + 1; r < kFeatures; ++r) {
        if (std::fabs(m[r][c]) > std::fabs(m[pivot][c])) pivot = r;
      }
      std::swap(m[c], m[pivot]);
      if (m[c][c] == 0.0) return false;  // singular: a constant feature
      for (int r = 0; r < kFeatures; ++r) {
        if (r == c) continue;
        const double f = m[r][c] / m[c][c];
        for (int k = c; k <= kFeatures; ++k) m[r][k] -= f * m[c][k];
      }
    }
    double largest = 0.0;
    for (int a = 0; a < kFeatures; ++a) {
      const double delta = m[a][kFeatures] / m[a][a];
      (*w)[a] -= delta;
      largest = std::max(largest, std::fabs(delta));
    }
    *iterations = step;
    if (!std::isfinite(largest)) return false;
    if (largest < 1e-10) return true;
  }
  return false;
}

std::vector<float> Fused(const std::vector<float>& yes, const std::vector<float>& sasrec,
                         const ScoreFusion& fusion) {
  std::vector<float> out(yes.size());
  for (size_t i = 0; i < yes.size(); ++i) out[i] = fusion.Apply(yes[i], sasrec[i]);
  return out;
}

}  // namespace

Json ScoreFusion::ToJson() const {
  Json j = Json::object();
  j["llm_weight"] = llm_weight;
  j["sasrec_weight"] = sasrec_weight;
  j["bias"] = bias;
  return j;
}

StatusOr<ScoreFusion> ScoreFusion::FromJson(const Json& json) {
  ScoreFusion fusion;
  for (auto [key, field] : {std::pair{"llm_weight", &fusion.llm_weight},
                            std::pair{"sasrec_weight", &fusion.sasrec_weight},
                            std::pair{"bias", &fusion.bias}}) {
    SASRECLLM_ASSIGN_OR_RETURN(*field, GetDouble(json, key));
    if (!std::isfinite(*field)) {
      return InvalidArgumentError(std::string("fusion: \"") + key + "\" is not finite");
    }
  }
  return fusion;
}

StatusOr<FusionFit> FitScoreFusion(const std::vector<float>& yes_logits,
                                   const std::vector<float>& sasrec_logits,
                                   const std::vector<int>& labels,
                                   const std::vector<int64_t>& users, int folds) {
  const size_t n = labels.size();
  if (yes_logits.size() != n || sasrec_logits.size() != n || users.size() != n) {
    return InvalidArgumentError("FitScoreFusion: " + std::to_string(yes_logits.size()) +
                                " LLM logits, " + std::to_string(sasrec_logits.size()) +
                                " SASRec logits, " + std::to_string(n) + " labels, " +
                                std::to_string(users.size()) + " users");
  }
  if (folds < 2) return InvalidArgumentError("FitScoreFusion: folds " + std::to_string(folds));
  int64_t positives = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(yes_logits[i]) || !std::isfinite(sasrec_logits[i])) {
      return InvalidArgumentError("FitScoreFusion: row " + std::to_string(i) +
                                  " has a logit that is not finite");
    }
    positives += labels[i] != 0 ? 1 : 0;
  }
  if (positives == 0 || positives == static_cast<int64_t>(n)) {
    return InvalidArgumentError("FitScoreFusion: the rows need both labels (" +
                                std::to_string(positives) + " positive of " +
                                std::to_string(n) + ")");
  }
  std::vector<int> binary(n);
  for (size_t i = 0; i < n; ++i) binary[i] = labels[i] != 0 ? 1 : 0;

  FusionFit fit;
  std::vector<size_t> all(n);
  for (size_t i = 0; i < n; ++i) all[i] = i;
  Weights w;
  if (!FitLogistic(yes_logits, sasrec_logits, binary, all, &w, &fit.iterations)) {
    return FailedPreconditionError("FitScoreFusion: Newton's method did not converge");
  }
  fit.fusion = ScoreFusion{w[1], w[2], w[0]};
  fit.llm_auc = Auc(yes_logits, binary);
  fit.sasrec_auc = Auc(sasrec_logits, binary);
  fit.fused_auc = Auc(Fused(yes_logits, sasrec_logits, fit.fusion), binary);

  // Folds by user, drawn from a fixed seed: a user's rows are never both
  // fitted and scored.
  std::vector<int64_t> distinct = users;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  std::mt19937_64 rng(20261207);
  std::shuffle(distinct.begin(), distinct.end(), rng);
  std::unordered_map<int64_t, int> fold_of;
  for (size_t k = 0; k < distinct.size(); ++k) fold_of[distinct[k]] = static_cast<int>(k % folds);
  std::vector<float> out_of_fold(n, 0.0f);
  for (int f = 0; f < folds; ++f) {
    std::vector<size_t> train, held_out;
    for (size_t i = 0; i < n; ++i) (fold_of[users[i]] == f ? held_out : train).push_back(i);
    if (held_out.empty()) continue;
    Weights wf;
    int steps = 0;
    if (!FitLogistic(yes_logits, sasrec_logits, binary, train, &wf, &steps) || wf[1] <= 0.0) {
      // A fold without both labels or where the LLM's weight is not positive:
      // score its rows by SASRec alone (what the fusion falls back to).
      wf = {0.0, 0.0, 1.0};
    }
    // Rescaled to an LLM weight of 1 (ranking within a fold is unchanged), so
    // that the folds' logits share a scale when pooled.
    const double ratio = wf[1] > 0.0 ? wf[2] / wf[1] : 1.0;
    const double yes_weight = wf[1] > 0.0 ? 1.0 : 0.0;
    for (size_t i : held_out) {
      out_of_fold[i] = static_cast<float>(yes_weight * yes_logits[i] + ratio * sasrec_logits[i]);
    }
  }
  fit.cross_validated_auc = Auc(out_of_fold, binary);
  return fit;
}

}  // namespace sasrecllm::hybrid
