#include "base/file.h"
#include "model/sasrec.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "base/json.h"
#include "model/safetensors.h"
#include "tests/model/tiny_sasrec.h"

namespace sasrecllm::model {
namespace {

namespace fs = std::filesystem;

// ../shared, or $SASRECLLM_SHARED.
std::string SharedDir() {
  const char* env = std::getenv("SASRECLLM_SHARED");
  if (env != nullptr && env[0] != '\0') return env;
  return std::string(SASRECLLM_SOURCE_DIR) + "/../shared";
}

bool AllowMissingShared() {
  const char* env = std::getenv("SASRECLLM_ALLOW_MISSING_SHARED");
  return env != nullptr && std::string(env) == "1";
}

SasrecConfig TinyConfig() {
  SasrecConfig c = testing::TinySasrecConfig(/*item_num=*/5, /*hidden_units=*/4, /*dropout_rate=*/0.0);
  c.layernorm_eps = 1e-8;
  return c;
}

// Every parameter set by hand from a fixed formula (no RNG), so the naive
// reference below sees exactly the same numbers.
void SetWeightsByHand(Sasrec& model) {
  torch::NoGradGuard no_grad;
  int64_t k = 0;
  for (auto& item : model->named_parameters()) {
    torch::Tensor p = item.value();
    auto flat = p.view({-1});
    for (int64_t i = 0; i < flat.numel(); ++i, ++k) {
      double v = 0.6 * std::sin(0.37 * static_cast<double>(k) + 0.11) +
                 0.05 * static_cast<double>((k % 7) - 3);
      flat[i] = v;
    }
  }
}

// ---------------------------------------------------------------------------
// A naive scalar SASRec (double precision, plain loops), written from pmixer's
// model.py independently of the library's tensor code.
// ---------------------------------------------------------------------------
using Vec = std::vector<double>;
using Mat = std::vector<Vec>;  // [T][H]

struct NaiveWeights {
  std::map<std::string, torch::Tensor> sd;
  double At(const std::string& name, int64_t i) const {
    return sd.at(name).to(torch::kDouble).contiguous().data_ptr<double>()[i];
  }
};

Vec LayerNormRow(const NaiveWeights& w, const std::string& prefix, const Vec& x, double eps) {
  const size_t h = x.size();
  double mean = 0;
  for (double v : x) mean += v;
  mean /= h;
  double var = 0;
  for (double v : x) var += (v - mean) * (v - mean);
  var /= h;  // biased, as LayerNorm
  Vec y(h);
  for (size_t i = 0; i < h; ++i) {
    y[i] = (x[i] - mean) / std::sqrt(var + eps) * w.At(prefix + ".weight", i) +
           w.At(prefix + ".bias", i);
  }
  return y;
}

Mat LayerNorm(const NaiveWeights& w, const std::string& prefix, const Mat& x, double eps) {
  Mat y;
  for (const Vec& row : x) y.push_back(LayerNormRow(w, prefix, row, eps));
  return y;
}

Mat Attention(const NaiveWeights& w, int block, const Mat& x, int64_t heads) {
  const std::string p = "attention_layers." + std::to_string(block) + ".";
  const int64_t t_len = x.size();
  const int64_t h = x[0].size();
  const int64_t hd = h / heads;
  // q/k/v[t][j] = sum_i W[j (+H, +2H)][i] x[t][i] + b
  Mat q(t_len, Vec(h)), k(t_len, Vec(h)), v(t_len, Vec(h));
  for (int64_t t = 0; t < t_len; ++t) {
    for (int64_t j = 0; j < h; ++j) {
      double sq = w.At(p + "in_proj_bias", j), sk = w.At(p + "in_proj_bias", h + j),
             sv = w.At(p + "in_proj_bias", 2 * h + j);
      for (int64_t i = 0; i < h; ++i) {
        sq += w.At(p + "in_proj_weight", j * h + i) * x[t][i];
        sk += w.At(p + "in_proj_weight", (h + j) * h + i) * x[t][i];
        sv += w.At(p + "in_proj_weight", (2 * h + j) * h + i) * x[t][i];
      }
      q[t][j] = sq;
      k[t][j] = sk;
      v[t][j] = sv;
    }
  }
  Mat o(t_len, Vec(h, 0.0));
  for (int64_t head = 0; head < heads; ++head) {
    for (int64_t t = 0; t < t_len; ++t) {
      Vec scores(t + 1);  // causal: keys 0..t (padding included, as pmixer)
      double mx = -1e300;
      for (int64_t u = 0; u <= t; ++u) {
        double s = 0;
        for (int64_t d = 0; d < hd; ++d) s += q[t][head * hd + d] * k[u][head * hd + d];
        scores[u] = s / std::sqrt(static_cast<double>(hd));
        mx = std::max(mx, scores[u]);
      }
      double z = 0;
      for (double& s : scores) {
        s = std::exp(s - mx);
        z += s;
      }
      for (int64_t u = 0; u <= t; ++u) {
        for (int64_t d = 0; d < hd; ++d) o[t][head * hd + d] += scores[u] / z * v[u][head * hd + d];
      }
    }
  }
  Mat out(t_len, Vec(h));
  for (int64_t t = 0; t < t_len; ++t) {
    for (int64_t j = 0; j < h; ++j) {
      double s = w.At(p + "out_proj.bias", j);
      for (int64_t i = 0; i < h; ++i) s += w.At(p + "out_proj.weight", j * h + i) * o[t][i];
      out[t][j] = s;
    }
  }
  return out;
}

Mat FeedForward(const NaiveWeights& w, int block, const Mat& x) {
  const std::string p = "forward_layers." + std::to_string(block) + ".";
  const int64_t h = x[0].size();
  Mat out;
  for (const Vec& row : x) {
    Vec mid(h), y(h);
    for (int64_t j = 0; j < h; ++j) {
      double s = w.At(p + "conv1.bias", j);
      for (int64_t i = 0; i < h; ++i) s += w.At(p + "conv1.weight", j * h + i) * row[i];
      mid[j] = std::max(0.0, s);
    }
    for (int64_t j = 0; j < h; ++j) {
      double s = w.At(p + "conv2.bias", j);
      for (int64_t i = 0; i < h; ++i) s += w.At(p + "conv2.weight", j * h + i) * mid[i];
      y[j] = s;
    }
    out.push_back(y);
  }
  return out;
}

Mat Add(const Mat& a, const Mat& b) {
  Mat c = a;
  for (size_t t = 0; t < a.size(); ++t) {
    for (size_t i = 0; i < a[t].size(); ++i) c[t][i] += b[t][i];
  }
  return c;
}

// One sequence (left-padded, length T) -> [T][H] features.
Mat NaiveLogToFeats(const SasrecConfig& c, const NaiveWeights& w, const std::vector<int64_t>& seq) {
  const int64_t h = c.hidden_units;
  Mat x;
  for (size_t t = 0; t < seq.size(); ++t) {
    const int64_t pos = seq[t] != 0 ? static_cast<int64_t>(t) + 1 : 0;
    Vec row(h);
    for (int64_t i = 0; i < h; ++i) {
      row[i] = w.At("item_emb.weight", seq[t] * h + i) * std::sqrt(static_cast<double>(h)) +
               w.At("pos_emb.weight", pos * h + i);
    }
    x.push_back(row);
  }
  for (int b = 0; b < c.num_blocks; ++b) {
    const std::string ib = std::to_string(b);
    if (c.norm_first) {
      Mat n = LayerNorm(w, "attention_layernorms." + ib, x, c.layernorm_eps);
      x = Add(x, Attention(w, b, n, c.num_heads));
      x = Add(x, FeedForward(w, b, LayerNorm(w, "forward_layernorms." + ib, x, c.layernorm_eps)));
    } else {
      x = LayerNorm(w, "attention_layernorms." + ib, Add(x, Attention(w, b, x, c.num_heads)),
                    c.layernorm_eps);
      x = LayerNorm(w, "forward_layernorms." + ib, Add(x, FeedForward(w, b, x)), c.layernorm_eps);
    }
  }
  return LayerNorm(w, "last_layernorm", x, c.layernorm_eps);
}

void ExpectMatchesNaive(const SasrecConfig& config) {
  Sasrec model(config);
  SetWeightsByHand(model);
  model->eval();
  NaiveWeights w{model->StateDict()};
  // Full, partially padded, fully padded-but-one rows; T = 3 < maxlen = 4 too.
  for (int64_t len : {config.maxlen, config.maxlen - 1}) {
    std::vector<std::vector<int64_t>> rows;
    if (len == 4) {
      rows = {{1, 2, 3, 4}, {0, 0, 5, 2}, {0, 0, 0, 3}};
    } else {
      rows = {{3, 1, 5}, {0, 4, 4}};
    }
    std::vector<int64_t> flat;
    for (auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
    torch::Tensor seqs =
        torch::tensor(flat, torch::kLong).view({static_cast<int64_t>(rows.size()), len});
    torch::NoGradGuard no_grad;
    torch::Tensor feats = model->LogToFeats(seqs);  // [B, T, H]
    ASSERT_EQ(feats.sizes(), (std::vector<int64_t>{seqs.size(0), len, config.hidden_units}));
    torch::Tensor cands = torch::tensor(std::vector<int64_t>{1, 2, 3, 4, 5}, torch::kLong)
                              .unsqueeze(0)
                              .expand({seqs.size(0), 5})
                              .contiguous();
    torch::Tensor logits = model->Predict(seqs, cands);  // [B, 5]
    for (size_t b = 0; b < rows.size(); ++b) {
      Mat ref = NaiveLogToFeats(config, w, rows[b]);
      for (int64_t t = 0; t < len; ++t) {
        for (int64_t i = 0; i < config.hidden_units; ++i) {
          EXPECT_NEAR(feats[b][t][i].item<double>(), ref[t][i], 2e-5)
              << "row " << b << " t " << t << " i " << i;
        }
      }
      for (int64_t c = 1; c <= 5; ++c) {
        double s = 0;
        for (int64_t i = 0; i < config.hidden_units; ++i) {
          s += ref[len - 1][i] * w.At("item_emb.weight", c * config.hidden_units + i);
        }
        EXPECT_NEAR(logits[b][c - 1].item<double>(), s, 1e-4) << "row " << b << " item " << c;
      }
    }
  }
}

TEST(SasrecTest, PostNormMatchesNaiveScalarImplementation) {
  ExpectMatchesNaive(TinyConfig());
}

TEST(SasrecTest, PreNormMatchesNaiveScalarImplementation) {
  SasrecConfig c = TinyConfig();
  c.norm_first = true;
  ExpectMatchesNaive(c);
}

TEST(SasrecTest, SingleHeadTwoUnitsMatchesNaive) {
  SasrecConfig c = TinyConfig();
  c.hidden_units = 2;
  c.num_heads = 1;
  c.num_blocks = 1;
  ExpectMatchesNaive(c);
}

// ---------------------------------------------------------------------------
// pmixer reference: a checkpoint trained by pmixer/SASRec.pytorch must score
// the same here.
// ---------------------------------------------------------------------------
TEST(SasrecTest, ReproducesPmixerReferenceScores) {
  const std::string dir = SharedDir() + "/models/sasrec-pmixer-games";
  if (!fs::exists(dir)) {
    if (AllowMissingShared()) GTEST_SKIP() << dir << " missing (SASRECLLM_ALLOW_MISSING_SHARED=1)";
    FAIL() << "shared reference model folder " << dir
           << " is missing; set SASRECLLM_SHARED or SASRECLLM_ALLOW_MISSING_SHARED=1 to skip";
  }
  auto text = ReadFileToString(dir + "/config.json");
  ASSERT_TRUE(text.ok()) << text.status();
  auto json = ParseJson(*text, "test");
  ASSERT_TRUE(json.ok()) << json.status();
  auto config = SasrecConfig::FromJson(*json);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->item_num, 23715);
  EXPECT_EQ(config->maxlen, 50);
  auto tensors = ReadSafetensors(dir + "/model.safetensors");
  ASSERT_TRUE(tensors.ok()) << tensors.status();
  Sasrec model(*config);
  Status loaded = model->LoadStateDict(*tensors);
  ASSERT_TRUE(loaded.ok()) << loaded;
  model->eval();
  // SASRECLLM_TEST_DEVICE=cuda runs this check on the GPU (scripts/gpu-check.sh).
  const char* device_env = std::getenv("SASRECLLM_TEST_DEVICE");
  const torch::Device device(device_env != nullptr ? device_env : "cpu");
  model->to(device);

  std::ifstream in(dir + "/reference_scores.tsv");
  ASSERT_TRUE(in) << dir << "/reference_scores.tsv";
  std::vector<int64_t> seqs, cands;
  std::vector<double> scores;
  std::string line;
  int64_t users = 0;
  int64_t num_cands = -1;
  const int64_t maxlen = config->maxlen;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<std::string> cols;
    std::stringstream ls(line);
    std::string col;
    while (std::getline(ls, col, '\t')) cols.push_back(col);
    if (users == 0 && cols[0] == "user") continue;  // header, if any
    ASSERT_EQ(cols.size(), 4u) << line;
    std::vector<int64_t> hist;
    {
      std::stringstream hs(cols[1]);
      int64_t v;
      while (hs >> v) hist.push_back(v);
    }
    if (static_cast<int64_t>(hist.size()) > maxlen) hist.erase(hist.begin(), hist.end() - maxlen);
    std::vector<int64_t> row(maxlen - hist.size(), 0);
    row.insert(row.end(), hist.begin(), hist.end());
    seqs.insert(seqs.end(), row.begin(), row.end());
    std::vector<int64_t> c;
    {
      std::stringstream cs(cols[2]);
      int64_t v;
      while (cs >> v) c.push_back(v);
    }
    std::vector<double> s;
    {
      std::stringstream ss(cols[3]);
      double v;
      while (ss >> v) s.push_back(v);
    }
    ASSERT_EQ(c.size(), s.size());
    if (num_cands < 0) num_cands = c.size();
    ASSERT_EQ(static_cast<int64_t>(c.size()), num_cands);
    cands.insert(cands.end(), c.begin(), c.end());
    scores.insert(scores.end(), s.begin(), s.end());
    ++users;
  }
  ASSERT_EQ(users, 300);
  torch::Tensor log_seqs = torch::tensor(seqs, torch::kLong).view({users, maxlen});
  torch::Tensor items = torch::tensor(cands, torch::kLong).view({users, num_cands});
  torch::NoGradGuard no_grad;
  torch::Tensor logits =
      model->Predict(log_seqs.to(device), items.to(device)).cpu().contiguous();  // [300, 101]
  const float* got = logits.data_ptr<float>();
  // Relative error against max(|ref|, 1): the logits are O(1..10), and for a
  // logit near zero float32 round-off (~1e-6 absolute over a 50-term dot
  // product) would make a pure relative error meaningless.
  double max_rel = 0, max_abs = 0, max_rel_1e3 = 0;
  int64_t worst = 0;
  for (int64_t i = 0; i < users * num_cands; ++i) {
    const double diff = std::abs(got[i] - scores[i]);
    const double rel = diff / std::max(std::abs(scores[i]), 1.0);
    max_abs = std::max(max_abs, diff);
    max_rel_1e3 = std::max(max_rel_1e3, diff / std::max(std::abs(scores[i]), 1e-3));
    if (rel > max_rel) {
      max_rel = rel;
      worst = i;
    }
  }
  std::cout << "[ pmixer  ] " << users << " users x " << num_cands
            << " candidates: max |err|/max(|ref|,1) = " << max_rel << " (user row "
            << worst / num_cands << ", ref " << scores[worst] << ", got " << got[worst]
            << "); max abs err = " << max_abs << "; max |err|/max(|ref|,1e-3) = " << max_rel_1e3
            << "\n";
  RecordProperty("max_relative_error", std::to_string(max_rel));
  RecordProperty("max_abs_error", std::to_string(max_abs));
  EXPECT_LT(max_rel, 1e-4);
  EXPECT_LT(max_abs, 1e-4);
}

// ---------------------------------------------------------------------------
// State dict, config, shapes
// ---------------------------------------------------------------------------
TEST(SasrecTest, StateDictUsesPmixerNames) {
  SasrecConfig c = TinyConfig();
  Sasrec model(c);
  auto sd = model->StateDict();
  std::vector<std::string> expected = {"item_emb.weight", "pos_emb.weight",
                                       "last_layernorm.weight", "last_layernorm.bias"};
  for (int b = 0; b < 2; ++b) {
    const std::string i = std::to_string(b);
    for (const char* n :
         {"attention_layernorms.%.weight", "attention_layernorms.%.bias",
          "attention_layers.%.in_proj_weight", "attention_layers.%.in_proj_bias",
          "attention_layers.%.out_proj.weight", "attention_layers.%.out_proj.bias",
          "forward_layernorms.%.weight", "forward_layernorms.%.bias",
          "forward_layers.%.conv1.weight", "forward_layers.%.conv1.bias",
          "forward_layers.%.conv2.weight", "forward_layers.%.conv2.bias"}) {
      std::string s = n;
      s.replace(s.find('%'), 1, i);
      expected.push_back(s);
    }
  }
  EXPECT_EQ(sd.size(), expected.size());
  for (const auto& n : expected) EXPECT_TRUE(sd.count(n)) << n;
  EXPECT_EQ(sd.at("item_emb.weight").sizes(), (std::vector<int64_t>{6, 4}));
  EXPECT_EQ(sd.at("pos_emb.weight").sizes(), (std::vector<int64_t>{5, 4}));
  EXPECT_EQ(sd.at("attention_layers.0.in_proj_weight").sizes(), (std::vector<int64_t>{12, 4}));
  EXPECT_EQ(sd.at("forward_layers.1.conv1.weight").sizes(), (std::vector<int64_t>{4, 4, 1}));
  // Padding rows start at zero (pmixer's main.py re-zeroes them after xavier init).
  EXPECT_EQ(sd.at("item_emb.weight")[0].abs().sum().item<float>(), 0.0f);
  EXPECT_EQ(sd.at("pos_emb.weight")[0].abs().sum().item<float>(), 0.0f);
  for (const auto& [name, t] : sd) {
    EXPECT_EQ(t.scalar_type(), torch::kFloat32) << name;
    EXPECT_TRUE(t.is_contiguous()) << name;
  }
}

TEST(SasrecTest, StateDictRoundTripReproducesPredictions) {
  SasrecConfig c = TinyConfig();
  torch::manual_seed(1);
  Sasrec a(c);
  torch::manual_seed(2);
  Sasrec b(c);
  a->eval();
  b->eval();
  torch::Tensor seqs = torch::tensor(std::vector<int64_t>{0, 1, 2, 3, 5, 4, 3, 2}).view({2, 4});
  torch::Tensor items = torch::tensor(std::vector<int64_t>{1, 2, 3, 4, 5, 1, 2, 3}).view({2, 4});
  torch::NoGradGuard no_grad;
  EXPECT_FALSE(torch::allclose(a->Predict(seqs, items), b->Predict(seqs, items)));
  ASSERT_TRUE(b->LoadStateDict(a->StateDict()).ok());
  EXPECT_TRUE(torch::equal(a->Predict(seqs, items), b->Predict(seqs, items)));
  // Through a safetensors file too.
  const std::string path = (fs::temp_directory_path() / "sasrec_test_roundtrip.safetensors").string();
  ASSERT_TRUE(WriteSafetensors(path, a->StateDict()).ok());
  auto read = ReadSafetensors(path);
  ASSERT_TRUE(read.ok()) << read.status();
  torch::manual_seed(3);
  Sasrec d(c);
  d->eval();
  ASSERT_TRUE(d->LoadStateDict(*read).ok());
  EXPECT_TRUE(torch::equal(a->Predict(seqs, items), d->Predict(seqs, items)));
  fs::remove(path);
}

TEST(SasrecTest, LoadStateDictErrorsNameTheTensor) {
  Sasrec model(TinyConfig());
  auto sd = model->StateDict();

  auto missing = sd;
  missing.erase("forward_layers.1.conv2.bias");
  Status s = model->LoadStateDict(missing);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("forward_layers.1.conv2.bias"), std::string::npos) << s;
  EXPECT_NE(s.message().find("missing"), std::string::npos) << s;

  auto wrong_shape = sd;
  wrong_shape["pos_emb.weight"] = torch::zeros({51, 4});
  s = model->LoadStateDict(wrong_shape);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("pos_emb.weight"), std::string::npos) << s;
  EXPECT_NE(s.message().find("51"), std::string::npos) << s;

  auto extra = sd;
  extra["attention_layers.7.in_proj_weight"] = torch::zeros({12, 4});
  s = model->LoadStateDict(extra);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("attention_layers.7.in_proj_weight"), std::string::npos) << s;

  auto ints = sd;
  ints["last_layernorm.bias"] = torch::zeros({4}, torch::kLong);
  s = model->LoadStateDict(ints);
  EXPECT_NE(s.message().find("last_layernorm.bias"), std::string::npos) << s;

  // A failed load leaves the model untouched.
  auto after = model->StateDict();
  for (const auto& [name, t] : sd) EXPECT_TRUE(torch::equal(t, after.at(name))) << name;
}

TEST(SasrecTest, ValidateNamesTheBadField) {
  SasrecConfig c = TinyConfig();
  EXPECT_TRUE(c.Validate().ok());
  c.item_num = 0;
  EXPECT_NE(c.Validate().message().find("item_num"), std::string::npos);
  c = TinyConfig();
  c.hidden_units = 5;
  c.num_heads = 2;
  Status s = c.Validate();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("num_heads"), std::string::npos) << s;
  c = TinyConfig();
  c.dropout_rate = 1.0;
  EXPECT_NE(c.Validate().message().find("dropout_rate"), std::string::npos);
  c = TinyConfig();
  c.maxlen = 0;
  EXPECT_NE(c.Validate().message().find("maxlen"), std::string::npos);
  c = TinyConfig();
  c.layernorm_eps = 0;
  EXPECT_NE(c.Validate().message().find("layernorm_eps"), std::string::npos);
}

TEST(SasrecTest, ConfigJsonRoundTripAndErrors) {
  SasrecConfig c = TinyConfig();
  c.norm_first = true;
  c.dropout_rate = 0.25;
  auto back = SasrecConfig::FromJson(c.ToJson());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->item_num, c.item_num);
  EXPECT_EQ(back->maxlen, c.maxlen);
  EXPECT_EQ(back->hidden_units, c.hidden_units);
  EXPECT_EQ(back->num_blocks, c.num_blocks);
  EXPECT_EQ(back->num_heads, c.num_heads);
  EXPECT_EQ(back->dropout_rate, c.dropout_rate);
  EXPECT_EQ(back->norm_first, c.norm_first);
  EXPECT_EQ(back->layernorm_eps, c.layernorm_eps);

  auto missing = SasrecConfig::FromJson(*ParseJson(R"({"maxlen": 50})", "test"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("item_num"), std::string::npos);
  auto wrong_type = SasrecConfig::FromJson(*ParseJson(R"({"item_num": 3, "maxlen": "50"})", "test"));
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_NE(wrong_type.status().message().find("maxlen"), std::string::npos);
  auto invalid = SasrecConfig::FromJson(*ParseJson(R"({"item_num": 3, "num_heads": 7})", "test"));
  ASSERT_FALSE(invalid.ok());
  EXPECT_NE(invalid.status().message().find("num_heads"), std::string::npos);
}

TEST(SasrecTest, ForwardShapesAndPaddingGetsNoGradient) {
  SasrecConfig c = TinyConfig();
  c.dropout_rate = 0.5;
  Sasrec model(c);
  model->train();
  torch::Tensor seqs = torch::tensor(std::vector<int64_t>{0, 0, 1, 2, 3, 4, 5, 1}).view({2, 4});
  torch::Tensor pos = torch::tensor(std::vector<int64_t>{0, 0, 2, 3, 4, 5, 1, 2}).view({2, 4});
  torch::Tensor neg = torch::tensor(std::vector<int64_t>{0, 0, 5, 5, 1, 1, 3, 4}).view({2, 4});
  auto [pos_logits, neg_logits] = model->forward(seqs, pos, neg);
  EXPECT_EQ(pos_logits.sizes(), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(neg_logits.sizes(), (std::vector<int64_t>{2, 4}));
  (pos_logits.sum() - neg_logits.sum()).backward();
  torch::Tensor g = model->named_parameters()["item_emb.weight"].grad();
  ASSERT_TRUE(g.defined());
  EXPECT_EQ(g[0].abs().sum().item<float>(), 0.0f);  // padding_idx = 0
  EXPECT_GT(g[1].abs().sum().item<float>(), 0.0f);
  EXPECT_EQ(model->UserRepresentation(seqs).sizes(), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(model->ItemEmbeddings().sizes(), (std::vector<int64_t>{6, 4}));
}

TEST(SasrecTest, EvalIsDeterministicAndTrainingUsesDropout) {
  Sasrec model(TinyConfig());
  torch::Tensor seqs = torch::tensor(std::vector<int64_t>{1, 2, 3, 4}).view({1, 4});
  model->eval();
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(model->LogToFeats(seqs), model->LogToFeats(seqs)));
  SasrecConfig c = TinyConfig();
  c.dropout_rate = 0.5;
  Sasrec dropping(c);
  dropping->train();
  torch::manual_seed(0);
  torch::Tensor a = dropping->LogToFeats(seqs);
  torch::Tensor b = dropping->LogToFeats(seqs);
  EXPECT_FALSE(torch::equal(a, b));
}

TEST(SasrecTest, WorksInOtherDtypes) {
  SasrecConfig c = TinyConfig();
  Sasrec model(c);
  SetWeightsByHand(model);
  model->eval();
  torch::Tensor seqs = torch::tensor(std::vector<int64_t>{0, 1, 2, 3, 5, 4, 3, 2}).view({2, 4});
  torch::Tensor items = torch::tensor(std::vector<int64_t>{1, 2, 3, 4, 5, 1, 2, 3}).view({2, 4});
  torch::NoGradGuard no_grad;
  torch::Tensor ref = model->Predict(seqs, items);
  model->to(torch::kFloat64);
  torch::Tensor d = model->Predict(seqs, items);
  EXPECT_EQ(d.scalar_type(), torch::kFloat64);
  EXPECT_TRUE(torch::allclose(d.to(torch::kFloat), ref, 1e-4, 1e-4));
  model->to(torch::kBFloat16);
  torch::Tensor bf = model->Predict(seqs, items);
  EXPECT_EQ(bf.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::allclose(bf.to(torch::kFloat), ref, 0.1, 0.3))
      << bf << "\n" << ref;
  // StateDict is float32 whatever the model's dtype.
  EXPECT_EQ(model->StateDict().at("item_emb.weight").scalar_type(), torch::kFloat32);
}

TEST(SasrecTest, RejectsBadSequenceShapes) {
  Sasrec model(TinyConfig());
  torch::NoGradGuard no_grad;
  EXPECT_THROW(model->LogToFeats(torch::zeros({2, 5}, torch::kLong)), c10::Error);  // > maxlen
  EXPECT_THROW(model->LogToFeats(torch::zeros({5}, torch::kLong)), c10::Error);
}

// Quick timing of one training step at the paper's Games sizes.
TEST(SasrecTest, ForwardBackwardTimingAtPaperSize) {
  SasrecConfig c;
  c.item_num = 23715;
  Sasrec model(c);
  model->train();
  torch::set_num_threads(2);
  torch::Tensor seqs = torch::randint(1, c.item_num + 1, {128, 50}, torch::kLong);
  torch::Tensor pos = torch::randint(1, c.item_num + 1, {128, 50}, torch::kLong);
  torch::Tensor neg = torch::randint(1, c.item_num + 1, {128, 50}, torch::kLong);
  auto step = [&] {
    model->zero_grad();
    auto [p, n] = model->forward(seqs, pos, neg);
    torch::Tensor loss = torch::binary_cross_entropy_with_logits(p, torch::ones_like(p)) +
                         torch::binary_cross_entropy_with_logits(n, torch::zeros_like(n));
    loss.backward();
  };
  step();  // warm-up
  const int kSteps = 5;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kSteps; ++i) step();
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                  .count() /
              kSteps;
  std::cout << "[ timing  ] forward+backward, batch 128 x 50, H 50, 2 blocks, "
            << torch::get_num_threads() << " threads: " << ms << " ms/step\n";
  RecordProperty("forward_backward_ms", std::to_string(ms));
}

TEST(LeftPadHistoryTest, KeepsTheNewestKnownItemsRightAlignedInOrder) {
  std::vector<int64_t> row(4, 0);
  // 9 > item_num is skipped; of the rest the newest four are kept.
  EXPECT_EQ(LeftPadHistory({5, 1, 9, 2, 3, 4}, /*item_num=*/8, 4, row.data()), 4);
  EXPECT_EQ(row, (std::vector<int64_t>{1, 2, 3, 4}));
  std::vector<int64_t> short_row(4, 0);
  EXPECT_EQ(LeftPadHistory({7, 9}, /*item_num=*/0, 4, short_row.data()), 2);  // 0: keep all
  EXPECT_EQ(short_row, (std::vector<int64_t>{0, 0, 7, 9}));
}

TEST(LeftPadHistoryTest, BatchesAreZeroPaddedToMaxlen) {
  const std::vector<int64_t> a = {3, 4}, b = {};
  torch::Tensor t = LeftPaddedHistories({&a, &b}, /*item_num=*/10, /*maxlen=*/3);
  ASSERT_EQ(t.sizes(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(t.scalar_type(), torch::kInt64);
  EXPECT_TRUE(torch::equal(t, torch::tensor({0, 3, 4, 0, 0, 0}, torch::kInt64).view({2, 3})));
}

}  // namespace
}  // namespace sasrecllm::model
