#include "base/file.h"
#include "model/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "base/json.h"

namespace sasrecllm::model {
namespace {

namespace fs = std::filesystem;

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sasrecllm_st_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  // A file with the given header text and `data_bytes` bytes of data.
  std::string WriteRaw(const std::string& name, const std::string& header, size_t data_bytes,
                       int64_t header_len_override = -1) {
    std::string out(8, '\0');
    uint64_t len = header_len_override >= 0 ? header_len_override : header.size();
    for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((len >> (8 * i)) & 0xff);
    out += header;
    out += std::string(data_bytes, '\x01');
    EXPECT_TRUE(WriteStringToFile(Path(name), out).ok());
    return Path(name);
  }

  // Both readers (copying and memory-mapping) refuse `path` the same way.
  void ExpectError(const std::string& path, StatusCode code, const std::string& needle) {
    for (auto* reader : {&ReadOne, &MapOne}) {
      auto r = reader(path);
      ASSERT_FALSE(r.ok()) << path;
      EXPECT_EQ(r.status().code(), code) << r.status();
      EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status();
      EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status();
    }
  }
  static StatusOr<std::map<std::string, torch::Tensor>> ReadOne(const std::string& path) {
    return ReadSafetensors(path);
  }
  static StatusOr<std::map<std::string, torch::Tensor>> MapOne(const std::string& path) {
    return MapSafetensors(path);
  }

  fs::path dir_;
};

TEST_F(SafetensorsTest, RoundTripsEveryDtype) {
  std::map<std::string, torch::Tensor> tensors;
  torch::manual_seed(0);
  tensors["f64"] = torch::randn({2, 3}, torch::kFloat64);
  tensors["f32"] = torch::randn({4}, torch::kFloat32);
  tensors["f16"] = torch::randn({3, 1, 2}).to(torch::kFloat16);
  tensors["bf16"] = torch::randn({5}).to(torch::kBFloat16);
  tensors["i64"] = torch::tensor(std::vector<int64_t>{-1, 1LL << 40, 3});
  tensors["i32"] = torch::tensor(std::vector<int32_t>{-7, 9});
  tensors["i16"] = torch::tensor(std::vector<int64_t>{-300, 300}).to(torch::kInt16);
  tensors["i8"] = torch::tensor(std::vector<int64_t>{-100, 100}).to(torch::kInt8);
  tensors["u8"] = torch::tensor(std::vector<int64_t>{0, 255}).to(torch::kUInt8);
  tensors["bool"] = torch::tensor(std::vector<int64_t>{1, 0, 1}).to(torch::kBool);
  tensors["scalar"] = torch::scalar_tensor(2.5, torch::kFloat32);
  tensors["empty"] = torch::zeros({0, 3});
  tensors["strided"] = torch::arange(12, torch::kFloat32).view({3, 4}).t();  // non-contiguous
  const std::string path = Path("all.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, tensors, {{"format", "pt"}, {"k", "v"}}).ok());
  for (bool mapped : {false, true}) {
    SCOPED_TRACE(mapped ? "MapSafetensors" : "ReadSafetensors");
    std::map<std::string, std::string> meta;
    auto back = mapped ? MapSafetensors(path, &meta) : ReadSafetensors(path, &meta);
    ASSERT_TRUE(back.ok()) << back.status();
    ASSERT_EQ(back->size(), tensors.size());
    for (const auto& [name, t] : tensors) {
      const torch::Tensor& r = back->at(name);
      EXPECT_EQ(r.scalar_type(), t.scalar_type()) << name;
      EXPECT_EQ(r.sizes(), t.sizes()) << name;
      EXPECT_TRUE(torch::equal(r, t)) << name;
    }
    EXPECT_EQ(meta.at("k"), "v");
    EXPECT_EQ(meta.at("format"), "pt");
  }

  // Header: 8-byte length, a multiple of 8, JSON with names and offsets.
  auto raw = ReadFileToString(path);
  uint64_t len = 0;
  std::memcpy(&len, raw->data(), 8);
  EXPECT_EQ(len % 8, 0u);
  auto header = ParseJson(raw->substr(8, len), "test");
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ((*header)["f32"]["dtype"].get<std::string>(), "F32");
  EXPECT_EQ((*header)["bf16"]["dtype"].get<std::string>(), "BF16");
  EXPECT_EQ((*header)["bool"]["dtype"].get<std::string>(), "BOOL");
}

TEST_F(SafetensorsTest, ReadsAFileWithoutMetadata) {
  const std::string path =
      WriteRaw("a.safetensors", R"({"x":{"dtype":"I8","shape":[2],"data_offsets":[0,2]}})", 2);
  auto r = ReadSafetensors(path);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->at("x")[1].item<int64_t>(), 1);
}

TEST_F(SafetensorsTest, MappedTensorsAreCopyOnWriteAndOutliveEachOther) {
  const std::string path = Path("w.safetensors");
  torch::Tensor a = torch::arange(4096, torch::kFloat32);  // 4 pages
  torch::Tensor b = torch::arange(10, torch::kFloat32);
  ASSERT_TRUE(WriteSafetensors(path, {{"a", a}, {"b", b}}).ok());
  const std::string before = *ReadFileToString(path);
  torch::Tensor mapped_b;
  {
    auto mapped = MapSafetensors(path);
    ASSERT_TRUE(mapped.ok()) << mapped.status();
    torch::Tensor mapped_a = mapped->at("a");
    mapped_a.mul_(2);  // a private copy of the pages: the file stays
    EXPECT_TRUE(torch::equal(mapped_a, a * 2));
    mapped_b = mapped->at("b");
  }  // "a" freed (its pages given back); "b" still views the mapping
  EXPECT_EQ(*ReadFileToString(path), before);
  EXPECT_TRUE(torch::equal(mapped_b, b));
  auto again = MapSafetensors(path);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(torch::equal(again->at("a"), a));
}

TEST_F(SafetensorsTest, MapsATensorMisalignedForItsDtypeByCopyingIt) {
  // A header not padded to 8: the F32 data starts at an odd byte.
  const std::string header = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} )";
  ASSERT_EQ((8 + header.size()) % 2, 1u) << header.size();
  const std::string path = WriteRaw("odd.safetensors", header, 8);
  auto read = ReadSafetensors(path);
  auto mapped = MapSafetensors(path);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  EXPECT_EQ(reinterpret_cast<uintptr_t>(mapped->at("x").data_ptr()) % 4, 0u);
  EXPECT_TRUE(torch::equal(mapped->at("x"), read->at("x")));
}

TEST_F(SafetensorsTest, RefusesCorruptFiles) {
  ExpectError(Path("missing.safetensors"), StatusCode::kNotFound, "missing");
  {
    ASSERT_TRUE(WriteStringToFile(Path("short"), "abc").ok());
    ExpectError(Path("short"), StatusCode::kDataLoss, "shorter than");
  }
  const std::string ok_header = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  ExpectError(WriteRaw("beyond", ok_header, 8, 1 << 20), StatusCode::kDataLoss, "beyond");
  ExpectError(WriteRaw("json", R"({"x":{"dtype":"F32",)", 8), StatusCode::kDataLoss,
              "bad header JSON");
  ExpectError(WriteRaw("dtype", R"({"x":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}})", 2),
              StatusCode::kInvalidArgument, "\"x\"");
  ExpectError(WriteRaw("size", R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8),
              StatusCode::kDataLoss, "\"x\"");
  ExpectError(WriteRaw("range",
                       R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", 8),
              StatusCode::kDataLoss, "\"x\"");
  ExpectError(WriteRaw("overlap",
                       R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                       R"("y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8),
              StatusCode::kDataLoss, "overlap");
  ExpectError(WriteRaw("gap", R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8),
              StatusCode::kDataLoss, "gap");
  ExpectError(WriteRaw("uncovered", ok_header, 12), StatusCode::kDataLoss, "cover");
  ExpectError(WriteRaw("truncated", ok_header, 5), StatusCode::kDataLoss, "truncated");
  ExpectError(WriteRaw("negative", R"({"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4),
              StatusCode::kDataLoss, "\"x\"");
  ExpectError(WriteRaw("offsets", R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[4]}})", 4),
              StatusCode::kDataLoss, "data_offsets");
  ExpectError(WriteRaw("notobj", R"([1,2])", 0), StatusCode::kDataLoss, "not a JSON object");
}

TEST_F(SafetensorsTest, TruncatingAValidFileIsDetected) {
  const std::string path = Path("model.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, {{"w", torch::ones({10, 10})}}).ok());
  auto raw = ReadFileToString(path);
  ASSERT_TRUE(WriteStringToFile(Path("cut"), raw->substr(0, raw->size() - 1)).ok());
  ExpectError(Path("cut"), StatusCode::kDataLoss, "\"w\"");
}

TEST_F(SafetensorsTest, WriterRejectsBadInput) {
  EXPECT_EQ(WriteSafetensors(Path("u"), {{"x", torch::Tensor()}}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteSafetensors(Path("c"), {{"x", torch::ones({2}, torch::kComplexFloat)}}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteSafetensors(Path("m"), {{"__metadata__", torch::ones({2})}}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(Path("u")));
}

}  // namespace
}  // namespace sasrecllm::model
