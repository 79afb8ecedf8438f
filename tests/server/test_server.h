// Shared set-up of the service tests that go over a real channel
// (recommender_service_test.cc, hybrid_service_test.cc): a tiny random SASRec
// bundle written with model::WriteBundle and loaded, and the service served
// in-process on a free local port.
#ifndef SASRECLLM_TESTS_SERVER_TEST_SERVER_H_
#define SASRECLLM_TESTS_SERVER_TEST_SERVER_H_

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "grpcpp/grpcpp.h"
#include "model/bundle.h"
#include "model/catalog.h"
#include "model/sasrec.h"
#include "proto/sasrecllm.grpc.pb.h"
#include "server/metrics.h"
#include "server/recommender_service.h"

namespace sasrecllm::server::testing {

struct TinyBundleOptions {
  std::string dir;            // written, then loaded
  std::string model_version;  // the manifest's
  int items = 20;             // catalog ids "i1".."iN" for items 1..N
  int max_history = 8;        // SASRec maxlen and the manifest's max_history
  std::function<std::string(int)> title;  // item index -> title
  std::string cold_title;                 // of the catalog entry "cold" (index 0)
};

// Writes a tiny random SASRec bundle (seed 7; 16 hidden units, 1 block, 1
// head) to options.dir and loads it.
inline StatusOr<std::shared_ptr<const model::Bundle>> WriteTinyBundle(
    const TinyBundleOptions& options) {
  torch::manual_seed(7);
  model::SasrecConfig config;
  config.item_num = options.items;
  config.maxlen = options.max_history;
  config.hidden_units = 16;
  config.num_blocks = 1;
  config.num_heads = 1;
  model::Sasrec sasrec(config);
  sasrec->eval();
  std::vector<model::CatalogEntry> entries;
  for (int i = 1; i <= options.items; ++i) {
    entries.push_back({i, absl::StrCat("i", i), options.title(i)});
  }
  entries.push_back({0, "cold", options.cold_title});
  SASRECLLM_ASSIGN_OR_RETURN(auto catalog, model::Catalog::FromEntries(entries));
  model::BundleManifest manifest;
  manifest.model_version = options.model_version;
  manifest.sasrec = config;
  manifest.max_history = options.max_history;
  SASRECLLM_RETURN_IF_ERROR(model::WriteBundle(options.dir, manifest, catalog, sasrec));
  model::BundleLoadOptions load;
  load.dir = options.dir;
  SASRECLLM_ASSIGN_OR_RETURN(auto bundle, model::Bundle::Load(load));
  return std::shared_ptr<const model::Bundle>(std::move(bundle));
}

// A service warmed up and served on 127.0.0.1:<free port>; drained and shut
// down when destroyed.
class InProcessServer {
 public:
  static absl::StatusOr<std::unique_ptr<InProcessServer>> Start(
      std::unique_ptr<RecommenderService> service) {
    if (absl::Status s = service->Warmup(); !s.ok()) return s;
    auto server = std::unique_ptr<InProcessServer>(new InProcessServer());
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service.get());
    server->service_ = std::move(service);
    server->server_ = builder.BuildAndStart();
    if (server->server_ == nullptr || port <= 0) {
      return absl::InternalError("the test server did not start");
    }
    server->target_ = absl::StrCat("127.0.0.1:", port);
    return server;
  }

  ~InProcessServer() {
    if (service_ != nullptr) service_->Drain();
    if (server_ != nullptr) server_->Shutdown();
  }

  const std::string& target() const { return target_; }
  RecommenderService& service() const { return *service_; }
  std::unique_ptr<v1::Recommender::Stub> NewStub() const {
    return v1::Recommender::NewStub(
        grpc::CreateChannel(target_, grpc::InsecureChannelCredentials()));
  }

 private:
  InProcessServer() = default;
  std::unique_ptr<RecommenderService> service_;  // outlives server_
  std::unique_ptr<grpc::Server> server_;
  std::string target_;
};

// Recommend / Score through `stub` with a 30 s deadline.
inline grpc::Status CallRecommend(v1::Recommender::Stub& stub, const v1::RecommendRequest& request,
                                  v1::RecommendResponse* response) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return stub.Recommend(&context, request, response);
}
inline grpc::Status CallScore(v1::Recommender::Stub& stub, const v1::ScoreRequest& request,
                              v1::ScoreResponse* response) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return stub.Score(&context, request, response);
}

// A GoogleTest suite around one in-process server, shared by the suite's tests
// (built once: loading and warm-up are the slow part). `Suite` (CRTP) gives
// each suite its own statics. Its SetUpTestSuite calls WriteSuiteBundle, builds
// a service over the bundle and metrics_, and hands it to StartServer; a
// suite that keeps more statics tears them down after
// ServerSuite::TearDownTestSuite().
template <typename Suite>
class ServerSuite : public ::testing::Test {
 protected:
  // Writes the bundle in a fresh temporary folder `name`_<pid> (options.dir is
  // set here) and creates metrics_ for its model version.
  static StatusOr<std::shared_ptr<const model::Bundle>> WriteSuiteBundle(
      const std::string& name, TinyBundleOptions options) {
    dir_ = (std::filesystem::temp_directory_path() / absl::StrCat(name, "_", getpid())).string();
    options.dir = dir_;
    metrics_ =
        std::make_unique<Metrics>(Metrics::ModelInfo{options.model_version, "cpu", "float32"});
    return WriteTinyBundle(options);
  }

  static void StartServer(absl::StatusOr<std::unique_ptr<RecommenderService>> service) {
    ASSERT_TRUE(service.ok()) << service.status();
    auto server = InProcessServer::Start(std::move(service).value());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server).value();
  }

  static void TearDownTestSuite() {
    server_.reset();  // drains the service, which records into metrics_
    metrics_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr) << "suite set-up failed";
    stub_ = server_->NewStub();
  }

  grpc::Status Recommend(const v1::RecommendRequest& request, v1::RecommendResponse* response) {
    return CallRecommend(*stub_, request, response);
  }
  grpc::Status Score(const v1::ScoreRequest& request, v1::ScoreResponse* response) {
    return CallScore(*stub_, request, response);
  }

  inline static std::string dir_;
  inline static std::unique_ptr<Metrics> metrics_;
  inline static std::unique_ptr<InProcessServer> server_;
  std::unique_ptr<v1::Recommender::Stub> stub_;
};

}  // namespace sasrecllm::server::testing

#endif  // SASRECLLM_TESTS_SERVER_TEST_SERVER_H_
