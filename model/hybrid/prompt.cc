#include "model/hybrid/prompt.h"

#include <algorithm>

namespace sasrecllm::hybrid {
namespace {

constexpr char kCollmMovie[] =
    "#Question: A user has given high ratings to the following movies: <ItemTitleList>. "
    "Additionally, we have information about the user's preferences encoded in the feature "
    "<UserID>. Using all available information, make a prediction about whether the user "
    "would enjoy the movie titled <TargetItemTitle> with the feature <TargetItemID>? Answer "
    "with \"Yes\" or \"No\". \n#Answer:";

constexpr char kTallrecMovie[] =
    "#Question: A user has given high ratings to the following movies: <ItemTitleList>. "
    "Using all available information, make a prediction about whether the user would enjoy "
    "the movie titled <TargetItemTitle>? Answer with \"Yes\" or \"No\". \n#Answer:";

constexpr char kCollmMovieHistoryIds[] =
    "#Question: A user has given high ratings to the following movies: <ItemTitleList>, with "
    "the features <HistoryItemIDs>. Additionally, we have information about the user's "
    "preferences encoded in the feature <UserID>. Using all available information, make a "
    "prediction about whether the user would enjoy the movie titled <TargetItemTitle> with the "
    "feature <TargetItemID>? Answer with \"Yes\" or \"No\". \n#Answer:";

constexpr const char* kPlaceholders[] = {kItemTitleList, kUserId, kTargetItemTitle,
                                         kTargetItemId, kHistoryItemIds};

size_t CountOf(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

void ReplaceAll(std::string* text, const std::string& from, const std::string& to) {
  for (size_t pos = text->find(from); pos != std::string::npos;
       pos = text->find(from, pos + to.size())) {
    text->replace(pos, from.size(), to);
  }
}

}  // namespace

PromptTemplate PromptTemplate::CollmMovie() { return PromptTemplate(kCollmMovie); }
PromptTemplate PromptTemplate::TallrecMovie() { return PromptTemplate(kTallrecMovie); }
PromptTemplate PromptTemplate::CollmMovieHistoryIds() {
  return PromptTemplate(kCollmMovieHistoryIds);
}

StatusOr<PromptTemplate> PromptTemplate::Named(const std::string& name) {
  if (name == "collm_movie") return CollmMovie();
  if (name == "tallrec_movie") return TallrecMovie();
  if (name == "collm_movie_history_ids") return CollmMovieHistoryIds();
  return InvalidArgumentError("unknown prompt template \"" + name +
                              "\" (known: collm_movie, tallrec_movie, collm_movie_history_ids)");
}

StatusOr<PromptTemplate> PromptTemplate::Parse(std::string text) {
  for (const char* p : kPlaceholders) {
    if (CountOf(text, p) > 1) {
      return InvalidArgumentError(std::string("prompt template: ") + p + " occurs more than once");
    }
  }
  const size_t item = text.find(kTargetItemTitle);
  if (item == std::string::npos) {
    return InvalidArgumentError("prompt template: <TargetItemTitle> is missing");
  }
  for (const char* p : {kItemTitleList, kUserId, kHistoryItemIds}) {
    const size_t pos = text.find(p);
    if (pos != std::string::npos && pos > item) {
      return InvalidArgumentError(std::string("prompt template: ") + p +
                                  " must come before <TargetItemTitle> (the user part is a "
                                  "prefix shared by all candidate items)");
    }
  }
  const size_t id = text.find(kTargetItemId);
  if (id != std::string::npos && id < item) {
    return InvalidArgumentError("prompt template: <TargetItemID> must follow <TargetItemTitle>");
  }
  return PromptTemplate(std::move(text));
}

bool PromptTemplate::has_user_slot() const { return text_.find(kUserId) != std::string::npos; }
bool PromptTemplate::has_item_slot() const {
  return text_.find(kTargetItemId) != std::string::npos;
}
bool PromptTemplate::has_history_slots() const {
  return text_.find(kHistoryItemIds) != std::string::npos;
}
bool PromptTemplate::has_feature_slots() const {
  return has_user_slot() || has_item_slot() || has_history_slots();
}

PromptBuilder::PromptBuilder(PromptTemplate prompt_template, const llm::Tokenizer* tokenizer,
                             int max_titles, int max_history_ids, int slot_token_id)
    : template_(std::move(prompt_template)),
      tokenizer_(tokenizer),
      max_titles_(max_titles),
      max_history_ids_(std::max(max_history_ids, 0)),
      slot_token_id_(slot_token_id >= 0 ? slot_token_id
                                        : std::max(tokenizer->bos_id(), 0)) {
  const std::string& text = template_.text();
  const size_t split = text.find(kTargetItemTitle);
  prefix_text_ = text.substr(0, split);
  suffix_text_ = text.substr(split);
}

std::string PromptBuilder::TitleList(const std::vector<std::string>& history_titles) const {
  const size_t n = history_titles.size();
  const size_t first = n > static_cast<size_t>(max_titles_) ? n - max_titles_ : 0;
  std::string list;
  for (size_t i = first; i < n; ++i) {
    // A title that spells a placeholder must not create a second slot.
    std::string title = history_titles[i];
    for (const char* p : kPlaceholders) ReplaceAll(&title, p, "");
    list += (i > first ? ", \"" : "\"") + title + "\"";
  }
  return list;
}

PromptTokens PromptBuilder::EncodeWithSlots(const std::string& text, int history_slots,
                                            bool first) const {
  PromptTokens out;
  size_t pos = 0;     // start of the text not yet encoded
  bool start = true;  // the next piece is the first one
  auto encode_piece = [&](size_t end) {
    const std::string piece = text.substr(pos, end - pos);
    // The first piece is always encoded (it carries BOS); later empty ones
    // add nothing.
    if (start || !piece.empty()) {
      std::vector<int> ids = tokenizer_->Encode(piece, /*bos=*/first && start, /*eos=*/false,
                                                /*leading_space=*/first && start);
      out.ids.insert(out.ids.end(), ids.begin(), ids.end());
    }
    start = false;
  };
  for (;;) {
    // The next placeholder that becomes slot tokens.
    size_t next = std::string::npos;
    const char* name = nullptr;
    for (const char* p : {kUserId, kTargetItemId, kHistoryItemIds}) {
      const size_t at = text.find(p, pos);
      if (at < next) next = at, name = p;
    }
    if (name == nullptr) break;
    encode_piece(next);
    if (name == kHistoryItemIds) {
      for (int k = 0; k < history_slots; ++k) {
        out.history_slots.push_back(static_cast<int>(out.ids.size()));
        out.ids.push_back(slot_token_id_);
      }
    } else {
      out.slot = static_cast<int>(out.ids.size());
      out.ids.push_back(slot_token_id_);
    }
    pos = next + std::string(name).size();
  }
  encode_piece(text.size());
  return out;
}

StatusOr<PromptTokens> PromptBuilder::BuildPrefix(const std::vector<std::string>& history_titles,
                                                  int history_length) const {
  std::string text = prefix_text_;
  ReplaceAll(&text, kItemTitleList, TitleList(history_titles));
  if (history_length < 0) history_length = static_cast<int>(history_titles.size());
  const int history_slots = std::min(history_length, max_history_ids_);
  return EncodeWithSlots(text, history_slots, /*first=*/true);
}

StatusOr<PromptTokens> PromptBuilder::BuildSuffix(const std::string& target_title) const {
  std::string title = target_title;
  for (const char* p : kPlaceholders) ReplaceAll(&title, p, "");
  std::string text = suffix_text_;
  ReplaceAll(&text, kTargetItemTitle, title);
  return EncodeWithSlots(text, /*history_slots=*/0, /*first=*/false);
}

std::string PromptBuilder::Render(const std::vector<std::string>& history_titles,
                                  const std::string& target_title) const {
  std::string text = template_.text();
  ReplaceAll(&text, kItemTitleList, TitleList(history_titles));
  ReplaceAll(&text, kTargetItemTitle, target_title);
  return text;
}

}  // namespace sasrecllm::hybrid
