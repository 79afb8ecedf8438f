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

#include "base/file.h"
#include "base/device_names.h"
#include "base/json.h"
#include "model/llm/commands.h"
#include "model/llm/flags.h"
#include "model/llm/llama_model.h"
#include "model/llm/random_init.h"
#include "model/llm/tokenizer.h"
#include "model/torch_device.h"

namespace sasrecllm::llm {
namespace {

constexpr char kUsage[] =
    "usage: sasrecllm init-llm --out DIR [--hidden-size 768] [--layers 12] [--heads 12]\n"
    "                [--kv-heads H (= heads)] [--intermediate-size 2048]\n"
    "                [--vocab-size V (the tokenizer's, else 32000)] [--max-positions 2048]\n"
    "                [--tokenizer FILE] [--seed 0] [--dtype float32|bfloat16|float16]\n"
    "                [--tie-embeddings]\n"
    "  writes DIR/config.json and DIR/model.safetensors: a Llama with normal(0, 0.02)\n"
    "  weights and RMSNorm gains of 1; --tokenizer (tokenizer.bin, tokenizer.model or\n"
    "  tokenizer.json) is copied into DIR under its conventional name.\n";

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

StatusOr<int64_t> PositiveFlag(const Flags& flags, const std::string& name, int64_t fallback) {
  SASRECLLM_ASSIGN_OR_RETURN(int64_t v, flags.GetInt(name, fallback));
  if (v <= 0) return InvalidArgumentError("--" + name + " must be > 0, got " + std::to_string(v));
  return v;
}

Status Run(const Flags& flags) {
  if (!flags.Has("out")) return InvalidArgumentError("--out is required");
  const std::string dir = flags.Get("out");

  LlamaConfig config = DefaultRandomLlamaConfig();
  SASRECLLM_ASSIGN_OR_RETURN(config.hidden_size,
                             PositiveFlag(flags, "hidden-size", config.hidden_size));
  SASRECLLM_ASSIGN_OR_RETURN(config.num_hidden_layers,
                             PositiveFlag(flags, "layers", config.num_hidden_layers));
  SASRECLLM_ASSIGN_OR_RETURN(config.num_attention_heads,
                             PositiveFlag(flags, "heads", config.num_attention_heads));
  SASRECLLM_ASSIGN_OR_RETURN(config.num_key_value_heads,
                             PositiveFlag(flags, "kv-heads", config.num_attention_heads));
  SASRECLLM_ASSIGN_OR_RETURN(config.intermediate_size,
                             PositiveFlag(flags, "intermediate-size", config.intermediate_size));
  SASRECLLM_ASSIGN_OR_RETURN(config.max_position_embeddings,
                             PositiveFlag(flags, "max-positions", config.max_position_embeddings));
  config.tie_word_embeddings = flags.Has("tie-embeddings");
  const std::string dtype_name = flags.Get("dtype", "float32");
  SASRECLLM_ASSIGN_OR_RETURN(DtypeName dtype, ParseDtypeName(dtype_name));
  config.torch_dtype = DtypeNameString(dtype);
  SASRECLLM_ASSIGN_OR_RETURN(int64_t seed, flags.GetInt("seed", 0));
  if (seed < 0) return InvalidArgumentError("--seed must be >= 0, got " + std::to_string(seed));

  // The tokenizer decides the default vocabulary size (tokenizer.bin does
  // not store its token count: every token in the file is read) and BOS/EOS.
  const std::string tokenizer_path = flags.Get("tokenizer");
  std::string tokenizer_name;
  if (flags.Has("vocab-size")) {
    SASRECLLM_ASSIGN_OR_RETURN(config.vocab_size, PositiveFlag(flags, "vocab-size", 0));
  }
  if (!tokenizer_path.empty()) {
    SASRECLLM_ASSIGN_OR_RETURN(tokenizer_name, ConventionalTokenizerName(tokenizer_path));
    // With --vocab-size: tokenizer.bin must hold that many tokens, another
    // kind at most that many.
    StatusOr<std::unique_ptr<Tokenizer>> tok = LoadTokenizer(
        tokenizer_path, flags.Has("vocab-size") ? static_cast<int>(config.vocab_size) : -1);
    if (tok.ok()) {
      if (!flags.Has("vocab-size")) config.vocab_size = (*tok)->vocab_size();
      if ((*tok)->bos_id() >= 0) config.bos_token_id = (*tok)->bos_id();
      if ((*tok)->eos_id() >= 0) config.eos_token_id = (*tok)->eos_id();
    } else if (tok.status().code() == StatusCode::kUnimplemented && flags.Has("vocab-size")) {
      // E.g. tokenizer.model in a build without SentencePiece: copied unread.
      std::cerr << "init-llm: warning: " << tok.status().message()
                << "; copying it unchecked with --vocab-size " << config.vocab_size << "\n";
    } else {
      return tok.status().WithPrefix("--tokenizer");
    }
  }

  SASRECLLM_RETURN_IF_ERROR(config.Validate());
  const LlamaParameterCount count = CountLlamaParameters(config);
  std::cerr << "init-llm: drawing " << count.total << " parameters (seed " << seed << ")\n";
  SASRECLLM_ASSIGN_OR_RETURN(auto weights,
                             RandomLlamaWeights(config, static_cast<uint64_t>(seed),
                                                model::TorchDtype(dtype)));
  SASRECLLM_RETURN_IF_ERROR(
      WriteLlamaFolder(dir, config, weights, "sasrecllm init-llm seed " + std::to_string(seed)));
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

}  // namespace

int RunInitLlm(int argc, char** argv, int first) {
  StatusOr<Flags> flags =
      Flags::Parse(argc, argv, first,
                   {"out", "hidden-size", "layers", "heads", "kv-heads", "intermediate-size",
                    "vocab-size", "max-positions", "tokenizer", "seed", "dtype"},
                   {"tie-embeddings", "help"});
  if (!flags.ok() || flags->Has("help") || !flags->positional().empty()) {
    if (!flags.ok()) std::cerr << "init-llm: " << flags.status() << "\n";
    std::cerr << kUsage;
    return 2;
  }
  Status s = Run(*flags);
  if (!s.ok()) {
    std::cerr << "init-llm: " << s << "\n";
    return s.code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  return 0;
}

}  // namespace sasrecllm::llm
