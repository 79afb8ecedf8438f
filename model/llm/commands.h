// The LLM subcommands of the offline tool. Each takes the whole argv and the
// index of its first own argument, prints errors to stderr and returns a
// process exit code (0 = success, 1 = failure, 2 = usage).
//
//   convert-llama2c CHECKPOINT TOKENIZER OUT_DIR
//   generate --model DIR [--prompt TEXT] [--steps N] [--temperature T] [--top-p P]
//            [--seed S] [--threads N] [--tokenizer FILE] [--dtype D]
//   tokenize --tokenizer PATH [--bos] [--eos] [--decode] [--vocab-size N] TEXT
//            (PATH: tokenizer.json, encoder.json + vocab.bpe, *.model, tokenizer.bin
//            or a folder holding one; see LoadTokenizer in tokenizer.h)
//   init-llm --out DIR [--hidden-size 768] [--layers 12] [--heads 12] [--kv-heads H]
//            [--intermediate-size 2048] [--vocab-size V] [--tokenizer FILE] [--seed 0]
//            [--dtype D] [--tie-embeddings]
//   bench-llm [--model DIR] [--threads N] [--dtype D] [--device cpu|cuda] [--repeats N]
//             [--json FILE]
#ifndef SASRECLLM_MODEL_LLM_COMMANDS_H_
#define SASRECLLM_MODEL_LLM_COMMANDS_H_

namespace sasrecllm::llm {

int RunConvertLlama2c(int argc, char** argv, int first);
int RunGenerate(int argc, char** argv, int first);
int RunTokenize(int argc, char** argv, int first);
int RunInitLlm(int argc, char** argv, int first);
int RunBenchLlm(int argc, char** argv, int first);

}  // namespace sasrecllm::llm

#endif  // SASRECLLM_MODEL_LLM_COMMANDS_H_
