// `sasrecllm tokenize`: text to token ids, or (--decode) ids to text, with
// any tokenizer LoadTokenizer reads.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>
#include <sstream>

#include "cli/llm_commands.h"
#include "model/llm/tokenizers/tokenizer.h"

namespace sasrecllm::cli {
namespace {

using llm::Tokenizer;

struct TokenizeFlags {
  std::string tokenizer;
  int64_t vocab_size = -1;  // -1: every token of the file
  bool bos = false, eos = false, decode = false;
  std::vector<std::string> text;
};

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

Status Run(const TokenizeFlags& flags) {
  SASRECLLM_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer,
                             llm::LoadTokenizer(flags.tokenizer, static_cast<int>(flags.vocab_size)));
  std::string text;
  for (size_t i = 0; i < flags.text.size(); ++i) text += (i ? " " : "") + flags.text[i];
  if (flags.decode) {
    SASRECLLM_ASSIGN_OR_RETURN(std::vector<int> ids, ParseIds(text, tokenizer->vocab_size()));
    // Every byte (not run.c's safe printing), so UTF-8 round-trips.
    const std::string out = tokenizer->Decode(ids);
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fputs("\n", stdout);
    return OkStatus();
  }
  const std::vector<int> ids = tokenizer->Encode(text, flags.bos, flags.eos);
  for (size_t i = 0; i < ids.size(); ++i) std::printf(i ? " %d" : "%d", ids[i]);
  std::printf("\n");
  return OkStatus();
}

int RunTokenize(const TokenizeFlags& f) {
  return ExitCodeOf("tokenize", Run(f));
}

}  // namespace

Command AddTokenize(CLI::App& app) {
  Subcommand<TokenizeFlags> sub(
      app, "tokenize", "text -> token ids, or ids -> text with --decode",
      R"(PATH: a tokenizer.json (Hugging Face byte-level BPE: Llama-3, Qwen2, GPT-2),
      an encoder.json with vocab.bpe beside it (GPT-2's layout),
      a SentencePiece *.model, a llama2.c tokenizer.bin (--vocab-size N: read
      only N tokens), or a folder holding one of them.
Prints the ids of TEXT, or with --decode the text of TEXT's ids ("ID ID ...").)");
  TokenizeFlags& f = sub.flags();
  sub->add_option("--tokenizer", f.tokenizer, "tokenizer file or folder")
      ->required()
      ->type_name("PATH");
  sub->add_option("--vocab-size", f.vocab_size, "tokenizer.bin: read only N tokens (-1: all)");
  sub->add_flag("--bos", f.bos, "prepend BOS");
  sub->add_flag("--eos", f.eos, "append EOS");
  sub->add_flag("--decode", f.decode, "TEXT is token ids: print their text");
  sub->add_option("TEXT", f.text, "text (or ids with --decode); words are joined by spaces");
  return sub.RunWith(RunTokenize);
}

}  // namespace sasrecllm::cli
