// CoLLM split rows -> HybridExamples: SASRec indices are the data set's item
// ids (the CoLLM ML-1M ids 1..3255 are what `data convert-collm` trains
// SASRec on); titles come from items.tsv.
//
//   SASRECLLM_ASSIGN_OR_RETURN(auto rows, ReadCollmSplit(dir + "/train.tsv"));
//   SASRECLLM_ASSIGN_OR_RETURN(auto items, model::ReadItemsTsv(dir + "/items.tsv"));
//   std::vector<HybridExample> examples = ExamplesFromCollmRows(rows, items, item_num);
#ifndef SASRECLLM_MODEL_HYBRID_COLLM_EXAMPLES_H_
#define SASRECLLM_MODEL_HYBRID_COLLM_EXAMPLES_H_

#include <string>
#include <vector>

#include "model/hybrid/hybrid_model.h"
#include "model/interaction_data.h"

namespace sasrecllm::hybrid {

// Items beyond `sasrec_item_num` (never seen by SASRec) become index 0:
// cold, scored from their title alone. An item without a title gets "".
std::vector<HybridExample> ExamplesFromCollmRows(const std::vector<CollmRow>& rows,
                                                 const std::vector<model::ItemTitle>& items,
                                                 int64_t sasrec_item_num);

}  // namespace sasrecllm::hybrid

#endif  // SASRECLLM_MODEL_HYBRID_COLLM_EXAMPLES_H_
