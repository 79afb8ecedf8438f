#include "model/bundle.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "base/file.h"
#include "base/file_digest.h"
#include "tests/base/full_disk.h"
#include "model/safetensors.h"
#include "tests/model/tiny_sasrec.h"

namespace sasrecllm::model {
namespace {

namespace fs = std::filesystem;

class BundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() /
            ("sasrecllm_bundle_" +
             std::string(::testing::UnitTest::GetInstance()->current_test_info()->name())))
               .string();
    fs::remove_all(dir_);
    config_ = testing::TinySasrecConfig(/*item_num=*/6, /*hidden_units=*/8, /*dropout_rate=*/0.5,
                                        /*maxlen=*/5);
    torch::manual_seed(7);
    model_ = Sasrec(config_);
    manifest_.model_version = "test-1";
    manifest_.created_at = "2026-01-01T00:00:00Z";
    manifest_.sasrec = config_;
    manifest_.max_history = 5;
    manifest_.extra["dataset"] = Json("synthetic");
    catalog_ = *Catalog::FromEntries(
        {{1, "a", "A"}, {2, "b", "B"}, {3, "c", ""}, {6, "f", "F"}, {0, "cold", "Cold"}});
    ASSERT_TRUE(WriteBundle(dir_, manifest_, catalog_, model_).ok());
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string File(const std::string& name) const { return dir_ + "/" + name; }

  void ExpectLoadError(const std::string& needle1, const std::string& needle2 = "") {
    auto b = Bundle::Load({dir_});
    ASSERT_FALSE(b.ok());
    EXPECT_NE(b.status().message().find(needle1), std::string::npos) << b.status();
    EXPECT_NE(b.status().message().find(needle2), std::string::npos) << b.status();
  }

  void RewriteManifest(const std::function<void(Json*)>& edit) {
    Json j = manifest_.ToJson();
    edit(&j);
    ASSERT_TRUE(WriteStringToFile(File("manifest.json"), DumpJson(j, 2)).ok());
  }

  std::string dir_;
  SasrecConfig config_;
  Sasrec model_{nullptr};
  BundleManifest manifest_;
  Catalog catalog_;
};

TEST_F(BundleTest, WriteThenLoadGivesIdenticalPredictions) {
  auto b = Bundle::Load({dir_});
  ASSERT_TRUE(b.ok()) << b.status();
  const Bundle& bundle = **b;
  EXPECT_EQ(bundle.manifest().model_version, "test-1");
  EXPECT_EQ(bundle.manifest().created_at, "2026-01-01T00:00:00Z");
  EXPECT_EQ(bundle.manifest().max_history, 5);
  EXPECT_EQ(bundle.manifest().sasrec.hidden_units, 8);
  EXPECT_EQ(bundle.manifest().components, std::vector<std::string>{"sasrec"});
  EXPECT_EQ(bundle.manifest().extra["dataset"].get<std::string>(), "synthetic");
  EXPECT_EQ(bundle.catalog().size(), 5);
  EXPECT_EQ(bundle.catalog().FindById("f")->index, 6);
  EXPECT_FALSE(bundle.sasrec()->is_training());
  model_->eval();
  torch::Tensor seqs = torch::tensor(std::vector<int64_t>{0, 0, 1, 2, 3, 6, 5, 4, 3, 2}).view({2, 5});
  torch::Tensor items = torch::tensor(std::vector<int64_t>{1, 2, 3, 4, 5, 6}).repeat({2, 1});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(model_->Predict(seqs, items), bundle.sasrec()->Predict(seqs, items)));
}

TEST_F(BundleTest, LoadHonoursDtype) {
  BundleLoadOptions options;
  options.dir = dir_;
  options.dtype = torch::kFloat64;
  auto b = Bundle::Load(options);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ((*b)->sasrec()->ItemEmbeddings().scalar_type(), torch::kFloat64);
}

TEST_F(BundleTest, RefusesMissingFiles) {
  for (const char* name : {"manifest.json", "catalog.tsv", "sasrec.safetensors"}) {
    SetUp();
    fs::remove(File(name));
    ExpectLoadError(File(name));
  }
  EXPECT_EQ(Bundle::Load({dir_ + "/nope"}).status().code(), StatusCode::kNotFound);
}

TEST_F(BundleTest, RefusesCorruptSafetensors) {
  auto raw = ReadFileToString(File("sasrec.safetensors"));
  ASSERT_TRUE(WriteStringToFile(File("sasrec.safetensors"), raw->substr(0, raw->size() - 10)).ok());
  ExpectLoadError(File("sasrec.safetensors"), "truncated");
}

TEST_F(BundleTest, RefusesWrongFormatOrVersion) {
  RewriteManifest([](Json* j) { (*j)["format"] = Json("something-else"); });
  ExpectLoadError("manifest.json", "something-else");
  RewriteManifest([](Json* j) { (*j)["format_version"] = Json(99); });
  ExpectLoadError("manifest.json", "format_version 99");
  RewriteManifest([](Json* j) { (*j)["model_version"] = Json(3); });
  ExpectLoadError("manifest.json", "model_version");
  ASSERT_TRUE(WriteStringToFile(File("manifest.json"), "{not json").ok());
  ExpectLoadError("manifest.json", "JSON parse error at byte");
  RewriteManifest([](Json* j) { (*j)["components"] = Json::array(); });
  ExpectLoadError("manifest.json", "sasrec");
}

// An item index entry as `sasrecllm build-index` writes it (the index file's
// contents are model/ann's business; here any bytes do).
Json IndexEntry(const SasrecConfig& config) {
  return Json{{"kind", "faiss"},        {"file", "item_index.faiss"},
              {"factory", "Flat"},      {"metric", "inner_product"},
              {"items", config.item_num}, {"dim", config.hidden_units},
              {"search_params", ""}};
}

TEST_F(BundleTest, UpdateBundleAddsAnItemIndexAsFormatVersion2AndKeepsTheRest) {
  EXPECT_EQ(ReadJsonFile(File("manifest.json"))->at("format_version").get<int>(), 1);
  const auto weights_before = ReadFileToString(File("sasrec.safetensors"));
  BundleManifest updated = (*Bundle::Load({dir_}))->manifest();
  updated.item_index = IndexEntry(config_);
  ASSERT_TRUE(UpdateBundle(dir_, updated, [](const std::string& staging) {
                return WriteStringToFile(staging + "/item_index.faiss", "index bytes");
              }).ok());
  auto b = Bundle::Load({dir_});
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ((*b)->manifest().format_version(), 2);
  EXPECT_EQ(ReadJsonFile(File("manifest.json"))->at("format_version").get<int>(), 2);
  EXPECT_EQ((*b)->item_index_path(), File("item_index.faiss"));
  EXPECT_EQ(*ReadFileToString(File("sasrec.safetensors")), *weights_before);
  EXPECT_EQ((*b)->catalog().size(), 5);
  // The index file is in "files": a changed byte is caught like any other.
  ASSERT_TRUE(WriteStringToFile(File("item_index.faiss"), "index bytez").ok());
  ExpectLoadError("item_index.faiss", "SHA-256");
}

TEST_F(BundleTest, UpdateBundleFailingLeavesTheBundleAsItWas) {
  const auto manifest_before = ReadFileToString(File("manifest.json"));
  BundleManifest updated = (*Bundle::Load({dir_}))->manifest();
  updated.item_index = IndexEntry(config_);
  Status s = UpdateBundle(dir_, updated, [](const std::string&) {
    return DataLossError("disk full");
  });
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_EQ(*ReadFileToString(File("manifest.json")), *manifest_before);
  EXPECT_FALSE(fs::exists(File("item_index.faiss")));
  EXPECT_TRUE(Bundle::Load({dir_}).ok());
}

TEST_F(BundleTest, RefusesAnItemIndexThatDoesNotFitTheModelOrTheFormat) {
  // The manifest as written, with its "files" (RewriteManifest's has none).
  Json written = *ReadJsonFile(File("manifest.json"));
  written["format_version"] = Json(2);
  written["item_index"] = IndexEntry(config_);
  ASSERT_TRUE(WriteStringToFile(File("manifest.json"), DumpJson(written, 2)).ok());
  ExpectLoadError("item_index.faiss", "missing");
  RewriteManifest([&](Json* j) {
    (*j)["format_version"] = Json(2);
    (*j)["item_index"] = IndexEntry(config_);
    (*j).erase("files");
  });
  ExpectLoadError("manifest.json", "needs the \"files\" list");
  RewriteManifest([&](Json* j) {
    (*j)["item_index"] = IndexEntry(config_);  // format_version 1
  });
  ExpectLoadError("manifest.json", "needs format_version 2");
  RewriteManifest([&](Json* j) {
    (*j)["format_version"] = Json(2);
    Json index = IndexEntry(config_);
    index["items"] = Json(config_.item_num + 1);
    (*j)["item_index"] = index;
  });
  ExpectLoadError("manifest.json", "covers 7 items");
  RewriteManifest([&](Json* j) {
    (*j)["format_version"] = Json(2);
    Json index = IndexEntry(config_);
    index["file"] = Json("../elsewhere.faiss");
    (*j)["item_index"] = index;
  });
  ExpectLoadError("manifest.json", "plain file name");
  RewriteManifest([&](Json* j) {
    (*j)["format_version"] = Json(2);
    Json index = IndexEntry(config_);
    index["kind"] = Json("annoy");
    (*j)["item_index"] = index;
  });
  ExpectLoadError("manifest.json", "annoy");
}

TEST_F(BundleTest, RefusesShapesThatDisagreeWithTheManifest) {
  RewriteManifest([](Json* j) {
    Json s = (*j)["sasrec"];
    s["hidden_units"] = Json(4);  // smaller: within what the file holds
    (*j)["sasrec"] = s;
  });
  ExpectLoadError("sasrec.safetensors", "item_emb.weight");
  RewriteManifest([](Json* j) {
    Json s = (*j)["sasrec"];
    s["num_blocks"] = Json(1);
    (*j)["sasrec"] = s;
  });
  ExpectLoadError("sasrec.safetensors", "unexpected tensor");
}

TEST_F(BundleTest, AManifestCannotClaimAModelBiggerThanItsWeights) {
  // 10^12 items x 8 would be 32 TB of embeddings: refused before allocation.
  RewriteManifest([](Json* j) {
    Json s = (*j)["sasrec"];
    s["item_num"] = Json(int64_t{1000000000000});
    (*j)["sasrec"] = s;
  });
  ExpectLoadError("sasrec.safetensors holds", "needs at least");
}

TEST_F(BundleTest, RefusesCatalogIndicesBeyondItemNum) {
  ASSERT_TRUE(WriteStringToFile(File("catalog.tsv"), "index\titem_id\ttitle\n1\ta\tA\n7\tg\tG\n").ok());
  RewriteManifest([](Json*) {});  // no "files": past the integrity check, to the catalog's
  ExpectLoadError("catalog.tsv", "index 7");
  auto big = Catalog::FromEntries({{9, "x", ""}});
  EXPECT_FALSE(WriteBundle(dir_, manifest_, *big, model_).ok());
}

TEST_F(BundleTest, TheManifestListsEveryFileWithItsSha256) {
  auto b = Bundle::Load({dir_});
  ASSERT_TRUE(b.ok()) << b.status();
  const Json& files = (*b)->manifest().files;
  ASSERT_TRUE(files.is_object());
  EXPECT_EQ(files.size(), 2u);
  for (const char* name : {"catalog.tsv", "sasrec.safetensors"}) {
    auto d = DigestFile(File(name));
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(files[name]["bytes"].get<int64_t>(), d->bytes) << name;
    EXPECT_EQ(files[name]["sha256"].get<std::string>(), d->sha256) << name;
  }
}

// Each listed file missing, one byte short, or with one byte changed: the
// load fails, naming the file, before anything is parsed.
TEST_F(BundleTest, AMissingTruncatedOrCorruptedFileIsRefusedByName) {
  for (const char* name : {"catalog.tsv", "sasrec.safetensors"}) {
    for (const char* fault : {"missing", "truncated", "corrupted"}) {
      SCOPED_TRACE(std::string(name) + " " + fault);
      SetUp();
      const std::string path = File(name);
      std::string bytes = *ReadFileToString(path);
      if (std::string(fault) == "missing") {
        fs::remove(path);
      } else if (std::string(fault) == "truncated") {
        ASSERT_TRUE(WriteStringToFile(path, bytes.substr(0, bytes.size() - 1)).ok());
      } else {
        bytes[bytes.size() / 2] ^= 0x01;
        ASSERT_TRUE(WriteStringToFile(path, bytes).ok());
      }
      auto b = Bundle::Load({dir_});
      ASSERT_FALSE(b.ok());
      EXPECT_NE(b.status().message().find(path), std::string::npos) << b.status();
      const std::string expected = std::string(fault) == "missing"     ? "missing"
                                   : std::string(fault) == "truncated" ? "bytes, but manifest.json says"
                                                                       : "SHA-256";
      EXPECT_NE(b.status().message().find(expected), std::string::npos) << b.status();
    }
  }
}

TEST_F(BundleTest, ListedPathsCannotLeaveTheBundle) {
  const std::string digest = std::string(64, '0');
  for (const char* bad : {"../catalog.tsv", "/etc/passwd", "llm//x", "llm/../../x", ""}) {
    RewriteManifest([&](Json* j) {
      (*j)["files"] = Json::object();
      (*j)["files"][bad] = {{"bytes", 1}, {"sha256", digest}};
    });
    auto b = Bundle::Load({dir_});
    EXPECT_EQ(b.status().code(), StatusCode::kInvalidArgument) << bad << ": " << b.status();
    EXPECT_NE(b.status().message().find("files"), std::string::npos) << b.status();
  }
  RewriteManifest([&](Json* j) { (*j)["files"] = {{"catalog.tsv", {{"bytes", 1}}}}; });
  ExpectLoadError("catalog.tsv", "expected {\"bytes\"");
}

TEST_F(BundleTest, MaxHistoryIsBounded) {
  for (int64_t bad : {int64_t{0}, int64_t{-1}, kMaxHistoryLimit + 1, int64_t{1} << 40}) {
    RewriteManifest([&](Json* j) {
      j->erase("files");
      (*j)["max_history"] = bad;
    });
    ExpectLoadError("max_history " + std::to_string(bad), "must be in [1, 10000]");
  }
  RewriteManifest([&](Json* j) {
    j->erase("files");
    (*j)["max_history"] = kMaxHistoryLimit;
  });
  auto b = Bundle::Load({dir_});
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->get()->manifest().max_history, kMaxHistoryLimit);
}

TEST_F(BundleTest, ALinkOutOfTheBundleIsRefused) {
  // A bundle without "files" (written by hand) is not digest-checked, so the
  // link itself must be refused: its catalog.tsv made a link to a file outside.
  RewriteManifest([&](Json* j) { j->erase("files"); });
  const std::string outside = dir_ + "-outside.tsv";
  fs::copy_file(File("catalog.tsv"), outside, fs::copy_options::overwrite_existing);
  fs::remove(File("catalog.tsv"));
  fs::create_symlink(outside, File("catalog.tsv"));
  ExpectLoadError("catalog.tsv", "outside");
  // The same file linked from inside the bundle loads.
  fs::remove(File("catalog.tsv"));
  fs::copy_file(outside, File("catalog-real.tsv"));
  fs::create_symlink("catalog-real.tsv", File("catalog.tsv"));
  auto b = Bundle::Load({dir_});
  EXPECT_TRUE(b.ok()) << b.status();
  fs::remove(outside);
}

TEST_F(BundleTest, AFullDiskDuringExportLeavesThePreviousBundle) {
  std::map<std::string, std::string> before;
  for (const char* name : {"manifest.json", "catalog.tsv", "sasrec.safetensors"}) {
    before[name] = *ReadFileToString(File(name));
  }
  BundleManifest next = manifest_;
  next.model_version = "test-2";
  Status s;
  {
    sasrecllm::testing::ScopedFullDisk full(/*bytes=*/256);  // less than sasrec.safetensors
    s = WriteBundle(dir_, next, catalog_, model_);
  }
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("File too large"), std::string::npos) << s;
  for (const auto& [name, bytes] : before) EXPECT_EQ(*ReadFileToString(File(name)), bytes) << name;
  int entries = 0;
  for (const auto& e : fs::directory_iterator(fs::path(dir_).parent_path())) {
    if (e.path().filename().string().rfind(fs::path(dir_).filename().string(), 0) == 0) ++entries;
  }
  EXPECT_EQ(entries, 1) << "a staging folder was left beside the bundle";
  auto b = Bundle::Load({dir_});
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ((*b)->manifest().model_version, "test-1");
  // With room again, the same export replaces it.
  ASSERT_TRUE(WriteBundle(dir_, next, catalog_, model_).ok());
  EXPECT_EQ((*Bundle::Load({dir_}))->manifest().model_version, "test-2");
}

TEST_F(BundleTest, AFolderThatIsNotABundleIsNotReplaced) {
  const std::string other = dir_ + "-other";
  fs::create_directories(other);
  ASSERT_TRUE(WriteStringToFile(other + "/notes.txt", "mine").ok());
  const Status s = WriteBundle(other, manifest_, catalog_, model_);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s;
  EXPECT_EQ(*ReadFileToString(other + "/notes.txt"), "mine");
  fs::remove_all(other);
}

}  // namespace
}  // namespace sasrecllm::model
