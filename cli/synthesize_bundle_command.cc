// sasrecllm synthesize-bundle: a SASRec bundle with N items (10^5 .. 10^7)
// and planted structure, written without training, for retrieval
// benchmarks at catalog sizes no data set here has.
//
// The planted structure: items fall into clusters; an item's embedding is
// its cluster's centre plus Gaussian noise (--spread times the centre's
// scale). The SASRec blocks are made pass-through (attention out_proj and
// feed-forward conv2 zero, positions zero), so a user's vector is the last
// LayerNorm of their last item's embedding: the best items for a user are
// that item's cluster mates, and recall@k of an approximate index against
// exact retrieval measures what it would on a trained model's clustered
// embeddings, not on uniform noise.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <cstdio>
#include <string>
#include <vector>

#include "base/json.h"
#include "cli/commands.h"
#include "model/bundle.h"
#include "model/catalog.h"
#include "model/sasrec.h"

namespace sasrecllm::cli {
namespace {

struct SynthesizeBundleFlags {
  std::string out;
  int64_t items = 100000;
  int64_t clusters = 0;  // 0: one per 1,000 items
  double spread = 0.5;
  int64_t hidden_units = 50;
  int64_t maxlen = 50;
  int64_t num_blocks = 2;
  int64_t seed = 42;
};

int SynthesizeBundle(const SynthesizeBundleFlags& f) {
  const auto start = std::chrono::steady_clock::now();
  const int64_t clusters = f.clusters > 0 ? f.clusters : std::max<int64_t>(1, f.items / 1000);
  if (clusters > f.items) {
    return UsageError("--clusters " + std::to_string(clusters) + " exceeds --items " +
                      std::to_string(f.items));
  }
  model::SasrecConfig config;
  config.item_num = f.items;
  config.maxlen = f.maxlen;
  config.hidden_units = f.hidden_units;
  config.num_blocks = f.num_blocks;
  config.num_heads = 1;
  config.dropout_rate = 0.0;
  if (Status s = config.Validate(); !s.ok()) return UsageError(s.message());

  torch::manual_seed(static_cast<uint64_t>(f.seed));
  model::Sasrec sasrec(config);
  std::map<std::string, torch::Tensor> weights = sasrec->StateDict();
  {
    torch::NoGradGuard no_grad;
    const int64_t h = f.hidden_units;
    const torch::Tensor centres = torch::randn({clusters, h});                     // [C, H]
    const torch::Tensor cluster_of = torch::randint(clusters, {f.items}, torch::kLong);  // [N]
    torch::Tensor emb = torch::empty({f.items + 1, h});                            // [N + 1, H]
    emb[0].zero_();  // padding
    emb.slice(0, 1).copy_(centres.index_select(0, cluster_of) +
                          f.spread * torch::randn({f.items, h}));
    // (pmixer scales them by sqrt(H) before the blocks; the LayerNorms make
    // the user vector's direction independent of that scale.)
    weights["item_emb.weight"] = emb;
    for (auto& [name, tensor] : weights) {
      const bool pass_through = name.find("out_proj.") != std::string::npos ||
                                name.find("conv2.") != std::string::npos ||
                                name == "pos_emb.weight";
      if (pass_through) tensor = torch::zeros_like(tensor);
    }
    if (Status s = sasrec->LoadStateDict(weights); !s.ok()) return Fail(s);
    weights.clear();

    std::vector<model::CatalogEntry> entries;
    entries.reserve(f.items);
    const int64_t* cluster = cluster_of.data_ptr<int64_t>();
    for (int64_t i = 1; i <= f.items; ++i) {
      entries.push_back({i, std::to_string(i),
                         "Synthetic item " + std::to_string(i) + " (cluster " +
                             std::to_string(cluster[i - 1]) + ")"});
    }
    auto catalog = model::Catalog::FromEntries(std::move(entries));
    if (!catalog.ok()) return Fail(catalog.status());

    model::BundleManifest manifest;
    manifest.model_version = "synthetic-" + std::to_string(f.items) + "-seed" + std::to_string(f.seed);
    manifest.max_history = f.maxlen;
    manifest.extra = Json{{"source", "sasrecllm synthesize-bundle"},
                          {"clusters", clusters},
                          {"spread", f.spread},
                          {"seed", f.seed}};
    if (Status s = model::WriteBundle(f.out, manifest, *catalog, sasrec); !s.ok()) return Fail(s);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "synthesize-bundle: wrote %s: %lld items in %lld clusters, width %lld (%.1f s)\n",
               f.out.c_str(), static_cast<long long>(f.items), static_cast<long long>(clusters),
               static_cast<long long>(f.hidden_units), seconds);
  return kExitOk;
}

}  // namespace

Command AddSynthesizeBundle(CLI::App& app) {
  Subcommand<SynthesizeBundleFlags> sub(
      app, "synthesize-bundle", "write an untrained SASRec bundle of N items with planted clusters",
      R"(Writes a SASRec bundle with --items items without training, for
retrieval benchmarks at large catalog sizes: item embeddings are cluster
centres plus noise, and the SASRec blocks pass their input through, so a
user's vector lies near their last item's cluster. Item ids are "1".."N".)");
  SynthesizeBundleFlags& f = sub.flags();
  sub->add_option("--out", f.out, "bundle folder to write")->required();
  sub->add_option("--items", f.items, "catalog size")->check(AtLeast(1));
  sub->add_option("--clusters", f.clusters, "planted clusters (0: one per 1,000 items)")
      ->check(AtLeast(0));
  sub->add_option("--spread", f.spread, "noise around a cluster's centre, relative to it")
      ->check(CLI::Range(0.0, 100.0));
  sub->add_option("--hidden-units", f.hidden_units, "embedding width")->check(AtLeast(1));
  sub->add_option("--maxlen", f.maxlen, "SASRec's longest history")->check(AtLeast(1));
  sub->add_option("--num-blocks", f.num_blocks, "SASRec blocks (pass-through)")->check(AtLeast(1));
  sub->add_option("--seed", f.seed, "random seed");
  return sub.RunWith(SynthesizeBundle);
}

}  // namespace sasrecllm::cli
