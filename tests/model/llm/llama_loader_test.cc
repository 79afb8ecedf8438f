// LlamaModel::Load on damaged folders: a tiny random model written by
// WriteLlamaFolder (seed 5), then truncated, given a header that lies, a
// config that disagrees with the weights, an unknown dtype, a missing shard
// or malformed JSON. Every case must give a non-OK status whose message
// names the file or the weight at fault, never a crash.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "base/file.h"
#include "base/json.h"
#include "model/llm/llama_model.h"
#include "model/llm/random_init.h"
#include "model/safetensors.h"
#include "tests/model/llm/shared_data.h"
#include "tests/model/llm/tiny_model.h"

namespace sasrecllm::llm {
namespace {

using ::testing::HasSubstr;

// A safetensors file split into its header and its data section.
struct RawSafetensors {
  Json header;
  std::string data;
};

RawSafetensors ReadRaw(const std::string& path) {
  StatusOr<std::string> bytes = ReadFileToString(path);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  uint64_t len = 0;
  for (int i = 7; i >= 0; --i) len = (len << 8) | static_cast<unsigned char>((*bytes)[i]);
  StatusOr<Json> header = ParseJson(bytes->substr(8, len), "test");
  EXPECT_TRUE(header.ok()) << header.status();
  return {*header, bytes->substr(8 + len)};
}

// Writes `header_text` verbatim (its length as the 8-byte prefix), then `data`.
void WriteRaw(const std::string& path, const std::string& header_text, const std::string& data) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header_text.size() >> (8 * i)) & 0xff);
  bytes += header_text;
  bytes += data;
  ASSERT_TRUE(WriteStringToFile(path, bytes).ok());
}

void WriteRaw(const std::string& path, const RawSafetensors& raw) {
  WriteRaw(path, DumpJson(raw.header), raw.data);
}

Json Pair(int64_t a, int64_t b) {
  Json j = Json::array();
  j.push_back(Json(a));
  j.push_back(Json(b));
  return j;
}

// Replaces `key` of tensor `name`'s header entry.
void SetEntryField(RawSafetensors* raw, const std::string& name, const std::string& key,
                   Json value) {
  const Json* entry = FindKey(raw->header, name);
  ASSERT_NE(entry, nullptr) << name;
  Json copy = *entry;
  copy[key] = std::move(value);
  raw->header[name] = std::move(copy);
}

// The tensor whose data comes last in the file.
std::string LastTensor(const RawSafetensors& raw) {
  std::string last;
  int64_t last_begin = -1;
  for (const auto& [name, entry] : raw.header.items()) {
    if (name == "__metadata__") continue;
    const int64_t begin = entry["data_offsets"][0].get<int64_t>();
    if (begin > last_begin) {
      last_begin = begin;
      last = name;
    }
  }
  return last;
}

class LlamaLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = testing::SmallLlamaConfig(/*hidden=*/16, /*intermediate=*/24, /*vocab=*/32,
                                        /*max_positions=*/64);
    StatusOr<std::map<std::string, torch::Tensor>> weights = RandomLlamaWeights(config_, 5);
    ASSERT_TRUE(weights.ok()) << weights.status();
    weights_ = *weights;
    ASSERT_TRUE(WriteLlamaFolder(dir_.path(), config_, weights_).ok());
    st_path_ = dir_.path() + "/model.safetensors";
    pristine_path_ = dir_.path() + "/pristine.safetensors";  // ignored by Load
    std::filesystem::copy_file(st_path_, pristine_path_);
  }

  // Loads dir_ and expects failure with `code`; returns the message.
  std::string LoadError(StatusCode code) {
    StatusOr<std::unique_ptr<LlamaModel>> model =
        LlamaModel::Load(dir_.path(), LlamaModel::Options());
    EXPECT_FALSE(model.ok());
    if (model.ok()) return "";
    EXPECT_EQ(model.status().code(), code) << model.status();
    return model.status().message();
  }

  void WriteConfigText(const std::string& text) {
    ASSERT_TRUE(WriteStringToFile(dir_.path() + "/config.json", text).ok());
  }

  testing::TempDir dir_;
  LlamaConfig config_;
  std::map<std::string, torch::Tensor> weights_;
  std::string st_path_;
  std::string pristine_path_;  // an undamaged copy of model.safetensors
};

TEST_F(LlamaLoaderTest, TheUndamagedFolderLoads) {
  StatusOr<std::unique_ptr<LlamaModel>> model =
      LlamaModel::Load(dir_.path(), LlamaModel::Options());
  ASSERT_TRUE(model.ok()) << model.status();
}

TEST_F(LlamaLoaderTest, TruncatedDataIsDataLossNamingFileAndTensor) {
  const RawSafetensors raw = ReadRaw(st_path_);
  const std::string last = LastTensor(raw);
  std::filesystem::resize_file(st_path_, std::filesystem::file_size(st_path_) - 10);
  const std::string msg = LoadError(StatusCode::kDataLoss);
  EXPECT_THAT(msg, HasSubstr(st_path_));
  EXPECT_THAT(msg, HasSubstr(last));
  EXPECT_THAT(msg, HasSubstr("truncated"));
}

TEST_F(LlamaLoaderTest, FileCutInsideTheHeaderIsDataLoss) {
  std::filesystem::resize_file(st_path_, 40);
  const std::string msg = LoadError(StatusCode::kDataLoss);
  EXPECT_THAT(msg, HasSubstr(st_path_));
  EXPECT_THAT(msg, HasSubstr("header length"));
}

TEST_F(LlamaLoaderTest, FileShorterThanTheLengthPrefixIsDataLoss) {
  std::filesystem::resize_file(st_path_, 5);
  EXPECT_THAT(LoadError(StatusCode::kDataLoss), HasSubstr(st_path_));
  std::filesystem::resize_file(st_path_, 0);
  EXPECT_THAT(LoadError(StatusCode::kDataLoss), HasSubstr(st_path_));
}

TEST_F(LlamaLoaderTest, AbsurdHeaderLengthIsDataLoss) {
  const RawSafetensors raw = ReadRaw(st_path_);
  std::string bytes(8, '\xff');  // length 2^64 - 1
  bytes += DumpJson(raw.header) + raw.data;
  ASSERT_TRUE(WriteStringToFile(st_path_, bytes).ok());
  EXPECT_THAT(LoadError(StatusCode::kDataLoss), HasSubstr(st_path_));
}

TEST_F(LlamaLoaderTest, HeaderThatIsNotJsonIsDataLoss) {
  const RawSafetensors raw = ReadRaw(st_path_);
  WriteRaw(st_path_, "{\"model.norm.weight\": {\"dtype\": ", raw.data);
  const std::string msg = LoadError(StatusCode::kDataLoss);
  EXPECT_THAT(msg, HasSubstr(st_path_));
  EXPECT_THAT(msg, HasSubstr("header"));
}

TEST_F(LlamaLoaderTest, OffsetsBeyondTheFileAreDataLossNamingTheTensor) {
  // The last tensor claims more bytes than the file holds (shape and offsets
  // agree with each other, not with the file).
  RawSafetensors raw = ReadRaw(st_path_);
  const std::string last = LastTensor(raw);
  const int64_t begin = raw.header[last]["data_offsets"][0].get<int64_t>();
  const int64_t end = raw.header[last]["data_offsets"][1].get<int64_t>();
  Json shape = Json::array();
  shape.push_back(Json((end - begin) / 4 + 1000));
  SetEntryField(&raw, last, "shape", shape);
  SetEntryField(&raw, last, "data_offsets", Pair(begin, end + 4000));
  WriteRaw(st_path_, raw);
  const std::string msg = LoadError(StatusCode::kDataLoss);
  EXPECT_THAT(msg, HasSubstr(st_path_));
  EXPECT_THAT(msg, HasSubstr(last));
  EXPECT_THAT(msg, HasSubstr("data section"));
}

TEST_F(LlamaLoaderTest, OffsetsFarBeyondTheFileAreDataLossNamingTheTensor) {
  RawSafetensors raw = ReadRaw(st_path_);
  const std::string name = "model.norm.weight";
  const int64_t size = 4 * config_.hidden_size;
  SetEntryField(&raw, name, "data_offsets", Pair(int64_t{1} << 40, (int64_t{1} << 40) + size));
  WriteRaw(st_path_, raw);
  const std::string msg = LoadError(StatusCode::kDataLoss);
  EXPECT_THAT(msg, HasSubstr(st_path_));
  EXPECT_THAT(msg, HasSubstr("data_offsets"));
}

TEST_F(LlamaLoaderTest, OverlappingOffsetsAreDataLossNamingTheTensor) {
  // Two [D] norms pointing at the same bytes.
  RawSafetensors raw = ReadRaw(st_path_);
  const Json offsets = raw.header["model.layers.0.input_layernorm.weight"]["data_offsets"];
  SetEntryField(&raw, "model.layers.0.post_attention_layernorm.weight", "data_offsets", offsets);
  WriteRaw(st_path_, raw);
  const std::string msg = LoadError(StatusCode::kDataLoss);
  EXPECT_THAT(msg, HasSubstr(st_path_));
  EXPECT_THAT(msg, HasSubstr("layernorm.weight"));
  EXPECT_THAT(msg, HasSubstr("overlap"));
}

TEST_F(LlamaLoaderTest, OffsetsThatDisagreeWithShapeTimesDtypeAreDataLoss) {
  RawSafetensors raw = ReadRaw(st_path_);
  const std::string name = "model.layers.1.mlp.up_proj.weight";
  const int64_t begin = raw.header[name]["data_offsets"][0].get<int64_t>();
  const int64_t end = raw.header[name]["data_offsets"][1].get<int64_t>();
  SetEntryField(&raw, name, "data_offsets", Pair(begin, end - 4));
  WriteRaw(st_path_, raw);
  const std::string msg = LoadError(StatusCode::kDataLoss);
  EXPECT_THAT(msg, HasSubstr(st_path_));
  EXPECT_THAT(msg, HasSubstr(name));
  EXPECT_THAT(msg, HasSubstr("needs " + std::to_string(end - begin) + " bytes"));
}

TEST_F(LlamaLoaderTest, MalformedOffsetsAreDataLossNamingTheTensor) {
  const std::string name = "model.norm.weight";
  for (const Json& bad : {Pair(-4, 60), Pair(64, 0), Json("0-64"), Json(1.5)}) {
    RawSafetensors raw = ReadRaw(pristine_path_);
    SetEntryField(&raw, name, "data_offsets", bad);
    WriteRaw(st_path_, raw);
    const std::string msg = LoadError(StatusCode::kDataLoss);
    EXPECT_THAT(msg, HasSubstr(name)) << DumpJson(bad);
  }
}

TEST_F(LlamaLoaderTest, ShapeWhoseByteSizeOverflowsIsDataLoss) {
  // 2^62 float32 elements are 2^64 bytes: 0 in 64-bit arithmetic, matching
  // an empty [x, x] range unless the size is checked before multiplying.
  RawSafetensors raw = ReadRaw(st_path_);
  const std::string last = LastTensor(raw);
  const int64_t begin = raw.header[last]["data_offsets"][0].get<int64_t>();
  const int64_t end = raw.header[last]["data_offsets"][1].get<int64_t>();
  Json shape = Json::array();
  shape.push_back(Json(int64_t{1} << 62));
  SetEntryField(&raw, last, "shape", shape);
  SetEntryField(&raw, last, "data_offsets", Pair(begin, begin));
  WriteRaw(st_path_, DumpJson(raw.header), raw.data.substr(0, raw.data.size() - (end - begin)));
  const std::string msg = LoadError(StatusCode::kDataLoss);
  EXPECT_THAT(msg, HasSubstr(st_path_));
  EXPECT_THAT(msg, HasSubstr(last));
}

TEST_F(LlamaLoaderTest, NegativeOrHugeDimensionsAreDataLoss) {
  const std::string name = "model.norm.weight";
  for (const Json& dim : {Json(-16), Json(int64_t{1} << 40)}) {
    RawSafetensors raw = ReadRaw(pristine_path_);
    Json shape = Json::array();
    shape.push_back(dim);
    shape.push_back(Json(int64_t{1} << 40));
    SetEntryField(&raw, name, "shape", shape);
    WriteRaw(st_path_, raw);
    const std::string msg = LoadError(StatusCode::kDataLoss);
    EXPECT_THAT(msg, HasSubstr(name)) << DumpJson(dim);
  }
}

TEST_F(LlamaLoaderTest, UnknownDtypeIsInvalidArgumentNamingTensorAndDtype) {
  for (const char* dtype : {"F8_E4M3", "Q4", "", "f32"}) {
    RawSafetensors raw = ReadRaw(pristine_path_);
    SetEntryField(&raw, "model.layers.0.self_attn.k_proj.weight", "dtype", Json(dtype));
    WriteRaw(st_path_, raw);
    const std::string msg = LoadError(StatusCode::kInvalidArgument);
    EXPECT_THAT(msg, HasSubstr(st_path_));
    EXPECT_THAT(msg, HasSubstr("model.layers.0.self_attn.k_proj.weight"));
    EXPECT_THAT(msg, HasSubstr(std::string("\"") + dtype + "\""));
  }
}

TEST_F(LlamaLoaderTest, IntegerWeightIsInvalidArgumentNamingTheWeight) {
  weights_["model.norm.weight"] = torch::ones({config_.hidden_size}, torch::kLong);
  ASSERT_TRUE(model::WriteSafetensors(st_path_, weights_).ok());
  const std::string msg = LoadError(StatusCode::kInvalidArgument);
  EXPECT_THAT(msg, HasSubstr("model.norm.weight"));
  EXPECT_THAT(msg, HasSubstr("floating-point"));
}

TEST_F(LlamaLoaderTest, HalfPrecisionWeightsLoadIntoAFloatModel) {
  for (auto& [name, t] : weights_) t = t.to(torch::kBFloat16);
  ASSERT_TRUE(model::WriteSafetensors(st_path_, weights_).ok());
  StatusOr<std::unique_ptr<LlamaModel>> model =
      LlamaModel::Load(dir_.path(), LlamaModel::Options());
  ASSERT_TRUE(model.ok()) << model.status();
}

TEST_F(LlamaLoaderTest, ConfigHiddenSizeThatDisagreesWithTheWeightsNamesAWeight) {
  LlamaConfig wrong = config_;
  wrong.hidden_size = 32;
  WriteConfigText(DumpJson(wrong.ToJson(), 2));
  const std::string msg = LoadError(StatusCode::kInvalidArgument);
  EXPECT_THAT(msg, HasSubstr(dir_.path()));
  EXPECT_THAT(msg, HasSubstr(".weight has shape"));
  EXPECT_THAT(msg, HasSubstr("the config implies"));
}

TEST_F(LlamaLoaderTest, ConfigWithMoreLayersNamesTheMissingWeight) {
  LlamaConfig wrong = config_;
  wrong.num_hidden_layers = 3;
  WriteConfigText(DumpJson(wrong.ToJson(), 2));
  EXPECT_THAT(LoadError(StatusCode::kInvalidArgument), HasSubstr("missing weight model.layers.2."));
}

TEST_F(LlamaLoaderTest, ConfigWithFewerLayersNamesTheUnexpectedWeights) {
  LlamaConfig wrong = config_;
  wrong.num_hidden_layers = 1;
  WriteConfigText(DumpJson(wrong.ToJson(), 2));
  const std::string msg = LoadError(StatusCode::kInvalidArgument);
  EXPECT_THAT(msg, HasSubstr("unexpected weight"));
  EXPECT_THAT(msg, HasSubstr("model.layers.1."));
}

TEST_F(LlamaLoaderTest, MalformedConfigJsonNamesTheFile) {
  const std::string path = dir_.path() + "/config.json";
  for (const char* text : {"{\"hidden_size\": 16, ", "", "[1, 2]", "{\"hidden_size\": \"16\"}",
                           "{\"hidden_size\": 16}"}) {
    WriteConfigText(text);
    StatusOr<std::unique_ptr<LlamaModel>> model =
        LlamaModel::Load(dir_.path(), LlamaModel::Options());
    ASSERT_FALSE(model.ok()) << text;
    EXPECT_THAT(model.status().message(), HasSubstr(path)) << text;
  }
}

TEST_F(LlamaLoaderTest, ConfigWithUnknownTorchDtypeNamesTheKey) {
  Json j = config_.ToJson();
  j["torch_dtype"] = Json("float8_e4m3fn");
  WriteConfigText(DumpJson(j, 2));
  const std::string msg = LoadError(StatusCode::kInvalidArgument);
  EXPECT_THAT(msg, HasSubstr("config.json"));
  EXPECT_THAT(msg, HasSubstr("torch_dtype \"float8_e4m3fn\""));
}

TEST_F(LlamaLoaderTest, MissingFilesAreNotFoundNamingThem) {
  std::filesystem::remove(st_path_);
  EXPECT_THAT(LoadError(StatusCode::kNotFound), HasSubstr(st_path_));
  std::filesystem::remove(dir_.path() + "/config.json");
  EXPECT_THAT(LoadError(StatusCode::kNotFound), HasSubstr(dir_.path() + "/config.json"));
}

// Splits the weights over two shards named in model.safetensors.index.json.
class ShardedLoaderTest : public LlamaLoaderTest {
 protected:
  void SetUp() override {
    LlamaLoaderTest::SetUp();
    std::filesystem::remove(st_path_);
    std::map<std::string, torch::Tensor> shard1, shard2;
    weight_map_ = Json::object();
    int i = 0;
    for (const auto& [name, t] : weights_) {
      const bool first = (i++ % 2) == 0;
      (first ? shard1 : shard2)[name] = t;
      weight_map_[name] = Json(first ? kShard1 : kShard2);
    }
    ASSERT_TRUE(model::WriteSafetensors(dir_.path() + "/" + kShard1, shard1).ok());
    ASSERT_TRUE(model::WriteSafetensors(dir_.path() + "/" + kShard2, shard2).ok());
    WriteIndex(weight_map_);
  }

  void WriteIndex(const Json& weight_map) {
    Json index = Json::object();
    index["weight_map"] = weight_map;
    ASSERT_TRUE(WriteStringToFile(index_path(), DumpJson(index, 2)).ok());
  }
  std::string index_path() const { return dir_.path() + "/model.safetensors.index.json"; }

  static constexpr char kShard1[] = "model-00001-of-00002.safetensors";
  static constexpr char kShard2[] = "model-00002-of-00002.safetensors";
  Json weight_map_;
};

TEST_F(ShardedLoaderTest, BothShardsLoad) {
  StatusOr<std::unique_ptr<LlamaModel>> model =
      LlamaModel::Load(dir_.path(), LlamaModel::Options());
  ASSERT_TRUE(model.ok()) << model.status();
}

TEST_F(ShardedLoaderTest, MissingShardIsNotFoundNamingIt) {
  std::filesystem::remove(dir_.path() + "/" + kShard2);
  EXPECT_THAT(LoadError(StatusCode::kNotFound), HasSubstr(kShard2));
}

TEST_F(ShardedLoaderTest, TruncatedShardIsDataLossNamingIt) {
  const std::string shard = dir_.path() + "/" + kShard1;
  std::filesystem::resize_file(shard, std::filesystem::file_size(shard) / 2);
  EXPECT_THAT(LoadError(StatusCode::kDataLoss), HasSubstr(shard));
}

TEST_F(ShardedLoaderTest, IndexListingAWeightTheShardLacksIsDataLossNamingIt) {
  Json map = weight_map_;
  map["model.layers.0.self_attn.q_proj.weight"] = Json(kShard2);
  map["model.layers.9.mlp.up_proj.weight"] = Json(kShard1);
  WriteIndex(map);
  const std::string msg = LoadError(StatusCode::kDataLoss);
  EXPECT_THAT(msg, HasSubstr(index_path()));
  EXPECT_THAT(msg, HasSubstr("model.layers.9.mlp.up_proj.weight"));
}

TEST_F(ShardedLoaderTest, AShardNameOutsideTheFolderIsRefused) {
  // A copy of a real shard one folder up: the index must not reach it.
  const std::string outside = dir_.path() + "/../" + std::string(kShard1);
  std::filesystem::copy_file(dir_.path() + "/" + kShard1, outside,
                             std::filesystem::copy_options::overwrite_existing);
  Json map = weight_map_;
  for (auto& [name, file] : map.items()) {
    if (file == Json(kShard1)) file = Json("../" + std::string(kShard1));
  }
  WriteIndex(map);
  const std::string msg = LoadError(StatusCode::kInvalidArgument);
  std::filesystem::remove(outside);
  EXPECT_THAT(msg, HasSubstr("is not a file name in the same folder"));
  EXPECT_THAT(msg, HasSubstr(index_path()));
}

TEST_F(ShardedLoaderTest, MalformedIndexNamesTheFile) {
  for (const char* text : {"{\"weight_map\": {", "{}", "{\"weight_map\": {\"a\": 1}}"}) {
    ASSERT_TRUE(WriteStringToFile(index_path(), text).ok());
    StatusOr<std::unique_ptr<LlamaModel>> model =
        LlamaModel::Load(dir_.path(), LlamaModel::Options());
    ASSERT_FALSE(model.ok()) << text;
    EXPECT_THAT(model.status().message(), HasSubstr(index_path())) << text;
  }
}

}  // namespace
}  // namespace sasrecllm::llm
