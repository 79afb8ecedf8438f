// Point-wise ranking quality: AUC, UAUC (per-user AUC averaged over users) and
// the all / warm / cold report used on the CoLLM split (../shared/data/README.md).
//
// AUC is the Mann-Whitney statistic with average ranks, so a tied
// (positive, negative) pair counts half; it costs one sort, O(n log n). UAUC is
// CoLLM's: the unweighted mean of each user's own AUC over the users that have
// both a positive and a negative row (the others are skipped).
//
//   double auc = Auc(scores, labels);               // NaN when a class is absent
//   SASRECLLM_ASSIGN_OR_RETURN(PointwiseReport r, EvaluatePointwise(scores, rows));
//   std::cout << r.ToString();                      // one line per subset
//
// Labels: 1 (any non-zero value) = positive, 0 = negative. A NaN score ranks
// below every number (all NaNs tie with each other).
//
// Thread safety: pure functions of their arguments; no shared state.
#ifndef SASRECLLM_MODEL_AUC_H_
#define SASRECLLM_MODEL_AUC_H_

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "model/interaction_data.h"
#include "model/json.h"
#include "model/status.h"

namespace sasrecllm::model {

// AUC of `scores` against binary `labels` (1 positive, 0 negative); tied
// scores count half (Mann-Whitney with average ranks). NaN when a class is
// absent (or when the sizes differ).
double Auc(const std::vector<float>& scores, const std::vector<int>& labels);

struct UaucResult {
  double uauc = NAN;
  int64_t users = 0;  // users with both labels
};

// Mean over users (that have both labels) of their own AUC. NaN with users = 0
// when no user has both labels (or when the sizes differ).
UaucResult Uauc(const std::vector<float>& scores, const std::vector<int>& labels,
                const std::vector<int64_t>& users);

struct PointwiseMetrics {
  double auc = NAN;
  double uauc = NAN;
  int64_t rows = 0;
  int64_t uauc_users = 0;
};

struct PointwiseReport {
  PointwiseMetrics all, warm, cold;

  // {"all": {"auc", "uauc", "rows", "uauc_users"}, "warm": {...}, "cold": {...}};
  // NaN is written as null.
  Json ToJson() const;
  // One readable line per subset, each ending in '\n':
  //   "all   AUC 0.7078  UAUC 0.6884  (7331 rows, 598 users with both labels)"
  std::string ToString() const;
};

// scores[i] belongs to rows[i] (its user_id and label); warm/cold from
// CollmRow::warm. INVALID_ARGUMENT on size mismatch, naming both sizes.
StatusOr<PointwiseReport> EvaluatePointwise(const std::vector<float>& scores,
                                            const std::vector<CollmRow>& rows);

}  // namespace sasrecllm::model

#endif  // SASRECLLM_MODEL_AUC_H_
