// sasrecllm-server: serves a model bundle over gRPC (sasrecllm.v1.Recommender,
// grpc.health.v1.Health, reflection) and Prometheus metrics on /metrics.
//
//   build/sasrecllm-server --bundle build/demo/bundle --port 50051 --metrics-port 9464
//
// Start-up: load the bundle (any error: print it and exit 1, nothing served),
// warm up, start serving, mark health SERVING, print "listening on HOST:PORT".
// SIGTERM / SIGINT: health NOT_SERVING, new RPCs UNAVAILABLE, finish every
// accepted request, shut down within --drain-timeout-s, exit 0.
#include <malloc.h>
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>
#include <algorithm>
#include <climits>

#include <torch/torch.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "model/bundle.h"
#include "model/hybrid/hybrid_bundle.h"
#include "model/torch_device.h"
#include "server/metrics.h"
#include "server/recommender_service.h"

ABSL_FLAG(std::string, bundle, "", "Model bundle folder (required).");
ABSL_FLAG(std::string, host, "0.0.0.0", "Address to listen on for gRPC.");
ABSL_FLAG(int, port, 50051, "gRPC port; 0 picks a free port (printed at start).");
ABSL_FLAG(int, metrics_port, 9464,
          "Prometheus port, served at /metrics on --host; 0 turns metrics serving off.");
ABSL_FLAG(std::string, device, "cpu", "Device for the model: cpu, cuda or cuda:N.");
ABSL_FLAG(std::string, dtype, "float32", "Model dtype: float32, bfloat16 or float16.");
ABSL_FLAG(int, max_batch_size, 32, "Most requests per SASRec (stage 1) batch.");
// 500 us measured best on 2 cores for Recommend (history 50): 317 / 1659 / 2458 req/s
// at concurrency 1 / 8 / 32, against 171 / 965 / 2220 with 2000 us and
// 343 / 1233 / 2246 with 0 (bench/serving.sh, Games model).
ABSL_FLAG(int, max_queue_delay_us, 500,
          "Longest time (microseconds) the oldest queued request waits for a batch to fill.");
ABSL_FLAG(int, max_queue_size, 1024,
          "Most queued requests; beyond it requests fail at once with RESOURCE_EXHAUSTED.");
ABSL_FLAG(int, retrieval_k, 20,
          "Candidates that SASRec retrieves per Recommend for LLM re-ranking (at least top_k).");
ABSL_FLAG(bool, llm, true,
          "Load the bundle's LLM stage when it has one (HYBRID and AUTO re-rank with it); "
          "--llm=false serves SASRec only.");
ABSL_FLAG(int, llm_max_batch_size, 8, "Most requests per LLM (stage 2) batch.");
ABSL_FLAG(int, max_batch_tokens, 8192,
          "Most token positions in one LLM forward pass (requests x padded prompt length): "
          "bounds the LLM's memory whatever the histories' lengths.");
ABSL_FLAG(bool, prefix_sharing, true,
          "Compute each request's prompt prefix once and continue every candidate from it; "
          "false runs every candidate's whole prompt (for benchmarks).");
ABSL_FLAG(int, max_top_k, 1000, "Largest top_k a request may ask for.");
ABSL_FLAG(int, max_candidates, 1000, "Most candidates a request may send.");
ABSL_FLAG(int, threads, 0,
          "Torch intra-op threads; 0 = hardware concurrency - 1 (at least 1), leaving a core "
          "for gRPC's threads.");
ABSL_FLAG(int, drain_timeout_s, 30,
          "On SIGTERM/SIGINT, how long (seconds) in-flight RPCs may take to finish.");

namespace {

using sasrecllm::server::Metrics;
using sasrecllm::server::RecommenderService;
using sasrecllm::server::ServiceOptions;

constexpr char kServiceName[] = "sasrecllm.v1.Recommender";

int Fail(const std::string& message) {
  std::fprintf(stderr, "sasrecllm-server: %s\n", message.c_str());
  return 1;
}

int Run() {
  const std::string bundle_dir = absl::GetFlag(FLAGS_bundle);
  if (bundle_dir.empty()) return Fail("--bundle DIR is required (see --help)");

  sasrecllm::model::BundleLoadOptions load_options;
  load_options.dir = bundle_dir;
  const std::string device_name = absl::GetFlag(FLAGS_device);
  const auto device = sasrecllm::model::TorchDevice(device_name);
  if (!device.ok()) return Fail(absl::StrCat("--device=", device_name, ": ", device.status().message()));
  load_options.device = *device;
  const std::string dtype_name = absl::GetFlag(FLAGS_dtype);
  const auto dtype = sasrecllm::model::TorchDtype(dtype_name);
  if (!dtype.ok()) return Fail(absl::StrCat("--dtype=", dtype_name, ": ", dtype.status().message()));
  load_options.dtype = *dtype;
  int threads = absl::GetFlag(FLAGS_threads);
  if (threads < 0) return Fail(absl::StrCat("--threads=", threads, ": must be >= 0"));
  // The model shares the machine with gRPC's threads: on 2 cores, 1 model thread
  // served 2311 req/s against 1541 with 2 (Recommend, history 50, concurrency 32).
  if (threads == 0) threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) - 1);
  torch::set_num_threads(threads);
  if (absl::GetFlag(FLAGS_retrieval_k) < 1) {
    return Fail(absl::StrCat("--retrieval-k=", absl::GetFlag(FLAGS_retrieval_k), ": must be >= 1"));
  }
  if (absl::GetFlag(FLAGS_drain_timeout_s) < 0) {
    return Fail(absl::StrCat("--drain-timeout-s=", absl::GetFlag(FLAGS_drain_timeout_s),
                             ": must be >= 0"));
  }

  auto bundle = sasrecllm::model::Bundle::Load(load_options);
  if (!bundle.ok()) {
    return Fail(absl::StrCat("cannot load bundle ", bundle_dir, ": ", bundle.status().ToString()));
  }
  std::shared_ptr<const sasrecllm::model::Bundle> shared_bundle(std::move(bundle).value());

  std::shared_ptr<sasrecllm::hybrid::HybridModel> llm;
  const std::vector<std::string>& components = shared_bundle->manifest().components;
  if (absl::GetFlag(FLAGS_llm) &&
      std::find(components.begin(), components.end(), "llm") != components.end()) {
    sasrecllm::llm::LlamaModel::Options llm_options;
    llm_options.device = load_options.device;
    llm_options.dtype = load_options.dtype;
    auto loaded = sasrecllm::hybrid::LoadBundleHybridModel(*shared_bundle, llm_options);
    if (!loaded.ok()) {
      return Fail(absl::StrCat("cannot load the LLM stage of ", bundle_dir, ": ",
                               loaded.status().ToString(), " (--llm=false serves SASRec only)"));
    }
    llm = std::move(loaded).value();
    std::fprintf(stderr, "LLM stage loaded: %lld layers, hidden %lld\n",
                 static_cast<long long>(llm->parts().llm->config().num_hidden_layers),
                 static_cast<long long>(llm->parts().llm->config().hidden_size));
  }

  Metrics metrics({shared_bundle->manifest().model_version, device_name, dtype_name});

  ServiceOptions options;
  options.limits.max_top_k = absl::GetFlag(FLAGS_max_top_k);
  options.limits.max_candidates = absl::GetFlag(FLAGS_max_candidates);
  options.batcher.max_batch_size = absl::GetFlag(FLAGS_max_batch_size);
  options.batcher.max_queue_delay = absl::Microseconds(absl::GetFlag(FLAGS_max_queue_delay_us));
  options.batcher.max_queue_size = absl::GetFlag(FLAGS_max_queue_size);
  options.device = device_name;
  options.dtype = dtype_name;
  options.retrieval_k = absl::GetFlag(FLAGS_retrieval_k);
  options.llm_batcher.max_batch_size = absl::GetFlag(FLAGS_llm_max_batch_size);
  options.llm_batcher.max_queue_delay = options.batcher.max_queue_delay;
  options.llm_batcher.max_queue_size = options.batcher.max_queue_size;
  options.rerank.max_batch_tokens = absl::GetFlag(FLAGS_max_batch_tokens);
  options.rerank.share_prefix = absl::GetFlag(FLAGS_prefix_sharing);
  auto service = RecommenderService::Create(options, shared_bundle, &metrics, nullptr, llm);
  if (!service.ok()) return Fail(service.status().ToString());
  if (absl::Status s = (*service)->Warmup(); !s.ok()) {
    return Fail(absl::StrCat("warm-up failed: ", s.ToString()));
  }

  const std::string host = absl::GetFlag(FLAGS_host);
  const int metrics_port = absl::GetFlag(FLAGS_metrics_port);
  if (metrics_port != 0) {
    absl::StatusOr<int> bound = metrics.Serve(absl::StrCat(host, ":", metrics_port));
    if (!bound.ok()) return Fail(bound.status().ToString());
    std::fprintf(stderr, "metrics on http://%s:%d/metrics\n", host.c_str(), *bound);
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default: a second server on the same port would
  // silently share its traffic. Fail to bind instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  int selected_port = 0;
  builder.AddListeningPort(absl::StrCat(host, ":", absl::GetFlag(FLAGS_port)),
                           grpc::InsecureServerCredentials(), &selected_port);
  builder.RegisterService(service->get());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || selected_port == 0) {
    return Fail(absl::StrCat("cannot listen on ", host, ":", absl::GetFlag(FLAGS_port)));
  }
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  // The model is loaded and warmed up: serve.
  health->SetServingStatus("", true);
  health->SetServingStatus(kServiceName, true);
  std::fprintf(stderr, "listening on %s:%d\n", host.c_str(), selected_port);

  // Signals are blocked in every thread (see main); this one waits for them.
  std::thread signal_thread([&] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int signal_number = 0;
    sigwait(&set, &signal_number);
    std::fprintf(stderr, "received %s: draining\n", signal_number == SIGINT ? "SIGINT" : "SIGTERM");
    health->SetServingStatus("", false);
    health->SetServingStatus(kServiceName, false);
    (*service)->Drain();  // new RPCs: UNAVAILABLE; every accepted one finishes
    server->Shutdown(std::chrono::system_clock::now() +
                     std::chrono::seconds(absl::GetFlag(FLAGS_drain_timeout_s)));
  });
  server->Wait();
  signal_thread.join();
  std::fprintf(stderr, "stopped\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // The LLM stage allocates and frees activation tensors of megabytes per
  // batch; glibc would mmap() and munmap() each one and fault its pages in
  // again (most of a hybrid request's time on this machine). Keep freed
  // memory in the heap for reuse instead.
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
  // --help lists this file's flags (absl otherwise looks for a file named
  // after the binary).
  absl::FlagsUsageConfig usage_config;
  usage_config.contains_help_flags = [](absl::string_view path) {
    return absl::EndsWith(path, "server/main.cc");
  };
  usage_config.contains_helpshort_flags = usage_config.contains_help_flags;
  absl::SetFlagsUsageConfig(usage_config);
  absl::SetProgramUsageMessage(
      "Serves a SASRecLLM model bundle over gRPC.\n"
      "  sasrecllm-server --bundle DIR [--port 50051] [--metrics-port 9464] [--device cpu]\n"
      "Prints \"listening on HOST:PORT\" on stderr when ready; SIGTERM/SIGINT drain and exit 0.\n"
      "Flag names may be spelt with dashes or underscores (--metrics-port = --metrics_port).");
  // absl flags are named with underscores; accept the documented dashed
  // spellings (--metrics-port) by rewriting flag names before parsing.
  std::vector<std::string> args(argv, argv + argc);
  for (size_t i = 1; i < args.size(); ++i) {
    std::string& a = args[i];
    if (a == "--") break;
    if (a.rfind("--", 0) != 0) continue;
    const size_t end = std::min(a.find('='), a.size());
    for (size_t j = 2; j < end; ++j) {
      if (a[j] == '-') a[j] = '_';
    }
  }
  std::vector<char*> fixed_argv;
  for (std::string& a : args) fixed_argv.push_back(a.data());
  fixed_argv.push_back(nullptr);
  absl::ParseCommandLine(argc, fixed_argv.data());
  // Block SIGINT/SIGTERM before any thread starts so that every thread
  // inherits the mask and only the signal thread (sigwait) receives them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return Run();
}
