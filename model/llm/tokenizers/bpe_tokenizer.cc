// BpeTokenizer: construction, encoding and decoding. Reading the files is in
// bpe_tokenizer_load.cc.
#include "model/llm/tokenizers/bpe_tokenizer.h"

#include <algorithm>
#include <initializer_list>

#include "model/llm/tokenizers/unicode.h"

namespace sasrecllm::llm {
namespace {

// GPT-2's bytes_to_unicode(): printable Latin-1 bytes stand for themselves,
// the other 68 (controls, space, DEL, NBSP, soft hyphen) for U+0100.. in
// byte order, so every byte is one visible character.
std::array<char32_t, 256> ByteToUnicode() {
  std::array<char32_t, 256> table{};
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable =
        (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    table[b] = printable ? static_cast<char32_t>(b) : next++;
  }
  return table;
}

// The inverse: code point (< 324) -> byte, -1 for the rest.
constexpr size_t kByteLevelLimit = 256 + 68;
std::array<int, kByteLevelLimit> UnicodeToByte() {
  std::array<int, kByteLevelLimit> table;
  table.fill(-1);
  const std::array<char32_t, 256> forward = ByteToUnicode();
  for (int b = 0; b < 256; ++b) table[forward[b]] = b;
  return table;
}

// The bytes a byte-level piece stands for; characters outside the table
// (not produced by byte-level encoding) are kept as UTF-8.
std::string ByteLevelDecode(std::string_view piece) {
  static const std::array<int, kByteLevelLimit> kTable = UnicodeToByte();
  std::string out;
  for (size_t pos = 0; pos < piece.size();) {
    const Utf8CodePoint c = DecodeUtf8(piece, pos);
    if (c.code_point < kByteLevelLimit && kTable[c.code_point] >= 0) {
      out.push_back(static_cast<char>(kTable[c.code_point]));
    } else {
      out.append(piece.substr(pos, static_cast<size_t>(c.length)));
    }
    pos += static_cast<size_t>(c.length);
  }
  return out;
}

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// A letter, digit or '_' (what single_word tokens must not touch).
bool IsWordChar(char32_t cp) { return cp == '_' || IsLetter(cp) || IsNumber(cp); }

// The code point that ends just before text[pos] (pos > 0).
char32_t CodePointBefore(std::string_view text, size_t pos) {
  size_t start = pos - 1;
  while (start > 0 && pos - start < 4 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) {
    --start;
  }
  const Utf8CodePoint c = DecodeUtf8(text, start);
  return start + static_cast<size_t>(c.length) == pos ? c.code_point : kInvalidCodePoint;
}

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

}  // namespace

StatusOr<std::unique_ptr<BpeTokenizer>> BpeTokenizer::Create(Options options) {
  std::unique_ptr<BpeTokenizer> tok(new BpeTokenizer());
  const std::string& source = options.source;
  tok->kind_ = options.kind;
  tok->pattern_ = options.pattern;
  tok->add_prefix_space_ = options.add_prefix_space;
  tok->ignore_merges_ = options.ignore_merges;

  int max_id = -1;
  tok->vocab_.reserve(options.vocab.size());
  for (const auto& [piece, id] : options.vocab) {
    if (id < 0)
      return DataLossError(source + ": piece " + Quoted(piece) + " has id " + std::to_string(id));
    tok->vocab_.emplace(piece, id);  // the first of duplicate pieces wins
    max_id = std::max(max_id, id);
  }
  for (const AddedToken& added : options.added_tokens) {
    if (added.id < 0) {
      return DataLossError(source + ": added token " + Quoted(added.content) + " has id " +
                           std::to_string(added.id));
    }
    max_id = std::max(max_id, added.id);
  }
  if (max_id < 0) return DataLossError(source + ": the vocabulary is empty");
  // The id table below is sized by the largest id. Real vocabularies are
  // dense, up to a gap before their added tokens (llama.cpp's mini Llama 3
  // test vocabulary: 325 tokens, ids up to 128001); a file whose largest id
  // is far beyond that would only make it allocate (2^30 ids: 32 GB).
  const size_t defined = options.vocab.size() + options.added_tokens.size();
  if (static_cast<size_t>(max_id) >= std::max<size_t>(4 * defined, size_t{1} << 18)) {
    return DataLossError(source + ": token id " + std::to_string(max_id) + " is far beyond the " +
                         std::to_string(defined) + " tokens defined (ids must be dense)");
  }

  // Decoded bytes of every id; added tokens override vocabulary pieces.
  tok->decoded_.assign(static_cast<size_t>(max_id) + 1, std::string());
  std::vector<bool> seen(tok->decoded_.size(), false);
  for (const auto& [piece, id] : options.vocab) {
    if (seen[id]) continue;
    seen[id] = true;
    tok->decoded_[id] = ByteLevelDecode(piece);
  }
  for (const AddedToken& added : options.added_tokens) {
    tok->decoded_[added.id] = added.special ? std::string() : added.content;
    tok->added_ids_.emplace(added.content, added.id);
    if (!added.content.empty()) tok->added_.push_back(added);
  }
  for (int i = 0; i < static_cast<int>(tok->added_.size()); ++i) {
    tok->added_by_byte_[static_cast<unsigned char>(tok->added_[i].content[0])].push_back(i);
  }
  for (std::vector<int>& list : tok->added_by_byte_) {
    std::stable_sort(list.begin(), list.end(), [&](int a, int b) {
      return tok->added_[a].content.size() > tok->added_[b].content.size();
    });
  }

  const std::array<char32_t, 256> byte_to_unicode = ByteToUnicode();
  for (int b = 0; b < 256; ++b) {
    AppendUtf8(byte_to_unicode[b], &tok->byte_chars_[b]);
    auto it = tok->vocab_.find(tok->byte_chars_[b]);
    tok->byte_ids_[b] = it == tok->vocab_.end() ? -1 : it->second;
  }

  tok->merges_.reserve(options.merges.size());
  for (size_t rank = 0; rank < options.merges.size(); ++rank) {
    const auto& [left, right] = options.merges[rank];
    const auto l = tok->vocab_.find(left);
    const auto r = tok->vocab_.find(right);
    const auto m = tok->vocab_.find(left + right);
    if (l == tok->vocab_.end() || r == tok->vocab_.end() || m == tok->vocab_.end()) {
      const std::string& missing = l == tok->vocab_.end()   ? left
                                   : r == tok->vocab_.end() ? right
                                                            : left + right;
      return DataLossError(source + ": merge " + std::to_string(rank) + " " +
                           Quoted(left + " " + right) + ": " + Quoted(missing) +
                           " is not in the vocabulary");
    }
    // The first (lowest-ranked) of duplicate merges wins.
    tok->merges_.emplace(PairKey(l->second, r->second), Merge{static_cast<int>(rank), m->second});
  }

  const auto resolve = [&](int id, std::initializer_list<const char*> names,
                           const char* what) -> StatusOr<int> {
    if (id == kByName) {
      for (const char* name : names) {
        if (int found = tok->PieceToId(name); found >= 0) return found;
      }
      return kNone;
    }
    if (id < kNone || id >= tok->vocab_size()) {
      return DataLossError(source + ": " + what + " id " + std::to_string(id) +
                           " is outside the vocabulary [0, " + std::to_string(tok->vocab_size()) +
                           ")");
    }
    return id;
  };
  SASRECLLM_ASSIGN_OR_RETURN(tok->bos_id_,
                             resolve(options.bos_id, {"<|begin_of_text|>", "<s>"}, "BOS"));
  SASRECLLM_ASSIGN_OR_RETURN(
      tok->eos_id_, resolve(options.eos_id, {"<|end_of_text|>", "</s>", "<|endoftext|>"}, "EOS"));
  return tok;
}

int BpeTokenizer::PieceToId(std::string_view piece) const {
  const std::string key(piece);
  if (auto it = added_ids_.find(key); it != added_ids_.end()) return it->second;
  if (auto it = vocab_.find(key); it != vocab_.end()) return it->second;
  return -1;
}

size_t BpeTokenizer::MatchAdded(std::string_view text, size_t pos, int index) const {
  const AddedToken& added = added_[index];
  if (text.compare(pos, added.content.size(), added.content) != 0) return 0;
  const size_t end = pos + added.content.size();
  if (added.single_word) {
    if (pos > 0 && IsWordChar(CodePointBefore(text, pos))) return 0;
    if (end < text.size() && IsWordChar(DecodeUtf8(text, end).code_point)) return 0;
  }
  return added.content.size();
}

std::vector<BpeTokenizer::Segment> BpeTokenizer::SplitAddedTokens(std::string_view text) const {
  std::vector<Segment> segments;
  size_t start = 0;  // of the text not yet in a segment
  for (size_t pos = 0; pos < text.size();) {
    int found = -1;
    size_t length = 0;
    for (int index : added_by_byte_[static_cast<unsigned char>(text[pos])]) {
      if ((length = MatchAdded(text, pos, index)) > 0) {
        found = index;
        break;  // longest first
      }
    }
    if (found < 0) {
      ++pos;
      continue;
    }
    size_t token_start = pos;
    size_t token_end = pos + length;
    if (added_[found].lstrip) {
      while (token_start > start && IsAsciiSpace(text[token_start - 1])) --token_start;
    }
    if (added_[found].rstrip) {
      while (token_end < text.size() && IsAsciiSpace(text[token_end])) ++token_end;
    }
    if (token_start > start) segments.push_back({text.substr(start, token_start - start)});
    segments.push_back({std::string_view(), added_[found].id});
    start = pos = token_end;
  }
  if (start < text.size()) segments.push_back({text.substr(start)});
  return segments;
}

void BpeTokenizer::EncodeWord(std::string_view word, std::vector<int>* ids) const {
  if (word.size() == 1) {
    const int id = byte_ids_[static_cast<unsigned char>(word[0])];
    if (id >= 0) ids->push_back(id);
    return;
  }
  if (ignore_merges_) {
    std::string spelled;
    for (unsigned char b : word) spelled += byte_chars_[b];
    if (auto it = vocab_.find(spelled); it != vocab_.end()) {
      ids->push_back(it->second);
      return;
    }
  }

  // The word as a linked list of pieces, one per byte to begin with. A byte
  // without a piece (id -1; byte-level vocabularies have all 256) never
  // merges and is dropped.
  struct Symbol {
    int id;
    int prev;
    int next;  // -1 = none
    bool merged_away;
  };
  const int n = static_cast<int>(word.size());
  std::vector<Symbol> symbols(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    symbols[i] = {byte_ids_[static_cast<unsigned char>(word[i])], i - 1, i + 1 < n ? i + 1 : -1,
                  false};
  }

  // Candidate merges of (symbol at pos, its next), lowest rank first, then
  // leftmost. Entries go stale when a side merges; they are checked on pop.
  struct Candidate {
    int rank;
    int pos;
    int id;
  };
  const auto later = [](const Candidate& a, const Candidate& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  };
  std::vector<Candidate> heap;
  heap.reserve(static_cast<size_t>(n));
  const auto push_pair = [&](int pos) {
    const int next = symbols[pos].next;
    if (next < 0 || symbols[pos].id < 0 || symbols[next].id < 0) return;
    const auto it = merges_.find(PairKey(symbols[pos].id, symbols[next].id));
    if (it == merges_.end()) return;
    heap.push_back({it->second.rank, pos, it->second.id});
    std::push_heap(heap.begin(), heap.end(), later);
  };
  for (int i = 0; i + 1 < n; ++i) push_pair(i);

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    const Candidate top = heap.back();
    heap.pop_back();
    Symbol& left = symbols[top.pos];
    if (left.merged_away || left.next < 0) continue;
    const int right = left.next;
    // Still the same pair? (A merged piece is its sides' concatenation, so a
    // changed side can never lead to the same merged id.)
    const auto it = merges_.find(PairKey(left.id, symbols[right].id));
    if (it == merges_.end() || it->second.id != top.id) continue;
    left.id = top.id;
    left.next = symbols[right].next;
    if (left.next >= 0) symbols[left.next].prev = top.pos;
    symbols[right].merged_away = true;
    if (left.prev >= 0) push_pair(left.prev);
    push_pair(top.pos);
  }
  for (int i = 0; i >= 0; i = symbols[i].next) {
    if (symbols[i].id >= 0) ids->push_back(symbols[i].id);
  }
}

std::vector<int> BpeTokenizer::Encode(std::string_view text, bool bos, bool eos,
                                      bool leading_space) const {
  std::vector<int> ids;
  if (bos && bos_id_ >= 0) ids.push_back(bos_id_);
  std::string prefixed;
  for (const Segment& segment : SplitAddedTokens(text)) {
    if (segment.id >= 0) {
      ids.push_back(segment.id);
      continue;
    }
    std::string_view part = segment.text;
    if (add_prefix_space_ && leading_space && part.front() != ' ') {
      prefixed = " " + std::string(part);
      part = prefixed;
    }
    for (std::string_view word : PreTokenize(part, pattern_)) EncodeWord(word, &ids);
  }
  if (eos && eos_id_ >= 0) ids.push_back(eos_id_);
  return ids;
}

std::string BpeTokenizer::Decode(const std::vector<int>& ids) const {
  std::string text;
  for (int id : ids) {
    if (id >= 0 && id < vocab_size()) text += decoded_[id];
  }
  return text;
}

}  // namespace sasrecllm::llm
