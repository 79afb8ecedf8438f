// The tiny Llama shape the LLM-folder fuzz targets load against: small enough
// that a whole load takes microseconds, and the shape of the seed corpus's
// model (fuzz/make_seed_corpus.py: init-llm --hidden-size 8 --layers 1
// --heads 2 --intermediate-size 16 --vocab-size 16 --max-positions 8).
#ifndef SASRECLLM_FUZZ_TINY_LLAMA_H_
#define SASRECLLM_FUZZ_TINY_LLAMA_H_

#include "model/llm/random_init.h"

namespace sasrecllm::fuzz {

inline llm::LlamaConfig TinyLlamaConfig() {
  llm::LlamaConfig c = llm::DefaultRandomLlamaConfig();
  c.hidden_size = 8;
  c.intermediate_size = 16;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 2;
  c.num_key_value_heads = 2;
  c.vocab_size = 16;
  c.max_position_embeddings = 8;
  return c;
}

}  // namespace sasrecllm::fuzz

#endif  // SASRECLLM_FUZZ_TINY_LLAMA_H_
