#include "client/load_generator.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "client/util.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace sasrecllm::client {
namespace {

// Answers every request at once; every `reject_every`-th one (0: none) with
// RESOURCE_EXHAUSTED.
class FakeRecommender final : public v1::Recommender::Service {
 public:
  explicit FakeRecommender(int reject_every) : reject_every_(reject_every) {}

  grpc::Status Recommend(grpc::ServerContext* context, const v1::RecommendRequest* request,
                         v1::RecommendResponse* response) override {
    last_history_len_ = request->history_size();
    for (const std::string& id : request->history()) {
      if (id.empty()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "empty item id");
    }
    {
      std::lock_guard<std::mutex> lock(peers_mu_);
      peers_.insert(context->peer());
    }
    if (reject_every_ > 0 && ++calls_ % reject_every_ == 0) {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "queue full");
    }
    response->add_items()->set_item_id("1");
    // The first 5 replies come from "v1", the rest from "v2" (a reload).
    response->set_model_version(++replies_ <= 5 ? "v1" : "v2");
    return grpc::Status::OK;
  }
  grpc::Status Score(grpc::ServerContext*, const v1::ScoreRequest* request,
                     v1::ScoreResponse* response) override {
    for (const std::string& id : request->candidates()) response->add_scores()->set_item_id(id);
    return grpc::Status::OK;
  }

  std::atomic<int> last_history_len_{-1};
  std::mutex peers_mu_;
  std::set<std::string> peers_;  // the client addresses Recommend was called from

 private:
  const int reject_every_;
  std::atomic<int> calls_{0};
  std::atomic<int> replies_{0};
};

class LoadGeneratorTest : public ::testing::Test {
 protected:
  void Start(int reject_every) {
    service_ = std::make_unique<FakeRecommender>(reject_every);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);
    port_ = port;
    stub_ = v1::Recommender::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  static std::vector<std::string> Items() { return {"1", "2", "3", "4", "5"}; }

  std::unique_ptr<FakeRecommender> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Recommender::Stub> stub_;
  int port_ = 0;
};

TEST_F(LoadGeneratorTest, SameSeedGivesTheSamePool) {
  RequestShape shape;
  shape.history_len = 7;
  shape.num_candidates = 3;
  RequestPool a = MakeRequestPool(shape, Items(), 42, 16);
  RequestPool b = MakeRequestPool(shape, Items(), 42, 16);
  ASSERT_EQ(a.recommend.size(), 16u);
  EXPECT_EQ(a.recommend[5].history_size(), 7);
  EXPECT_EQ(a.recommend[5].candidates_size(), 3);
  for (size_t i = 0; i < a.recommend.size(); ++i) {
    EXPECT_EQ(a.recommend[i].SerializeAsString(), b.recommend[i].SerializeAsString());
  }
}

TEST_F(LoadGeneratorTest, ClosedLoopCountsOkRequestsAndLatencies) {
  Start(/*reject_every=*/0);
  RequestShape shape;
  shape.history_len = 4;
  LoadOptions options;
  options.concurrency = 4;
  options.warmup_s = 0.1;
  options.duration_s = 0.5;
  absl::StatusOr<LoadResult> r = RunLoad(stub_.get(), MakeRequestPool(shape, Items(), 1, 8), options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->ok, 10);
  EXPECT_EQ(r->errors, 0);
  EXPECT_EQ(r->latency.count, static_cast<size_t>(r->ok));
  EXPECT_GT(r->latency.p50_ms, 0);
  EXPECT_LE(r->latency.p50_ms, r->latency.p99_ms);
  EXPECT_NEAR(r->throughput_rps, r->ok / 0.5, 1e-6);
  EXPECT_EQ(service_->last_history_len_, 4);
}

TEST_F(LoadGeneratorTest, CountsOkRepliesByModelVersion) {
  Start(/*reject_every=*/0);
  LoadOptions options;
  options.concurrency = 1;
  options.warmup_s = 0;
  options.duration_s = 0.3;
  absl::StatusOr<LoadResult> r =
      RunLoad(stub_.get(), MakeRequestPool(RequestShape(), Items(), 1, 8), options);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_GT(r->ok, 5);
  EXPECT_EQ(r->model_versions["v1"], 5);
  EXPECT_EQ(r->model_versions["v2"], r->ok - 5);
}

TEST_F(LoadGeneratorTest, CountsErrorsByStatusCode) {
  Start(/*reject_every=*/2);
  LoadOptions options;
  options.concurrency = 2;
  options.warmup_s = 0;
  options.duration_s = 0.3;
  absl::StatusOr<LoadResult> r =
      RunLoad(stub_.get(), MakeRequestPool(RequestShape(), Items(), 1, 8), options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->errors, 0);
  EXPECT_EQ(r->codes["RESOURCE_EXHAUSTED"], r->errors);
  EXPECT_EQ(r->codes["OK"], r->ok);
}

TEST_F(LoadGeneratorTest, OpenLoopSendsAtTheRequestedRate) {
  Start(/*reject_every=*/0);
  RequestShape shape;
  shape.method = BenchMethod::kScore;
  shape.num_candidates = 2;
  LoadOptions options;
  options.rate = 200;
  options.warmup_s = 0.1;
  options.duration_s = 0.5;
  absl::StatusOr<LoadResult> r = RunLoad(stub_.get(), MakeRequestPool(shape, Items(), 1, 8), options);
  ASSERT_TRUE(r.ok()) << r.status();
  // 100 sends scheduled in the window; allow for scheduling slack.
  EXPECT_GT(r->ok, 70);
  EXPECT_LT(r->ok, 130);
  EXPECT_NEAR(r->sent_rps, 200, 4);  // every scheduled send was made
  EXPECT_GE(r->send_lag.max_ms, 0);
}

TEST_F(LoadGeneratorTest, InvalidRequestsRefusedAsTheyShouldBeAreExpectedErrors) {
  Start(/*reject_every=*/3);  // every third call RESOURCE_EXHAUSTED: unexpected
  RequestShape shape;
  shape.history_len = 2;
  shape.invalid_every = 4;
  RequestPool pool = MakeRequestPool(shape, Items(), 1, 8);
  EXPECT_EQ(pool.invalid, (std::vector<bool>{false, false, false, true, false, false, false, true}));
  EXPECT_EQ(pool.recommend[3].history_size(), 3);
  EXPECT_EQ(pool.recommend[3].history(2), "");
  LoadOptions options;
  options.warmup_s = 0;
  options.duration_s = 0.3;
  absl::StatusOr<LoadResult> r = RunLoad(stub_.get(), pool, options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->expected_errors, 0);
  EXPECT_EQ(r->codes["INVALID_ARGUMENT"], r->expected_errors);
  // The fake's RESOURCE_EXHAUSTED replies are the only unexpected ones.
  ASSERT_EQ(r->unexpected.size(), 1u);
  EXPECT_GT(r->unexpected["RESOURCE_EXHAUSTED"], 0);
}

TEST_F(LoadGeneratorTest, CallsGoToEveryStubEachOnItsOwnConnection) {
  Start(/*reject_every=*/0);
  GlobalOptions global;
  global.target = "127.0.0.1:" + std::to_string(port_);
  auto first = v1::Recommender::NewStub(MakeChannel(global, 1));
  auto second = v1::Recommender::NewStub(MakeChannel(global, 2));
  LoadOptions options;
  options.concurrency = 2;
  options.warmup_s = 0;
  options.duration_s = 0.3;
  absl::StatusOr<LoadResult> r =
      RunLoad({first.get(), second.get()}, MakeRequestPool(RequestShape(), Items(), 1, 8), options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->ok, 10);
  std::lock_guard<std::mutex> lock(service_->peers_mu_);
  EXPECT_EQ(service_->peers_.size(), 2u);  // two client ports: two connections
}

TEST_F(LoadGeneratorTest, RejectsBadOptionsAndAnEmptyPool) {
  LoadOptions options;
  options.concurrency = 0;
  EXPECT_FALSE(options.Validate().ok());
  LoadOptions ok_options;
  EXPECT_EQ(RunLoad(nullptr, RequestPool(), ok_options).status().code(),
            absl::StatusCode::kInvalidArgument);
  RequestShape score;
  score.method = BenchMethod::kScore;
  EXPECT_FALSE(score.Validate().ok());
}

}  // namespace
}  // namespace sasrecllm::client
