// The SASRecLLM prompt: a template with placeholders, filled with a user's
// recent positive titles and a target item, tokenized into the two parts the
// model needs: a user prefix (shared by every candidate item of one user,
// so that a server computes it once) and an item suffix, with the positions
// of the feature slots whose input embeddings are replaced by mapped SASRec
// vectors.
//
// Placeholders (CoLLM's names):
//   <ItemTitleList>    the most recent (at most max_titles) history titles,
//                      each in double quotes, comma separated
//   <UserID>           one slot token: the mapped SASRec sequence representation
//   <TargetItemTitle>  the target's title
//   <TargetItemID>     one slot token: the mapped SASRec item embedding
//   <HistoryItemIDs>   one slot token per history item, for the most recent
//                      (at most max_history_ids): each item's mapped SASRec
//                      item embedding, oldest first (LLaRA-style item
//                      features beside the sequence one; not in CoLLM's
//                      templates, see PromptTemplate::CollmMovieHistoryIds)
// The user part (<ItemTitleList>, <HistoryItemIDs>, <UserID>) must come
// before the item part; the prefix ends where <TargetItemTitle> begins.
//
// Tokenization: BOS, then each piece of text between slots is encoded on its
// own (the first with the tokenizer's leading-space rule, the others as a
// continuation), so that a slot is exactly one token and the prefix does not
// depend on the target. Training and serving both use this class, so they
// always agree.
//
//   PromptBuilder builder(PromptTemplate::CollmMovie(), tokenizer, /*max_titles=*/10);
//   SASRECLLM_ASSIGN_OR_RETURN(PromptTokens user, builder.BuildPrefix({"Heat (1995)", "Up (2009)"}));
//   SASRECLLM_ASSIGN_OR_RETURN(PromptTokens item, builder.BuildSuffix("Alien (1979)"));
//   // full prompt = user.ids + item.ids; user.slot / item.slot index into each part.
//
// Thread safety: immutable after construction; the tokenizer must outlive it.
#ifndef SASRECLLM_MODEL_HYBRID_PROMPT_H_
#define SASRECLLM_MODEL_HYBRID_PROMPT_H_

#include <memory>
#include <string>
#include <vector>

#include "model/llm/tokenizers/tokenizer.h"
#include "base/status.h"

namespace sasrecllm::hybrid {

inline constexpr char kItemTitleList[] = "<ItemTitleList>";
inline constexpr char kUserId[] = "<UserID>";
inline constexpr char kTargetItemTitle[] = "<TargetItemTitle>";
inline constexpr char kTargetItemId[] = "<TargetItemID>";
inline constexpr char kHistoryItemIds[] = "<HistoryItemIDs>";

class PromptTemplate {
 public:
  // CoLLM's collm_movie prompt (DESIGN.md section 1), with both feature slots.
  static PromptTemplate CollmMovie();
  // TALLRec's text-only variant: collm_movie without the two feature clauses.
  static PromptTemplate TallrecMovie();
  // collm_movie with a third feature clause after the title list: the
  // history items' own SASRec embeddings (<HistoryItemIDs>), so that the LLM
  // can compare the target's embedding with each of them, not only with the
  // one sequence vector.
  static PromptTemplate CollmMovieHistoryIds();
  // "collm_movie" | "tallrec_movie" | "collm_movie_history_ids".
  static StatusOr<PromptTemplate> Named(const std::string& name);
  // Any template text. INVALID_ARGUMENT when <TargetItemTitle> is missing, a
  // placeholder occurs twice, or the user part follows the item part.
  static StatusOr<PromptTemplate> Parse(std::string text);

  const std::string& text() const { return text_; }
  bool has_user_slot() const;  // contains <UserID>
  bool has_item_slot() const;  // contains <TargetItemID>
  bool has_history_slots() const;  // contains <HistoryItemIDs>
  // Any of the three: the prompt needs SASRec and the mapping layer.
  bool has_feature_slots() const;

 private:
  explicit PromptTemplate(std::string text) : text_(std::move(text)) {}
  std::string text_;
};

// One part of a tokenized prompt.
struct PromptTokens {
  std::vector<int> ids;  // token ids (the prefix starts with BOS)
  int slot = -1;         // index in `ids` of the <UserID> / <TargetItemID> slot token, -1 = none
  // Prefix only: indices in `ids` of the <HistoryItemIDs> slot tokens, one
  // per history item shown, oldest first (the last history_slots.size()
  // items of the history).
  std::vector<int> history_slots;
};

class PromptBuilder {
 public:
  // `max_history_ids`: <HistoryItemIDs> slots at most (the template may have
  // none). `slot_token_id`: the id written at slot positions (its embedding
  // is replaced, so any valid id works; Default: the tokenizer's BOS, else 0).
  PromptBuilder(PromptTemplate prompt_template, const llm::Tokenizer* tokenizer,
                int max_titles = 10, int max_history_ids = 10, int slot_token_id = -1);

  const PromptTemplate& prompt_template() const { return template_; }
  int max_titles() const { return max_titles_; }
  int max_history_ids() const { return max_history_ids_; }

  // The user prefix for a history's titles (oldest first; only the last
  // max_titles are used). An empty history gives an empty title list.
  // <HistoryItemIDs> becomes min(max_history_ids, history_length) slots,
  // for the last items of the history; history_length -1 = as many as there
  // are titles. (A server may know titles of items SASRec does not, so the
  // two lengths can differ.)
  StatusOr<PromptTokens> BuildPrefix(const std::vector<std::string>& history_titles,
                                     int history_length = -1) const;
  // The item suffix for a target title.
  StatusOr<PromptTokens> BuildSuffix(const std::string& target_title) const;

  // The prompt as text with every placeholder filled (slots as "<UserID>" /
  // "<TargetItemID>" / "<HistoryItemIDs>"), for logs and --help output.
  std::string Render(const std::vector<std::string>& history_titles,
                     const std::string& target_title) const;

  // `"t1", "t2"` for the last max_titles titles.
  std::string TitleList(const std::vector<std::string>& history_titles) const;

 private:
  // Encodes `text` with its slot placeholders (<UserID>, <TargetItemID>:
  // one token; <HistoryItemIDs>: `history_slots` tokens) replaced by slot
  // tokens, each piece of text between them encoded on its own; `first` =
  // the text starts the whole prompt (BOS and the leading-space rule).
  PromptTokens EncodeWithSlots(const std::string& text, int history_slots, bool first) const;

  PromptTemplate template_;
  const llm::Tokenizer* tokenizer_;
  int max_titles_;
  int max_history_ids_;
  int slot_token_id_;
  std::string prefix_text_;  // template text before <TargetItemTitle>
  std::string suffix_text_;  // from <TargetItemTitle> on
};

}  // namespace sasrecllm::hybrid

#endif  // SASRECLLM_MODEL_HYBRID_PROMPT_H_
