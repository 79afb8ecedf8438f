#include "model/llm/tokenizers/llama2c_tokenizer.h"

#include <cctype>
#include <cstdint>
#include <cstring>
#include <fstream>

#include "base/file.h"

namespace sasrecllm::llm {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

StatusOr<std::unique_ptr<Llama2cTokenizer>> Llama2cTokenizer::Load(const std::string& path,
                                                                   int vocab_size) {
  SASRECLLM_RETURN_IF_ERROR(CheckRegularFile(path));
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open tokenizer file " + path);
  std::unique_ptr<Llama2cTokenizer> tok(new Llama2cTokenizer());
  int32_t max_len = 0;
  if (!in.read(reinterpret_cast<char*>(&max_len), 4)) {
    return DataLossError(path + ": too short for the max_token_length header");
  }
  if (max_len <= 0 || max_len > (1 << 20)) {
    return DataLossError(path + ": implausible max_token_length " + std::to_string(max_len));
  }
  tok->max_token_length_ = max_len;
  for (int i = 0; vocab_size < 0 || i < vocab_size; ++i) {
    float score = 0;
    if (!in.read(reinterpret_cast<char*>(&score), 4)) {
      if (vocab_size < 0 && in.gcount() == 0) break;  // clean end of file
      return DataLossError(path + ": truncated at token " + std::to_string(i) + " (score)" +
                           (vocab_size >= 0 ? ", expected " + std::to_string(vocab_size) + " tokens"
                                            : ""));
    }
    int32_t len = 0;
    if (!in.read(reinterpret_cast<char*>(&len), 4)) {
      return DataLossError(path + ": truncated at token " + std::to_string(i) + " (length)");
    }
    if (len < 0 || len > max_len) {
      return DataLossError(path + ": token " + std::to_string(i) + " has length " +
                           std::to_string(len) + " outside [0, max_token_length=" +
                           std::to_string(max_len) + "]");
    }
    std::string bytes(static_cast<size_t>(len), '\0');
    if (len > 0 && !in.read(bytes.data(), len)) {
      return DataLossError(path + ": truncated at token " + std::to_string(i) + " (bytes)");
    }
    // run.c keeps each piece as a C string.
    bytes.resize(std::strlen(bytes.c_str()));
    tok->vocab_.push_back(std::move(bytes));
    tok->scores_.push_back(score);
  }
  if (tok->vocab_.size() < 3) {
    return DataLossError(path + ": only " + std::to_string(tok->vocab_.size()) + " tokens");
  }
  for (int i = 0; i < static_cast<int>(tok->vocab_.size()); ++i) {
    tok->index_.emplace(tok->vocab_[i], i);  // keeps the lowest id of duplicates
  }
  return tok;
}

int Llama2cTokenizer::ByteFallback(unsigned char byte) const {
  // run.c writes byte + 3 unchecked; a vocabulary without the 256 byte tokens
  // (any file may be short) gets <unk> (0), as sentencepiece without byte
  // fallback, instead of an id past the end.
  const int id = static_cast<int>(byte) + 3;
  return id < vocab_size() ? id : kUnk;
}

int Llama2cTokenizer::Lookup(const std::string& s) const {
  auto it = index_.find(s);
  return it == index_.end() ? -1 : it->second;
}

std::vector<int> Llama2cTokenizer::Encode(const std::string& input, bool bos, bool eos,
                                          bool dummy_prefix) const {
  const std::string text(input.c_str());  // C-string semantics
  std::vector<int> tokens;
  if (bos) tokens.push_back(kBos);
  // add_dummy_prefix is true by default in sentencepiece.
  if (dummy_prefix && !text.empty()) {
    const int dummy = Lookup(" ");
    tokens.push_back(dummy >= 0 ? dummy : ByteFallback(static_cast<unsigned char>(' ')));
  }
  // UTF-8 code points (at most 4 bytes each); unknown ones fall back to bytes.
  std::string buffer;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if ((c & 0xC0) != 0x80) buffer.clear();  // not a continuation byte: new code point
    buffer.push_back(static_cast<char>(c));
    const unsigned char next = i + 1 < text.size() ? static_cast<unsigned char>(text[i + 1]) : 0;
    if ((next & 0xC0) == 0x80 && buffer.size() < 4) continue;
    const int id = Lookup(buffer);
    if (id != -1) {
      tokens.push_back(id);
    } else {
      for (unsigned char byte : buffer) tokens.push_back(ByteFallback(byte));
    }
    buffer.clear();
  }
  // Merge the best-scoring adjacent pair until none is in the vocabulary.
  while (true) {
    float best_score = -1e10f;
    int best_id = -1;
    int best_idx = -1;
    for (int i = 0; i + 1 < static_cast<int>(tokens.size()); ++i) {
      const int id = Lookup(vocab_[tokens[i]] + vocab_[tokens[i + 1]]);
      if (id != -1 && scores_[id] > best_score) {
        best_score = scores_[id];
        best_id = id;
        best_idx = i;
      }
    }
    if (best_idx == -1) break;
    tokens[best_idx] = best_id;
    tokens.erase(tokens.begin() + best_idx + 1);
  }
  if (eos) tokens.push_back(kEos);
  return tokens;
}

std::string Llama2cTokenizer::Decode(int prev_token, int token) const {
  if (token < 0 || token >= vocab_size()) return "";
  std::string piece = vocab_[token];
  // After BOS, sentencepiece strips the leading whitespace (llama2.c PR #89).
  if (prev_token == kBos && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
  // sscanf(piece, "<0x%02hhX>", &byte): "<0x" then one or two hex digits.
  if (piece.size() >= 4 && piece.compare(0, 3, "<0x") == 0 && HexValue(piece[3]) >= 0) {
    int value = HexValue(piece[3]);
    if (piece.size() >= 5 && HexValue(piece[4]) >= 0) value = value * 16 + HexValue(piece[4]);
    piece = std::string(1, static_cast<char>(value));
    if (value == 0) piece.clear();  // run.c's byte_pieces entry is then an empty C string
  }
  return piece;
}

std::string Llama2cTokenizer::SafePiece(const std::string& piece) {
  const std::string s(piece.c_str());
  if (s.empty()) return "";
  if (s.size() == 1) {
    const unsigned char byte = static_cast<unsigned char>(s[0]);
    if (!(std::isprint(byte) || std::isspace(byte))) return "";
  }
  return s;
}

std::string Llama2cTokenizer::DecodeSequence(const std::vector<int>& ids, bool safe) const {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] == kBos) continue;
    const std::string piece = Decode(i > 0 ? ids[i - 1] : -1, ids[i]);
    out += safe ? SafePiece(piece) : piece;
  }
  return out;
}

}  // namespace sasrecllm::llm
