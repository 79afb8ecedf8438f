// Data-parallel training on torch.distributed's c10d: one process per rank,
// started the way `torchrun` starts workers (RANK, WORLD_SIZE, LOCAL_RANK,
// MASTER_ADDR, MASTER_PORT), a TCPStore rendezvous hosted by rank 0, and a
// process group over it: ProcessGroupGloo for CPU tensors, ProcessGroupNCCL
// for CUDA tensors where the libtorch has it (Gloo otherwise).
//
// What a trainer does with it (TrainSasrec and TrainHybrid do exactly this):
//   - each rank builds the same model; BroadcastParameters makes rank 0's
//     weights everyone's before the first step;
//   - each rank draws the same global batch and keeps its ShardRange() of it;
//     its loss is its shard's sum over the global batch's count, times
//     world_size, so that AllReduceGradients (a mean) gives every rank the
//     gradient one process would compute on the whole batch;
//   - every rank steps its own optimizer on the same gradient: the weights
//     stay identical without being sent again;
//   - rank 0 alone evaluates, logs and writes checkpoints; decisions it takes
//     (early stopping, where a resume starts) reach the others by broadcast.
//
//   SASRECLLM_ASSIGN_OR_RETURN(std::unique_ptr<DataParallel> dp,
//                              DataParallel::CreateFromEnvironment({}));
//   if (dp != nullptr) {                       // WORLD_SIZE > 1
//     SASRECLLM_RETURN_IF_ERROR(dp->BroadcastParameters(model->parameters()));
//     ...loss.backward();
//     SASRECLLM_RETURN_IF_ERROR(dp->AllReduceGradients(model->parameters()));
//     optimizer.step();
//   }
//
// Every method is a collective: all ranks call it, in the same order, with
// tensors of the same shapes; a rank that does not hangs the others until
// `timeout`, after which they fail with UNAVAILABLE (Gloo) rather than hang.
//
// Thread safety: one thread per DataParallel (the c10d process group runs
// its own worker threads). Several DataParallel objects (one per rank) may
// live in one process, each used by its own thread, as the tests do.
#ifndef SASRECLLM_MODEL_DISTRIBUTED_H_
#define SASRECLLM_MODEL_DISTRIBUTED_H_

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace sasrecllm::model {

// torchrun's variables, read from the environment.
struct LaunchEnvironment {
  int64_t rank = 0;           // RANK; Default: 0
  int64_t world_size = 1;     // WORLD_SIZE; Default: 1 (unset: one process)
  int64_t local_rank = 0;     // LOCAL_RANK, the rank on this machine; Default: RANK
  std::string master_addr = "127.0.0.1";  // MASTER_ADDR; Default: 127.0.0.1
  int64_t master_port = 29500;            // MASTER_PORT; Default: 29500 (torchrun's)

  // INVALID_ARGUMENT naming the variable for a value that is not an integer
  // or out of range (RANK >= WORLD_SIZE, a port outside 1..65535);
  // FAILED_PRECONDITION when WORLD_SIZE > 1 but RANK is unset.
  static StatusOr<LaunchEnvironment> FromEnvironment();
};

struct DataParallelOptions {
  int64_t rank = 0;        // Default: 0
  int64_t world_size = 1;  // Default: 1
  std::string master_addr = "127.0.0.1";  // where rank 0 hosts the TCPStore
  // Rank 0 listens here (0: any free port, see DataParallel::master_port());
  // the others connect to it. Default: 29500
  int64_t master_port = 29500;
  // Where the tensors live: a CUDA device selects NCCL when the libtorch
  // was built with it (model/CMakeLists.txt: SASRECLLM_WITH_NCCL).
  // Default: CPU (Gloo)
  torch::Device device = torch::kCPU;
  // How long the rendezvous and each collective wait for the slowest rank
  // (rank 0's evaluations and checkpoints included). Default: 30 minutes
  std::chrono::milliseconds timeout = std::chrono::minutes(30);
  // Gradients are flattened into buckets of at most this many bytes (one
  // all-reduce each, all in flight at once). Default: 25 MiB (DDP's)
  int64_t bucket_bytes = 25LL << 20;
  // Rank 0: called with the TCPStore's port once it listens, before the other
  // ranks join (with master_port 0, how they learn it). Default: none
  std::function<void(int64_t port)> on_store_listening;

  Status Validate() const;
};

// The rows [begin, end) of n rows that rank `rank` of `world_size` takes:
// contiguous, sizes differing by at most one, in rank order. Empty when
// n < world_size for the ranks past n.
struct ShardRange {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
};
ShardRange ShardOf(int64_t n, int64_t rank, int64_t world_size);

class DataParallel {
 public:
  // Joins the process group: rank 0 hosts the TCPStore at
  // master_addr:master_port, every rank connects and builds the group.
  // INVALID_ARGUMENT for bad options; UNAVAILABLE when the rendezvous fails
  // or times out (the message names the address and rank); UNIMPLEMENTED
  // when this build has no backend for `device` (no Gloo headers).
  static StatusOr<std::unique_ptr<DataParallel>> Create(const DataParallelOptions& options);

  // Create() with rank, world size, address and port from the environment
  // (LaunchEnvironment), the rest from `options`. Returns nullptr, not an
  // error, when WORLD_SIZE is unset or 1: the caller trains in one process
  // exactly as without this class.
  static StatusOr<std::unique_ptr<DataParallel>> CreateFromEnvironment(
      const DataParallelOptions& options);

  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  int64_t rank() const { return options_.rank; }
  int64_t world_size() const { return options_.world_size; }
  bool IsRankZero() const { return options_.rank == 0; }
  // The port the TCPStore listens on (the chosen one when master_port was 0).
  int64_t master_port() const { return port_; }
  std::string backend_name() const;

  // Copies rank `root`'s values into every rank's `tensors`, in place
  // (bucketed like the gradients). Use for parameters (no autograd record).
  Status Broadcast(const std::vector<torch::Tensor>& tensors, int64_t root = 0);
  Status BroadcastParameters(const std::vector<torch::Tensor>& parameters) {
    return Broadcast(parameters, 0);
  }
  // Replaces every rank's *value with rank `root`'s.
  Status BroadcastString(std::string* value, int64_t root = 0);
  Status BroadcastBool(bool* value, int64_t root = 0);
  // Every rank's optimizer becomes rank `root`'s: its state (Adam's moments
  // and step counts) and hyper-parameters, through torch::save/torch::load,
  // so a run resumed by rank 0 alone continues identically everywhere.
  // Parameters must be registered in the same order on every rank.
  Status BroadcastOptimizer(torch::optim::Optimizer& optimizer, int64_t root = 0);

  // Every parameter's .grad() becomes the mean over ranks (sum, then
  // divided by world_size). A parameter without a gradient on some rank
  // (an empty shard, an unused branch) counts as zeros there and gets one.
  // Parameters with requires_grad false are skipped (the same on all ranks).
  Status AllReduceGradients(const std::vector<torch::Tensor>& parameters);
  // Sums `tensor` over ranks, in place.
  Status AllReduceSum(torch::Tensor tensor);
  // Returns when every rank has called it.
  Status Barrier();

 private:
  struct Group;  // the c10d store and process group (distributed.cc)
  DataParallel(const DataParallelOptions& options, std::unique_ptr<Group> group, int64_t port);
  // Groups `tensors` (same dtype and device) into flat buckets of at most
  // bucket_bytes each.
  std::vector<std::vector<torch::Tensor>> Buckets(const std::vector<torch::Tensor>& tensors) const;

  DataParallelOptions options_;
  std::unique_ptr<Group> group_;
  int64_t port_ = 0;
};

}  // namespace sasrecllm::model

#endif  // SASRECLLM_MODEL_DISTRIBUTED_H_
