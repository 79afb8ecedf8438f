// `sasrecllm tokenize`: text to token ids, or (--decode) ids to text, with
// any tokenizer LoadTokenizer reads.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "model/llm/commands.h"
#include "model/llm/flags.h"
#include "model/llm/tokenizer.h"

namespace sasrecllm::llm {
namespace {

constexpr char kUsage[] =
    "usage: sasrecllm tokenize --tokenizer PATH [--bos] [--eos] TEXT   (prints ids)\n"
    "       sasrecllm tokenize --tokenizer PATH --decode \"ID ID ...\"  (prints text)\n"
    "PATH: a tokenizer.json (Hugging Face byte-level BPE: Llama-3, Qwen2, GPT-2),\n"
    "      an encoder.json with vocab.bpe beside it (GPT-2's layout),\n"
    "      a SentencePiece *.model, a llama2.c tokenizer.bin (--vocab-size N: read\n"
    "      only N tokens), or a folder holding one of them\n";

// Space-separated token ids, each in [0, vocab_size).
StatusOr<std::vector<int>> ParseIds(const std::string& text, int vocab_size) {
  std::vector<int> ids;
  std::istringstream in(text);
  std::string word;
  while (in >> word) {
    char* end = nullptr;
    const long id = std::strtol(word.c_str(), &end, 10);
    if (*end != '\0' || id < 0 || id >= vocab_size) {
      return InvalidArgumentError("--decode: \"" + word + "\" is not a token id in [0, " +
                                  std::to_string(vocab_size) + ")");
    }
    ids.push_back(static_cast<int>(id));
  }
  return ids;
}

Status Run(const Flags& flags) {
  if (!flags.Has("tokenizer")) return InvalidArgumentError("--tokenizer is required");
  SASRECLLM_ASSIGN_OR_RETURN(int64_t vocab_size, flags.GetInt("vocab-size", -1));
  SASRECLLM_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer,
                             LoadTokenizer(flags.Get("tokenizer"), static_cast<int>(vocab_size)));
  std::string text;
  for (size_t i = 0; i < flags.positional().size(); ++i) {
    text += (i ? " " : "") + flags.positional()[i];
  }
  if (flags.Has("decode")) {
    SASRECLLM_ASSIGN_OR_RETURN(std::vector<int> ids, ParseIds(text, tokenizer->vocab_size()));
    // Every byte (not run.c's safe printing), so UTF-8 round-trips.
    const std::string out = tokenizer->Decode(ids);
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fputs("\n", stdout);
    return OkStatus();
  }
  const std::vector<int> ids = tokenizer->Encode(text, flags.Has("bos"), flags.Has("eos"));
  for (size_t i = 0; i < ids.size(); ++i) std::printf(i ? " %d" : "%d", ids[i]);
  std::printf("\n");
  return OkStatus();
}

}  // namespace

int RunTokenize(int argc, char** argv, int first) {
  StatusOr<Flags> flags = Flags::Parse(argc, argv, first, {"tokenizer", "vocab-size"},
                                       {"bos", "eos", "decode", "help"});
  if (!flags.ok() || flags->Has("help")) {
    if (!flags.ok()) std::cerr << "tokenize: " << flags.status() << "\n";
    std::cerr << kUsage;
    return 2;
  }
  Status s = Run(*flags);
  if (!s.ok()) {
    std::cerr << "tokenize: " << s << "\n";
    return s.code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  return 0;
}

}  // namespace sasrecllm::llm
