#include "cli/data_parallel.h"

#include <iostream>

namespace sasrecllm::cli {

StatusOr<std::unique_ptr<model::DataParallel>> JoinDataParallel(torch::Device device) {
  SASRECLLM_ASSIGN_OR_RETURN(model::LaunchEnvironment env,
                             model::LaunchEnvironment::FromEnvironment());
  model::DataParallelOptions options;
  options.device = device;
  SASRECLLM_ASSIGN_OR_RETURN(std::unique_ptr<model::DataParallel> dp,
                             model::DataParallel::CreateFromEnvironment(options));
  if (dp != nullptr) {
    std::cerr << "data-parallel: rank " << dp->rank() << " of " << dp->world_size()
              << " (local rank " << env.local_rank << "), " << dp->backend_name()
              << ", rendezvous " << env.master_addr << ":" << dp->master_port() << "\n";
  }
  return dp;
}

}  // namespace sasrecllm::cli
