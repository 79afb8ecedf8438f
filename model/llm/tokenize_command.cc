#include <cstdio>
#include <iostream>
#include <sstream>

#include "model/llm/commands.h"
#include "model/llm/flags.h"
#include "model/llm/llama2c_tokenizer.h"

namespace sasrecllm::llm {
namespace {

constexpr char kUsage[] =
    "usage: sasrecllm tokenize --tokenizer FILE [--bos] [--eos] TEXT   (prints ids)\n"
    "       sasrecllm tokenize --tokenizer FILE --decode \"ID ID ...\"  (prints text)\n";

Status Run(const Flags& flags) {
  if (!flags.Has("tokenizer")) return InvalidArgumentError("--tokenizer is required");
  SASRECLLM_ASSIGN_OR_RETURN(int64_t vocab_size, flags.GetInt("vocab-size", -1));
  SASRECLLM_ASSIGN_OR_RETURN(
      auto tokenizer,
      Llama2cTokenizer::Load(flags.Get("tokenizer"), static_cast<int>(vocab_size)));
  std::string text;
  for (size_t i = 0; i < flags.positional().size(); ++i) {
    text += (i ? " " : "") + flags.positional()[i];
  }
  if (flags.Has("decode")) {
    std::vector<int> ids;
    std::istringstream in(text);
    std::string word;
    while (in >> word) {
      char* end = nullptr;
      const long id = std::strtol(word.c_str(), &end, 10);
      if (*end != '\0' || id < 0 || id >= tokenizer->vocab_size()) {
        return InvalidArgumentError("--decode: \"" + word + "\" is not a token id in [0, " +
                                    std::to_string(tokenizer->vocab_size()) + ")");
      }
      ids.push_back(static_cast<int>(id));
    }
    // Raw bytes (not run.c's safe printing), so UTF-8 round-trips.
    const std::string out = tokenizer->DecodeSequence(ids, /*safe=*/false);
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
  StatusOr<Flags> flags =
      Flags::Parse(argc, argv, first, {"tokenizer", "vocab-size"}, {"bos", "eos", "decode", "help"});
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
