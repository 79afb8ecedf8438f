// The command-line flags of sasrecllm-server, each also settable from the
// environment as SASRECLLM_<FLAG> (upper case, dashes as underscores:
// --metrics-port = SASRECLLM_METRICS_PORT); the command line wins over the
// environment.
//
//   ServerFlags flags;
//   CLI::App app("Serves a SASRecLLM model bundle over gRPC.", "sasrecllm-server");
//   AddServerFlags(app, &flags);
//   try {
//     ParseServerFlags(app, argc, argv);
//   } catch (const CLI::ParseError& e) {
//     return app.exit(e) == 0 ? 0 : 2;  // --help: 0; a usage error: 2
//   }
//
// Thread safety: a plain value type; parse before starting threads.
#ifndef SASRECLLM_SERVER_SERVER_FLAGS_H_
#define SASRECLLM_SERVER_SERVER_FLAGS_H_

#include <CLI/CLI.hpp>

#include <string>

namespace sasrecllm::server {

struct ServerFlags {
  // Model bundle folder. Required.
  std::string bundle;
  // Address to listen on for gRPC (and metrics). Default: 0.0.0.0.
  std::string host = "0.0.0.0";
  // gRPC port; 0 picks a free port (printed at start). Default: 50051.
  int port = 50051;
  // Prometheus port, /metrics on --host; 0 turns metrics serving off. Default: 9464.
  int metrics_port = 9464;
  // cpu, cuda or cuda:N. Default: cpu.
  std::string device = "cpu";
  // float32, bfloat16 or float16. Default: float32.
  std::string dtype = "float32";
  // Most requests per SASRec (stage 1) batch. Default: 32.
  int max_batch_size = 32;
  // SASRec batches run at once; 0 = CPUs / threads, clamped to 1..2. Default: 1.
  int sasrec_workers = 1;
  // Longest time (us) the oldest queued request waits for a batch to fill.
  // Default: 500. 500 us measured best on 2 cores for Recommend (history 50):
  // 317 / 1659 / 2458 req/s at concurrency 1 / 8 / 32, against 171 / 965 / 2220
  // with 2000 us and 343 / 1233 / 2246 with 0 (bench/serving.sh, Games model).
  int max_queue_delay_us = 500;
  // Most queued requests; beyond it RESOURCE_EXHAUSTED at once. Default: 1024.
  int max_queue_size = 1024;
  // Candidates SASRec retrieves per Recommend for LLM re-ranking (at least
  // top_k). Default: 20.
  int retrieval_k = 20;
  // Stage 1's whole-catalog retrieval: "exact" (every item scored), "ann" (the
  // bundle's FAISS index; exact, with a warning, for a bundle without one) or
  // "auto" (ann when the bundle carries an index, else exact). Default: auto.
  std::string retrieval = "auto";
  // FAISS search parameters for the index, e.g. "nprobe=64" or
  // "efSearch=128"; empty = the bundle's (tuned by build-index). Default: "".
  std::string ann_search_params;
  // Load the bundle's LLM stage when it has one; --llm=false serves SASRec
  // only. Default: true.
  bool llm = true;
  // Most requests per LLM (stage 2) batch. Default: 8.
  int llm_max_batch_size = 8;
  // Most token positions in one LLM forward pass. Default: 8192.
  int max_batch_tokens = 8192;
  // Compute each request's prompt prefix once. Default: true.
  bool prefix_sharing = true;
  bool llm_pass_tuning = true;
  // Tokenize the catalog titles' prompt parts at load. Default: true.
  bool llm_prompt_cache = true;
  // Largest top_k a request may ask for. Default: 1000.
  int max_top_k = 1000;
  // Most candidates a request may send. Default: 1000.
  int max_candidates = 1000;
  // Torch intra-op threads; 0 = the CPUs this process may use (cores,
  // affinity, cgroup quota; server/cpu_limit.h) - 1, at least 1. Default: 0.
  int threads = 0;
  // TLS on the gRPC port: the server's certificate chain and private key (PEM
  // files), both or neither. Default: none (plaintext, for local use).
  std::string tls_cert;
  std::string tls_key;
  // Mutual TLS: clients must present a certificate signed by this CA (PEM);
  // needs --tls-cert. Default: none.
  std::string tls_client_ca;
  // debug | info | warning | error: info logs every failed RPC and a sample
  // of the OK ones (--access-log-sample-rate) as JSON lines on stdout;
  // warning only the failed ones; error none. Default: info.
  std::string log_level = "info";
  // The share of OK RPCs in the access log, in [0, 1]. Default: 1.
  double access_log_sample_rate = 1.0;
  // On SIGTERM/SIGINT, how long (ms) the server reports NOT_SERVING while still
  // serving before it sends GOAWAY: clients that watch its health (gRPC
  // client-side health checking, sasrecllm-client --lb-policy round_robin)
  // move to other replicas first, so that no call races the GOAWAY. Default: 1000.
  int drain_notice_ms = 1000;
  // On SIGTERM/SIGINT, how long (s) in-flight RPCs may take to finish. Default: 30.
  int drain_timeout_s = 30;
  // Transport limits (connection_limits.h; the same defaults): largest
  // request message, calls per connection, the keepalive pings a client may
  // send, connection age (0 = no limit) and its grace.
  int max_message_bytes = 1 << 20;
  int max_concurrent_streams = 256;
  int keepalive_min_ping_interval_ms = 10000;
  int keepalive_max_ping_strikes = 2;
  int max_connection_age_s = 1800;
  int max_connection_age_grace_s = 60;
  // Hot reload on SIGHUP: the bundle folder to load is this file's first
  // line. Default: none (SIGHUP loads --bundle again: a symlink repointed, a
  // volume updated in place).
  std::string reload_path_file;
};

// "SASRECLLM_METRICS_PORT" for "metrics-port".
std::string ServerFlagEnvName(const std::string& flag_name);

// Registers every flag of `flags` on `app` (with its environment variable);
// `flags` must outlive `app`.
void AddServerFlags(CLI::App& app, ServerFlags* flags);

// app.parse(argc, argv), but a bad value taken from the environment is
// reported naming its variable (CLI::ValidationError "SASRECLLM_PORT=abc: ..."),
// and an unknown argument before a missing required flag (CLI::ExtrasError).
// Throws CLI::ParseError (CLI::CallForHelp for --help / -h).
void ParseServerFlags(CLI::App& app, int argc, const char* const* argv);

}  // namespace sasrecllm::server

#endif  // SASRECLLM_SERVER_SERVER_FLAGS_H_
