#include "model/interaction_data.h"

#include <algorithm>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>
#include <unordered_map>
#include <utility>

#include "base/file.h"
#include "base/text.h"

namespace sasrecllm::model {
namespace {

// ---------------------------------------------------------------------------
// Helpers

void AddInteraction(SequenceData* data, int64_t user, int64_t item) {
  if (user >= static_cast<int64_t>(data->sequences.size())) data->sequences.resize(user + 1);
  data->sequences[user].push_back(item);
  data->user_num = std::max(data->user_num, user);
  data->item_num = std::max(data->item_num, item);
}

std::string CleanTitle(std::string_view title) {
  std::string out(title);
  for (char& c : out) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// Sequences

StatusOr<SequenceFormat> ParseSequenceFormat(std::string_view name) {
  if (name == "auto") return SequenceFormat::kAuto;
  if (name == "pairs") return SequenceFormat::kPairs;
  if (name == "lists") return SequenceFormat::kLists;
  return InvalidArgumentError("unknown sequence format \"" + std::string(name) +
                              "\" (expected auto, pairs or lists)");
}

int64_t SequenceData::NumInteractions() const {
  int64_t n = 0;
  for (const auto& s : sequences) n += static_cast<int64_t>(s.size());
  return n;
}

StatusOr<SequenceData> ParseSequences(std::string_view text, SequenceFormat format,
                                      const std::string& name) {
  if (format == SequenceFormat::kAuto) {
    format = SequenceFormat::kPairs;
    ForEachLine(text, [&](int64_t, std::string_view line) {
      if (SplitWhitespace(line).size() > 2) format = SequenceFormat::kLists;
      return OkStatus();
    }).ok();
  }
  // Ids index dense tables (a row per id up to the largest): a file that
  // names a few large ids would make tables mostly empty, and could ask for
  // any amount of memory. Bound them by the ids the file holds.
  int64_t id_tokens = 0;
  ForEachLine(text, [&](int64_t, std::string_view line) {
    id_tokens += static_cast<int64_t>(SplitWhitespace(line).size());
    return OkStatus();
  }).ok();
  const int64_t max_id = std::min(kMaxSequenceId, kSequenceIdSlack + 64 * id_tokens);
  auto parse_id = [&](std::string_view token, const char* field, int64_t line_no,
                      int64_t* out) -> Status {
    SASRECLLM_RETURN_IF_ERROR(ParsePositiveId(token, field, name, line_no, out));
    if (*out > max_id) {
      return LineError(name, line_no,
                       std::string(field) + " " + std::string(token) + " is above " +
                           std::to_string(max_id) + ", the most for a file of " +
                           std::to_string(id_tokens) +
                           " ids (ids must be dense: renumber them from 1)");
    }
    return OkStatus();
  };
  SequenceData data;
  data.sequences.resize(1);
  Status status = ForEachLine(text, [&](int64_t line_no, std::string_view line) -> Status {
    std::vector<std::string_view> tokens = SplitWhitespace(line);
    if (tokens.empty()) return OkStatus();
    int64_t user = 0;
    SASRECLLM_RETURN_IF_ERROR(parse_id(tokens[0], "user id", line_no, &user));
    if (format == SequenceFormat::kPairs && tokens.size() != 2) {
      return LineError(name, line_no,
                     "expected 2 fields `user item`, got " + std::to_string(tokens.size()));
    }
    if (user >= static_cast<int64_t>(data.sequences.size())) data.sequences.resize(user + 1);
    data.user_num = std::max(data.user_num, user);
    for (size_t i = 1; i < tokens.size(); ++i) {
      int64_t item = 0;
      SASRECLLM_RETURN_IF_ERROR(parse_id(tokens[i], "item id", line_no, &item));
      AddInteraction(&data, user, item);
    }
    return OkStatus();
  });
  if (!status.ok()) return status;
  if (data.item_num == 0) return InvalidArgumentError(name + ": no interactions");
  return data;
}

StatusOr<SequenceData> ReadSequenceFile(const std::string& path, SequenceFormat format) {
  SASRECLLM_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  return ParseSequences(text, format, path);
}

Status WriteSequenceFile(const std::string& path, const SequenceData& data) {
  std::string out;
  for (int64_t u = 1; u < static_cast<int64_t>(data.sequences.size()); ++u) {
    if (data.sequences[u].empty()) continue;
    out += std::to_string(u);
    for (int64_t item : data.sequences[u]) {
      out += ' ';
      out += std::to_string(item);
    }
    out += '\n';
  }
  return WriteStringToFile(path, out);
}

// ---------------------------------------------------------------------------
// Items tables

StatusOr<std::vector<ItemTitle>> ReadItemsTsv(const std::string& path) {
  SASRECLLM_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  std::vector<ItemTitle> items;
  Status status = ForEachLine(text, [&](int64_t line_no, std::string_view line) -> Status {
    if (line_no == 1 || line.empty()) return OkStatus();  // header
    std::vector<std::string_view> fields = SplitOn(line, "\t");
    if (fields.size() < 2) {
      return LineError(path, line_no, "expected `item_id<TAB>title`, found no tab");
    }
    ItemTitle item;
    SASRECLLM_RETURN_IF_ERROR(ParsePositiveId(fields[0], "item_id", path, line_no, &item.item_id));
    item.title = std::string(fields[1]);
    if (fields.size() >= 3) item.source_id = std::string(fields[2]);
    items.push_back(std::move(item));
    return OkStatus();
  });
  if (!status.ok()) return status;
  return items;
}

Status WriteItemsTsv(const std::string& path, const std::vector<ItemTitle>& items) {
  bool with_source = std::any_of(items.begin(), items.end(),
                                 [](const ItemTitle& i) { return !i.source_id.empty(); });
  std::string out = with_source ? "item_id\ttitle\tsource_id\n" : "item_id\ttitle\n";
  for (const ItemTitle& item : items) {
    out += std::to_string(item.item_id) + "\t" + CleanTitle(item.title);
    if (with_source) out += "\t" + CleanTitle(item.source_id);
    out += '\n';
  }
  return WriteStringToFile(path, out);
}

// ---------------------------------------------------------------------------
// CoLLM split

SequenceData SequencesFromCollmRows(const std::vector<CollmRow>& rows,
                                    const std::vector<ItemTitle>& items) {
  std::vector<size_t> order(rows.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (rows[a].user_id != rows[b].user_id) return rows[a].user_id < rows[b].user_id;
    return rows[a].timestamp < rows[b].timestamp;
  });
  SequenceData data;
  data.sequences.resize(1);
  for (size_t i : order) {
    const CollmRow& row = rows[i];
    data.user_num = std::max(data.user_num, row.user_id);
    if (row.user_id >= static_cast<int64_t>(data.sequences.size())) {
      data.sequences.resize(row.user_id + 1);
    }
    if (row.label == 1) AddInteraction(&data, row.user_id, row.item_id);
  }
  for (const ItemTitle& item : items) data.item_num = std::max(data.item_num, item.item_id);
  return data;
}

// ---------------------------------------------------------------------------
// MovieLens

std::string Latin1ToUtf8(std::string_view latin1) {
  std::string out;
  out.reserve(latin1.size() + 8);
  for (char ch : latin1) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

StatusOr<MovieLensData> ReadMovieLens(const std::string& ratings_path,
                                      const std::string& movies_path,
                                      const MovieLensOptions& options) {
  // movies.dat: MovieID::Title::Genres (titles may not contain "::").
  SASRECLLM_ASSIGN_OR_RETURN(std::string movies_text, ReadFileToString(movies_path));
  std::unordered_map<int64_t, std::string> titles;
  Status status =
      ForEachLine(movies_text, [&](int64_t line_no, std::string_view line) -> Status {
        if (line.empty()) return OkStatus();
        std::vector<std::string_view> f = SplitOn(line, "::");
        if (f.size() != 3) {
          return LineError(movies_path, line_no,
                         "expected `MovieID::Title::Genres`, got " + std::to_string(f.size()) +
                             " fields");
        }
        int64_t id = 0;
        SASRECLLM_RETURN_IF_ERROR(ParsePositiveId(f[0], "MovieID", movies_path, line_no, &id));
        if (!titles.emplace(id, Latin1ToUtf8(f[1])).second) {
          return LineError(movies_path, line_no, "duplicate MovieID " + std::to_string(id));
        }
        return OkStatus();
      });
  if (!status.ok()) return status;

  struct Rating {
    int64_t user, movie, timestamp;
  };
  SASRECLLM_ASSIGN_OR_RETURN(std::string ratings_text, ReadFileToString(ratings_path));
  std::vector<Rating> kept;
  status = ForEachLine(ratings_text, [&](int64_t line_no, std::string_view line) -> Status {
    if (line.empty()) return OkStatus();
    std::vector<std::string_view> f = SplitOn(line, "::");
    if (f.size() != 4) {
      return LineError(ratings_path, line_no,
                     "expected `UserID::MovieID::Rating::Timestamp`, got " +
                         std::to_string(f.size()) + " fields");
    }
    Rating r{};
    int64_t rating = 0;
    SASRECLLM_RETURN_IF_ERROR(ParsePositiveId(f[0], "UserID", ratings_path, line_no, &r.user));
    SASRECLLM_RETURN_IF_ERROR(ParsePositiveId(f[1], "MovieID", ratings_path, line_no, &r.movie));
    if (!ParseInt64(f[2], &rating)) {
      return LineError(ratings_path, line_no, "bad Rating \"" + std::string(f[2]) + "\"");
    }
    if (!ParseInt64(f[3], &r.timestamp)) {
      return LineError(ratings_path, line_no, "bad Timestamp \"" + std::string(f[3]) + "\"");
    }
    if (titles.count(r.movie) == 0) {
      return LineError(ratings_path, line_no,
                     "MovieID " + std::to_string(r.movie) + " is not in " + movies_path);
    }
    if (rating >= options.min_rating) kept.push_back(r);
    return OkStatus();
  });
  if (!status.ok()) return status;
  if (kept.empty()) {
    return InvalidArgumentError(ratings_path + ": no ratings >= " +
                                std::to_string(options.min_rating));
  }

  MovieLensData out;
  std::unordered_map<int64_t, int64_t> user_map, item_map;
  for (const Rating& r : kept) {
    user_map.emplace(r.user, static_cast<int64_t>(user_map.size()) + 1);
    auto [it, inserted] = item_map.emplace(r.movie, static_cast<int64_t>(item_map.size()) + 1);
    if (inserted) {
      out.items.push_back(ItemTitle{it->second, titles[r.movie], std::to_string(r.movie)});
    }
  }
  std::stable_sort(kept.begin(), kept.end(), [&](const Rating& a, const Rating& b) {
    int64_t ua = user_map[a.user], ub = user_map[b.user];
    if (ua != ub) return ua < ub;
    return a.timestamp < b.timestamp;
  });
  out.sequences.sequences.resize(1);
  for (const Rating& r : kept) {
    AddInteraction(&out.sequences, user_map[r.user], item_map[r.movie]);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Synthetic

Status SyntheticOptions::Validate() const {
  if (num_users < 1) return InvalidArgumentError("num_users must be >= 1");
  if (num_clusters < 1) return InvalidArgumentError("num_clusters must be >= 1");
  if (num_items < 2 * num_clusters) {
    return InvalidArgumentError("num_items (" + std::to_string(num_items) +
                                ") must be >= 2 * num_clusters (" +
                                std::to_string(num_clusters) + ")");
  }
  if (min_length < 3 || max_length < min_length) {
    return InvalidArgumentError("need 3 <= min_length <= max_length, got " +
                                std::to_string(min_length) + ", " + std::to_string(max_length));
  }
  if (!(p_next >= 0.0 && p_next <= 1.0)) return InvalidArgumentError("p_next must be in [0, 1]");
  return OkStatus();
}

StatusOr<SyntheticData> GenerateSynthetic(const SyntheticOptions& options) {
  SASRECLLM_RETURN_IF_ERROR(options.Validate());
  std::mt19937_64 rng(options.seed);
  // Items shuffled, then dealt into clusters; each cluster's order is its cycle.
  std::vector<int64_t> perm(options.num_items);
  std::iota(perm.begin(), perm.end(), 1);
  std::shuffle(perm.begin(), perm.end(), rng);
  std::vector<std::vector<int64_t>> clusters(options.num_clusters);
  std::vector<int64_t> cluster_of(options.num_items + 1), slot_of(options.num_items + 1);
  for (int64_t i = 0; i < options.num_items; ++i) {
    int64_t c = i % options.num_clusters;
    cluster_of[perm[i]] = c;
    slot_of[perm[i]] = static_cast<int64_t>(clusters[c].size());
    clusters[c].push_back(perm[i]);
  }
  SyntheticData out;
  out.sequences.sequences.resize(options.num_users + 1);
  out.sequences.user_num = options.num_users;
  out.sequences.item_num = options.num_items;
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  for (int64_t u = 1; u <= options.num_users; ++u) {
    const auto& cl = clusters[rng() % options.num_clusters];
    int64_t len = options.min_length +
                  static_cast<int64_t>(rng() % (options.max_length - options.min_length + 1));
    int64_t slot = static_cast<int64_t>(rng() % cl.size());
    auto& seq = out.sequences.sequences[u];
    for (int64_t t = 0; t < len; ++t) {
      seq.push_back(cl[slot]);
      if (coin(rng) < options.p_next) {
        slot = (slot + 1) % static_cast<int64_t>(cl.size());
      } else {
        slot = static_cast<int64_t>(rng() % cl.size());
      }
    }
  }
  for (int64_t i = 1; i <= options.num_items; ++i) {
    out.items.push_back(ItemTitle{
        i,
        "Item " + std::to_string(i) + " (cluster " + std::to_string(cluster_of[i]) + ", step " +
            std::to_string(slot_of[i]) + ")",
        ""});
  }
  return out;
}

// ---------------------------------------------------------------------------
// Split

SplitData SplitLeaveLastTwo(const SequenceData& data) {
  SplitData split;
  split.user_num = data.user_num;
  split.item_num = data.item_num;
  split.train.resize(data.user_num + 1);
  split.valid.assign(data.user_num + 1, 0);
  split.test.assign(data.user_num + 1, 0);
  for (int64_t u = 1; u <= data.user_num; ++u) {
    if (u >= static_cast<int64_t>(data.sequences.size())) break;
    const auto& seq = data.sequences[u];
    if (seq.size() < 3) {
      split.train[u] = seq;
      continue;
    }
    split.train[u].assign(seq.begin(), seq.end() - 2);
    split.valid[u] = seq[seq.size() - 2];
    split.test[u] = seq.back();
  }
  return split;
}

}  // namespace sasrecllm::model
