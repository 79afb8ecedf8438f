// The offline tool's side of data-parallel training (model/distributed.h):
// train-sasrec and train-hybrid join the group that torchrun's environment
// variables describe (scripts/train-distributed.sh sets them on one machine).
#ifndef SASRECLLM_CLI_DATA_PARALLEL_H_
#define SASRECLLM_CLI_DATA_PARALLEL_H_

#include <torch/torch.h>

#include <memory>

#include "base/status.h"
#include "model/distributed.h"

namespace sasrecllm::cli {

// nullptr (OK) when WORLD_SIZE is unset or 1; else the joined group, and one
// line on stderr naming the rank, world size, backend and rendezvous. Errors
// as model::DataParallel::CreateFromEnvironment.
StatusOr<std::unique_ptr<model::DataParallel>> JoinDataParallel(torch::Device device);

}  // namespace sasrecllm::cli

#endif  // SASRECLLM_CLI_DATA_PARALLEL_H_
