// HybridModel: batching, slot replacement, text-only mode, score fusion,
// dims checks.
#include "model/hybrid/hybrid_model.h"

#include <gtest/gtest.h>

#include <cmath>

#include "model/sasrec_pointwise.h"
#include "tests/model/hybrid/test_parts.h"

namespace sasrecllm::hybrid {
namespace {

using testing::PlantedExamples;
using testing::TextOnlyParts;
using testing::TinyParts;

constexpr int64_t kItems = 20;

TEST(HybridModelTest, BatchOfDifferentLengthsEqualsOneAtATime) {
  auto model = HybridModel::Create(TinyParts(kItems));
  ASSERT_TRUE(model.ok()) << model.status();
  std::vector<HybridExample> batch = PlantedExamples(6, kItems, 1);
  batch[2].history.clear();  // an empty history
  batch[2].history_titles.clear();
  batch[3].target = 0;       // a cold target: title only
  StatusOr<torch::Tensor> together = (*model)->YesLogits(batch, false);
  ASSERT_TRUE(together.ok()) << together.status();
  ASSERT_EQ(together->sizes(), (std::vector<int64_t>{6}));
  for (size_t i = 0; i < batch.size(); ++i) {
    StatusOr<torch::Tensor> alone = (*model)->YesLogits({batch[i]}, false);
    ASSERT_TRUE(alone.ok());
    EXPECT_NEAR((*together)[i].item<float>(), (*alone)[0].item<float>(), 1e-5) << "row " << i;
  }
}

TEST(HybridModelTest, SlotsCarryTheSasrecVectors) {
  auto model = HybridModel::Create(TinyParts(kItems));
  ASSERT_TRUE(model.ok());
  HybridExample a = PlantedExamples(1, kItems, 2)[0];
  HybridExample b = a;
  b.history = {3, 5};  // same titles, different SASRec input
  HybridExample c = a;
  c.target = a.target % kItems + 1;  // same title, different item vector
  auto la = (*model)->YesLogits({a}, false), lb = (*model)->YesLogits({b}, false),
       lc = (*model)->YesLogits({c}, false);
  ASSERT_TRUE(la.ok() && lb.ok() && lc.ok());
  EXPECT_GT(std::abs((*la - *lb).item<float>()), 1e-6);
  EXPECT_GT(std::abs((*la - *lc).item<float>()), 1e-6);
}

TEST(HybridModelTest, HistorySlotsCarryTheLastHistoryItemsEmbeddings) {
  // A prompt whose only feature is <HistoryItemIDs>, so the history reaches
  // the LLM through those slots alone (titles kept equal).
  HybridModel::Parts parts = TinyParts(kItems);
  parts.prompt_template = *PromptTemplate::Parse("Seen <HistoryItemIDs>. Like <TargetItemTitle>?");
  parts.max_history_ids = 2;
  auto model = HybridModel::Create(std::move(parts));
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_TRUE((*model)->uses_sasrec());
  HybridExample a;
  a.history = {1, 2, 3, 4, 5, 6};
  a.history_titles.assign(6, "same");
  a.target_title = "T";
  HybridExample older = a, last = a, second_last = a;
  older.history[3] = 9;        // not among the last two: not shown
  last.history[5] = 9;         // shown in the last slot
  second_last.history[4] = 9;  // shown in the first slot
  auto logits = (*model)->YesLogits({a, older, last, second_last}, false);
  ASSERT_TRUE(logits.ok()) << logits.status();
  const auto at = [&](int i) { return (*logits)[i].item<float>(); };
  EXPECT_NEAR(at(0), at(1), 1e-6);
  EXPECT_GT(std::abs(at(0) - at(2)), 1e-6);
  EXPECT_GT(std::abs(at(0) - at(3)), 1e-6);
  EXPECT_GT(std::abs(at(2) - at(3)), 1e-6);  // slots are told apart by position

  std::vector<int64_t> items;
  AppendHistorySlotItems({4, 5, 6}, 2, &items);
  AppendHistorySlotItems({7}, 3, &items);  // a shorter history: padding first
  EXPECT_EQ(items, (std::vector<int64_t>{5, 6, 0, 0, 7}));

  HistorySlots slots;  // the same two prompts as rows 0 and 1 of a batch
  slots.Add(0, {10, 11}, {4, 5, 6});
  slots.Add(1, {3, 4, 5}, {7});
  EXPECT_EQ(slots.items, items);
  EXPECT_EQ(slots.rows, (std::vector<int64_t>{0, 0, 1, 1, 1}));
  EXPECT_EQ(slots.cols, (std::vector<int64_t>{10, 11, 3, 4, 5}));
}

TEST(HybridModelTest, TextOnlyTemplateIgnoresSasrec) {
  HybridModel::Parts parts = TextOnlyParts(kItems);
  auto model = HybridModel::Create(std::move(parts));
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_FALSE((*model)->uses_sasrec());
  auto logits = (*model)->YesLogits(PlantedExamples(3, kItems, 3), false);
  ASSERT_TRUE(logits.ok()) << logits.status();
}

// SASRec's logit as eval-sasrec --pointwise computes it, from its probability.
std::vector<double> PointwiseSasrecLogits(model::Sasrec sasrec,
                                          const std::vector<HybridExample>& batch) {
  std::vector<CollmRow> rows;
  for (const HybridExample& e : batch) {
    CollmRow r;
    r.user_id = 1;
    r.item_id = e.target == 0 ? 1000 : e.target;  // beyond item_num: cold
    r.history = e.history;
    rows.push_back(r);
  }
  auto p = model::SasrecPointwiseScores(sasrec, rows, 4);
  EXPECT_TRUE(p.ok()) << p.status();
  std::vector<double> out;
  for (float q : *p) out.push_back(std::log(q / (1.0 - q)));
  return out;
}

TEST(HybridModelTest, FusedLogitsAddSasrecsOwnLogitToTheLlms) {
  for (bool text_only : {false, true}) {
    HybridModel::Parts parts = text_only ? TextOnlyParts(kItems) : TinyParts(kItems);
    parts.sasrec = testing::TinySasrec(kItems);
    auto plain = HybridModel::Create(parts);
    ASSERT_TRUE(plain.ok()) << plain.status();
    EXPECT_EQ((*plain)->uses_sasrec(), !text_only);
    parts.fusion = ScoreFusion{0.5, 2.0, -0.25};
    auto fused = HybridModel::Create(parts);
    ASSERT_TRUE(fused.ok()) << fused.status();
    EXPECT_TRUE((*fused)->uses_sasrec());
    EXPECT_EQ((*fused)->uses_mapping(), !text_only);

    std::vector<HybridExample> batch = PlantedExamples(5, kItems, 4);
    batch[1].target = 0;  // cold: SASRec's logit is 0
    batch[2].history.clear();
    batch[2].history_titles.clear();
    auto yes = (*plain)->YesLogits(batch, false);
    auto logits = (*fused)->Logits(batch, false);
    ASSERT_TRUE(yes.ok() && logits.ok());
    auto plain_logits = (*plain)->Logits(batch, false);
    ASSERT_TRUE(plain_logits.ok());
    EXPECT_TRUE(torch::equal(*plain_logits, *yes)) << "the default fusion changes nothing";
    const std::vector<double> sasrec = PointwiseSasrecLogits(parts.sasrec, batch);
    EXPECT_EQ(sasrec[1], 0.0);
    for (size_t i = 0; i < batch.size(); ++i) {
      const double expected = 0.5 * (*yes)[i].item<double>() + 2.0 * sasrec[i] - 0.25;
      EXPECT_NEAR((*logits)[i].item<double>(), expected, 1e-4) << "row " << i;
    }
  }
}

TEST(HybridModelTest, MismatchedPartsAreRefused) {
  HybridModel::Parts parts = TinyParts(kItems);
  parts.mapping = MappingLayer(16, 31);  // the LLM's hidden size is 32
  auto model = HybridModel::Create(std::move(parts));
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("hidden_size is 32"), std::string::npos);
  HybridModel::Parts no_sasrec = TinyParts(kItems);
  no_sasrec.sasrec = nullptr;
  EXPECT_FALSE(HybridModel::Create(std::move(no_sasrec)).ok());
  HybridModel::Parts fused_text_only = TextOnlyParts(kItems);
  fused_text_only.fusion.sasrec_weight = 1.0;  // weighs a SASRec it does not have
  auto refused = HybridModel::Create(std::move(fused_text_only));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("SASRec is required"), std::string::npos)
      << refused.status();
}

}  // namespace
}  // namespace sasrecllm::hybrid
