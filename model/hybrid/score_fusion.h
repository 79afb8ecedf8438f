// ScoreFusion: how a hybrid model's P(like) combines the LLM's "Yes" logit
// with SASRec's own logit for the same (history, item) pair:
//
//   logit = llm_weight * yes_logit + sasrec_weight * sasrec_logit + bias
//   P(like) = sigmoid(logit)
//
// sasrec_logit = dot(SASRec user representation of the history, SASRec item
// embedding of the item), the point-wise SASRec's own training logit (0 for a
// cold item, which has no embedding). The default (1, 0, 0) is the LLM alone,
// as CoLLM scores; a fitted fusion is a late fusion (stacking) of the two
// scorers: `sasrecllm fuse-hybrid` fits the three numbers by logistic
// regression on the validation rows (FitScoreFusion) and writes them into the
// checkpoint, and the served bundle applies them to every candidate.
//
//   SASRECLLM_ASSIGN_OR_RETURN(FusionFit fit, FitScoreFusion(yes, sasrec, labels, users));
//   float logit = fit.fusion.Apply(yes_logit, sasrec_logit);
//
// Thread safety: plain values and pure functions.
#ifndef SASRECLLM_MODEL_HYBRID_SCORE_FUSION_H_
#define SASRECLLM_MODEL_HYBRID_SCORE_FUSION_H_

#include <cstdint>
#include <vector>

#include "base/json.h"
#include "base/status.h"

namespace sasrecllm::hybrid {

struct ScoreFusion {
  double llm_weight = 1.0;     // Default: 1 (the LLM's logit as it is)
  double sasrec_weight = 0.0;  // Default: 0 (SASRec not used)
  double bias = 0.0;           // Default: 0

  // True when SASRec's logit takes part (the model then needs a SASRec).
  bool uses_sasrec() const { return sasrec_weight != 0.0; }
  // True for the default: the score is the LLM's "Yes" logit unchanged.
  bool is_identity() const { return llm_weight == 1.0 && sasrec_weight == 0.0 && bias == 0.0; }
  float Apply(float yes_logit, float sasrec_logit) const {
    return static_cast<float>(llm_weight * yes_logit + sasrec_weight * sasrec_logit + bias);
  }

  // {"llm_weight": w, "sasrec_weight": s, "bias": b}.
  Json ToJson() const;
  // The inverse of ToJson. INVALID_ARGUMENT naming the member that is missing
  // or not a finite number.
  static StatusOr<ScoreFusion> FromJson(const Json& json);
};

// What FitScoreFusion found, with the AUCs that tell whether it helps.
struct FusionFit {
  ScoreFusion fusion;
  double llm_auc = 0;     // AUC of the LLM's logit alone on the fitted rows
  double sasrec_auc = 0;  // AUC of SASRec's logit alone
  double fused_auc = 0;   // AUC of the fused logit (in sample)
  // AUC of out-of-fold fused logits: the rows split into `folds` groups by
  // user, each group scored by a fusion fitted on the others (its sasrec
  // weight rescaled to llm weight 1, so that the folds' logits compare).
  // An estimate of the fused AUC on unseen users, and a noisy one: the folds'
  // weights differ, and pooling their logits mixes scales. On the CoLLM
  // split the per-fold gains over SASRec alone ranged from -0.006 to +0.005
  // AUC; read it to the second decimal, not the fourth.
  double cross_validated_auc = 0;
  int iterations = 0;     // Newton steps of the final fit
};

// Logistic regression of `labels` (0/1) on (yes_logits, sasrec_logits) with
// an intercept, by Newton's method (L2 of 1e-6 on the weights for a
// well-posed system), plus a `folds`-fold cross-validation by user.
// INVALID_ARGUMENT when the sizes differ, a class is absent, a value is not
// finite, or folds < 2; FAILED_PRECONDITION when Newton's method does not
// converge in 100 steps.
StatusOr<FusionFit> FitScoreFusion(const std::vector<float>& yes_logits,
                                   const std::vector<float>& sasrec_logits,
                                   const std::vector<int>& labels,
                                   const std::vector<int64_t>& users, int folds = 5);

}  // namespace sasrecllm::hybrid

#endif  // SASRECLLM_MODEL_HYBRID_SCORE_FUSION_H_
