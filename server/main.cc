// sasrecllm-server: serves a model bundle over gRPC (sasrecllm.v1.Recommender,
// grpc.health.v1.Health, reflection) and Prometheus metrics on /metrics.
//
//   build/sasrecllm-server --bundle build/demo/bundle --port 50051 --metrics-port 9464
//
// Start-up: load the bundle (any error: print it and exit 1, nothing served),
// warm up, start serving, mark health SERVING, print "listening on HOST:PORT".
// SIGTERM / SIGINT: health NOT_SERVING for --drain-notice-ms, then GOAWAY,
// finish every accepted request within --drain-timeout-s, exit 0.
// SIGHUP: hot reload (--reload-path-file, else --bundle again): the new
// bundle is loaded and warmed beside the serving one and swapped in; a bundle
// that fails to load is logged and counted
// (sasrecllm_model_reloads_total{result="failed"}) and the old one serves on.
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "base/file.h"
#include "model/torch_device.h"
#include "server/connection_limits.h"
#include "server/cpu_limit.h"
#include "server/metrics.h"
#include "server/model_loader.h"
#include "server/recommender_service.h"
#include "server/reloader.h"
#include "server/server_flags.h"

namespace {

using sasrecllm::server::LoadedModel;
using sasrecllm::server::Metrics;
using sasrecllm::server::Reloader;
using sasrecllm::server::RecommenderService;
using sasrecllm::server::ServerFlags;
using sasrecllm::server::ServiceOptions;

constexpr char kServiceName[] = "sasrecllm.v1.Recommender";

// SIGINT and SIGTERM drain; SIGHUP reloads the bundle.
sigset_t HandledSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

void LogLoaded(const LoadedModel& loaded) {
  std::fprintf(stderr, "bundle loaded: model_version %s\n",
               loaded.bundle->manifest().model_version.c_str());
  std::fprintf(stderr, "stage-1 retrieval: %s\n", loaded.retrieval.c_str());
  if (loaded.llm != nullptr) {
    std::fprintf(stderr, "LLM stage loaded: %lld layers, hidden %lld\n",
                 static_cast<long long>(loaded.llm->parts().llm->config().num_hidden_layers),
                 static_cast<long long>(loaded.llm->parts().llm->config().hidden_size));
  }
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "sasrecllm-server: %s\n", message.c_str());
  return 1;
}

// What the LLM stage's warm-up measured, and the pass size it serves with.
void LogLlmPassTuning(const RecommenderService& service) {
  if (auto tuning = service.llm_pass_tuning(); tuning.has_value()) {
    std::fprintf(stderr, "LLM pass tuning: %s\n", tuning->Summary().c_str());
  }
}

// Plaintext without --tls-cert; TLS with it; mutual TLS (client certificates
// required and verified) with --tls-client-ca too.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(
    const ServerFlags& flags) {
  if (flags.tls_cert.empty() && flags.tls_key.empty() && flags.tls_client_ca.empty()) {
    return grpc::InsecureServerCredentials();
  }
  if (flags.tls_cert.empty() || flags.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  grpc::SslServerCredentialsOptions options;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  for (auto [path, out] : {std::pair{&flags.tls_cert, &pair.cert_chain},
                           std::pair{&flags.tls_key, &pair.private_key},
                           std::pair{&flags.tls_client_ca, &options.pem_root_certs}}) {
    if (path->empty()) continue;
    sasrecllm::StatusOr<std::string> text = sasrecllm::ReadFileToString(*path);
    if (!text.ok()) return absl::InvalidArgumentError(text.status().message());
    *out = std::move(text).value();
  }
  options.pem_key_cert_pairs.push_back(std::move(pair));
  options.client_certificate_request =
      flags.tls_client_ca.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                  : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  std::fprintf(stderr, "TLS on the gRPC port%s\n",
               flags.tls_client_ca.empty() ? "" : ", client certificates required (mTLS)");
  return grpc::SslServerCredentials(options);
}

int Run(const ServerFlags& flags) {
  const std::string bundle_dir = flags.bundle;
  if (bundle_dir.empty()) return Fail("--bundle DIR is required (see --help)");
  // Before the model loads: a bad TLS setting fails in a second, not minutes.
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      ServerCredentials(flags);
  if (!credentials.ok()) return Fail(std::string(credentials.status().message()));

  sasrecllm::server::ModelLoadOptions load_options;
  const std::string device_name = flags.device;
  const auto device = sasrecllm::model::TorchDevice(device_name);
  if (!device.ok()) return Fail(absl::StrCat("--device=", device_name, ": ", device.status().message()));
  load_options.device = *device;
  const std::string dtype_name = flags.dtype;
  const auto dtype = sasrecllm::model::TorchDtype(dtype_name);
  if (!dtype.ok()) return Fail(absl::StrCat("--dtype=", dtype_name, ": ", dtype.status().message()));
  load_options.dtype = *dtype;
  load_options.llm = flags.llm;
  load_options.retrieval = flags.retrieval;
  load_options.ann_search_params = flags.ann_search_params;
  int threads = flags.threads;
  if (threads < 0) return Fail(absl::StrCat("--threads=", threads, ": must be >= 0"));
  // The model shares the machine with gRPC's threads: on 2 cores, 1 model thread
  // served 2311 req/s against 1541 with 2 (Recommend, history 50, concurrency 32).
  // The CPUs are the container's (its cgroup quota), not the node's.
  const int cpus = sasrecllm::server::AvailableCpus();
  if (threads == 0) threads = std::max(1, cpus - 1);
  torch::set_num_threads(threads);
  // SASRec batches at once; 0 = enough for workers x threads to cover the
  // CPUs, at most 2. On 2 cores (1 model thread) 2 workers served 1.3x to
  // 1.5x the requests of 1 at concurrency 32 and 64 (the second batch runs
  // while the first one's replies go out), but one run at concurrency 8 was
  // slower (smaller batches): the default stays 1 until that is understood.
  int sasrec_workers = flags.sasrec_workers;
  if (sasrec_workers == 0) sasrec_workers = std::clamp(cpus / threads, 1, 2);
  std::fprintf(stderr, "model threads: %d x %d SASRec workers (%d CPUs available)\n", threads,
               sasrec_workers, cpus);
  if (flags.retrieval_k < 1) {
    return Fail(absl::StrCat("--retrieval-k=", flags.retrieval_k, ": must be >= 1"));
  }
  if (flags.drain_timeout_s < 0) {
    return Fail(absl::StrCat("--drain-timeout-s=", flags.drain_timeout_s,
                             ": must be >= 0"));
  }

  absl::StatusOr<LoadedModel> loaded = sasrecllm::server::LoadModel(bundle_dir, load_options);
  if (!loaded.ok()) return Fail(std::string(loaded.status().message()));
  LogLoaded(*loaded);

  Metrics metrics({loaded->bundle->manifest().model_version, device_name, dtype_name});

  ServiceOptions options;
  options.limits.max_top_k = flags.max_top_k;
  options.limits.max_candidates = flags.max_candidates;
  options.batcher.max_batch_size = flags.max_batch_size;
  options.batcher.workers = sasrec_workers;
  options.batcher.max_queue_delay = absl::Microseconds(flags.max_queue_delay_us);
  options.batcher.max_queue_size = flags.max_queue_size;
  options.device = device_name;
  options.dtype = dtype_name;
  options.retrieval_k = flags.retrieval_k;
  options.llm_batcher.max_batch_size = flags.llm_max_batch_size;
  options.llm_batcher.max_queue_delay = options.batcher.max_queue_delay;
  options.llm_batcher.max_queue_size = options.batcher.max_queue_size;
  options.rerank.max_batch_tokens = flags.max_batch_tokens;
  options.rerank.share_prefix = flags.prefix_sharing;
  options.tune_llm_pass = flags.llm_pass_tuning;
  options.cache_llm_prompts = flags.llm_prompt_cache;
  sasrecllm::server::AccessLogOptions log_options;
  log_options.level = *sasrecllm::server::ParseLogLevel(flags.log_level);  // checked by CLI11
  log_options.sample_rate = flags.access_log_sample_rate;
  sasrecllm::server::AccessLog access_log(log_options);
  options.access_log = &access_log;
  auto service = RecommenderService::Create(options, loaded->bundle, &metrics, nullptr,
                                            loaded->llm, loaded->retriever);
  loaded = LoadedModel{};  // the service holds the model now: a reload can free it
  if (!service.ok()) return Fail(service.status().ToString());
  if (absl::Status s = (*service)->Warmup(); !s.ok()) {
    return Fail(absl::StrCat("warm-up failed: ", s.ToString()));
  }
  LogLlmPassTuning(**service);

  const std::string host = flags.host;
  const int metrics_port = flags.metrics_port;
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
  sasrecllm::server::ConnectionLimits limits;
  limits.max_message_bytes = flags.max_message_bytes;
  limits.max_concurrent_streams = flags.max_concurrent_streams;
  limits.min_ping_interval_ms = flags.keepalive_min_ping_interval_ms;
  limits.max_ping_strikes = flags.keepalive_max_ping_strikes;
  limits.max_connection_age_s = flags.max_connection_age_s;
  limits.max_connection_age_grace_s = flags.max_connection_age_grace_s;
  if (absl::Status s = limits.Validate(); !s.ok()) return Fail(s.ToString());
  sasrecllm::server::ApplyConnectionLimits(limits, &builder);
  int selected_port = 0;
  builder.AddListeningPort(absl::StrCat(host, ":", flags.port), *credentials, &selected_port);
  builder.RegisterService(service->get());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || selected_port == 0) {
    return Fail(absl::StrCat("cannot listen on ", host, ":", flags.port));
  }
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  // The model is loaded and warmed up: serve.
  health->SetServingStatus("", true);
  health->SetServingStatus(kServiceName, true);
  std::fprintf(stderr, "listening on %s:%d\n", host.c_str(), selected_port);

  // Hot reload (SIGHUP) on a thread of its own; the old model serves on.
  Reloader reloader([&]() -> absl::Status {
    const absl::Time start = absl::Now();
    absl::Status status = [&]() -> absl::Status {
      absl::StatusOr<std::string> dir =
          sasrecllm::server::ReloadTarget(bundle_dir, flags.reload_path_file);
      if (!dir.ok()) return dir.status();
      std::fprintf(stderr, "reload: loading %s\n", dir->c_str());
      absl::StatusOr<LoadedModel> next = sasrecllm::server::LoadModel(*dir, load_options);
      if (!next.ok()) return next.status();
      LogLoaded(*next);
      return (*service)->Reload(std::move(next->bundle), std::move(next->llm),
                                std::move(next->retriever));
    }();
    const std::string version = (*service)->model_version();
    metrics.RecordReload(status.ok(), {version, device_name, dtype_name});
    if (status.ok()) {
      LogLlmPassTuning(**service);
      std::fprintf(stderr, "reload: serving model_version %s (%.1f s)\n", version.c_str(),
                   absl::ToDoubleSeconds(absl::Now() - start));
    } else {
      std::fprintf(stderr, "reload failed: %s; still serving model_version %s\n",
                   std::string(status.message()).c_str(), version.c_str());
    }
    return status;
  });

  // Signals are blocked in every thread (see main); this one waits for them.
  std::thread signal_thread([&] {
    sigset_t set = HandledSignals();
    int signal_number = 0;
    for (;;) {
      sigwait(&set, &signal_number);
      if (signal_number != SIGHUP) break;
      std::fprintf(stderr, "received SIGHUP: reloading\n");
      reloader.Request();
    }
    std::fprintf(stderr, "received %s: draining\n", signal_number == SIGINT ? "SIGINT" : "SIGTERM");
    health->SetServingStatus("", false);
    health->SetServingStatus(kServiceName, false);
    // Clients that watch our health stop picking us within the notice; calls
    // that still come are served. Then GOAWAY: every client moves to another
    // replica, while each call already accepted runs to its end (the pipeline
    // keeps going) until the drain deadline, when gRPC cancels what is left.
    std::this_thread::sleep_for(std::chrono::milliseconds(flags.drain_notice_ms));
    server->Shutdown(std::chrono::system_clock::now() +
                     std::chrono::seconds(flags.drain_timeout_s));
    (*service)->Drain();  // stops the stages' threads: every call has finished
    reloader.Stop();      // a reload still loading is refused by the drained service
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
  sasrecllm::model::FlushDenormalsToZero();  // before any thread exists: they inherit it
  // Debian's Abseil is built with its Mutex deadlock detector on: a lock
  // graph updated on every absl::Mutex lock, a few percent of a loaded
  // server's CPU (perf under overload). The tests keep it on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  ServerFlags flags;
  CLI::App app("Serves a SASRecLLM model bundle over gRPC.", "sasrecllm-server");
  app.footer(
      "Prints \"listening on HOST:PORT\" on stderr when ready; SIGTERM/SIGINT drain and exit 0.\n"
      "Every flag can also be set from the environment variable shown with it\n"
      "(SASRECLLM_<FLAG>); the command line wins.\n"
      "Exit codes: 0 ok (after a drain), 1 error (e.g. a bundle that does not load), 2 usage "
      "error.");
  sasrecllm::server::AddServerFlags(app, &flags);
  try {
    sasrecllm::server::ParseServerFlags(app, argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help / -h: usage on stdout, 0; any other parse error: 2.
    return app.exit(e) == 0 ? 0 : 2;
  }
  // Block SIGINT/SIGTERM/SIGHUP before any thread starts so that every thread
  // inherits the mask and only the signal thread (sigwait) receives them.
  sigset_t set = HandledSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // And a handler (never run while they stay blocked): a container's PID 1
  // is sent only the signals it handles, or blocks; this keeps it so
  // whatever the mask.
  for (int signal_number : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction action = {};
    action.sa_handler = [](int) {};
    sigaction(signal_number, &action, nullptr);
  }
  return Run(flags);
}
