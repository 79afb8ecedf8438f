// `sasrecllm init-llm`: writes a randomly initialised Llama in the Hugging
// Face layout (config.json, model.safetensors, optionally the tokenizer), e.g.
// the ~100M-parameter random re-ranker:
//
//   sasrecllm init-llm --out runs/reranker --tokenizer tok512.bin
//   sasrecllm generate --model runs/reranker --steps 32
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "base/file.h"
#include "base/json.h"
#include "cli/llm_commands.h"
#include "model/llm/llama_model.h"
#include "model/llm/random_init.h"
#include "model/llm/tokenizers/tokenizer.h"
#include "model/torch_device.h"

namespace sasrecllm::cli {
namespace {

using llm::LlamaConfig;
using llm::Tokenizer;

struct InitLlmFlags {
  std::string out;
  LlamaConfig config = llm::DefaultRandomLlamaConfig();  // --hidden-size ... --max-positions
  int64_t kv_heads = 0;    // 0: = --heads
  int64_t vocab_size = 0;  // 0: the tokenizer's, else 32000
  std::string tokenizer;
  int64_t seed = 0;
  std::string dtype = "float32";
};

// The conventional file name of a tokenizer file inside a model folder, from
// its own name (as LoadTokenizer decides its kind).
StatusOr<std::string> ConventionalTokenizerName(const std::string& path) {
  const std::filesystem::path p(path);
  const std::string name = p.filename().string(), ext = p.extension().string();
  if (name == "encoder.json" || name == "vocab.json" || ext == ".bpe" || name == "merges.txt") {
    return InvalidArgumentError("--tokenizer " + path +
                                ": GPT-2's two-file layout is not copied; pass a tokenizer.json");
  }
  if (ext == ".json") return std::string("tokenizer.json");
  if (ext == ".model") return std::string("tokenizer.model");
  return std::string("tokenizer.bin");
}

// The model's config and the tokenizer's conventional name from the flags;
// INVALID_ARGUMENT (a usage error) when they do not make a valid Llama.
StatusOr<LlamaConfig> ConfigFromFlags(const InitLlmFlags& flags, std::string* tokenizer_name) {
  LlamaConfig config = flags.config;
  config.num_key_value_heads = flags.kv_heads > 0 ? flags.kv_heads : config.num_attention_heads;
  if (flags.vocab_size > 0) config.vocab_size = flags.vocab_size;
  config.torch_dtype = flags.dtype;
  if (!flags.tokenizer.empty()) {
    SASRECLLM_ASSIGN_OR_RETURN(*tokenizer_name, ConventionalTokenizerName(flags.tokenizer));
  }
  SASRECLLM_RETURN_IF_ERROR(config.Validate());
  return config;
}

// Run-time errors only: the flags have been checked.
Status Run(const InitLlmFlags& flags, LlamaConfig config, const std::string& tokenizer_name) {
  const std::string& dir = flags.out;
  SASRECLLM_ASSIGN_OR_RETURN(torch::Dtype dtype, model::TorchDtype(flags.dtype));
  const int64_t seed = flags.seed;
  const bool vocab_given = flags.vocab_size > 0;

  // The tokenizer decides the default vocabulary size (tokenizer.bin does
  // not store its token count: every token in the file is read) and BOS/EOS.
  const std::string& tokenizer_path = flags.tokenizer;
  if (!tokenizer_path.empty()) {
    // With --vocab-size: tokenizer.bin must hold that many tokens, another
    // kind at most that many.
    StatusOr<std::unique_ptr<Tokenizer>> tok =
        llm::LoadTokenizer(tokenizer_path, vocab_given ? static_cast<int>(config.vocab_size) : -1);
    if (tok.ok()) {
      if (!vocab_given) config.vocab_size = (*tok)->vocab_size();
      if ((*tok)->bos_id() >= 0) config.bos_token_id = (*tok)->bos_id();
      if ((*tok)->eos_id() >= 0) config.eos_token_id = (*tok)->eos_id();
    } else if (tok.status().code() == StatusCode::kUnimplemented && vocab_given) {
      // E.g. tokenizer.model in a build without SentencePiece: copied unread.
      std::cerr << "init-llm: warning: " << tok.status().message()
                << "; copying it unchecked with --vocab-size " << config.vocab_size << "\n";
    } else {
      return tok.status().WithPrefix("--tokenizer");
    }
  }

  SASRECLLM_RETURN_IF_ERROR(config.Validate());
  const llm::LlamaParameterCount count = llm::CountLlamaParameters(config);
  std::cerr << "init-llm: drawing " << count.total << " parameters (seed " << seed << ")\n";
  SASRECLLM_ASSIGN_OR_RETURN(auto weights,
                             llm::RandomLlamaWeights(config, static_cast<uint64_t>(seed), dtype));
  SASRECLLM_RETURN_IF_ERROR(llm::WriteLlamaFolder(
      dir, config, weights, "sasrecllm init-llm seed " + std::to_string(seed)));
  if (!tokenizer_name.empty()) {
    SASRECLLM_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(tokenizer_path));
    SASRECLLM_RETURN_IF_ERROR(WriteStringToFile(dir + "/" + tokenizer_name, bytes));
  }

  std::printf("wrote %s/config.json, model.safetensors%s%s\n", dir.c_str(),
              tokenizer_name.empty() ? "" : ", ", tokenizer_name.c_str());
  std::printf(
      "parameters: %lld total (%.1fM): %lld in %lld layers, %lld embed_tokens%s\n",
      static_cast<long long>(count.total), count.total / 1e6, static_cast<long long>(count.layers),
      static_cast<long long>(config.num_hidden_layers), static_cast<long long>(count.embedding),
      config.tie_word_embeddings ? " (tied lm_head)"
                                 : (", " + std::to_string(count.lm_head) + " lm_head").c_str());
  return OkStatus();
}

int RunInitLlm(const InitLlmFlags& f) {
  std::string tokenizer_name;
  StatusOr<LlamaConfig> config = ConfigFromFlags(f, &tokenizer_name);
  if (!config.ok()) return UsageError(config.status().message());
  return ExitCodeOf("init-llm", Run(f, *config, tokenizer_name));
}

}  // namespace

Command AddInitLlm(CLI::App& app) {
  Subcommand<InitLlmFlags> sub(
      app, "init-llm", "write a randomly initialised Llama (HF layout), e.g. a re-ranker",
      R"(Writes DIR/config.json and DIR/model.safetensors: a Llama with normal(0, 0.02)
weights and RMSNorm gains of 1; --tokenizer (tokenizer.bin, tokenizer.model or
tokenizer.json) is copied into DIR under its conventional name.)");
  InitLlmFlags& f = sub.flags();
  sub->add_option("--out", f.out, "folder to write")->required();
  sub->add_option("--hidden-size", f.config.hidden_size, "hidden size")->check(AtLeast(1));
  sub->add_option("--layers", f.config.num_hidden_layers, "decoder layers")->check(AtLeast(1));
  sub->add_option("--heads", f.config.num_attention_heads, "attention heads")->check(AtLeast(1));
  sub->add_option("--kv-heads", f.kv_heads, "key/value heads (default: = --heads)")
      ->check(AtLeast(1));
  sub->add_option("--intermediate-size", f.config.intermediate_size, "SwiGLU hidden size")
      ->check(AtLeast(1));
  sub->add_option("--vocab-size", f.vocab_size,
                  "vocabulary size (default: the tokenizer's, else 32000)")
      ->check(AtLeast(1));
  sub->add_option("--max-positions", f.config.max_position_embeddings, "longest sequence")
      ->check(AtLeast(1));
  sub->add_option("--tokenizer", f.tokenizer, "tokenizer file to copy (and size the vocabulary)");
  sub->add_option("--seed", f.seed, "random seed")->check(AtLeast(0));
  sub->add_option("--dtype", f.dtype, "float32 | bfloat16 | float16")
      ->check(CLI::IsMember({"float32", "bfloat16", "float16"}));
  sub->add_flag("--tie-embeddings", f.config.tie_word_embeddings, "tie lm_head to embed_tokens");
  return sub.RunWith(RunInitLlm);
}

}  // namespace sasrecllm::cli
