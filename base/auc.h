// Point-wise ranking quality: AUC, UAUC (per-user AUC averaged over users) and
// the all / warm / cold report used on the CoLLM split (../shared/data/README.md).
// One implementation for the offline tool (`sasrecllm eval-sasrec --pointwise`,
// `eval-hybrid`) and the client (`sasrecllm-client score-collm`), so that the
// two agree exactly on the same scores.
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
#ifndef SASRECLLM_BASE_AUC_H_
#define SASRECLLM_BASE_AUC_H_

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/collm_split.h"
#include "base/json.h"
#include "base/status.h"

namespace sasrecllm {

// AUC of `scores` against binary `labels` (1 positive, 0 negative); tied
// scores count half (Mann-Whitney with average ranks). NaN when a class is
// absent (or when the sizes differ).
double Auc(const std::vector<float>& scores, const std::vector<int>& labels);

struct UaucResult {
  double uauc = NAN;
  int64_t users = 0;  // users with both labels
};

// Mean over users (any int64 key) that have both labels of their own AUC. NaN
// with users = 0 when no user has both labels (or when the sizes differ).
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
  // The inverse of ToJson (null reads as NaN). INVALID_ARGUMENT naming the
  // member that is missing or not a number.
  static StatusOr<PointwiseReport> FromJson(const Json& json);
  // ToJson() dumped compact, followed by the `extra` members, each a key and
  // its value as JSON text (e.g. JsonNumber(x)).
  std::string DumpJson(const std::vector<std::pair<std::string, std::string>>& extra = {}) const;
  // One readable line per subset, each ending in '\n':
  //   "all   AUC 0.7078  UAUC 0.6884  (7331 rows, 598 users with both labels)"
  std::string ToString() const;
};

// scores[i] belongs to rows[i] (its user_id and label); warm/cold from
// CollmRow::warm. INVALID_ARGUMENT on size mismatch, naming both sizes.
StatusOr<PointwiseReport> EvaluatePointwise(const std::vector<float>& scores,
                                            const std::vector<CollmRow>& rows);

// One scored row whose user is any string (the client's wire ids).
struct PointwiseRow {
  std::string user_id;
  int label = 0;  // 1 positive, 0 negative
  bool warm = false;
  float score = 0;
};

// Metrics of all rows, the warm rows and the cold rows.
PointwiseReport EvaluatePointwise(const std::vector<PointwiseRow>& rows);

// Writes one score per line, scores[i] on line i + 1 of the split it came from
// (`eval-sasrec --pointwise --scores`, `eval-hybrid --scores`), with 9
// significant digits so that a float reads back exactly. The file is replaced.
Status WriteScoresFile(const std::string& path, const std::vector<float>& scores);

}  // namespace sasrecllm

#endif  // SASRECLLM_BASE_AUC_H_
