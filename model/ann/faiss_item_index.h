// Approximate top-k retrieval over SASRec's item embeddings with FAISS:
// an inner-product index built from a bundle's sasrec.safetensors, stored
// in the bundle as item_index.faiss, and used by stage 1 in place of the
// exact [B, N] score matrix (model/item_retriever.h).
//
//   FaissIndexBuildOptions options;  // "auto": IVF with ~sqrt(N) lists
//   auto index = FaissItemIndex::Build(bundle->sasrec()->ItemEmbeddings(), options);
//   (*index)->SetSearchParams("nprobe=32");
//   (*index)->Save(dir + "/item_index.faiss");
//   SasrecRanker ranker(bundle->sasrec(), torch::kCPU, std::move(*index));
//
// Item index i (1..N) is FAISS id i - 1: the embeddings are added in order,
// without padding row 0, so the index never returns padding.
//
// Thread safety: Search may run from several threads at once (FAISS's CPU
// indexes are safe for concurrent searches); SetSearchParams must not run
// beside a Search. FAISS parallelises a batch's queries over OpenMP threads,
// the pool libtorch's set_num_threads sizes.
#ifndef SASRECLLM_MODEL_ANN_FAISS_ITEM_INDEX_H_
#define SASRECLLM_MODEL_ANN_FAISS_ITEM_INDEX_H_

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "model/item_retriever.h"

namespace faiss {
struct Index;
}

namespace sasrecllm::ann {

struct FaissIndexBuildOptions {
  // A faiss::index_factory description ("IVF1024,Flat", "HNSW32", "Flat",
  // "IVF4096,PQ25", ...), always with the inner-product metric. "auto":
  // "Flat" (exact) below 20,000 items, else "IVF<n>,Flat" with n the power
  // of two nearest sqrt(N). Default: "auto"
  std::string factory = "auto";
  // Items sampled (seeded) to train the coarse quantiser (k-means); 0 = 64
  // per list, at most N. Default: 0
  int64_t train_size = 0;
  uint64_t seed = 42;  // the training sample and FAISS's k-means; Default: 42

  Status Validate() const;
};

// The factory string "auto" stands for with `num_items` items.
std::string AutoFactory(int64_t num_items);

class FaissItemIndex : public model::ItemRetriever {
 public:
  // An index over rows 1..N of `item_emb` ([N + 1, H], any float dtype and
  // device; row 0 is padding). INVALID_ARGUMENT for a bad factory string or
  // shape, INTERNAL for a FAISS failure (message included).
  static StatusOr<std::unique_ptr<FaissItemIndex>> Build(const torch::Tensor& item_emb,
                                                         const FaissIndexBuildOptions& options);
  // Reads an index written by Save. `path` must be a file a bundle's
  // manifest vouches for (size and SHA-256 checked by the bundle loader):
  // FAISS's reader trusts its input. INVALID_ARGUMENT naming the file when it
  // is not an inner-product index; NOT_FOUND / DATA_LOSS when unreadable.
  static StatusOr<std::unique_ptr<FaissItemIndex>> Load(const std::string& path);
  ~FaissItemIndex() override;

  Status Save(const std::string& path) const;

  // FAISS ParameterSpace settings, e.g. "nprobe=32" (IVF) or "efSearch=128"
  // (HNSW), comma-separated; "" keeps the index's defaults. INVALID_ARGUMENT
  // naming a parameter the index does not have.
  Status SetSearchParams(const std::string& params);
  const std::string& search_params() const { return search_params_; }
  // The index's search settings from the cheapest to the most exact, for
  // tuning: "nprobe=1", "nprobe=2", ... up to nlist (IVF); "efSearch=16" ...
  // "efSearch=4096" (HNSW); {""} for an index without one (Flat).
  std::vector<std::string> SearchParamLadder() const;

  StatusOr<std::vector<std::vector<model::ScoredItem>>> Search(const torch::Tensor& users,
                                                               int64_t k) const override;
  int64_t size() const override;
  int64_t dim() const override;
  std::string Describe() const override;  // "faiss IVF1024,Flat nprobe=32"

  // The description it was built from, as recorded in the file's header
  // class (Build) or given to Load by the bundle (set_factory).
  const std::string& factory() const { return factory_; }
  void set_factory(std::string factory) { factory_ = std::move(factory); }

 private:
  explicit FaissItemIndex(std::unique_ptr<faiss::Index> index);
  std::unique_ptr<faiss::Index> index_;
  std::string factory_;
  std::string search_params_;
};

}  // namespace sasrecllm::ann

#endif  // SASRECLLM_MODEL_ANN_FAISS_ITEM_INDEX_H_
