#include "server/server_flags.h"

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "base/command_line.h"

namespace sasrecllm::server {
namespace {

using command_line::AtLeast;

// Whether `text` holds `name` as a whole flag name (not a prefix of another).
bool MentionsFlag(const std::string& text, const std::string& name) {
  for (size_t at = text.find(name); at != std::string::npos; at = text.find(name, at + 1)) {
    const size_t end = at + name.size();
    if (end == text.size() || !(std::isalnum(static_cast<unsigned char>(text[end])) ||
                                text[end] == '-' || text[end] == '_')) {
      return true;
    }
  }
  return false;
}

// Whether the command line gives `name` ("--port" or "--port=...").
bool OnCommandLine(int argc, const char* const* argv, const std::string& name) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) break;
    if (argv[i] == name || std::strncmp(argv[i], (name + "=").c_str(), name.size() + 1) == 0) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string ServerFlagEnvName(const std::string& flag_name) {
  std::string env = "SASRECLLM_";
  for (char c : flag_name) {
    env += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return env;
}

void AddServerFlags(CLI::App& app, ServerFlags* flags) {
  app.option_defaults()->always_capture_default();
  auto add = [&app](const std::string& name, auto* value, const std::string& help) {
    return app.add_option("--" + name, *value, help)->envname(ServerFlagEnvName(name));
  };
  // A number that must be >= min.
  auto add_at_least = [&add](const std::string& name, auto* value, int64_t min,
                             const std::string& help) {
    return add(name, value, help)->check(AtLeast(min));
  };
  auto add_bool = [&app](const std::string& name, bool* value, const std::string& help) {
    return app.add_flag("--" + name, *value, help)->envname(ServerFlagEnvName(name));
  };
  add("bundle", &flags->bundle, "Model bundle folder (required).")->required();
  add("host", &flags->host, "Address to listen on for gRPC.");
  add("port", &flags->port, "gRPC port; 0 picks a free port (printed at start).")
      ->check(CLI::Range(0, 65535));
  add("metrics-port", &flags->metrics_port,
      "Prometheus port, served at /metrics on --host; 0 turns metrics serving off.")
      ->check(CLI::Range(0, 65535));
  add("device", &flags->device, "Device for the model: cpu, cuda or cuda:N.")
      ->check(command_line::DeviceNameCheck());
  add("dtype", &flags->dtype, "Model dtype: float32, bfloat16 or float16.")
      ->check(CLI::IsMember({"float32", "bfloat16", "float16"}));
  add_at_least("max-batch-size", &flags->max_batch_size, 1,
               "Most requests per SASRec (stage 1) batch.");
  add_at_least("sasrec-workers", &flags->sasrec_workers, 0,
               "SASRec (stage 1) batches run at once, each on its own thread with --threads "
               "model threads (more keep the cores busy while other batches form and replies "
               "are sent); 0 = enough for workers x threads to cover the CPUs, at most 2.");
  add_at_least("max-queue-delay-us", &flags->max_queue_delay_us, 0,
               "Longest time (microseconds) the oldest queued request waits for a batch to fill.");
  add_at_least("max-queue-size", &flags->max_queue_size, 1,
               "Most queued requests; beyond it requests fail at once with RESOURCE_EXHAUSTED.");
  add_at_least(
      "retrieval-k", &flags->retrieval_k, 1,
      "Candidates that SASRec retrieves per Recommend for LLM re-ranking (at least top_k).");
  add("retrieval", &flags->retrieval,
      "Stage-1 retrieval over the whole catalog: exact, ann (the bundle's FAISS index; exact "
      "when it has none) or auto (ann when the bundle carries an index).")
      ->check(CLI::IsMember({"auto", "exact", "ann"}));
  add("ann-search-params", &flags->ann_search_params,
      "FAISS search parameters for the bundle's index, e.g. nprobe=64 (IVF) or efSearch=128 "
      "(HNSW); empty: the bundle's, tuned by `sasrecllm build-index`.");
  add_bool("llm", &flags->llm,
           "Load the bundle's LLM stage when it has one (HYBRID and AUTO re-rank with it); "
           "--llm=false serves SASRec only.");
  add_at_least("llm-max-batch-size", &flags->llm_max_batch_size, 1,
               "Most requests per LLM (stage 2) batch.");
  add_at_least("max-batch-tokens", &flags->max_batch_tokens, 1,
               "Most token positions in one LLM forward pass (requests x padded prompt length): "
               "bounds the LLM's memory whatever the histories' lengths.");
  add_bool("prefix-sharing", &flags->prefix_sharing,
           "Compute each request's prompt prefix once and continue every candidate from it; "
           "--prefix-sharing=false runs every candidate's whole prompt (for benchmarks).");
  add_bool("llm-pass-tuning", &flags->llm_pass_tuning,
           "At warm-up, time LLM passes of 1, 2, 4, ... typical requests on this device and "
           "serve with the smallest pass no larger one beats by 5% per request (lowers "
           "--max-batch-tokens and --llm-max-batch-size to it, never raises them); "
           "--llm-pass-tuning=false keeps both as given.");
  add_bool("llm-prompt-cache", &flags->llm_prompt_cache,
           "At load, tokenize the prompt part of every catalog title (the first 200,000) and run "
           "the empty-history prefix through the LLM once, rather than for every request (about "
           "200 bytes per title); --llm-prompt-cache=false does both per request.");
  add_at_least("max-top-k", &flags->max_top_k, 1, "Largest top_k a request may ask for.");
  add_at_least("max-candidates", &flags->max_candidates, 1, "Most candidates a request may send.");
  add_at_least("threads", &flags->threads, 0,
               "Torch intra-op threads; 0 = the CPUs this process may use (cores, affinity, cgroup "
               "quota) - 1, at least 1, leaving a core for gRPC's threads.");
  add("log-level", &flags->log_level,
      "Access log (JSON lines on stdout): info = failed RPCs and a sample of OK ones, "
      "warning = failed RPCs, error = none.")
      ->check(CLI::IsMember({"debug", "info", "warning", "error"}));
  add("access-log-sample-rate", &flags->access_log_sample_rate,
      "Share of OK RPCs in the access log (failed ones are always logged at info).")
      ->check(CLI::Range(0.0, 1.0));
  add_at_least("drain-notice-ms", &flags->drain_notice_ms, 0,
               "On SIGTERM/SIGINT, how long (ms) to report NOT_SERVING while still serving, "
               "before GOAWAY: health-checking clients move to other replicas first.");
  add_at_least("drain-timeout-s", &flags->drain_timeout_s, 0,
               "On SIGTERM/SIGINT, how long (seconds) in-flight RPCs may take to finish.");
  add("tls-cert", &flags->tls_cert,
      "TLS on the gRPC port: the server's certificate chain (PEM file); needs --tls-key.")
      ->check(CLI::ExistingFile);
  add("tls-key", &flags->tls_key, "The private key of --tls-cert (PEM file).")
      ->check(CLI::ExistingFile);
  add("tls-client-ca", &flags->tls_client_ca,
      "Mutual TLS: require client certificates signed by this CA (PEM file); needs --tls-cert.")
      ->check(CLI::ExistingFile);
  add_at_least("max-message-bytes", &flags->max_message_bytes, 1,
               "Largest request message (bytes); a larger one is answered RESOURCE_EXHAUSTED.");
  add_at_least("max-concurrent-streams", &flags->max_concurrent_streams, 1,
               "Most calls in flight on one client connection (HTTP/2 streams).");
  add_at_least("keepalive-min-ping-interval-ms", &flags->keepalive_min_ping_interval_ms, 0,
               "Shortest interval between a client's pings while the server sends it nothing; "
               "faster pings are strikes (with no call open, every ping is).");
  add_at_least("keepalive-max-ping-strikes", &flags->keepalive_max_ping_strikes, 0,
               "Ping strikes before the connection is closed (GOAWAY too_many_pings); 0: no "
               "limit.");
  add_at_least("max-connection-age-s", &flags->max_connection_age_s, 0,
               "GOAWAY to connections older than this, so clients rebalance over new replicas "
               "(0: no limit).")
      ->check(CLI::Range(0, 2147483));
  add_at_least("max-connection-age-grace-s", &flags->max_connection_age_grace_s, 0,
               "How long calls on such a connection may still run.")
      ->check(CLI::Range(0, 2147483));
  add("reload-path-file", &flags->reload_path_file,
      "Hot reload: on SIGHUP, load the bundle folder named on this file's first line "
      "(default: --bundle again, e.g. a symlink repointed to a new bundle), warm it up beside "
      "the serving model and swap; a bundle that fails keeps the old one serving.");
}

void ParseServerFlags(CLI::App& app, int argc, const char* const* argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    throw;
  } catch (const CLI::ParseError& e) {
    // CLI11 checks required flags before unknown arguments: name those first.
    const std::vector<std::string> extra = app.remaining();
    if (!extra.empty() && dynamic_cast<const CLI::ExtrasError*>(&e) == nullptr) {
      throw CLI::ExtrasError(extra);
    }
    // A value from the environment: name the variable the user has to fix.
    const std::string what = e.what();
    for (const CLI::Option* option : app.get_options()) {
      const std::string& env = option->get_envname();
      const char* value = env.empty() ? nullptr : std::getenv(env.c_str());
      const std::string name = option->get_name();
      if (value == nullptr || OnCommandLine(argc, argv, name) || !MentionsFlag(what, name)) {
        continue;
      }
      throw CLI::ValidationError(env + "=" + value, what);
    }
    throw;
  }
}

}  // namespace sasrecllm::server
