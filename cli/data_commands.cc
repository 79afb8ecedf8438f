// `sasrecllm data ...`: synthesize, import-movielens, convert-collm.
// Each writes OUT/sequences.txt (`user item1 item2 ...`) and OUT/items.tsv.
#include <filesystem>
#include <iostream>
#include <string>

#include "base/file.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "model/interaction_data.h"
#include "base/json.h"

namespace sasrecllm::cli {
namespace {

namespace fs = std::filesystem;
using model::ItemTitle;
using model::SequenceData;

constexpr char kDataHelp[] =
    "usage: sasrecllm data SUBCOMMAND [flags]\n"
    "\n"
    "Writes OUT/sequences.txt (one line per user: `user item1 item2 ...`, oldest\n"
    "first; read it with train-sasrec --data) and OUT/items.tsv (item_id<TAB>title).\n"
    "\n"
    "subcommands:\n"
    "  synthesize         synthetic users walking item clusters (planted structure)\n"
    "  import-movielens   raw MovieLens ratings.dat + movies.dat\n"
    "  convert-collm      the CoLLM TSV split (positive train rows)\n"
    "\n"
    "Run `sasrecllm data SUBCOMMAND --help` for its flags.\n";

int Fail(const Status& status) {
  std::cerr << "error: " << status.message() << "\n";
  return kExitError;
}

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

int Synthesize(int argc, char** argv, int first) {
  model::SyntheticOptions d;
  FlagSet flags("sasrecllm data synthesize --out DIR [--users N --items M --seed S ...]",
                "Generates users who walk within one of K item clusters: at each step the\n"
                "next item is the current item's successor in the cluster's cycle with\n"
                "probability --p-next, else a random item of the cluster. A sequential\n"
                "model learns this, so HR@10 ends far above random. Deterministic in the\n"
                "flags (the seed is recorded in OUT/data_info.json).");
  flags.AddString("out", "", "output folder", true);
  flags.AddInt("users", d.num_users, "number of users");
  flags.AddInt("items", d.num_items, "number of items");
  flags.AddInt("clusters", d.num_clusters, "number of item clusters");
  flags.AddInt("min-length", d.min_length, "shortest sequence (>= 3)");
  flags.AddInt("max-length", d.max_length, "longest sequence");
  flags.AddDouble("p-next", d.p_next, "probability of stepping to the successor item");
  flags.AddInt("seed", static_cast<int64_t>(d.seed), "random seed");
  int code = 0;
  if (!flags.Parse(argc, argv, first, &code)) return code;
  model::SyntheticOptions o;
  o.num_users = flags.GetInt("users");
  o.num_items = flags.GetInt("items");
  o.num_clusters = flags.GetInt("clusters");
  o.min_length = flags.GetInt("min-length");
  o.max_length = flags.GetInt("max-length");
  o.p_next = flags.GetDouble("p-next");
  o.seed = static_cast<uint64_t>(flags.GetInt("seed"));
  if (Status s = o.Validate(); !s.ok()) {
    std::cerr << "error: " << s.message() << "\n";
    return kExitUsage;
  }
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
  return WriteOutput(flags.GetString("out"), data->sequences, data->items, info);
}

int ImportMovieLens(int argc, char** argv, int first) {
  FlagSet flags("sasrecllm data import-movielens --ratings F --movies F --out DIR [--min-rating 4]",
                "Converts raw MovieLens (ratings.dat `UserID::MovieID::Rating::Timestamp`,\n"
                "movies.dat `MovieID::Title::Genres`, latin-1) into per-user time-ordered\n"
                "sequences. Users and items are renumbered 1..N in order of first appearance;\n"
                "items.tsv keeps the MovieLens MovieID as its third column (source_id) and\n"
                "the titles converted to UTF-8.");
  flags.AddString("ratings", "", "ratings.dat", true);
  flags.AddString("movies", "", "movies.dat", true);
  flags.AddString("out", "", "output folder", true);
  flags.AddInt("min-rating", 4, "keep ratings >= this (0 keeps all)");
  int code = 0;
  if (!flags.Parse(argc, argv, first, &code)) return code;
  model::MovieLensOptions o;
  o.min_rating = static_cast<int>(flags.GetInt("min-rating"));
  StatusOr<model::MovieLensData> data =
      model::ReadMovieLens(flags.GetString("ratings"), flags.GetString("movies"), o);
  if (!data.ok()) return Fail(data.status());
  Json info = Json::object();
  info["source"] = Json("movielens");
  info["ratings"] = Json(flags.GetString("ratings"));
  info["movies"] = Json(flags.GetString("movies"));
  info["min_rating"] = Json(static_cast<int64_t>(o.min_rating));
  return WriteOutput(flags.GetString("out"), data->sequences, data->items, info);
}

int ConvertCollm(int argc, char** argv, int first) {
  FlagSet flags("sasrecllm data convert-collm --in DIR --out DIR",
                "Reads the CoLLM split (DIR/items.tsv, DIR/train.tsv) and writes each user's\n"
                "positive (label 1) train rows, in time order, as a sequence; item ids are\n"
                "kept (1..item_num as in items.tsv).");
  flags.AddString("in", "", "CoLLM split folder (items.tsv, train.tsv)", true);
  flags.AddString("out", "", "output folder", true);
  int code = 0;
  if (!flags.Parse(argc, argv, first, &code)) return code;
  const std::string in = flags.GetString("in");
  StatusOr<std::vector<ItemTitle>> items = model::ReadItemsTsv(in + "/items.tsv");
  if (!items.ok()) return Fail(items.status());
  StatusOr<std::vector<CollmRow>> rows = ReadCollmSplit(in + "/train.tsv");
  if (!rows.ok()) return Fail(rows.status());
  SequenceData data = model::SequencesFromCollmRows(*rows, *items);
  Json info = Json::object();
  info["source"] = Json("collm");
  info["in"] = Json(in);
  return WriteOutput(flags.GetString("out"), data, *items, info);
}

}  // namespace

int RunData(int argc, char** argv, int first) {
  if (first >= argc) {
    std::cerr << kDataHelp;
    return kExitUsage;
  }
  const std::string sub = argv[first];
  if (sub == "--help" || sub == "-h") {
    std::cout << kDataHelp;
    return kExitOk;
  }
  if (sub == "synthesize") return Synthesize(argc, argv, first + 1);
  if (sub == "import-movielens") return ImportMovieLens(argc, argv, first + 1);
  if (sub == "convert-collm") return ConvertCollm(argc, argv, first + 1);
  std::cerr << "error: unknown data subcommand \"" << sub << "\"\n\n" << kDataHelp;
  return kExitUsage;
}

}  // namespace sasrecllm::cli
