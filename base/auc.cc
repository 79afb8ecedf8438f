#include "base/auc.h"

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <unordered_map>

#include "base/file.h"

namespace sasrecllm {
namespace {

// A strict weak order on scores with NaN below every number.
bool ScoreLess(float a, float b) {
  if (std::isnan(a)) return !std::isnan(b);
  if (std::isnan(b)) return false;
  return a < b;
}

bool ScoreTie(float a, float b) { return !ScoreLess(a, b) && !ScoreLess(b, a); }

// AUC of the rows order[0, n), sorted ascending by score: the Mann-Whitney U
// of the positives with average ranks over ties, over n_pos * n_neg. NaN when
// a class is absent.
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
  UaucResult u = Uauc(scores, labels, users);
  m.uauc = u.uauc;
  m.uauc_users = u.users;
  return m;
}

Json MetricsJson(const PointwiseMetrics& m) {
  // NaN is dumped as null anyway; kept explicit for readers of the value.
  auto number = [](double v) { return std::isnan(v) ? Json() : Json(v); };
  return {{"auc", number(m.auc)},
          {"uauc", number(m.uauc)},
          {"rows", m.rows},
          {"uauc_users", m.uauc_users}};
}

StatusOr<PointwiseMetrics> MetricsFromJson(const Json& j, const std::string& what) {
  PointwiseMetrics m;
  StatusOr<const Json*> object = GetObject(j, what);
  if (!object.ok()) return object.status();
  auto number = [&](const char* key, double* out) -> Status {
    const Json* v = FindKey(**object, key);
    if (v != nullptr && v->is_null()) return OkStatus();  // NaN
    StatusOr<double> d = GetDouble(**object, key);
    if (!d.ok()) return d.status().WithPrefix(what);
    *out = *d;
    return OkStatus();
  };
  SASRECLLM_RETURN_IF_ERROR(number("auc", &m.auc));
  SASRECLLM_RETURN_IF_ERROR(number("uauc", &m.uauc));
  StatusOr<int64_t> rows = GetInt(**object, "rows");
  if (!rows.ok()) return rows.status().WithPrefix(what);
  StatusOr<int64_t> users = GetInt(**object, "uauc_users");
  if (!users.ok()) return users.status().WithPrefix(what);
  m.rows = *rows;
  m.uauc_users = *users;
  return m;
}

// Rows split into all (0), warm (1) and cold (2), then measured.
class SubsetBuilder {
 public:
  void Add(float score, int label, int64_t user, bool warm) {
    for (int subset : {0, warm ? 1 : 2}) {
      s_[subset].push_back(score);
      l_[subset].push_back(label);
      u_[subset].push_back(user);
    }
  }
  PointwiseReport Report() const {
    PointwiseReport report;
    report.all = Metrics(s_[0], l_[0], u_[0]);
    report.warm = Metrics(s_[1], l_[1], u_[1]);
    report.cold = Metrics(s_[2], l_[2], u_[2]);
    return report;
  }

 private:
  std::vector<float> s_[3];
  std::vector<int> l_[3];
  std::vector<int64_t> u_[3];
};

std::string MetricsLine(const char* name, const PointwiseMetrics& m) {
  char buf[160];
  std::snprintf(buf, sizeof(buf),
                "%-5s AUC %.4f  UAUC %.4f  (%lld rows, %lld users with both labels)\n", name, m.auc,
                m.uauc, static_cast<long long>(m.rows), static_cast<long long>(m.uauc_users));
  return buf;
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

Json PointwiseReport::ToJson() const {
  return {{"all", MetricsJson(all)}, {"warm", MetricsJson(warm)}, {"cold", MetricsJson(cold)}};
}

StatusOr<PointwiseReport> PointwiseReport::FromJson(const Json& json) {
  PointwiseReport r;
  SASRECLLM_ASSIGN_OR_RETURN(r.all, MetricsFromJson(json, "all"));
  SASRECLLM_ASSIGN_OR_RETURN(r.warm, MetricsFromJson(json, "warm"));
  SASRECLLM_ASSIGN_OR_RETURN(r.cold, MetricsFromJson(json, "cold"));
  return r;
}

std::string PointwiseReport::DumpJson(
    const std::vector<std::pair<std::string, std::string>>& extra) const {
  std::string json = ToJson().dump();
  json.pop_back();  // the closing '}'
  for (const auto& [key, value] : extra) json += "," + Json(key).dump() + ":" + value;
  return json + "}";
}

std::string PointwiseReport::ToString() const {
  return MetricsLine("all", all) + MetricsLine("warm", warm) + MetricsLine("cold", cold);
}

StatusOr<PointwiseReport> EvaluatePointwise(const std::vector<float>& scores,
                                            const std::vector<CollmRow>& rows) {
  if (scores.size() != rows.size()) {
    return InvalidArgumentError("EvaluatePointwise: " + std::to_string(scores.size()) +
                                " scores for " + std::to_string(rows.size()) + " rows");
  }
  SubsetBuilder subsets;
  for (size_t i = 0; i < rows.size(); ++i) {
    subsets.Add(scores[i], rows[i].label, rows[i].user_id, rows[i].warm);
  }
  return subsets.Report();
}

PointwiseReport EvaluatePointwise(const std::vector<PointwiseRow>& rows) {
  // User ids become dense keys in order of first appearance.
  std::unordered_map<std::string, int64_t> user_keys;
  SubsetBuilder subsets;
  for (const PointwiseRow& row : rows) {
    const int64_t user =
        user_keys.emplace(row.user_id, static_cast<int64_t>(user_keys.size())).first->second;
    subsets.Add(row.score, row.label, user, row.warm);
  }
  return subsets.Report();
}

Status WriteScoresFile(const std::string& path, const std::vector<float>& scores) {
  std::string text;
  text.reserve(scores.size() * 12);
  char line[32];
  for (float score : scores) {
    std::snprintf(line, sizeof line, "%.9g\n", static_cast<double>(score));
    text += line;
  }
  return WriteStringToFile(path, text);
}

}  // namespace sasrecllm
