// `sasrecllm bench-llm`: the LLM runtime's throughput next to the machine's
// matmul peak, for stories260K (a converted folder, --model) and a random
// ~100M-parameter Llama built in memory (DefaultRandomLlamaConfig): prefill
// and greedy decode at batch 1 and 16, then prompt-prefix sharing against
// recomputation. Prints figures; asserts nothing. What the FLOP counts
// include: see ForwardFlops in llm_bench.h. The random model runs with fewer
// repeats and decode steps (--large-repeats 1, --large-decode-steps 16) so
// that the default run takes a few minutes on 2 shared cores.
//
//   sasrecllm convert-llama2c stories260K.bin tok512.bin /tmp/s260k
//   sasrecllm bench-llm --model /tmp/s260k --json bench.json
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/device_names.h"
#include "base/file.h"
#include "base/json.h"
#include "cli/llm_commands.h"
#include "model/llm/llama_model.h"
#include "model/llm/llm_bench.h"
#include "model/llm/random_init.h"
#include "model/torch_device.h"

namespace sasrecllm::cli {
namespace {

using namespace ::sasrecllm::llm;  // NOLINT(build/namespaces): the LLM runtime's bench helpers

constexpr int64_t kPeakMatmulSize = 2048;
constexpr int64_t kBatches[] = {1, 16};
constexpr int64_t kPrefixLen = 200;
constexpr int64_t kContinuations = 20;
constexpr int64_t kSuffixLen = 20;

struct BenchSettings {
  torch::Dtype dtype = torch::kFloat32;
  std::string dtype_name = "float32";
  torch::Device device = torch::Device(torch::kCPU);
  int64_t prompt_len = 128;
  std::vector<int64_t> attention_blocks;  // empty: no attention-block rows
  std::vector<int64_t> attention_lens;
  int64_t attention_batch = 4;
  uint64_t seed = 0;
  std::FILE* text = stdout;  // the human-readable report (stderr with --json -)
};

struct ThroughputRow {
  std::string phase;  // "prefill" | "decode"
  int64_t batch = 0;
  int64_t tokens = 0;  // tokens processed in the timed region (all rows)
  double seconds = 0;
  double flops = 0;
};

// One prefill length: each Options::attention_block's time, side by side.
struct AttentionBlockRow {
  int64_t prompt_len = 0;
  int64_t batch = 0;
  std::vector<int64_t> blocks;
  PrefillComparison timing;
};

// The model under test with Options::attention_block = block.
using ModelWithBlock = std::function<StatusOr<std::unique_ptr<LlamaModel>>(int64_t block)>;

struct ModelReport {
  std::string name;
  int64_t params = 0;
  int repeats = 0;
  int64_t decode_steps = 0;
  std::vector<ThroughputRow> rows;
  PrefixSharingTiming sharing;
  std::vector<AttentionBlockRow> attention;
};

void Progress(const std::string& line) { std::cerr << "bench-llm: " << line << "\n"; }

// Prefill with attention in blocks of each size, against all at once.
StatusOr<std::vector<AttentionBlockRow>> BenchAttentionBlocks(const std::string& name,
                                                              const ModelWithBlock& make,
                                                              int repeats,
                                                              const BenchSettings& s) {
  std::vector<std::unique_ptr<LlamaModel>> owned;
  std::vector<const LlamaModel*> models;
  for (int64_t block : s.attention_blocks) {
    SASRECLLM_ASSIGN_OR_RETURN(auto m, make(block));
    models.push_back(m.get());
    owned.push_back(std::move(m));
  }
  std::vector<AttentionBlockRow> rows;
  for (int64_t len : s.attention_lens) {
    Progress(name + ": prefill " + std::to_string(len) + " at batch " +
             std::to_string(s.attention_batch) + ", attention blocks, interleaved (x" +
             std::to_string(repeats) + ")");
    AttentionBlockRow row{len, s.attention_batch, s.attention_blocks, {}};
    SASRECLLM_ASSIGN_OR_RETURN(row.timing,
                               ComparePrefill(models, s.attention_batch, len, repeats, s.seed));
    rows.push_back(std::move(row));
  }
  return rows;
}

StatusOr<ModelReport> BenchModel(const std::string& name, const LlamaModel& model, int repeats,
                                 int64_t decode_steps, const BenchSettings& s) {
  ModelReport report;
  report.name = name;
  report.params = CountLlamaParameters(model.config()).total;
  report.repeats = repeats;
  report.decode_steps = decode_steps;
  // Warm-up (first-call allocations, thread pool start), untimed: with one
  // repeat there is no other.
  SASRECLLM_RETURN_IF_ERROR(BenchPrefillDecode(model, 1, 16, 2, 1, s.seed).status());
  for (int64_t batch : kBatches) {
    Progress(name + ": prefill " + std::to_string(s.prompt_len) + " + decode " +
             std::to_string(decode_steps) + " at batch " + std::to_string(batch) + " (x" +
             std::to_string(repeats) + ")");
    SASRECLLM_ASSIGN_OR_RETURN(
        PrefillDecodeTiming t,
        BenchPrefillDecode(model, batch, s.prompt_len, decode_steps, repeats, s.seed));
    report.rows.push_back({"prefill", batch, t.prefill_tokens, t.prefill_seconds, t.prefill_flops});
    report.rows.push_back({"decode", batch, t.decode_tokens, t.decode_seconds, t.decode_flops});
  }
  Progress(name + ": prefix sharing, " + std::to_string(kPrefixLen) + "-token prefix, " +
           std::to_string(kContinuations) + " x " + std::to_string(kSuffixLen) + " (x" +
           std::to_string(repeats) + ")");
  SASRECLLM_ASSIGN_OR_RETURN(report.sharing, BenchPrefixSharing(model, kPrefixLen, kContinuations,
                                                                kSuffixLen, repeats, s.seed));
  return report;
}

void PrintReports(const std::vector<ModelReport>& reports, double peak_gflops,
                  const BenchSettings& s) {
  std::fprintf(s.text, "\n%-12s %8s %4s %-8s %5s %7s %10s %11s %9s %6s\n", "model", "params", "best",
              "phase", "batch", "tokens", "time_ms", "tokens/s", "GFLOP/s", "%peak");
  for (const ModelReport& r : reports) {
    for (const ThroughputRow& row : r.rows) {
      const double gflops = row.flops / row.seconds / 1e9;
      std::fprintf(s.text, "%-12s %7.2fM %4d %-8s %5lld %7lld %10.1f %11.1f %9.2f %5.1f%%\n", r.name.c_str(),
                  r.params / 1e6, r.repeats, row.phase.c_str(), static_cast<long long>(row.batch),
                  static_cast<long long>(row.tokens), row.seconds * 1e3, row.tokens / row.seconds,
                  gflops, 100.0 * gflops / peak_gflops);
    }
  }
  std::fprintf(s.text,
      "\nprefix sharing: %lld-token prefix, %lld continuations x %lld tokens, "
      "last-position logits\n",
      static_cast<long long>(kPrefixLen), static_cast<long long>(kContinuations),
      static_cast<long long>(kSuffixLen));
  std::fprintf(s.text, "%-12s %12s %14s %8s %16s\n", "model", "shared_ms", "recompute_ms", "speedup",
              "max|dlogit|");
  for (const ModelReport& r : reports) {
    const PrefixSharingTiming& p = r.sharing;
    std::fprintf(s.text, "%-12s %12.1f %14.1f %7.2fx %16.3g\n", r.name.c_str(), p.shared_seconds * 1e3,
                p.recompute_seconds * 1e3, p.recompute_seconds / p.shared_seconds,
                p.max_abs_logit_diff);
  }
  std::fprintf(s.text,
      "\n(a) shared = prefill [1, %lld] + RepeatInterleaveBatch(%lld) + [%lld, %lld];"
      " (b) recompute = [%lld, %lld] without a cache\n",
      static_cast<long long>(kPrefixLen), static_cast<long long>(kContinuations),
      static_cast<long long>(kContinuations), static_cast<long long>(kSuffixLen),
      static_cast<long long>(kContinuations), static_cast<long long>(kPrefixLen + kSuffixLen));
  bool any_attention = false;
  for (const ModelReport& r : reports) any_attention = any_attention || !r.attention.empty();
  if (any_attention) {
    std::fprintf(s.text,
        "\nattention in blocks of N query positions (Options::attention_block; 0 = all at"
        " once): prefill without a cache, interleaved\n");
    std::fprintf(s.text, "%-12s %6s %5s %6s %10s %10s %14s\n", "model", "tokens", "batch", "block",
                 "time_ms", "vs_whole", "max|dlogit|");
    for (const ModelReport& r : reports) {
      for (const AttentionBlockRow& a : r.attention) {
        for (size_t i = 0; i < a.blocks.size(); ++i) {
          std::fprintf(s.text, "%-12s %6lld %5lld %6lld %10.1f %9.2fx %14.3g\n", r.name.c_str(),
                       static_cast<long long>(a.prompt_len), static_cast<long long>(a.batch),
                       static_cast<long long>(a.blocks[i]), a.timing.seconds[i] * 1e3,
                       a.timing.seconds[0] / a.timing.seconds[i], a.timing.max_abs_logit_diff[i]);
        }
      }
    }
    std::fprintf(s.text, "(vs_whole: the first block size's time / this one's; > 1 is faster)\n");
  }
  std::fprintf(s.text,
      "times: best of `best` runs after a warm-up; decode = greedy steps of [B, 1]"
      " after a %lld-token prompt (tokens = B x steps); GFLOP/s counts projections,"
      " lm_head and causal attention (see llm_bench.h)\n",
      static_cast<long long>(s.prompt_len));
}

Json ReportsToJson(const std::vector<ModelReport>& reports, double peak_gflops,
                   const BenchSettings& s, int threads) {
  Json j = Json::object();
  j["device"] = s.device.str();
  j["dtype"] = s.dtype_name;
  j["threads"] = threads;
  j["matmul_size"] = kPeakMatmulSize;
  j["matmul_peak_gflops"] = peak_gflops;
  Json models = Json::array();
  for (const ModelReport& r : reports) {
    Json m = Json::object();
    m["name"] = r.name;
    m["params"] = r.params;
    m["repeats"] = r.repeats;
    m["prompt_len"] = s.prompt_len;
    m["decode_steps"] = r.decode_steps;
    Json rows = Json::array();
    for (const ThroughputRow& row : r.rows) {
      Json o = Json::object();
      const double gflops = row.flops / row.seconds / 1e9;
      o["phase"] = row.phase;
      o["batch"] = row.batch;
      o["tokens"] = row.tokens;
      o["seconds"] = row.seconds;
      o["tokens_per_second"] = row.tokens / row.seconds;
      o["gflops"] = gflops;
      o["percent_of_peak"] = 100.0 * gflops / peak_gflops;
      rows.push_back(std::move(o));
    }
    m["throughput"] = std::move(rows);
    Json p = Json::object();
    p["prefix_len"] = kPrefixLen;
    p["continuations"] = kContinuations;
    p["suffix_len"] = kSuffixLen;
    p["shared_seconds"] = r.sharing.shared_seconds;
    p["recompute_seconds"] = r.sharing.recompute_seconds;
    p["speedup"] = r.sharing.recompute_seconds / r.sharing.shared_seconds;
    p["max_abs_logit_diff"] = r.sharing.max_abs_logit_diff;
    m["prefix_sharing"] = std::move(p);
    Json attention = Json::array();
    for (const AttentionBlockRow& a : r.attention) {
      for (size_t i = 0; i < a.blocks.size(); ++i) {
        Json o = Json::object();
        o["prompt_len"] = a.prompt_len;
        o["batch"] = a.batch;
        o["attention_block"] = a.blocks[i];
        o["seconds"] = a.timing.seconds[i];
        o["max_abs_logit_diff"] = a.timing.max_abs_logit_diff[i];
        attention.push_back(std::move(o));
      }
    }
    m["attention_blocks"] = std::move(attention);
    models.push_back(std::move(m));
  }
  j["models"] = std::move(models);
  return j;
}

struct BenchLlmFlags {
  std::string model;  // Default: none (stories260K skipped)
  int64_t threads = std::max(1u, std::thread::hardware_concurrency());
  std::string dtype = "float32";
  std::string device = "cpu";
  int64_t repeats = 3;
  int64_t prompt_len = 128;
  int64_t decode_steps = 64;
  int64_t large_repeats = 1;
  int64_t large_decode_steps = 16;
  bool skip_large = false;
  std::vector<int64_t> attention_blocks = {0, 64, 128, 256};
  std::vector<int64_t> attention_lens = {128, 400, 1024};
  int64_t attention_batch = 4;
  int64_t seed = 0;
  std::string json;
};

// Run-time errors only: the flags have been checked.
Status Run(const BenchLlmFlags& flags) {
  BenchSettings s;
  s.dtype_name = flags.dtype;
  SASRECLLM_ASSIGN_OR_RETURN(s.dtype, model::TorchDtype(s.dtype_name));
  SASRECLLM_ASSIGN_OR_RETURN(s.device, model::TorchDevice(flags.device));
  s.text = flags.json == "-" ? stderr : stdout;
  const int64_t threads = flags.threads, repeats = flags.repeats;
  const int64_t decode_steps = flags.decode_steps, large_repeats = flags.large_repeats;
  const int64_t large_decode_steps = flags.large_decode_steps, seed = flags.seed;
  s.prompt_len = flags.prompt_len;
  s.attention_blocks = flags.attention_blocks;
  s.attention_lens = flags.attention_lens;
  s.attention_batch = flags.attention_batch;
  s.seed = static_cast<uint64_t>(seed);
  torch::set_num_threads(static_cast<int>(threads));

  std::fprintf(s.text, "bench-llm: device %s, %s, %d intra-op threads (%u cores)\n", s.device.str().c_str(),
              s.dtype_name.c_str(), torch::get_num_threads(), std::thread::hardware_concurrency());
  Progress("matmul peak: " + std::to_string(kPeakMatmulSize) + "^3 torch::mm");
  const int peak_repeats = std::max<int>(5, static_cast<int>(repeats));
  SASRECLLM_ASSIGN_OR_RETURN(double peak,
                             MeasureMatmulGflops(kPeakMatmulSize, peak_repeats, s.dtype, s.device));
  std::fprintf(s.text, "matmul peak: %lld x %lld x %lld %s torch::mm, best of %d: %.1f GFLOP/s\n",
              static_cast<long long>(kPeakMatmulSize), static_cast<long long>(kPeakMatmulSize),
              static_cast<long long>(kPeakMatmulSize), s.dtype_name.c_str(), peak_repeats, peak);
  std::fflush(s.text);

  LlamaModel::Options options;
  options.dtype = s.dtype;
  options.device = s.device;
  std::vector<ModelReport> reports;
  if (!flags.model.empty()) {
    Progress("loading " + flags.model);
    SASRECLLM_ASSIGN_OR_RETURN(auto model, LlamaModel::Load(flags.model, options));
    if (model->config().max_position_embeddings < kPrefixLen + kSuffixLen ||
        model->config().max_position_embeddings < s.prompt_len + decode_steps) {
      Progress("note: the benchmark runs past the model's max_position_embeddings " +
               std::to_string(model->config().max_position_embeddings));
    }
    SASRECLLM_ASSIGN_OR_RETURN(
        ModelReport r,
        BenchModel("stories260K", *model, static_cast<int>(repeats), decode_steps, s));
    if (!s.attention_blocks.empty()) {
      ModelWithBlock make = [&](int64_t block) {
        LlamaModel::Options o = options;
        o.attention_block = block;
        return LlamaModel::Load(flags.model, o);
      };
      SASRECLLM_ASSIGN_OR_RETURN(
          r.attention,
          BenchAttentionBlocks("stories260K", make, static_cast<int>(repeats), s));
    }
    reports.push_back(std::move(r));
  } else {
    std::fprintf(s.text,
        "stories260K: skipped (no --model DIR; make one with `sasrecllm convert-llama2c "
        "stories260K.bin tok512.bin DIR`)\n");
  }
  if (!flags.skip_large) {
    const LlamaConfig config = DefaultRandomLlamaConfig();
    Progress("building the random " + std::to_string(CountLlamaParameters(config).total) +
             "-parameter model in memory");
    SASRECLLM_ASSIGN_OR_RETURN(auto weights, RandomLlamaWeights(config, s.seed));
    SASRECLLM_ASSIGN_OR_RETURN(std::unique_ptr<LlamaModel> model,
                               LlamaModel::Create(config, weights, options));
    char name[32];
    std::snprintf(name, sizeof(name), "random-%.0fM", CountLlamaParameters(config).total / 1e6);
    SASRECLLM_ASSIGN_OR_RETURN(
        ModelReport r,
        BenchModel(name, *model, static_cast<int>(large_repeats), large_decode_steps, s));
    model.reset();
    if (!s.attention_blocks.empty()) {
      ModelWithBlock make = [&](int64_t block) {
        LlamaModel::Options o = options;
        o.attention_block = block;
        return LlamaModel::Create(config, weights, o);
      };
      SASRECLLM_ASSIGN_OR_RETURN(
          r.attention, BenchAttentionBlocks(name, make, static_cast<int>(large_repeats), s));
    }
    reports.push_back(std::move(r));
  }
  if (reports.empty()) return OkStatus();
  PrintReports(reports, peak, s);
  if (!flags.json.empty()) {
    SASRECLLM_RETURN_IF_ERROR(WriteJsonOutput(
        flags.json, DumpJson(ReportsToJson(reports, peak, s, torch::get_num_threads()), 2)));
    if (flags.json != "-") Progress("wrote " + flags.json);
  }
  return OkStatus();
}

}  // namespace

Command AddBenchLlm(CLI::App& app) {
  Subcommand<BenchLlmFlags> sub(
      app, "bench-llm", "LLM prefill / decode / prefix-sharing throughput vs matmul peak",
      R"(Prints the matmul peak, prefill / decode tokens/s and GFLOP/s at batch 1 and 16,
and prefix sharing (200-token prefix, 20 continuations of 20 tokens) vs recompute,
for stories260K (--model) and a random 134M-parameter Llama (--large-*: fewer
repeats and decode steps, to keep a 2-core run within a few minutes). Then
prefill with attention computed in blocks of query positions
(--attention-blocks, each against all at once, interleaved) at each of
--attention-lens.)");
  BenchLlmFlags& f = sub.flags();
  sub->add_option("--model", f.model, "stories260K HF folder (skipped when absent)");
  sub->add_option("--threads", f.threads, "libtorch threads (default: all cores)")
      ->check(AtLeast(1));
  sub->add_option("--dtype", f.dtype, "float32 | bfloat16 | float16")
      ->check(CLI::IsMember({"float32", "bfloat16", "float16"}));
  sub->add_option("--device", f.device, "cpu | cuda[:N]")->check(DeviceNameCheck());
  sub->add_option("--repeats", f.repeats, "best of N")->check(AtLeast(1));
  sub->add_option("--prompt-len", f.prompt_len, "prefill tokens")->check(AtLeast(1));
  sub->add_option("--decode-steps", f.decode_steps, "greedy decode steps")->check(AtLeast(1));
  sub->add_option("--large-repeats", f.large_repeats, "random model: best of N")->check(AtLeast(1));
  sub->add_option("--large-decode-steps", f.large_decode_steps, "random model: decode steps")
      ->check(AtLeast(1));
  sub->add_flag("--skip-large", f.skip_large, "skip the random 134M-parameter model");
  sub->add_option("--attention-blocks", f.attention_blocks,
                  "prefill with attention in blocks of N query positions, each N side by side "
                  "(0 = all at once; the first is the reference)")
      ->delimiter(',')
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--attention-lens", f.attention_lens, "prefill lengths for --attention-blocks")
      ->delimiter(',')
      ->check(CLI::PositiveNumber);
  sub->add_option("--attention-batch", f.attention_batch, "batch for --attention-blocks")
      ->check(AtLeast(1));
  sub->add_option("--seed", f.seed, "random seed");
  sub->add_option("--json", f.json, kJsonHelp)->type_name("FILE");
  return sub.RunWith([](const BenchLlmFlags& f) { return ExitCodeOf("bench-llm", Run(f)); });
}

}  // namespace sasrecllm::cli
