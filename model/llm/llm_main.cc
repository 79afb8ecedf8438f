// sasrecllm-llm: a temporary standalone tool for the LLM runtime; its
// subcommands move into `sasrecllm` later.
#include <cstring>
#include <iostream>

#include "model/llm/commands.h"

int main(int argc, char** argv) {
  const char* usage =
      "usage: sasrecllm-llm convert-llama2c|generate|tokenize ...  (--help for each)\n";
  if (argc < 2) {
    std::cerr << usage;
    return 2;
  }
  const char* cmd = argv[1];
  if (std::strcmp(cmd, "convert-llama2c") == 0) {
    return sasrecllm::llm::RunConvertLlama2c(argc, argv, 2);
  }
  if (std::strcmp(cmd, "generate") == 0) return sasrecllm::llm::RunGenerate(argc, argv, 2);
  if (std::strcmp(cmd, "tokenize") == 0) return sasrecllm::llm::RunTokenize(argc, argv, 2);
  std::cerr << "unknown command \"" << cmd << "\"\n" << usage;
  return 2;
}
