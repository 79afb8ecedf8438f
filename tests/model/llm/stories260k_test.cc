// End-to-end checks against llama2.c's own output for stories260K
// (../shared/models/stories260K/reference, see its README): convert the
// legacy checkpoint, then generate and compare text, ids and logits.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <memory>
#include <sstream>

#include "base/file.h"
#include "base/json.h"
#include "model/llm/generate.h"
#include "model/llm/llama2c.h"
#include "model/llm/tokenizers/llama2c_tokenizer.h"
#include "model/llm/llama_model.h"
#include "tests/model/llm/shared_data.h"

namespace sasrecllm::llm {
namespace {

using testing::Stories260kDir;

class Stories260kTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    torch::set_num_threads(2);
    if (!std::filesystem::exists(Stories260kDir() + "/stories260K.bin")) return;
    dir_ = new testing::TempDir();
    Status s = ConvertLlama2c(Stories260kDir() + "/stories260K.bin",
                              Stories260kDir() + "/tok512.bin", dir_->path() + "/llm");
    ASSERT_TRUE(s.ok()) << s;
    StatusOr<std::unique_ptr<LlamaModel>> model =
        LlamaModel::Load(dir_->path() + "/llm", LlamaModel::Options());
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = model->release();
    StatusOr<std::unique_ptr<Llama2cTokenizer>> tok =
        Llama2cTokenizer::Load(dir_->path() + "/llm/tokenizer.bin", 512);
    ASSERT_TRUE(tok.ok()) << tok.status();
    tokenizer_ = tok->release();
  }
  static void TearDownTestSuite() {
    delete model_;
    delete tokenizer_;
    delete dir_;
    model_ = nullptr;
    tokenizer_ = nullptr;
    dir_ = nullptr;
  }
  void SetUp() override {
    SASRECLLM_REQUIRE_SHARED(Stories260kDir() + "/stories260K.bin");
    ASSERT_NE(model_, nullptr);
    ASSERT_NE(tokenizer_, nullptr);
  }

  static std::string Reference(const std::string& name) {
    StatusOr<std::string> s = ReadFileToString(Stories260kDir() + "/reference/" + name);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : "";
  }

  static testing::TempDir* dir_;
  static LlamaModel* model_;
  static Llama2cTokenizer* tokenizer_;
};

testing::TempDir* Stories260kTest::dir_ = nullptr;
LlamaModel* Stories260kTest::model_ = nullptr;
Llama2cTokenizer* Stories260kTest::tokenizer_ = nullptr;

TEST_F(Stories260kTest, ConvertWritesHfConfig) {
  StatusOr<LlamaConfig> c = LlamaConfig::FromFile(dir_->path() + "/llm/config.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->hidden_size, 64);
  EXPECT_EQ(c->intermediate_size, 172);
  EXPECT_EQ(c->num_hidden_layers, 5);
  EXPECT_EQ(c->num_attention_heads, 8);
  EXPECT_EQ(c->num_key_value_heads, 4);
  EXPECT_EQ(c->vocab_size, 512);
  EXPECT_EQ(c->max_position_embeddings, 512);
  EXPECT_TRUE(c->tie_word_embeddings);
  EXPECT_DOUBLE_EQ(c->rms_norm_eps, 1e-5);
  EXPECT_EQ(c->bos_token_id, 1);
  EXPECT_EQ(c->eos_token_id, 2);
}

TEST_F(Stories260kTest, GreedyGenerationMatchesLlama2cByteForByte) {
  GenerateOptions options;
  options.steps = 200;
  options.temperature = 0.0f;
  options.record_logits = 3;
  StatusOr<GenerateResult> r = Generate(*model_, *tokenizer_, options);
  ASSERT_TRUE(r.ok()) << r.status();
  // run.c prints the pieces, then "\n".
  EXPECT_EQ(r->text + "\n", Reference("greedy_n200.txt"));

  // Token ids: the reference lists the 200 tokens fed at positions 0..199.
  std::vector<int> expected_ids;
  std::istringstream ids(Reference("greedy_token_ids_n200.txt"));
  for (int id; ids >> id;) expected_ids.push_back(id);
  ASSERT_EQ(expected_ids.size(), 200u);
  ASSERT_GE(r->tokens.size(), expected_ids.size());
  EXPECT_EQ(std::vector<int>(r->tokens.begin(), r->tokens.begin() + 200), expected_ids);
  EXPECT_EQ(r->positions, 200);
  std::cerr << "[ stories260K ] greedy 200 steps: " << r->tokens_per_second << " tok/s\n";

  // Logits: blocks "pos P token T" followed by 512 values.
  std::istringstream logits(Reference("logits_greedy_pos0-2.txt"));
  ASSERT_EQ(r->logits.size(), 3u);
  double max_error = 0.0;
  std::string word;
  for (int block = 0; block < 3; ++block) {
    int pos = -1, token = -1;
    ASSERT_TRUE(logits >> word && word == "pos" && logits >> pos >> word >> token) << block;
    ASSERT_EQ(pos, block);
    EXPECT_EQ(token, expected_ids[pos]);
    for (int i = 0; i < 512; ++i) {
      double value = 0;
      ASSERT_TRUE(logits >> value) << "pos " << pos << " logit " << i;
      max_error = std::max(max_error, std::abs(value - r->logits[pos][i]));
    }
  }
  std::cerr << "[ stories260K ] max |logit error| at positions 0..2: " << max_error << "\n";
  EXPECT_LT(max_error, 1e-4);
}

TEST_F(Stories260kTest, PromptedGreedyGenerationMatchesLlama2c) {
  std::istringstream lines(Reference("greedy_prompted_n128.jsonl"));
  int cases = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    StatusOr<Json> j = ParseJson(line, "test");
    ASSERT_TRUE(j.ok()) << j.status();
    GenerateOptions options;
    options.prompt = (*j)["prompt"].get<std::string>();
    options.steps = static_cast<int>((*j)["steps"].get<int64_t>());
    options.temperature = static_cast<float>((*j)["temperature"].get<double>());
    StatusOr<GenerateResult> r = Generate(*model_, *tokenizer_, options);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->text, (*j)["output"].get<std::string>()) << "prompt: " << options.prompt;
    ++cases;
  }
  EXPECT_EQ(cases, 3);
}

TEST_F(Stories260kTest, SeededSamplingIsReproducible) {
  GenerateOptions options;
  options.steps = 32;
  options.temperature = 0.9f;
  options.topp = 0.9f;
  options.seed = 1234;
  StatusOr<GenerateResult> a = Generate(*model_, *tokenizer_, options);
  StatusOr<GenerateResult> b = Generate(*model_, *tokenizer_, options);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->tokens, b->tokens);
  EXPECT_FALSE(a->text.empty());
}

// --- KV cache, batching and the inputs_embeds path on the real model.

torch::Tensor ReferenceIds(int n) {  // [1, n] int64: the greedy run's first n tokens
  StatusOr<std::string> s =
      ReadFileToString(Stories260kDir() + "/reference/greedy_token_ids_n200.txt");
  std::vector<int64_t> ids;
  std::istringstream in(s.ok() ? *s : "");
  for (int64_t id; static_cast<int>(ids.size()) < n && in >> id;) ids.push_back(id);
  return torch::tensor(ids, torch::kLong).view({1, -1});
}

double MaxDiff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

TEST_F(Stories260kTest, KvCacheStepByStepEqualsFullSequenceForward) {
  const int t = 40;
  torch::Tensor ids = ReferenceIds(t);  // [1, T]
  StatusOr<torch::Tensor> full = model_->Forward(ids, nullptr);  // [1, T, V]
  ASSERT_TRUE(full.ok()) << full.status();
  ASSERT_EQ(full->sizes(), (std::vector<int64_t>{1, t, 512}));

  StatusOr<KvCache> cache = model_->NewCache(1, 8);  // small: forces the cache to grow
  ASSERT_TRUE(cache.ok());
  std::vector<torch::Tensor> steps;
  for (int pos = 0; pos < t; ++pos) {
    StatusOr<torch::Tensor> step = model_->Forward(ids.narrow(1, pos, 1), &*cache, pos);
    ASSERT_TRUE(step.ok()) << step.status();
    steps.push_back(*step);  // [1, 1, V]
  }
  EXPECT_EQ(cache->length(), t);
  EXPECT_LT(MaxDiff(torch::cat(steps, 1), *full), 1e-4);

  // Chunked prefill (25 + 15) and logits for the last position only.
  StatusOr<KvCache> chunked = model_->NewCache(1, t);
  ASSERT_TRUE(chunked.ok());
  ASSERT_TRUE(model_->Forward(ids.narrow(1, 0, 25), &*chunked).ok());
  ForwardArgs args;
  args.input_ids = ids.narrow(1, 25, 15);
  args.logits = LogitsMode::kLast;
  StatusOr<torch::Tensor> last = model_->Forward(args, &*chunked);
  ASSERT_TRUE(last.ok()) << last.status();
  ASSERT_EQ(last->sizes(), (std::vector<int64_t>{1, 1, 512}));
  EXPECT_LT(MaxDiff(*last, full->narrow(1, t - 1, 1)), 1e-4);

  // Rewinding: start_pos below the cache length recomputes from there.
  StatusOr<torch::Tensor> again = model_->Forward(ids.narrow(1, 30, 10), &*chunked, 30);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_LT(MaxDiff(*again, full->narrow(1, 30, 10)), 1e-4);
}

TEST_F(Stories260kTest, BatchedAndEmbeddingInputsMatchSingleSequence) {
  const int t = 24;
  torch::Tensor a = ReferenceIds(t);                           // [1, T]
  torch::Tensor b = torch::flip(a, {1});                       // [1, T] another sequence
  torch::Tensor batch = torch::cat({a, b}, 0);                 // [2, T]
  StatusOr<torch::Tensor> fa = model_->Forward(a, nullptr);    // [1, T, V]
  StatusOr<torch::Tensor> fb = model_->Forward(b, nullptr);    // [1, T, V]
  StatusOr<KvCache> cache = model_->NewCache(2, t);
  ASSERT_TRUE(fa.ok() && fb.ok() && cache.ok());
  StatusOr<torch::Tensor> fab = model_->Forward(batch, &*cache);  // [2, T, V]
  ASSERT_TRUE(fab.ok()) << fab.status();
  EXPECT_LT(MaxDiff((*fab)[0], (*fa)[0]), 1e-4);
  EXPECT_LT(MaxDiff((*fab)[1], (*fb)[0]), 1e-4);

  // inputs_embeds = embed_tokens(ids) gives the same logits.
  StatusOr<torch::Tensor> embeds = model_->Embed(batch);  // [2, T, D]
  ASSERT_TRUE(embeds.ok());
  ForwardArgs args;
  args.inputs_embeds = *embeds;
  StatusOr<torch::Tensor> fe = model_->Forward(args, nullptr);
  ASSERT_TRUE(fe.ok()) << fe.status();
  EXPECT_LT(MaxDiff(*fe, *fab), 1e-5);

  // A shared prefix computed once, continued by two different suffixes.
  StatusOr<KvCache> prefix = model_->NewCache(1, t);
  ASSERT_TRUE(prefix.ok());
  ASSERT_TRUE(model_->Forward(a.narrow(1, 0, 16), &*prefix).ok());
  StatusOr<KvCache> two = prefix->RepeatInterleaveBatch(2);
  ASSERT_TRUE(two.ok());
  torch::Tensor suffixes = torch::cat({a.narrow(1, 16, 8), b.narrow(1, 0, 8)}, 0);  // [2, 8]
  StatusOr<torch::Tensor> fs = model_->Forward(suffixes, &*two);                     // [2, 8, V]
  ASSERT_TRUE(fs.ok()) << fs.status();
  EXPECT_LT(MaxDiff((*fs)[0], (*fa)[0].narrow(0, 16, 8)), 1e-4);
  torch::Tensor mixed = torch::cat({a.narrow(1, 0, 16), b.narrow(1, 0, 8)}, 1);  // [1, 24]
  StatusOr<torch::Tensor> fm = model_->Forward(mixed, nullptr);
  ASSERT_TRUE(fm.ok());
  EXPECT_LT(MaxDiff((*fs)[1], (*fm)[0].narrow(0, 16, 8)), 1e-4);
}

TEST_F(Stories260kTest, LeftPaddedBatchWithMaskMatchesUnpadded) {
  torch::Tensor a = ReferenceIds(12);                                  // [1, 12]
  torch::Tensor shorter = a.narrow(1, 0, 8);                           // [1, 8]
  StatusOr<torch::Tensor> ref = model_->Forward(shorter, nullptr);     // [1, 8, V]
  ASSERT_TRUE(ref.ok());
  // Row 1 = 4 pads then the 8 tokens; positions count real tokens only.
  torch::Tensor padded = torch::cat({torch::zeros({1, 4}, torch::kLong), shorter}, 1);  // [1, 12]
  ForwardArgs args;
  args.input_ids = torch::cat({a, padded}, 0);  // [2, 12]
  args.attention_mask = torch::cat(
      {torch::ones({1, 12}, torch::kLong),
       torch::cat({torch::zeros({1, 4}, torch::kLong), torch::ones({1, 8}, torch::kLong)}, 1)},
      0);  // [2, 12]
  args.position_ids = torch::cat(
      {torch::arange(12, torch::kLong).view({1, 12}),
       torch::cat({torch::zeros({1, 4}, torch::kLong), torch::arange(8, torch::kLong).view({1, 8})},
                  1)},
      0);  // [2, 12]
  args.logits = LogitsMode::kLast;
  StatusOr<torch::Tensor> out = model_->Forward(args, nullptr);  // [2, 1, V]
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_LT(MaxDiff((*out)[1][0], (*ref)[0][7]), 1e-4);
  EXPECT_FALSE(torch::isnan(*out).any().item<bool>());
}

TEST_F(Stories260kTest, Bfloat16ModelAgreesOnTheFirstGreedyToken) {
  LlamaModel::Options options;
  options.dtype = torch::kBFloat16;
  StatusOr<std::unique_ptr<LlamaModel>> bf16 = LlamaModel::Load(dir_->path() + "/llm", options);
  ASSERT_TRUE(bf16.ok()) << bf16.status();
  torch::Tensor ids = ReferenceIds(8);
  StatusOr<torch::Tensor> lo = (*bf16)->Forward(ids, nullptr);
  StatusOr<torch::Tensor> hi = model_->Forward(ids, nullptr);
  ASSERT_TRUE(lo.ok() && hi.ok()) << lo.status();
  EXPECT_EQ(lo->scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::equal(lo->argmax(-1).narrow(1, 0, 2), hi->argmax(-1).narrow(1, 0, 2)));
  EXPECT_LT(MaxDiff(*lo, *hi), 0.5);
}

TEST_F(Stories260kTest, TokenizerRoundTripsText) {
  for (const std::string text :
       {"Once upon a time, there was a little girl named Lily.", "Tom and his dog", "x",
        "  two  spaces\nnew line", "h\xc3\xa9llo w\xc3\xb6rld \xe2\x80\x94 \xe4\xb8\x96\xe7\x95\x8c"}) {
    std::vector<int> ids = tokenizer_->Encode(text, /*bos=*/true, /*eos=*/false);
    ASSERT_GE(ids.size(), 2u);
    EXPECT_EQ(ids[0], 1);
    EXPECT_EQ(tokenizer_->DecodeSequence(ids, /*safe=*/false), text) << text;
  }
  // run.c's safe printing drops lone bytes >= 0x80 from byte-fallback tokens.
  std::vector<int> cjk = tokenizer_->Encode("ab \xe4\xb8\x96", true, false);
  EXPECT_EQ(cjk.back(), 0x96 + 3);  // "<0x96>" = byte + 3
  EXPECT_EQ(tokenizer_->DecodeSequence(cjk, /*safe=*/true), "ab ");
  EXPECT_EQ(tokenizer_->Encode("", true, false), std::vector<int>{1});
  EXPECT_EQ(tokenizer_->Encode("", true, true), (std::vector<int>{1, 2}));
  EXPECT_EQ(tokenizer_->Decode(5, 0x41 + 3), "A");
  // The dummy prefix merges into the first word; after BOS its space is dropped.
  std::vector<int> once = tokenizer_->Encode("Once", true, false);
  ASSERT_GE(once.size(), 2u);
  const std::string first = tokenizer_->piece(once[1]);
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(first[0], ' ');
  EXPECT_EQ(tokenizer_->Decode(1, once[1]), first.substr(1));
  EXPECT_EQ(tokenizer_->Decode(7, once[1]), first);
  // Control bytes are not printed; whitespace is.
  EXPECT_EQ(Llama2cTokenizer::SafePiece(std::string(1, '\x07')), "");
  EXPECT_EQ(Llama2cTokenizer::SafePiece("\n"), "\n");
}

}  // namespace
}  // namespace sasrecllm::llm
