// The seam between SASRec's user vectors and "which catalog items score
// highest": SasrecRanker answers whole-catalog queries with an exact [B, N]
// score matrix unless it is given an ItemRetriever, which may answer them
// approximately (model/ann/faiss_item_index.h: a FAISS index stored in the
// bundle). model/ itself has no nearest-neighbour library.
//
//   std::shared_ptr<const ItemRetriever> ann = ...;  // e.g. FaissItemIndex::Load
//   SasrecRanker ranker(bundle->sasrec(), torch::kCPU, ann);
//
// Thread safety: Search is const and must be safe to call from several
// threads at once (implementations document how).
#ifndef SASRECLLM_MODEL_ITEM_RETRIEVER_H_
#define SASRECLLM_MODEL_ITEM_RETRIEVER_H_

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace sasrecllm::model {

struct ScoredItem {
  int64_t index = 0;  // SASRec item index, 1..item_num
  float score = 0.0f;  // dot product of the user representation and the item embedding
};

class ItemRetriever {
 public:
  virtual ~ItemRetriever() = default;

  // For each row of `users` ([B, H] float32, contiguous, on the CPU) the up
  // to `k` items with the highest inner product, best first. May miss some of
  // the exact top k (an approximate index) and never returns padding index 0.
  // INVALID_ARGUMENT for a shape that is not [B, dim()].
  virtual StatusOr<std::vector<std::vector<ScoredItem>>> Search(const torch::Tensor& users,
                                                                int64_t k) const = 0;

  // Items it can return (1..size()) and the vector width it expects.
  virtual int64_t size() const = 0;
  virtual int64_t dim() const = 0;
  // One line for logs and GetModelInfo, e.g. "faiss IVF1024,Flat nprobe=32".
  virtual std::string Describe() const = 0;
};

}  // namespace sasrecllm::model

#endif  // SASRECLLM_MODEL_ITEM_RETRIEVER_H_
