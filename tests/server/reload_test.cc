// Hot reload (RecommenderService::Reload) over a real channel: two tiny random
// bundles that differ in version, catalog titles and history limit, served
// in-process; reloads alone, under concurrent load and refused.
#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/sasrecllm.grpc.pb.h"
#include "server/metrics.h"
#include "server/recommender_service.h"
#include "tests/server/test_server.h"

namespace sasrecllm::server {
namespace {

using ::testing::HasSubstr;

constexpr int kItems = 20;

class ReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / absl::StrCat("reload_test_", getpid());
    // v1: titles "Old i", history up to 8; v2: titles "New i", history up to 12.
    for (auto [version, prefix, max_history] :
         {std::tuple{"v1", "Old", 8}, std::tuple{"v2", "New", 12}}) {
      testing::TinyBundleOptions options{
          (dir_ / version).string(), version, kItems, max_history,
          [prefix = std::string(prefix)](int i) { return absl::StrCat(prefix, " ", i); }, "cold"};
      auto bundle = testing::WriteTinyBundle(options);
      ASSERT_TRUE(bundle.ok()) << bundle.status();
      bundles_[version] = *bundle;
    }
    metrics_ = std::make_unique<Metrics>(Metrics::ModelInfo{"v1", "cpu", "float32"});
    ServiceOptions options;
    options.batcher.max_batch_size = 4;
    auto service = RecommenderService::Create(options, bundles_["v1"], metrics_.get());
    ASSERT_TRUE(service.ok()) << service.status();
    auto server = testing::InProcessServer::Start(std::move(service).value());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server).value();
  }

  void TearDown() override {
    server_.reset();
    metrics_.reset();
    std::filesystem::remove_all(dir_);
  }

  // One Recommend with history {"i1"}; its reply in *response.
  grpc::Status RecommendOnce(v1::Recommender::Stub& stub, v1::RecommendResponse* response) {
    v1::RecommendRequest request;
    request.add_history("i1");
    request.set_top_k(3);
    return testing::CallRecommend(stub, request, response);
  }

  RecommenderService& service() { return server_->service(); }

  std::filesystem::path dir_;
  std::map<std::string, std::shared_ptr<const model::Bundle>> bundles_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<testing::InProcessServer> server_;
};

TEST_F(ReloadTest, CallsAfterAReloadAreServedByTheNewBundle) {
  auto stub = server_->NewStub();
  v1::RecommendResponse before;
  ASSERT_TRUE(RecommendOnce(*stub, &before).ok());
  EXPECT_EQ(before.model_version(), "v1");
  EXPECT_THAT(before.items(0).title(), HasSubstr("Old"));

  ASSERT_TRUE(service().Reload(bundles_["v2"], nullptr).ok());
  EXPECT_EQ(service().model_version(), "v2");

  v1::RecommendResponse after;
  ASSERT_TRUE(RecommendOnce(*stub, &after).ok());
  EXPECT_EQ(after.model_version(), "v2");
  EXPECT_THAT(after.items(0).title(), HasSubstr("New"));  // the new catalog
  v1::GetModelInfoResponse info;
  grpc::ClientContext context;
  ASSERT_TRUE(stub->GetModelInfo(&context, {}, &info).ok());
  EXPECT_EQ(info.model_version(), "v2");
  EXPECT_EQ(info.max_history(), 12);  // the new manifest's limit
}

TEST_F(ReloadTest, ThreeReloadsUnderConcurrentLoadFailNoCall) {
  std::atomic<bool> stop{false};
  absl::Mutex mu;
  std::map<std::string, int> by_version;  // guarded by mu
  std::vector<std::string> failures;      // guarded by mu
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      auto stub = server_->NewStub();
      while (!stop.load()) {
        v1::RecommendResponse response;
        const grpc::Status status = RecommendOnce(*stub, &response);
        absl::MutexLock lock(&mu);
        if (status.ok()) {
          ++by_version[response.model_version()];
        } else {
          failures.push_back(status.error_message());
        }
      }
    });
  }
  auto served = [&](const std::string& version) {
    absl::MutexLock lock(&mu);
    return by_version[version];
  };
  const std::vector<std::string> sequence = {"v2", "v1", "v2"};
  for (const std::string& version : sequence) {
    const int before = served(version);
    ASSERT_TRUE(service().Reload(bundles_[version], nullptr).ok());
    // The load keeps going on the new model.
    for (int i = 0; i < 2000 && served(version) < before + 20; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_GE(served(version), before + 20) << version;
  }
  stop.store(true);
  for (auto& c : clients) c.join();
  absl::MutexLock lock(&mu);
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();
  EXPECT_GT(by_version["v1"], 0);
  EXPECT_GT(by_version["v2"], 0);
}

TEST_F(ReloadTest, ARefusedReloadKeepsTheOldModelServing) {
  const absl::Status refused = service().Reload(nullptr, nullptr);
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument) << refused;
  EXPECT_EQ(service().model_version(), "v1");
  auto stub = server_->NewStub();
  v1::RecommendResponse response;
  ASSERT_TRUE(RecommendOnce(*stub, &response).ok());
  EXPECT_EQ(response.model_version(), "v1");
}

TEST_F(ReloadTest, ReloadAfterDrainIsUnavailable) {
  service().Drain();
  EXPECT_EQ(service().Reload(bundles_["v2"], nullptr).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(service().model_version(), "v1");
}

}  // namespace
}  // namespace sasrecllm::server
