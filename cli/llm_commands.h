// The LLM commands of the offline tool (see cli/command.h for how they plug
// into the app):
//
//   convert-llama2c CHECKPOINT TOKENIZER OUT_DIR
//   generate --model DIR [--prompt TEXT] [--steps N] [--temperature T] [--top-p P]
//            [--seed S] [--threads N] [--tokenizer FILE] [--dtype D] [--device D]
//   tokenize --tokenizer PATH [--bos] [--eos] [--decode] [--vocab-size N] TEXT...
//            (PATH: tokenizer.json, encoder.json + vocab.bpe, *.model, tokenizer.bin
//            or a folder holding one; see LoadTokenizer in model/llm/tokenizers/tokenizer.h)
//   init-llm --out DIR [--hidden-size 768] [--layers 12] [--heads 12] [--kv-heads H]
//            [--intermediate-size 2048] [--vocab-size V] [--tokenizer FILE] [--seed 0]
//            [--dtype D] [--tie-embeddings]
//   bench-llm [--model DIR] [--threads N] [--dtype D] [--device cpu|cuda] [--repeats N]
//             [--json FILE]
//   llm-memory --model DIR [--dtype D] [--device D] [--read mmap|copy] [--prompt-len 8]
//              [--threads N] [--json FILE]
#ifndef SASRECLLM_CLI_LLM_COMMANDS_H_
#define SASRECLLM_CLI_LLM_COMMANDS_H_

#include "cli/command.h"

namespace sasrecllm::cli {

Command AddConvertLlama2c(CLI::App& app);
Command AddGenerate(CLI::App& app);
Command AddTokenize(CLI::App& app);
Command AddInitLlm(CLI::App& app);
Command AddBenchLlm(CLI::App& app);
Command AddLlmMemory(CLI::App& app);

}  // namespace sasrecllm::cli

#endif  // SASRECLLM_CLI_LLM_COMMANDS_H_
