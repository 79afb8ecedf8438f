#include "model/distributed.h"

#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>
#include <torch/version.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <sstream>
#include <utility>

// SASRECLLM_WITH_GLOO / SASRECLLM_WITH_NCCL: model/CMakeLists.txt found the
// gloo / NCCL headers. ProcessGroupGloo.hpp (ProcessGroupNCCL.hpp) is empty
// without USE_C10D_GLOO (USE_C10D_NCCL), which libtorch's CMake target
// usually exports; defined here where it does not.
#ifdef SASRECLLM_WITH_GLOO
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef SASRECLLM_WITH_NCCL
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "model/torch_errors.h"

namespace sasrecllm::model {
namespace {

// The class both backends derive from: c10d::ProcessGroup in libtorch 1.x,
// c10d::Backend since 2.0 (where ProcessGroup became a dispatcher over
// backends). Their collectives have the same signatures.
#if TORCH_VERSION_MAJOR >= 2
using BackendBase = ::c10d::Backend;
#else
using BackendBase = ::c10d::ProcessGroup;
#endif

// An integer environment variable: `fallback` when unset or empty.
StatusOr<int64_t> EnvInt(const char* name, int64_t fallback, bool* present = nullptr) {
  const char* v = std::getenv(name);
  if (present != nullptr) *present = v != nullptr && *v != '\0';
  if (v == nullptr || *v == '\0') return fallback;
  errno = 0;
  char* end = nullptr;
  const long long x = std::strtoll(v, &end, 10);
  if (errno != 0 || end == v || *end != '\0') {
    return InvalidArgumentError(std::string(name) + "=\"" + v + "\" is not an integer");
  }
  return static_cast<int64_t>(x);
}

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

}  // namespace

struct DataParallel::Group {
  c10::intrusive_ptr<::c10d::Store> store;
  c10::intrusive_ptr<BackendBase> backend;
};

StatusOr<LaunchEnvironment> LaunchEnvironment::FromEnvironment() {
  LaunchEnvironment env;
  bool has_rank = false, has_local_rank = false;
  SASRECLLM_ASSIGN_OR_RETURN(env.world_size, EnvInt("WORLD_SIZE", 1));
  SASRECLLM_ASSIGN_OR_RETURN(env.rank, EnvInt("RANK", 0, &has_rank));
  SASRECLLM_ASSIGN_OR_RETURN(env.local_rank, EnvInt("LOCAL_RANK", env.rank, &has_local_rank));
  SASRECLLM_ASSIGN_OR_RETURN(env.master_port, EnvInt("MASTER_PORT", env.master_port));
  if (const char* addr = std::getenv("MASTER_ADDR"); addr != nullptr && *addr != '\0') {
    env.master_addr = addr;
  }
  if (env.world_size < 1) {
    return InvalidArgumentError("WORLD_SIZE must be >= 1, got " + std::to_string(env.world_size));
  }
  if (env.world_size > 1 && !has_rank) {
    return FailedPreconditionError("WORLD_SIZE=" + std::to_string(env.world_size) +
                                   " but RANK is unset (launch with torchrun's variables: "
                                   "RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT)");
  }
  if (env.rank < 0 || env.rank >= env.world_size) {
    return InvalidArgumentError("RANK=" + std::to_string(env.rank) + " outside 0.." +
                                std::to_string(env.world_size - 1) + " (WORLD_SIZE=" +
                                std::to_string(env.world_size) + ")");
  }
  if (env.local_rank < 0) {
    return InvalidArgumentError("LOCAL_RANK must be >= 0, got " + std::to_string(env.local_rank));
  }
  if (env.master_port < 1 || env.master_port > 65535) {
    return InvalidArgumentError("MASTER_PORT=" + std::to_string(env.master_port) +
                                " outside 1..65535");
  }
  return env;
}

Status DataParallelOptions::Validate() const {
  if (world_size < 1) return InvalidArgumentError("world_size must be >= 1, got " + std::to_string(world_size));
  if (rank < 0 || rank >= world_size) {
    return InvalidArgumentError("rank " + std::to_string(rank) + " outside 0.." +
                                std::to_string(world_size - 1));
  }
  if (master_port < 0 || master_port > 65535) {
    return InvalidArgumentError("master_port " + std::to_string(master_port) + " outside 0..65535");
  }
  if (master_port == 0 && rank != 0) {
    return InvalidArgumentError("master_port 0 (any free port) is for rank 0 only");
  }
  if (master_addr.empty()) return InvalidArgumentError("master_addr is empty");
  if (timeout.count() <= 0) return InvalidArgumentError("timeout must be > 0");
  if (bucket_bytes < 1) return InvalidArgumentError("bucket_bytes must be >= 1");
  return OkStatus();
}

ShardRange ShardOf(int64_t n, int64_t rank, int64_t world_size) {
  return {n * rank / world_size, n * (rank + 1) / world_size};
}

DataParallel::DataParallel(const DataParallelOptions& options, std::unique_ptr<Group> group,
                           int64_t port)
    : options_(options), group_(std::move(group)), port_(port) {}

DataParallel::~DataParallel() = default;

StatusOr<std::unique_ptr<DataParallel>> DataParallel::Create(const DataParallelOptions& options) {
  SASRECLLM_RETURN_IF_ERROR(options.Validate());
  const std::string where = "rank " + std::to_string(options.rank) + " of " +
                            std::to_string(options.world_size) + " at " + options.master_addr +
                            ":" + std::to_string(options.master_port);
  auto group = std::make_unique<Group>();
  int64_t port = 0;
  try {
    ::c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(options.master_port);
    so.isServer = options.rank == 0;
    so.numWorkers = static_cast<std::size_t>(options.world_size);
    so.waitWorkers = false;  // the process group's own rendezvous waits for everyone
    so.timeout = options.timeout;
    auto store = c10::make_intrusive<::c10d::TCPStore>(options.master_addr, so);
    port = store->getPort();
    group->store = store;
    if (options.rank == 0 && options.on_store_listening) options.on_store_listening(port);
  } catch (const std::exception& e) {
    return UnavailableError("TCPStore rendezvous failed for " + where + ": " +
                            TorchErrorMessage(e));
  }
  const int rank = static_cast<int>(options.rank), size = static_cast<int>(options.world_size);
  try {
    if (options.device.is_cuda()) {
#ifdef SASRECLLM_WITH_NCCL
      auto opts = ::c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = options.timeout;
      group->backend = c10::make_intrusive<::c10d::ProcessGroupNCCL>(group->store, rank, size, opts);
#endif
    }
    if (!group->backend) {
#ifdef SASRECLLM_WITH_GLOO
      auto opts = ::c10d::ProcessGroupGloo::Options::create(options.timeout);
      // As torch.distributed picks the interface: GLOO_SOCKET_IFNAME when
      // set, loopback for a loopback master, else this host's name.
      const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
      if (ifname != nullptr && *ifname != '\0') {
        opts->devices.push_back(::c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      } else if (IsLoopback(options.master_addr)) {
        opts->devices.push_back(::c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      } else {
        opts->devices.push_back(::c10d::ProcessGroupGloo::createDefaultDevice());
      }
      group->backend = c10::make_intrusive<::c10d::ProcessGroupGloo>(group->store, rank, size, opts);
#else
      return UnimplementedError(
          "data-parallel training needs c10d's Gloo backend: this build found no gloo headers "
          "(install libgloo-dev and reconfigure)");
#endif
    }
  } catch (const std::exception& e) {
    return UnavailableError("process group rendezvous failed for " + where + ": " +
                            TorchErrorMessage(e));
  }
  return std::unique_ptr<DataParallel>(new DataParallel(options, std::move(group), port));
}

StatusOr<std::unique_ptr<DataParallel>> DataParallel::CreateFromEnvironment(
    const DataParallelOptions& options) {
  SASRECLLM_ASSIGN_OR_RETURN(LaunchEnvironment env, LaunchEnvironment::FromEnvironment());
  if (env.world_size <= 1) return std::unique_ptr<DataParallel>();
  DataParallelOptions o = options;
  o.rank = env.rank;
  o.world_size = env.world_size;
  o.master_addr = env.master_addr;
  o.master_port = env.master_port;
  return Create(o);
}

std::string DataParallel::backend_name() const { return group_->backend->getBackendName(); }

std::vector<std::vector<torch::Tensor>> DataParallel::Buckets(
    const std::vector<torch::Tensor>& tensors) const {
  std::vector<std::vector<torch::Tensor>> buckets;
  int64_t bytes = 0;
  for (const torch::Tensor& t : tensors) {
    const int64_t n = t.numel() * static_cast<int64_t>(t.element_size());
    const bool fits = !buckets.empty() && bytes + n <= options_.bucket_bytes &&
                      buckets.back().front().scalar_type() == t.scalar_type() &&
                      buckets.back().front().device() == t.device();
    if (!fits) {
      buckets.emplace_back();
      bytes = 0;
    }
    buckets.back().push_back(t);
    bytes += n;
  }
  return buckets;
}

namespace {

// [sum of numel] one flat copy of the bucket's tensors, in order.
torch::Tensor Flatten(const std::vector<torch::Tensor>& bucket) {
  std::vector<torch::Tensor> flat;
  flat.reserve(bucket.size());
  for (const torch::Tensor& t : bucket) flat.push_back(t.reshape({-1}));
  return torch::cat(flat);
}

// Copies `flat` back into the bucket's tensors (the inverse of Flatten).
void Unflatten(const torch::Tensor& flat, const std::vector<torch::Tensor>& bucket) {
  int64_t offset = 0;
  for (const torch::Tensor& t : bucket) {
    t.copy_(flat.narrow(0, offset, t.numel()).view_as(t));
    offset += t.numel();
  }
}

}  // namespace

Status DataParallel::Broadcast(const std::vector<torch::Tensor>& tensors, int64_t root) {
  try {
    torch::NoGradGuard no_grad;
    for (const std::vector<torch::Tensor>& bucket : Buckets(tensors)) {
      std::vector<torch::Tensor> flat = {Flatten(bucket)};
      ::c10d::BroadcastOptions bo;
      bo.rootRank = root;
      group_->backend->broadcast(flat, bo)->wait();
      Unflatten(flat[0], bucket);
    }
    return OkStatus();
  } catch (const std::exception& e) {
    return UnavailableError("broadcast from rank " + std::to_string(root) + " failed on rank " +
                            std::to_string(rank()) + ": " + TorchErrorMessage(e));
  }
}

Status DataParallel::BroadcastString(std::string* value, int64_t root) {
  try {
    torch::Tensor size = torch::tensor({static_cast<int64_t>(value->size())}, torch::kInt64)
                             .to(options_.device);  // [1]
    SASRECLLM_RETURN_IF_ERROR(Broadcast({size}, root));
    const int64_t n = size.item<int64_t>();
    if (n == 0) {
      value->clear();
      return OkStatus();
    }
    torch::Tensor bytes = torch::empty({n}, torch::kUInt8);  // [n]
    if (rank() == root) std::copy(value->begin(), value->end(), bytes.data_ptr<uint8_t>());
    bytes = bytes.to(options_.device);
    SASRECLLM_RETURN_IF_ERROR(Broadcast({bytes}, root));
    bytes = bytes.to(torch::kCPU).contiguous();
    const auto* p = reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>());
    value->assign(p, p + n);
    return OkStatus();
  } catch (const std::exception& e) {
    return InternalError("BroadcastString: " + TorchErrorMessage(e));
  }
}

Status DataParallel::BroadcastBool(bool* value, int64_t root) {
  torch::Tensor t = torch::tensor({*value ? 1 : 0}, torch::kInt64).to(options_.device);  // [1]
  SASRECLLM_RETURN_IF_ERROR(Broadcast({t}, root));
  *value = t.item<int64_t>() != 0;
  return OkStatus();
}

Status DataParallel::BroadcastOptimizer(torch::optim::Optimizer& optimizer, int64_t root) {
  std::string bytes;
  try {
    if (rank() == root) {
      std::ostringstream out;
      torch::save(optimizer, out);
      bytes = out.str();
    }
  } catch (const std::exception& e) {
    return InternalError("BroadcastOptimizer: cannot serialize: " + TorchErrorMessage(e));
  }
  SASRECLLM_RETURN_IF_ERROR(BroadcastString(&bytes, root));
  if (rank() == root) return OkStatus();
  try {
    std::istringstream in(bytes);
    torch::load(optimizer, in);
    return OkStatus();
  } catch (const std::exception& e) {
    return InternalError("BroadcastOptimizer: rank " + std::to_string(rank()) +
                         " cannot load rank " + std::to_string(root) +
                         "'s optimizer (parameters differ?): " + TorchErrorMessage(e));
  }
}

Status DataParallel::AllReduceGradients(const std::vector<torch::Tensor>& parameters) {
  try {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> grads;
    for (const torch::Tensor& p : parameters) {
      if (!p.requires_grad()) continue;
      torch::Tensor& g = p.mutable_grad();
      if (!g.defined()) g = torch::zeros_like(p);
      grads.push_back(g);
    }
    const std::vector<std::vector<torch::Tensor>> buckets = Buckets(grads);
    // Every bucket's all-reduce in flight at once, then each one waited for.
    std::vector<std::vector<torch::Tensor>> flats;
    flats.reserve(buckets.size());
    std::vector<c10::intrusive_ptr<::c10d::Work>> works;
    for (const auto& bucket : buckets) {
      flats.push_back({Flatten(bucket)});
      works.push_back(group_->backend->allreduce(flats.back()));
    }
    for (size_t i = 0; i < buckets.size(); ++i) {
      works[i]->wait();
      flats[i][0].div_(static_cast<double>(world_size()));
      Unflatten(flats[i][0], buckets[i]);
    }
    return OkStatus();
  } catch (const std::exception& e) {
    return UnavailableError("gradient all-reduce failed on rank " + std::to_string(rank()) +
                            ": " + TorchErrorMessage(e));
  }
}

Status DataParallel::AllReduceSum(torch::Tensor tensor) {
  try {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> t = {tensor};
    group_->backend->allreduce(t)->wait();
    return OkStatus();
  } catch (const std::exception& e) {
    return UnavailableError("all-reduce failed on rank " + std::to_string(rank()) + ": " +
                            TorchErrorMessage(e));
  }
}

Status DataParallel::Barrier() {
  // An all-reduce of one number: the same on every backend (NCCL's
  // barrier() guesses a device).
  return AllReduceSum(torch::zeros({1}, torch::kFloat).to(options_.device));
}

}  // namespace sasrecllm::model
