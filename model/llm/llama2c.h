// Import of llama2.c (Karpathy) legacy checkpoints into the Hugging Face
// layout that LlamaModel loads.
//
// Legacy .bin: 7 int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads,
// vocab_size (negative = untied classifier), seq_len), then float32 weights:
// token_embedding [V, D], rms_att [L, D], wq [L, D, D], wk [L, KVD, D],
// wv [L, KVD, D], wo [L, D, D], rms_ffn [L, D], w1 [L, F, D], w2 [L, D, F],
// w3 [L, F, D], rms_final [D], freq_cis_real / freq_cis_imag
// [seq_len, hd/2] each (skipped), then wcls [V, D] when untied.
//
//   SASRECLLM_ASSIGN_OR_RETURN(Llama2cCheckpoint ckpt, ReadLlama2cCheckpoint("stories260K.bin"));
//   SASRECLLM_RETURN_IF_ERROR(ConvertLlama2c("stories260K.bin", "tok512.bin", "out/llm"));
//
// Thread safety: free functions, no shared state.
#ifndef SASRECLLM_MODEL_LLM_LLAMA2C_H_
#define SASRECLLM_MODEL_LLM_LLAMA2C_H_

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>

#include "model/llm/llama_config.h"
#include "base/status.h"

namespace sasrecllm::llm {

struct Llama2cHeader {
  int32_t dim = 0;
  int32_t hidden_dim = 0;
  int32_t n_layers = 0;
  int32_t n_heads = 0;
  int32_t n_kv_heads = 0;
  int32_t vocab_size = 0;  // as stored: negative = untied classifier
  int32_t seq_len = 0;

  bool shared_classifier() const { return vocab_size > 0; }
  // INVALID_ARGUMENT naming the bad field.
  Status Validate() const;
  // The HF config: rms_norm_eps 1e-5, rope_theta 10000, BOS 1, EOS 2.
  LlamaConfig ToLlamaConfig() const;
};

struct Llama2cCheckpoint {
  Llama2cHeader header;
  LlamaConfig config;
  // HF names ("model.layers.0.self_attn.q_proj.weight", ...), float32, CPU;
  // q_proj / k_proj rows permuted for HF's rotate_half rotary.
  std::map<std::string, torch::Tensor> weights;
};

// Reads a legacy llama2.c checkpoint. NOT_FOUND for a missing file;
// INVALID_ARGUMENT for a bad header (or the unsupported versioned "ak42"
// format); DATA_LOSS when the file size differs from what the header implies
// (truncated or trailing bytes), naming both sizes.
StatusOr<Llama2cCheckpoint> ReadLlama2cCheckpoint(const std::string& path);

// HF convert_llama_weights_to_hf.py `permute`: rows of a [n_heads*hd, D]
// projection from interleaved rotary pairs (llama2.c / Meta) to the
// half-split layout of HF's rotate_half.
torch::Tensor PermuteForHfRotary(const torch::Tensor& w, int64_t n_heads);  // [n_heads*hd, D]

// Writes OUT_DIR/config.json, OUT_DIR/model.safetensors (float32, HF names)
// and OUT_DIR/tokenizer.bin (a copy of `tokenizer_path`, checked to load with
// the checkpoint's vocab size). Creates OUT_DIR.
Status ConvertLlama2c(const std::string& checkpoint_path, const std::string& tokenizer_path,
                      const std::string& out_dir);

}  // namespace sasrecllm::llm

#endif  // SASRECLLM_MODEL_LLM_LLAMA2C_H_
