// `sasrecllm data ...`: synthesize, import-movielens, convert-collm.
// Each writes OUT/sequences.txt (`user item1 item2 ...`) and OUT/items.tsv.
#include <filesystem>
#include <memory>
#include <iostream>
#include <string>

#include "base/file.h"
#include "base/json.h"
#include "cli/command.h"
#include "cli/commands.h"
#include "model/interaction_data.h"

namespace sasrecllm::cli {
namespace {

namespace fs = std::filesystem;
using model::ItemTitle;
using model::SequenceData;

int WriteOutput(const std::string& out, const SequenceData& data,
                const std::vector<ItemTitle>& items, const Json& info) {
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) return Fail(InternalError(out + ": cannot create folder: " + ec.message()));
  if (Status s = model::WriteSequenceFile(out + "/sequences.txt", data); !s.ok()) return Fail(s);
  if (Status s = model::WriteItemsTsv(out + "/items.tsv", items); !s.ok()) return Fail(s);
  if (Status s = WriteStringToFile(out + "/data_info.json", DumpJson(info, 1) + "\n"); !s.ok()) {
    return Fail(s);
  }
  int64_t users = 0;
  for (const auto& seq : data.sequences) users += seq.empty() ? 0 : 1;
  std::cerr << "wrote " << out << "/sequences.txt (" << users << " users, " << data.item_num
            << " items, " << data.NumInteractions() << " interactions) and " << out
            << "/items.tsv\n";
  return kExitOk;
}

struct SynthesizeFlags {
  std::string out;
  model::SyntheticOptions o;
};

int Synthesize(const SynthesizeFlags& f) {
  const model::SyntheticOptions& o = f.o;
  if (Status s = o.Validate(); !s.ok()) return UsageError(s.message());
  StatusOr<model::SyntheticData> data = model::GenerateSynthetic(o);
  if (!data.ok()) return Fail(data.status());
  Json info = Json::object();
  info["source"] = Json("synthetic");
  info["users"] = Json(o.num_users);
  info["items"] = Json(o.num_items);
  info["clusters"] = Json(o.num_clusters);
  info["min_length"] = Json(o.min_length);
  info["max_length"] = Json(o.max_length);
  info["p_next"] = Json(o.p_next);
  info["seed"] = Json(static_cast<int64_t>(o.seed));
  return WriteOutput(f.out, data->sequences, data->items, info);
}

struct ImportMovieLensFlags {
  std::string ratings, movies, out;
  model::MovieLensOptions o{/*min_rating=*/4};
};

int ImportMovieLens(const ImportMovieLensFlags& f) {
  StatusOr<model::MovieLensData> data = model::ReadMovieLens(f.ratings, f.movies, f.o);
  if (!data.ok()) return Fail(data.status());
  Json info = Json::object();
  info["source"] = Json("movielens");
  info["ratings"] = Json(f.ratings);
  info["movies"] = Json(f.movies);
  info["min_rating"] = Json(static_cast<int64_t>(f.o.min_rating));
  return WriteOutput(f.out, data->sequences, data->items, info);
}

struct ConvertCollmFlags {
  std::string in, out;
};

int ConvertCollm(const ConvertCollmFlags& f) {
  const std::string& in = f.in;
  StatusOr<std::vector<ItemTitle>> items = model::ReadItemsTsv(in + "/items.tsv");
  if (!items.ok()) return Fail(items.status());
  StatusOr<std::vector<CollmRow>> rows = ReadCollmSplit(in + "/train.tsv");
  if (!rows.ok()) return Fail(rows.status());
  SequenceData data = model::SequencesFromCollmRows(*rows, *items);
  Json info = Json::object();
  info["source"] = Json("collm");
  info["in"] = Json(in);
  return WriteOutput(f.out, data, *items, info);
}

}  // namespace

std::vector<Command> AddData(CLI::App& app) {
  CLI::App* data = app.add_subcommand(
      "data", "prepare data: synthesize | import-movielens | convert-collm");
  data->footer(R"(Each writes OUT/sequences.txt (one line per user: `user item1 item2 ...`, oldest
first; read it with train-sasrec --data) and OUT/items.tsv (item_id<TAB>title).)");
  data->require_subcommand(1);

  Subcommand<SynthesizeFlags> synth(
      *data, "synthesize", "write synthetic sequences with planted structure",
      R"(Users walk within one of K item clusters; at each step the next item is the
current item's successor in the cluster's cycle with probability --p-next, else a
random item of the cluster. A sequential model learns this, so HR@10 ends far
above random. Deterministic in the flags (the seed is recorded in
OUT/data_info.json).)");
  SynthesizeFlags& s = synth.flags();
  synth->add_option("--out", s.out, "output folder")->required();
  synth->add_option("--users", s.o.num_users, "number of users");
  synth->add_option("--items", s.o.num_items, "number of items");
  synth->add_option("--clusters", s.o.num_clusters, "number of item clusters");
  synth->add_option("--min-length", s.o.min_length, "shortest sequence (>= 3)");
  synth->add_option("--max-length", s.o.max_length, "longest sequence");
  synth->add_option("--p-next", s.o.p_next, "probability of stepping to the successor item");
  synth->add_option("--seed", s.o.seed, "random seed");

  Subcommand<ImportMovieLensFlags> ml(
      *data, "import-movielens", "convert raw MovieLens ratings.dat + movies.dat",
      R"(Converts raw MovieLens (ratings.dat `UserID::MovieID::Rating::Timestamp`,
movies.dat `MovieID::Title::Genres`, latin-1) into per-user time-ordered
sequences. Users and items are renumbered 1..N in order of first appearance;
items.tsv keeps the MovieLens MovieID as its third column (source_id) and the
titles in UTF-8.)");
  ml->add_option("--ratings", ml.flags().ratings, "ratings.dat")->required();
  ml->add_option("--movies", ml.flags().movies, "movies.dat")->required();
  ml->add_option("--out", ml.flags().out, "output folder")->required();
  ml->add_option("--min-rating", ml.flags().o.min_rating, "keep ratings >= this (0 keeps all)");

  Subcommand<ConvertCollmFlags> collm(
      *data, "convert-collm", "convert the CoLLM TSV split's positive train rows",
      R"(Converts the CoLLM split (DIR/items.tsv, DIR/train.tsv): each user's positive
(label 1) train rows, in time order, as a sequence; item ids are kept
(1..item_num as in items.tsv).)");
  collm->add_option("--in", collm.flags().in, "CoLLM split folder (items.tsv, train.tsv)")
      ->required();
  collm->add_option("--out", collm.flags().out, "output folder")->required();
  return {synth.RunWith(Synthesize), ml.RunWith(ImportMovieLens), collm.RunWith(ConvertCollm)};
}

}  // namespace sasrecllm::cli
