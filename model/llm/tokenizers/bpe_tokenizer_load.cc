// BpeTokenizer: reading tokenizer.json and GPT-2's encoder.json + vocab.bpe
// into BpeTokenizer::Options.
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>

#include "base/file.h"
#include "base/text.h"
#include "base/json.h"
#include "model/llm/tokenizers/bpe_tokenizer.h"

namespace sasrecllm::llm {
namespace {

using Options = BpeTokenizer::Options;
using AddedToken = BpeTokenizer::AddedToken;

// obj[key] when it is a string, else "".
std::string StringOr(const Json& obj, std::string_view key) {
  const Json* v = FindKey(obj, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

// obj[key] when it is a bool, else `fallback`.
bool BoolOr(const Json& obj, std::string_view key, bool fallback) {
  const Json* v = FindKey(obj, key);
  return v != nullptr && v->is_boolean() ? v->get<bool>() : fallback;
}

Status Unsupported(const std::string& path, const std::string& what) {
  return UnimplementedError(path + ": " + what +
                            " is not supported (only byte-level BPE tokenizers: GPT-2, "
                            "Llama-3, Qwen2)");
}

// The pre-tokenizer: a Split with a known regex followed by ByteLevel
// (use_regex = false), or ByteLevel alone (GPT-2's regex).
struct PreTokenizerSpec {
  bool has_split = false;
  PreTokenizerPattern split = PreTokenizerPattern::kGpt2;
  bool has_byte_level = false;
  bool byte_level_regex = true;
  bool add_prefix_space = false;
};

Status ReadPreTokenizer(const Json& j, const std::string& path, PreTokenizerSpec* spec) {
  const std::string type = StringOr(j, "type");
  if (type == "Sequence") {
    for (const Json& child : Member(j, "pretokenizers")) {
      SASRECLLM_RETURN_IF_ERROR(ReadPreTokenizer(child, path, spec));
    }
    return OkStatus();
  }
  if (type == "ByteLevel") {
    if (spec->has_byte_level) return Unsupported(path, "a second ByteLevel pre-tokenizer");
    spec->has_byte_level = true;
    // Hugging Face's defaults: add_prefix_space and use_regex true.
    spec->add_prefix_space = BoolOr(j, "add_prefix_space", true);
    spec->byte_level_regex = BoolOr(j, "use_regex", true);
    return OkStatus();
  }
  if (type == "Split") {
    if (spec->has_split) return Unsupported(path, "more than one Split pre-tokenizer");
    const std::string regex = StringOr(Member(j, "pattern"), "Regex");
    if (regex.empty()) return Unsupported(path, "Split pattern " + DumpJson(Member(j, "pattern")));
    const std::string behavior = StringOr(j, "behavior");
    if (behavior != "Isolated" || BoolOr(j, "invert", false)) {
      return Unsupported(path, "Split behavior \"" + behavior + "\"" +
                                   (BoolOr(j, "invert", false) ? " with invert" : ""));
    }
    StatusOr<PreTokenizerPattern> pattern = PreTokenizerPatternFromRegex(regex);
    if (!pattern.ok()) return pattern.status().WithPrefix(path);
    spec->has_split = true;
    spec->split = *pattern;
    return OkStatus();
  }
  return Unsupported(path, "pre_tokenizer " + (type.empty() ? DumpJson(j) : "\"" + type + "\""));
}

Status CheckNormalizer(const Json& j, const std::string& path) {
  if (j.is_null()) return OkStatus();
  const std::string type = StringOr(j, "type");
  if (type == "NFC") return OkStatus();  // assumed already applied (see the header)
  if (type == "Sequence") {
    for (const Json& child : Member(j, "normalizers")) {
      SASRECLLM_RETURN_IF_ERROR(CheckNormalizer(child, path));
    }
    return OkStatus();
  }
  return Unsupported(path, "normalizer \"" + type + "\"");
}

Status CheckDecoder(const Json& j, const std::string& path) {
  const std::string type = StringOr(j, "type");
  if (type == "ByteLevel") return OkStatus();
  if (type == "Sequence" && Member(j, "decoders").size() > 0) {
    for (const Json& child : Member(j, "decoders")) {
      SASRECLLM_RETURN_IF_ERROR(CheckDecoder(child, path));
    }
    return OkStatus();
  }
  return Unsupported(path, "decoder " + (type.empty() ? DumpJson(j) : "\"" + type + "\""));
}

// BOS / EOS from the post-processor: TemplateProcessing's special tokens
// before and after $A, or Roberta/BertProcessing's cls and sep. Leaves them
// kByName when the post-processor does not say.
void ReadPostProcessor(const Json& j, const std::vector<AddedToken>& added, Options* options) {
  const std::string type = StringOr(j, "type");
  if (type == "Sequence") {
    for (const Json& child : Member(j, "processors")) ReadPostProcessor(child, added, options);
    return;
  }
  const auto id_of = [&](const std::string& name) {
    const Json& ids = Member(Member(Member(j, "special_tokens"), name), "ids");
    if (ids.is_array() && ids.size() == 1 && IsInteger(ids[0])) {
      return static_cast<int>(ids[0].get<int64_t>());
    }
    for (const AddedToken& a : added) {
      if (a.content == name) return a.id;
    }
    return BpeTokenizer::kByName;
  };
  if (type == "TemplateProcessing") {
    bool before_a = true;
    options->bos_id = BpeTokenizer::kNone;  // a template without one adds none
    for (const Json& item : Member(j, "single")) {
      if (FindKey(item, "Sequence") != nullptr) {
        before_a = false;
      } else if (const Json* special = FindKey(item, "SpecialToken"); special != nullptr) {
        const int id = id_of(StringOr(*special, "id"));
        (before_a ? options->bos_id : options->eos_id) = id;
      }
    }
    return;
  }
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    const Json& cls = Member(j, "cls");
    const Json& sep = Member(j, "sep");
    if (cls.is_array() && cls.size() == 2 && IsInteger(cls[1])) {
      options->bos_id = static_cast<int>(cls[1].get<int64_t>());
    }
    if (sep.is_array() && sep.size() == 2 && IsInteger(sep[1])) {
      options->eos_id = static_cast<int>(sep[1].get<int64_t>());
    }
  }
}

// A {"piece": id} object (Json or SortedJson) as (piece, id) pairs.
template <typename JsonType>
StatusOr<std::vector<std::pair<std::string, int>>> ReadVocab(const JsonType& vocab,
                                                             const std::string& path,
                                                             const std::string& where) {
  if (!vocab.is_object()) return DataLossError(path + ": " + where + " is not an object");
  std::vector<std::pair<std::string, int>> out;
  out.reserve(vocab.size());
  for (const auto& [piece, id] : vocab.items()) {
    if (!id.is_number_integer() || id.template get<int64_t>() < 0 ||
        id.template get<int64_t>() > (1 << 30)) {
      return DataLossError(path + ": " + where + "[\"" + piece + "\"] = " +
                           id.dump(-1, ' ', false, JsonType::error_handler_t::replace) +
                           " is not a token id");
    }
    out.emplace_back(piece, static_cast<int>(id.template get<int64_t>()));
  }
  return out;
}

// A file that is one {"piece": id} object (encoder.json, vocab.json).
StatusOr<std::vector<std::pair<std::string, int>>> ReadVocabFile(const std::string& path) {
  SASRECLLM_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  SASRECLLM_ASSIGN_OR_RETURN(SortedJson vocab, ParseSortedJson(text, path));
  return ReadVocab(vocab, path, "the vocabulary");
}

// "a b" -> {"a", "b"}; false unless exactly one space separates two pieces.
bool SplitMerge(std::string_view line, std::pair<std::string, std::string>* merge) {
  const size_t space = line.find(' ');
  if (space == std::string_view::npos || space == 0 || space + 1 == line.size() ||
      line.find(' ', space + 1) != std::string_view::npos) {
    return false;
  }
  *merge = {std::string(line.substr(0, space)), std::string(line.substr(space + 1))};
  return true;
}

// GPT-2's layout names no pre-tokenizer; each pattern leaves its mark on
// the digits of the pieces it produced (see LoadGpt2Files).
PreTokenizerPattern InferPattern(const std::vector<std::pair<std::string, int>>& vocab) {
  static const std::string kSpaceChar = "\xC4\xA0";  // "Ġ": the byte-level space
  size_t longest_digit_run = 0;
  for (const auto& entry : vocab) {
    const std::string& piece = entry.first;
    size_t run = 0;
    for (size_t i = 0; i < piece.size(); ++i) {
      const bool digit = piece[i] >= '0' && piece[i] <= '9';
      run = digit ? run + 1 : 0;
      longest_digit_run = std::max(longest_digit_run, run);
      if (digit && i >= 2 && piece.compare(i - 2, 2, kSpaceChar) == 0) {
        return PreTokenizerPattern::kGpt2;
      }
    }
  }
  if (longest_digit_run >= 4) return PreTokenizerPattern::kGpt2;
  if (longest_digit_run >= 2) return PreTokenizerPattern::kLlama3;
  return PreTokenizerPattern::kQwen2;
}

// Llama-3.1 / 3.2's special tokens, ids 128000..128255.
std::vector<AddedToken> Llama3SpecialTokens() {
  const char* const kNamed[] = {"<|begin_of_text|>",
                                "<|end_of_text|>",
                                "<|reserved_special_token_0|>",
                                "<|reserved_special_token_1|>",
                                "<|finetune_right_pad_id|>",
                                "<|reserved_special_token_2|>",
                                "<|start_header_id|>",
                                "<|end_header_id|>",
                                "<|eom_id|>",
                                "<|eot_id|>",
                                "<|python_tag|>"};
  std::vector<AddedToken> tokens;
  int id = 128000;
  for (const char* name : kNamed) tokens.push_back({name, id++});
  for (int k = 3; id < 128256; ++k) {
    tokens.push_back({"<|reserved_special_token_" + std::to_string(k) + "|>", id++});
  }
  return tokens;
}

bool IsFile(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

}  // namespace

StatusOr<std::unique_ptr<BpeTokenizer>> BpeTokenizer::LoadTokenizerJson(const std::string& path) {
  SASRECLLM_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  // Parsed with std::map objects (SortedJson): model.vocab has up to a few
  // hundred thousand members. It is taken out, and the rest (small) becomes
  // a Json for the helpers below.
  SASRECLLM_ASSIGN_OR_RETURN(SortedJson sorted, ParseSortedJson(text, path));
  text.clear();
  text.shrink_to_fit();
  std::optional<std::vector<std::pair<std::string, int>>> vocab_pairs;
  if (sorted.is_object() && sorted.contains("model") && sorted["model"].is_object() &&
      sorted["model"].contains("vocab")) {
    SASRECLLM_ASSIGN_OR_RETURN(vocab_pairs, ReadVocab(sorted["model"]["vocab"], path,
                                                      "model.vocab"));
    sorted["model"].erase("vocab");
  }
  const Json root = sorted;
  sorted = SortedJson();
  if (!root.is_object()) return DataLossError(path + ": not a JSON object");
  const Json& model = Member(root, "model");
  if (!model.is_object()) return DataLossError(path + ": no \"model\" object");
  const std::string type = StringOr(model, "type");
  if (!type.empty() && type != "BPE") return Unsupported(path, "model.type \"" + type + "\"");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (!StringOr(model, key).empty()) return Unsupported(path, std::string("model.") + key);
  }

  Options options;
  options.kind = "tokenizer.json";
  options.source = path;
  options.ignore_merges = BoolOr(model, "ignore_merges", false);
  if (!vocab_pairs) return DataLossError(path + ": model.vocab is not an object");
  options.vocab = std::move(*vocab_pairs);
  const Json& merges = Member(model, "merges");
  if (!merges.is_array()) return DataLossError(path + ": model.merges is not an array");
  options.merges.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const Json& m = merges[i];
    std::pair<std::string, std::string> merge;
    if (m.is_string() && SplitMerge(m.get<std::string>(), &merge)) {
      options.merges.push_back(std::move(merge));
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      options.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      return DataLossError(path + ": model.merges[" + std::to_string(i) + "] = " + DumpJson(m) +
                           " is neither \"a b\" nor [\"a\", \"b\"]");
    }
  }

  const Json& added = Member(root, "added_tokens");
  for (size_t i = 0; i < added.size() && added.is_array(); ++i) {
    const Json& a = added[i];
    const Json* id = FindKey(a, "id");
    const Json* content = FindKey(a, "content");
    if (id == nullptr || !IsInteger(*id) || id->get<int64_t>() < 0 ||
        id->get<int64_t>() > (1 << 30) || content == nullptr || !content->is_string()) {
      return DataLossError(path + ": added_tokens[" + std::to_string(i) + "] = " + DumpJson(a) +
                           " lacks an integer \"id\" in [0, 2^30] or a string \"content\"");
    }
    options.added_tokens.push_back({content->get<std::string>(), static_cast<int>(id->get<int64_t>()),
                                    BoolOr(a, "special", false), BoolOr(a, "lstrip", false),
                                    BoolOr(a, "rstrip", false), BoolOr(a, "single_word", false)});
  }

  SASRECLLM_RETURN_IF_ERROR(CheckNormalizer(Member(root, "normalizer"), path));
  PreTokenizerSpec spec;
  if (!Member(root, "pre_tokenizer").is_null()) {
    SASRECLLM_RETURN_IF_ERROR(ReadPreTokenizer(Member(root, "pre_tokenizer"), path, &spec));
  }
  if (!spec.has_byte_level) return Unsupported(path, "a pre_tokenizer without ByteLevel");
  if (spec.has_split && spec.byte_level_regex) {
    return Unsupported(path, "a Split pre-tokenizer with ByteLevel's use_regex");
  }
  if (!spec.has_split && !spec.byte_level_regex) {
    return Unsupported(path, "a ByteLevel pre-tokenizer without use_regex or a Split");
  }
  options.pattern = spec.has_split ? spec.split : PreTokenizerPattern::kGpt2;
  options.add_prefix_space = spec.add_prefix_space;
  SASRECLLM_RETURN_IF_ERROR(CheckDecoder(Member(root, "decoder"), path));
  ReadPostProcessor(Member(root, "post_processor"), options.added_tokens, &options);
  return Create(std::move(options));
}

StatusOr<std::unique_ptr<BpeTokenizer>> BpeTokenizer::LoadGpt2Files(
    const std::string& vocab_json, const std::string& merges_txt,
    std::optional<PreTokenizerPattern> pattern) {
  Options options;
  options.kind = "encoder.json";
  options.source = vocab_json;
  SASRECLLM_ASSIGN_OR_RETURN(options.vocab, ReadVocabFile(vocab_json));

  SASRECLLM_ASSIGN_OR_RETURN(std::string merges, ReadFileToString(merges_txt));
  SASRECLLM_RETURN_IF_ERROR(ForEachLine(merges, [&](int64_t line_number, std::string_view line) {
    if (line.empty() || (line_number == 1 && line.substr(0, 8) == "#version")) return OkStatus();
    std::pair<std::string, std::string> merge;
    if (!SplitMerge(line, &merge)) {
      return DataLossError(merges_txt + ": line " + std::to_string(line_number) + " \"" +
                           std::string(line) + "\" is not a merge \"a b\"");
    }
    options.merges.push_back(std::move(merge));
    return OkStatus();
  }));

  options.pattern = pattern ? *pattern : InferPattern(options.vocab);
  // Vocabularies made with Llama-3's pattern come from tiktoken (cl100k,
  // Llama-3), which takes a word that is one piece whole (Llama-3's
  // tokenizer.json says so with ignore_merges).
  options.ignore_merges = options.pattern == PreTokenizerPattern::kLlama3;
  for (const auto& [piece, id] : options.vocab) {
    if (piece.size() > 4 && piece.compare(0, 2, "<|") == 0 &&
        piece.compare(piece.size() - 2, 2, "|>") == 0) {
      options.added_tokens.push_back({piece, id});
    }
  }
  const std::string added_json =
      (std::filesystem::path(vocab_json).parent_path() / "added_tokens.json").string();
  if (IsFile(added_json)) {
    SASRECLLM_ASSIGN_OR_RETURN(Json added, ReadJsonFile(added_json));
    SASRECLLM_ASSIGN_OR_RETURN(auto entries, ReadVocab(added, added_json, "added_tokens.json"));
    for (auto& [content, id] : entries) options.added_tokens.push_back({content, id});
  }
  if (options.added_tokens.empty() && options.vocab.size() == 128000 &&
      options.pattern == PreTokenizerPattern::kLlama3) {
    options.added_tokens = Llama3SpecialTokens();
  }
  return Create(std::move(options));
}

}  // namespace sasrecllm::llm
