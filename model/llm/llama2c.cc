#include "model/llm/llama2c.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>

#include "base/file.h"
#include "base/json.h"
#include "model/llm/tokenizers/llama2c_tokenizer.h"
#include "model/safetensors.h"
#include "model/torch_errors.h"

namespace sasrecllm::llm {
namespace {

constexpr int32_t kVersionedMagic = 0x616b3432;  // "ak42": llama2.c export version >= 1

}  // namespace

Status Llama2cHeader::Validate() const {
  SASRECLLM_RETURN_IF_ERROR(RequirePositive(
      "llama2.c header", {{"dim", dim},
                          {"hidden_dim", hidden_dim},
                          {"n_layers", n_layers},
                          {"n_heads", n_heads},
                          {"n_kv_heads", n_kv_heads},
                          {"|vocab_size|", std::abs(static_cast<int64_t>(vocab_size))},
                          {"seq_len", seq_len}}));
  if (dim % n_heads != 0 || (dim / n_heads) % 2 != 0) {
    return InvalidArgumentError("llama2.c header: dim " + std::to_string(dim) +
                                " must be n_heads (" + std::to_string(n_heads) +
                                ") times an even head size");
  }
  if (n_heads % n_kv_heads != 0) {
    return InvalidArgumentError("llama2.c header: n_heads " + std::to_string(n_heads) +
                                " is not a multiple of n_kv_heads " + std::to_string(n_kv_heads));
  }
  return OkStatus();
}

LlamaConfig Llama2cHeader::ToLlamaConfig() const {
  LlamaConfig c;
  c.model_type = "llama";
  c.hidden_size = dim;
  c.intermediate_size = hidden_dim;
  c.num_hidden_layers = n_layers;
  c.num_attention_heads = n_heads;
  c.num_key_value_heads = n_kv_heads;
  c.vocab_size = std::abs(vocab_size);
  c.max_position_embeddings = seq_len;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 10000.0;
  c.tie_word_embeddings = shared_classifier();
  c.attention_bias = false;
  c.bos_token_id = 1;
  c.eos_token_id = 2;
  c.torch_dtype = "float32";
  return c;
}

torch::Tensor PermuteForHfRotary(const torch::Tensor& w, int64_t n_heads) {
  const int64_t dim1 = w.size(0), dim2 = w.size(1);
  return w.view({n_heads, dim1 / n_heads / 2, 2, dim2})  // [nh, hd/2, 2, D]
      .transpose(1, 2)                                   // [nh, 2, hd/2, D]
      .reshape({dim1, dim2});                            // [nh*hd, D]
}

StatusOr<Llama2cCheckpoint> ReadLlama2cCheckpoint(const std::string& path) {
  SASRECLLM_RETURN_IF_ERROR(CheckRegularFile(path));
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return NotFoundError("cannot open llama2.c checkpoint " + path);
  const int64_t file_size = static_cast<int64_t>(in.tellg());
  in.seekg(0);
  Llama2cCheckpoint ckpt;
  Llama2cHeader& h = ckpt.header;
  int32_t raw[7] = {0, 0, 0, 0, 0, 0, 0};
  if (file_size < static_cast<int64_t>(sizeof(raw)) ||
      !in.read(reinterpret_cast<char*>(raw), sizeof(raw))) {
    return DataLossError(path + ": " + std::to_string(file_size) +
                         " bytes, too short for the 28-byte llama2.c header");
  }
  if (raw[0] == kVersionedMagic) {
    return InvalidArgumentError(path +
                                ": llama2.c versioned export (magic \"ak42\") is not supported; "
                                "export with --version 0 (legacy)");
  }
  h.dim = raw[0];
  h.hidden_dim = raw[1];
  h.n_layers = raw[2];
  h.n_heads = raw[3];
  h.n_kv_heads = raw[4];
  h.vocab_size = raw[5];
  h.seq_len = raw[6];
  {
    Status s = h.Validate();
    if (!s.ok()) return s.WithPrefix(path);
  }
  ckpt.config = h.ToLlamaConfig();

  const int64_t d = h.dim, f = h.hidden_dim, l = h.n_layers, v = std::abs(h.vocab_size);
  const int64_t hd = d / h.n_heads, kvd = hd * h.n_kv_heads;
  // In 128 bits: a header of int32s implies up to ~2^95 floats, which int64
  // arithmetic would wrap (and a wrapped size could match the file).
  using Wide = __int128;
  const Wide freq_floats = Wide{2} * h.seq_len * (hd / 2);
  const Wide weight_floats = Wide{v} * d + Wide{l} * d + Wide{l} * d * d +
                             Wide{2} * l * kvd * d + Wide{l} * d * d + Wide{l} * d +
                             Wide{3} * l * f * d + d + freq_floats +
                             (h.shared_classifier() ? 0 : Wide{v} * d);
  const Wide expected_wide = 28 + 4 * weight_floats;
  const int64_t expected = expected_wide > std::numeric_limits<int64_t>::max()
                               ? std::numeric_limits<int64_t>::max()
                               : static_cast<int64_t>(expected_wide);
  if (file_size != expected) {
    return DataLossError(path + ": " + std::to_string(file_size) + " bytes, but the header (dim=" +
                         std::to_string(h.dim) + ", hidden_dim=" + std::to_string(h.hidden_dim) +
                         ", n_layers=" + std::to_string(h.n_layers) +
                         ", n_heads=" + std::to_string(h.n_heads) +
                         ", n_kv_heads=" + std::to_string(h.n_kv_heads) +
                         ", vocab_size=" + std::to_string(h.vocab_size) +
                         ", seq_len=" + std::to_string(h.seq_len) + ") implies " +
                         std::to_string(expected) +
                         (file_size < expected ? " (truncated)" : " (trailing bytes)"));
  }

  try {
    Status read_status;
    auto read = [&](std::vector<int64_t> shape, const char* what) -> torch::Tensor {
      torch::Tensor t = torch::empty(shape, torch::kFloat32);
      if (read_status.ok() &&
          !in.read(reinterpret_cast<char*>(t.data_ptr<float>()), t.numel() * 4)) {
        read_status = DataLossError(path + ": short read in " + what);
      }
      return t;
    };
    torch::Tensor tok = read({v, d}, "token_embedding");     // [V, D]
    torch::Tensor rms_att = read({l, d}, "rms_att");         // [L, D]
    torch::Tensor wq = read({l, d, d}, "wq");                // [L, D, D]
    torch::Tensor wk = read({l, kvd, d}, "wk");              // [L, KVD, D]
    torch::Tensor wv = read({l, kvd, d}, "wv");              // [L, KVD, D]
    torch::Tensor wo = read({l, d, d}, "wo");                // [L, D, D]
    torch::Tensor rms_ffn = read({l, d}, "rms_ffn");         // [L, D]
    torch::Tensor w1 = read({l, f, d}, "w1");                // [L, F, D]
    torch::Tensor w2 = read({l, d, f}, "w2");                // [L, D, F]
    torch::Tensor w3 = read({l, f, d}, "w3");                // [L, F, D]
    torch::Tensor rms_final = read({d}, "rms_final");        // [D]
    read({static_cast<int64_t>(freq_floats)}, "freq_cis");   // [2 * seq_len * hd/2], unused
    torch::Tensor wcls = h.shared_classifier() ? tok : read({v, d}, "wcls");  // [V, D]
    SASRECLLM_RETURN_IF_ERROR(read_status);

    auto& w = ckpt.weights;
    w["model.embed_tokens.weight"] = tok;
    w["model.norm.weight"] = rms_final;
    if (!h.shared_classifier()) w["lm_head.weight"] = wcls;
    for (int64_t i = 0; i < l; ++i) {
      const std::string p = "model.layers." + std::to_string(i) + ".";
      w[p + "input_layernorm.weight"] = rms_att[i].clone();
      w[p + "self_attn.q_proj.weight"] = PermuteForHfRotary(wq[i], h.n_heads);
      w[p + "self_attn.k_proj.weight"] = PermuteForHfRotary(wk[i], h.n_kv_heads);
      w[p + "self_attn.v_proj.weight"] = wv[i].clone();
      w[p + "self_attn.o_proj.weight"] = wo[i].clone();
      w[p + "post_attention_layernorm.weight"] = rms_ffn[i].clone();
      w[p + "mlp.gate_proj.weight"] = w1[i].clone();
      w[p + "mlp.down_proj.weight"] = w2[i].clone();
      w[p + "mlp.up_proj.weight"] = w3[i].clone();
    }
  } catch (const std::exception& e) {
    return InternalError(path + ": " + TorchErrorMessage(e));
  }
  return ckpt;
}

Status ConvertLlama2c(const std::string& checkpoint_path, const std::string& tokenizer_path,
                      const std::string& out_dir) {
  SASRECLLM_ASSIGN_OR_RETURN(Llama2cCheckpoint ckpt, ReadLlama2cCheckpoint(checkpoint_path));
  SASRECLLM_ASSIGN_OR_RETURN(
      auto tokenizer,
      Llama2cTokenizer::Load(tokenizer_path, static_cast<int>(ckpt.config.vocab_size)));
  (void)tokenizer;
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) return InternalError("cannot create " + out_dir + ": " + ec.message());
  SASRECLLM_RETURN_IF_ERROR(
      WriteStringToFile(out_dir + "/config.json", DumpJson(ckpt.config.ToJson(), 2) + "\n"));
  SASRECLLM_RETURN_IF_ERROR(model::WriteSafetensors(
      out_dir + "/model.safetensors", ckpt.weights,
      {{"format", "pt"}, {"source", "llama2.c checkpoint " + checkpoint_path}}));
  SASRECLLM_ASSIGN_OR_RETURN(std::string tok_bytes, ReadFileToString(tokenizer_path));
  SASRECLLM_RETURN_IF_ERROR(WriteStringToFile(out_dir + "/tokenizer.bin", tok_bytes));
  return OkStatus();
}

}  // namespace sasrecllm::llm
