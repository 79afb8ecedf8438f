// Point-wise ranking quality for scores read back from the service: AUC,
// UAUC (per-user AUC averaged over users) and the all / warm / cold report of
// the CoLLM split.
//
// The same definitions as the offline tool's model/auc.h, reimplemented here
// because the client depends on the wire contract only (no model/, no
// libtorch), so that `sasrecllm-client score-collm` and `sasrecllm
// eval-sasrec --pointwise` / `eval-hybrid` can be compared to 1e-4:
//   - AUC is the Mann-Whitney statistic with average ranks: a tied
//     (positive, negative) pair counts half. NaN when a class is absent.
//   - UAUC is CoLLM's: the unweighted mean of each user's own AUC over the
//     users that have both a positive and a negative row (others skipped).
//   - Labels: non-zero = positive. A NaN score ranks below every number.
//
//   std::vector<PointwiseRow> rows = ...;  // user_id, label, warm, score
//   PointwiseReport r = EvaluatePointwise(rows);
//   std::cout << r.ToString();             // one line per subset
//
// Thread safety: pure functions of their arguments; no shared state.
#ifndef SASRECLLM_CLIENT_AUC_H_
#define SASRECLLM_CLIENT_AUC_H_

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace sasrecllm::client {

// AUC of `scores` against `labels`; tied scores count half. NaN when a class
// is absent or when the sizes differ.
double Auc(const std::vector<float>& scores, const std::vector<int>& labels);

struct UaucResult {
  double uauc = NAN;
  int64_t users = 0;  // users with both labels
};

// Mean over the users (any int64 key) that have both labels of their own AUC.
// NaN with users = 0 when no user has both labels or when the sizes differ.
UaucResult Uauc(const std::vector<float>& scores, const std::vector<int>& labels,
                const std::vector<int64_t>& users);

struct PointwiseMetrics {
  double auc = NAN;
  double uauc = NAN;
  int64_t rows = 0;
  int64_t uauc_users = 0;
};

// One scored row.
struct PointwiseRow {
  std::string user_id;
  int label = 0;  // 1 positive, 0 negative
  bool warm = false;
  float score = 0;
};

struct PointwiseReport {
  PointwiseMetrics all, warm, cold;

  // The offline tool's keys: {"all": {"auc", "uauc", "rows", "uauc_users"},
  // "warm": {...}, "cold": {...}} (compact; NaN written as null), followed by
  // the `extra` members, each a key and its value as JSON text.
  std::string ToJson(const std::vector<std::pair<std::string, std::string>>& extra = {}) const;
  // The offline tool's lines, each ending in '\n':
  //   "all   AUC 0.7078  UAUC 0.6884  (7331 rows, 598 users with both labels)"
  std::string ToString() const;
};

// Metrics of all rows, the warm rows and the cold rows.
PointwiseReport EvaluatePointwise(const std::vector<PointwiseRow>& rows);

// `value` as a JSON number that round-trips, or null when not finite.
std::string JsonNumber(double value);

}  // namespace sasrecllm::client

#endif  // SASRECLLM_CLIENT_AUC_H_
