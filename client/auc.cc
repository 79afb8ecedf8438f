#include "client/auc.h"

#include <algorithm>
#include <cstdlib>
#include <numeric>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/util.h"

namespace sasrecllm::client {
namespace {

// A strict weak order on scores with NaN below every number.
bool ScoreLess(float a, float b) {
  if (std::isnan(a)) return !std::isnan(b);
  if (std::isnan(b)) return false;
  return a < b;
}

bool ScoreTie(float a, float b) { return !ScoreLess(a, b) && !ScoreLess(b, a); }

// AUC of the rows order[0, n), sorted ascending by score: the positives'
// Mann-Whitney U with average ranks over ties, over n_pos * n_neg. NaN when a
// class is absent.
double AucOfSorted(const int64_t* order, size_t n, const std::vector<float>& scores,
                   const std::vector<int>& labels) {
  double pos_rank_sum = 0.0;  // sum of the positives' 1-based (average) ranks
  int64_t pos = 0;
  size_t i = 0;
  while (i < n) {
    size_t j = i + 1;
    while (j < n && ScoreTie(scores[order[i]], scores[order[j]])) ++j;
    int64_t group_pos = 0;
    for (size_t k = i; k < j; ++k) group_pos += labels[order[k]] != 0 ? 1 : 0;
    // Ranks i + 1 .. j share their mean, (i + 1 + j) / 2.
    pos_rank_sum += static_cast<double>(group_pos) * (static_cast<double>(i + 1 + j) / 2.0);
    pos += group_pos;
    i = j;
  }
  const int64_t neg = static_cast<int64_t>(n) - pos;
  if (pos == 0 || neg == 0) return NAN;
  const double p = static_cast<double>(pos);
  return (pos_rank_sum - p * (p + 1.0) / 2.0) / (p * static_cast<double>(neg));
}

PointwiseMetrics Metrics(const std::vector<float>& scores, const std::vector<int>& labels,
                         const std::vector<int64_t>& users) {
  PointwiseMetrics m;
  m.rows = static_cast<int64_t>(scores.size());
  m.auc = Auc(scores, labels);
  const UaucResult u = Uauc(scores, labels, users);
  m.uauc = u.uauc;
  m.uauc_users = u.users;
  return m;
}

std::string MetricsJson(const PointwiseMetrics& m) {
  return absl::StrCat("{\"auc\":", JsonNumber(m.auc), ",\"uauc\":", JsonNumber(m.uauc),
                      ",\"rows\":", m.rows, ",\"uauc_users\":", m.uauc_users, "}");
}

std::string MetricsLine(const char* name, const PointwiseMetrics& m) {
  return absl::StrFormat("%-5s AUC %.4f  UAUC %.4f  (%d rows, %d users with both labels)\n", name,
                         m.auc, m.uauc, m.rows, m.uauc_users);
}

}  // namespace

double Auc(const std::vector<float>& scores, const std::vector<int>& labels) {
  if (scores.size() != labels.size()) return NAN;
  std::vector<int64_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](int64_t a, int64_t b) { return ScoreLess(scores[a], scores[b]); });
  return AucOfSorted(order.data(), order.size(), scores, labels);
}

UaucResult Uauc(const std::vector<float>& scores, const std::vector<int>& labels,
                const std::vector<int64_t>& users) {
  UaucResult result;
  if (scores.size() != labels.size() || scores.size() != users.size()) return result;
  // One sort by (user, score) puts each user's rows together, in score order.
  std::vector<int64_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    if (users[a] != users[b]) return users[a] < users[b];
    return ScoreLess(scores[a], scores[b]);
  });
  double sum = 0.0;
  size_t i = 0;
  while (i < order.size()) {
    size_t j = i + 1;
    while (j < order.size() && users[order[j]] == users[order[i]]) ++j;
    const double auc = AucOfSorted(order.data() + i, j - i, scores, labels);
    if (!std::isnan(auc)) {
      sum += auc;
      ++result.users;
    }
    i = j;
  }
  if (result.users > 0) result.uauc = sum / static_cast<double>(result.users);
  return result;
}

std::string PointwiseReport::ToJson(
    const std::vector<std::pair<std::string, std::string>>& extra) const {
  std::string json = absl::StrCat("{\"all\":", MetricsJson(all), ",\"warm\":", MetricsJson(warm),
                                  ",\"cold\":", MetricsJson(cold));
  for (const auto& [key, value] : extra) absl::StrAppend(&json, ",", JsonString(key), ":", value);
  return json + "}";
}

std::string PointwiseReport::ToString() const {
  return MetricsLine("all", all) + MetricsLine("warm", warm) + MetricsLine("cold", cold);
}

PointwiseReport EvaluatePointwise(const std::vector<PointwiseRow>& rows) {
  // User ids become dense keys in order of first appearance.
  std::unordered_map<std::string, int64_t> user_keys;
  // Index 0 = all rows, 1 = warm, 2 = cold.
  std::vector<float> s[3];
  std::vector<int> l[3];
  std::vector<int64_t> u[3];
  for (const PointwiseRow& row : rows) {
    const int64_t user =
        user_keys.emplace(row.user_id, static_cast<int64_t>(user_keys.size())).first->second;
    for (int subset : {0, row.warm ? 1 : 2}) {
      s[subset].push_back(row.score);
      l[subset].push_back(row.label);
      u[subset].push_back(user);
    }
  }
  PointwiseReport report;
  report.all = Metrics(s[0], l[0], u[0]);
  report.warm = Metrics(s[1], l[1], u[1]);
  report.cold = Metrics(s[2], l[2], u[2]);
  return report;
}

std::string JsonNumber(double value) {
  if (!std::isfinite(value)) return "null";
  // Shortest representation that round-trips.
  std::string text;
  for (int precision = 15; precision <= 17; ++precision) {
    text = absl::StrFormat("%.*g", precision, value);
    if (std::strtod(text.c_str(), nullptr) == value) break;
  }
  return text;
}

}  // namespace sasrecllm::client
