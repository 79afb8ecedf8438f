// LoadTokenizer, and the adapters that put llama2.c's and SentencePiece's
// tokenizers behind the Tokenizer interface (BpeTokenizer implements it
// itself).
#include "model/llm/tokenizers/tokenizer.h"

#include <filesystem>
#include <system_error>
#include <utility>

#include "model/llm/tokenizers/bpe_tokenizer.h"
#include "model/llm/tokenizers/llama2c_tokenizer.h"
#if SASRECLLM_HAVE_SENTENCEPIECE
#include "model/llm/tokenizers/spm_tokenizer.h"
#endif

namespace sasrecllm::llm {
namespace {

// llama2.c's tokenizer.bin. Ids 0..2 (<unk>, <s>, </s>) are its control
// tokens. Decode drops the leading space of the first piece, as run.c does
// after BOS and SentencePiece does for the dummy prefix, so that
// Decode(Encode(text)) == text.
class Llama2cAdapter final : public Tokenizer {
 public:
  explicit Llama2cAdapter(std::unique_ptr<Llama2cTokenizer> tok) : tok_(std::move(tok)) {}

  std::vector<int> Encode(std::string_view text, bool bos, bool eos,
                          bool leading_space) const override {
    return tok_->Encode(std::string(text), bos, eos, /*dummy_prefix=*/leading_space);
  }
  std::string Decode(const std::vector<int>& ids) const override {
    std::string text;
    int prev = Llama2cTokenizer::kBos;  // strips the first piece's leading space
    for (int id : ids) {
      if (id <= Llama2cTokenizer::kEos || id >= tok_->vocab_size()) continue;
      text += tok_->Decode(prev, id);
      prev = id;
    }
    return text;
  }
  int vocab_size() const override { return tok_->vocab_size(); }
  int bos_id() const override { return Llama2cTokenizer::kBos; }
  int eos_id() const override { return Llama2cTokenizer::kEos; }
  int PieceToId(std::string_view piece) const override {
    return tok_->PieceToId(std::string(piece));
  }
  std::string kind() const override { return "tokenizer.bin"; }

 private:
  std::unique_ptr<Llama2cTokenizer> tok_;
};

#if SASRECLLM_HAVE_SENTENCEPIECE
// SentencePiece's tokenizer.model; see SpmTokenizer::Encode for what
// leading_space = false does.
class SpmAdapter final : public Tokenizer {
 public:
  explicit SpmAdapter(std::unique_ptr<SpmTokenizer> tok) : tok_(std::move(tok)) {}

  std::vector<int> Encode(std::string_view text, bool bos, bool eos,
                          bool leading_space) const override {
    return tok_->Encode(text, bos, eos, leading_space);
  }
  std::string Decode(const std::vector<int>& ids) const override { return tok_->Decode(ids); }
  int vocab_size() const override { return tok_->vocab_size(); }
  int bos_id() const override { return tok_->bos_id(); }
  int eos_id() const override { return tok_->eos_id(); }
  int PieceToId(std::string_view piece) const override { return tok_->PieceToId(piece); }
  std::string kind() const override { return "tokenizer.model"; }

 private:
  std::unique_ptr<SpmTokenizer> tok_;
};
#endif

bool IsFile(const std::filesystem::path& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

// GPT-2's layout: `vocab` and `merges` side by side.
StatusOr<std::unique_ptr<Tokenizer>> LoadGpt2Layout(const std::filesystem::path& vocab,
                                                    const std::filesystem::path& merges) {
  for (const auto& file : {vocab, merges}) {
    if (!IsFile(file)) {
      return NotFoundError("tokenizer file not found: " + file.string() + " (GPT-2 layout: " +
                           vocab.filename().string() + " + " + merges.filename().string() + ")");
    }
  }
  SASRECLLM_ASSIGN_OR_RETURN(auto tok,
                             BpeTokenizer::LoadGpt2Files(vocab.string(), merges.string()));
  return std::unique_ptr<Tokenizer>(std::move(tok));
}

// One file, its kind from its name.
StatusOr<std::unique_ptr<Tokenizer>> LoadFile(const std::filesystem::path& path, int vocab_size) {
  const std::string name = path.filename().string();
  const std::string ext = path.extension().string();
  const std::filesystem::path dir = path.parent_path();
  if (name == "encoder.json" || ext == ".bpe") {
    return LoadGpt2Layout(dir / "encoder.json", dir / "vocab.bpe");
  }
  if (name == "vocab.json" || name == "merges.txt") {
    return LoadGpt2Layout(dir / "vocab.json", dir / "merges.txt");
  }
  if (ext == ".json") {
    SASRECLLM_ASSIGN_OR_RETURN(auto tok, BpeTokenizer::LoadTokenizerJson(path.string()));
    return std::unique_ptr<Tokenizer>(std::move(tok));
  }
  if (ext == ".model") {
#if SASRECLLM_HAVE_SENTENCEPIECE
    SASRECLLM_ASSIGN_OR_RETURN(auto tok, SpmTokenizer::Load(path.string()));
    return std::unique_ptr<Tokenizer>(std::make_unique<SpmAdapter>(std::move(tok)));
#else
    if (!IsFile(path)) return NotFoundError("SentencePiece model not found: " + path.string());
    return UnimplementedError(path.string() +
                              ": this build has no SentencePiece support (tokenizer.model)");
#endif
  }
  SASRECLLM_ASSIGN_OR_RETURN(auto tok, Llama2cTokenizer::Load(path.string(), vocab_size));
  return std::unique_ptr<Tokenizer>(std::make_unique<Llama2cAdapter>(std::move(tok)));
}

StatusOr<std::unique_ptr<Tokenizer>> LoadFolder(const std::filesystem::path& dir, int vocab_size) {
  for (const char* name : {"tokenizer.json", "tokenizer.model", "tokenizer.bin"}) {
    if (!IsFile(dir / name)) continue;
    StatusOr<std::unique_ptr<Tokenizer>> tok = LoadFile(dir / name, vocab_size);
    // An HF folder may hold a tokenizer.json this build cannot run (e.g.
    // Llama-2's SentencePiece-style BPE) next to the tokenizer.model it can.
    if (!tok.ok() && tok.status().code() == StatusCode::kUnimplemented &&
        std::string(name) == "tokenizer.json" && IsFile(dir / "tokenizer.model")) {
      continue;
    }
    return tok;
  }
  if (IsFile(dir / "encoder.json")) return LoadGpt2Layout(dir / "encoder.json", dir / "vocab.bpe");
  if (IsFile(dir / "vocab.json")) return LoadGpt2Layout(dir / "vocab.json", dir / "merges.txt");
  return NotFoundError("no tokenizer in " + dir.string() +
                       " (looked for tokenizer.json, tokenizer.model, tokenizer.bin, "
                       "encoder.json + vocab.bpe, vocab.json + merges.txt)");
}

}  // namespace

StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::string& path, int vocab_size) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return NotFoundError("tokenizer not found: " + path);
  StatusOr<std::unique_ptr<Tokenizer>> tok = std::filesystem::is_directory(path, ec)
                                                 ? LoadFolder(path, vocab_size)
                                                 : LoadFile(path, vocab_size);
  if (!tok.ok()) return tok.status();
  if (vocab_size > 0 && (*tok)->vocab_size() > vocab_size) {
    return InvalidArgumentError(path + ": the tokenizer (" + (*tok)->kind() + ") has " +
                                std::to_string((*tok)->vocab_size()) +
                                " tokens, more than the model's vocab_size " +
                                std::to_string(vocab_size));
  }
  return tok;
}

}  // namespace sasrecllm::llm
