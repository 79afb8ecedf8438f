// The LLM subcommands of the offline tool. Each takes the whole argv and the
// index of its first own argument, prints errors to stderr and returns a
// process exit code (0 = success, 1 = failure, 2 = usage).
//
//   convert-llama2c CHECKPOINT TOKENIZER OUT_DIR
//   generate --model DIR [--prompt TEXT] [--steps N] [--temperature T] [--top-p P]
//            [--seed S] [--threads N] [--tokenizer FILE] [--dtype D]
//   tokenize --tokenizer FILE [--bos] [--eos] [--decode] TEXT  (FILE: tokenizer.bin or *.model)
#ifndef SASRECLLM_MODEL_LLM_COMMANDS_H_
#define SASRECLLM_MODEL_LLM_COMMANDS_H_

namespace sasrecllm::llm {

int RunConvertLlama2c(int argc, char** argv, int first);
int RunGenerate(int argc, char** argv, int first);
int RunTokenize(int argc, char** argv, int first);

}  // namespace sasrecllm::llm

#endif  // SASRECLLM_MODEL_LLM_COMMANDS_H_
