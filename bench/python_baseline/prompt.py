"""The SASRecLLM prompt, tokenized exactly as the C++ PromptBuilder
(model/hybrid/prompt.cc) and HybridModel::Encode (model/hybrid/hybrid_model.cc).

The template is split where <TargetItemTitle> begins into a user prefix and an
item suffix. Each part is encoded around its slot placeholder:
  prefix = BOS + encode(text before <UserID>, dummy " " prefix) + [slot]
           + encode(text after <UserID>, no dummy prefix)
  suffix = encode(text before <TargetItemID>, no dummy prefix) + [slot]
           + encode(text after <TargetItemID>, no dummy prefix)
so each slot is exactly one token (id = BOS, its embedding is replaced later).
<ItemTitleList> is the last max_titles history titles, each in double quotes,
joined by ", ". Placeholder names inside titles are deleted first.

    builder = PromptBuilder(template_text, tokenizer, max_titles=10)
    ids, user_slot, item_slot = builder.encode(["Heat (1995)"], "Alien (1979)")

Thread safety: immutable; safe to share.
"""

from tokenizer import BOS_ID

ITEM_TITLE_LIST = "<ItemTitleList>"
USER_ID = "<UserID>"
TARGET_ITEM_TITLE = "<TargetItemTitle>"
TARGET_ITEM_ID = "<TargetItemID>"
PLACEHOLDERS = (ITEM_TITLE_LIST, USER_ID, TARGET_ITEM_TITLE, TARGET_ITEM_ID)


def _strip_placeholders(title):
    # A title that spells a placeholder must not create a second slot.
    for p in PLACEHOLDERS:
        title = title.replace(p, "")
    return title


class PromptBuilder:
    def __init__(self, template_text, tokenizer, max_titles=10):
        if template_text.count(TARGET_ITEM_TITLE) != 1:
            raise ValueError("prompt template: <TargetItemTitle> must occur exactly once")
        split = template_text.index(TARGET_ITEM_TITLE)
        self.prefix_text = template_text[:split]
        self.suffix_text = template_text[split:]
        self.tokenizer = tokenizer
        self.max_titles = max_titles
        self.slot_token_id = BOS_ID  # PromptBuilder's default: the tokenizer's BOS

    def title_list(self, history_titles):
        last = history_titles[-self.max_titles:] if self.max_titles > 0 else []
        return ", ".join('"' + _strip_placeholders(t) + '"' for t in last)

    def _encode_with_slot(self, text, slot_name, first):
        """Returns (ids, slot index or -1); `first` = the piece opens the
        whole prompt (BOS and the tokenizer's leading-space rule)."""
        slot = text.find(slot_name)
        before = text if slot < 0 else text[:slot]
        ids = self.tokenizer.encode(before, bos=first, eos=False, dummy_prefix=first)
        if slot < 0:
            return ids, -1
        slot_index = len(ids)
        ids.append(self.slot_token_id)
        after = text[slot + len(slot_name):]
        if after:
            ids += self.tokenizer.encode(after, bos=False, eos=False, dummy_prefix=False)
        return ids, slot_index

    def encode(self, history_titles, target_title):
        """The full prompt of one (history, target) pair: (ids, user_slot,
        item_slot), slots as indices into ids (-1 = the template lacks it)."""
        prefix = self.prefix_text.replace(ITEM_TITLE_LIST, self.title_list(history_titles))
        prefix_ids, user_slot = self._encode_with_slot(prefix, USER_ID, first=True)
        suffix = self.suffix_text.replace(TARGET_ITEM_TITLE, _strip_placeholders(target_title))
        suffix_ids, item_slot = self._encode_with_slot(suffix, TARGET_ITEM_ID, first=False)
        if item_slot >= 0:
            item_slot += len(prefix_ids)
        return prefix_ids + suffix_ids, user_slot, item_slot
