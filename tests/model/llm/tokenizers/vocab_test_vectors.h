// Reading llama.cpp's tokenizer test vectors (ggml-vocab-*.gguf.inp / .out,
// MIT; copies under ../shared/tokenizers) in the tokenizer tests.
#ifndef SASRECLLM_TESTS_MODEL_LLM_TOKENIZERS_VOCAB_TEST_VECTORS_H_
#define SASRECLLM_TESTS_MODEL_LLM_TOKENIZERS_VOCAB_TEST_VECTORS_H_

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace sasrecllm::llm::testing {

// The whole of the file at `path` ("" when it cannot be read).
inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// llama.cpp's test-tokenizer-0 reading of the .inp file: every input is
// followed by the separator (so the text after the last one is not an input).
inline std::vector<std::string> ReadInputs(const std::string& path) {
  static const std::string kSeparator = "\n__ggml_vocab_test__\n";
  std::string all = ReadFile(path);
  std::vector<std::string> inputs;
  size_t start = 0;
  for (size_t pos; (pos = all.find(kSeparator, start)) != std::string::npos;) {
    inputs.push_back(all.substr(start, pos - start));
    start = pos + kSeparator.size();
  }
  return inputs;
}

// The .out file: on line i the expected ids of input i, separated by spaces.
inline std::vector<std::vector<int>> ReadOutputs(const std::string& path) {
  std::istringstream lines(ReadFile(path));
  std::vector<std::vector<int>> outputs;
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::vector<int> ids;
    for (int id; words >> id;) ids.push_back(id);
    outputs.push_back(std::move(ids));
  }
  return outputs;
}

// "1 2 3".
inline std::string Join(const std::vector<int>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? " " : "") + std::to_string(ids[i]);
  return s;
}

}  // namespace sasrecllm::llm::testing

#endif  // SASRECLLM_TESTS_MODEL_LLM_TOKENIZERS_VOCAB_TEST_VECTORS_H_
