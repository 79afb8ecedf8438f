#include <cstdio>
#include <iostream>
#include <sstream>

#include "model/llm/commands.h"
#include "model/llm/flags.h"
#include "model/llm/llama2c_tokenizer.h"
#if SASRECLLM_HAVE_SENTENCEPIECE
#include "model/llm/spm_tokenizer.h"
#endif

namespace sasrecllm::llm {
namespace {

constexpr char kUsage[] =
    "usage: sasrecllm tokenize --tokenizer FILE [--bos] [--eos] TEXT   (prints ids)\n"
    "       sasrecllm tokenize --tokenizer FILE --decode \"ID ID ...\"  (prints text)\n"
    "FILE: llama2.c tokenizer.bin, or a SentencePiece *.model\n";

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

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

void PrintIds(const std::vector<int>& ids) {
  for (size_t i = 0; i < ids.size(); ++i) std::printf(i ? " %d" : "%d", ids[i]);
  std::printf("\n");
}

// A SentencePiece tokenizer.model: same interface as the tokenizer.bin path.
Status RunSpm(const Flags& flags, const std::string& text) {
#if SASRECLLM_HAVE_SENTENCEPIECE
  SASRECLLM_ASSIGN_OR_RETURN(auto tokenizer, SpmTokenizer::Load(flags.Get("tokenizer")));
  if (flags.Has("decode")) {
    SASRECLLM_ASSIGN_OR_RETURN(std::vector<int> ids, ParseIds(text, tokenizer->vocab_size()));
    const std::string out = tokenizer->Decode(ids);
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fputs("\n", stdout);
    return OkStatus();
  }
  PrintIds(tokenizer->Encode(text, flags.Has("bos"), flags.Has("eos")));
  return OkStatus();
#else
  return UnimplementedError("--tokenizer " + flags.Get("tokenizer") +
                            ": this build has no SentencePiece support (*.model)");
#endif
}

Status Run(const Flags& flags) {
  if (!flags.Has("tokenizer")) return InvalidArgumentError("--tokenizer is required");
  if (EndsWith(flags.Get("tokenizer"), ".model")) {
    std::string text;
    for (size_t i = 0; i < flags.positional().size(); ++i) {
      text += (i ? " " : "") + flags.positional()[i];
    }
    return RunSpm(flags, text);
  }
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
