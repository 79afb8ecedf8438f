// Stage 1 of the pipeline: SASRec, batched over requests
// (model::SasrecRanker). For a Recommend it retrieves the top
// retrieval_depth items of the catalog (or of the request's warm
// candidates), which become the request's candidates, best first, with
// their retrieval_score; the cold candidates of a HYBRID request stay after
// them for the LLM. For a SEQUENTIAL_ONLY Score it sets every candidate's
// retrieval_score (a HYBRID Score skips this stage: only the LLM scores it).
//
// Thread safety: Run may be called from several threads at once (it only
// reads the model: SasrecRanker's contract), so the stage's batcher may have
// several workers; Warmup before serving.
#ifndef SASRECLLM_SERVER_SASREC_STAGE_H_
#define SASRECLLM_SERVER_SASREC_STAGE_H_

#include <memory>
#include <vector>

#include "absl/strings/string_view.h"
#include "model/bundle.h"
#include "model/sasrec_ranker.h"
#include "server/metrics.h"
#include "server/pipeline.h"

namespace sasrecllm::server {

class SasrecStage final : public Stage {
 public:
  // `bundle` (shared) supplies the model, its device and the catalog.
  // `max_history`: the longest history Warmup sends. `retriever`: answers
  // whole-catalog retrieval (an ANN index over the bundle's items), nullptr =
  // exact (model::SasrecRanker).
  SasrecStage(std::shared_ptr<const model::Bundle> bundle, int64_t max_history,
              std::shared_ptr<const model::ItemRetriever> retriever = nullptr);

  absl::string_view name() const override { return kStageSasrec; }
  bool Wants(const Request& request) const override;
  // Unit: requests.
  size_t Run(const std::vector<Request*>& batch, std::vector<absl::Status>* statuses) override;
  absl::Status Warmup() override;
  bool RunsConcurrently() const override { return true; }

 private:
  const std::shared_ptr<const model::Bundle> bundle_;
  const int64_t max_history_;
  model::SasrecRanker ranker_;
};

}  // namespace sasrecllm::server

#endif  // SASRECLLM_SERVER_SASREC_STAGE_H_
