#include "client/collm_scorer.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace sasrecllm::client {
namespace {

// A file under the test's temporary directory holding `text`.
std::string WriteFile(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

constexpr char kHeader[] = "user_id\titem_id\tlabel\ttimestamp\twarm\thistory\n";

// The parsing itself is base/collm_split.h's (tests/base); here, that its
// rows come out as wire strings and its errors as absl::Status.
TEST(ReadCollmSplitTest, WritesTheSplitsIdsAsWireStrings) {
  const std::string path =
      WriteFile("split.tsv", std::string(kHeader) + "4\t96\t1\t1040544350\t1\t38 39 40\n");
  absl::StatusOr<std::vector<CollmRow>> rows = ReadCollmSplit(path);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 1u);
  const CollmRow& a = (*rows)[0];
  EXPECT_EQ(a.user_id, "4");
  EXPECT_EQ(a.item_id, "96");
  EXPECT_EQ(a.history, (std::vector<std::string>{"38", "39", "40"}));
  EXPECT_TRUE(a.label == 1 && a.warm && a.line == 2);
}

TEST(ReadCollmSplitTest, KeepsTheReadersCodesAndMessages) {
  const std::string label = WriteFile("label.tsv", std::string(kHeader) + "4\t96\t2\t0\t1\t\n");
  const absl::Status s = ReadCollmSplit(label).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find(label + ":2: label must be 0 or 1, got \"2\""), std::string::npos) << s;
  EXPECT_EQ(ReadCollmSplit(::testing::TempDir() + "/missing.tsv").status().code(),
            absl::StatusCode::kNotFound);
}

// Scores item "N" with logit N / 10 and probability N / 100; "unknown*"
// items are not in its catalog; item "fail" answers INVALID_ARGUMENT. Records
// the calls, the longest history and the most calls in flight at once.
class FakeRecommender final : public v1::Recommender::Service {
 public:
  grpc::Status Score(grpc::ServerContext*, const v1::ScoreRequest* request,
                     v1::ScoreResponse* response) override {
    const int now = ++in_flight_;
    int seen = max_in_flight_.load();
    while (now > seen && !max_in_flight_.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
    ++calls_;
    int longest = max_history_.load();
    while (request->history_size() > longest &&
           !max_history_.compare_exchange_weak(longest, request->history_size())) {
    }
    if (request->history_size() > 0) last_history_back_ = std::stoi(request->history().rbegin()[0]);
    --in_flight_;
    response->set_model_version("fake-1");
    response->set_mode(v1::RANKING_MODE_SEQUENTIAL_ONLY);
    response->set_unknown_history_items(1);
    for (const std::string& id : request->candidates()) {
      if (id == "fail") return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no fail items");
      v1::ScoredCandidate* c = response->add_scores();
      c->set_item_id(id);
      int n = 0;
      if (!absl::SimpleAtoi(id, &n)) continue;  // unknown: known stays false
      c->set_known(true);
      c->set_logit(n / 10.0f);
      c->set_probability(n / 100.0f);
    }
    return grpc::Status::OK;
  }

  int delay_ms_ = 0;
  std::atomic<int> calls_{0};
  std::atomic<int> in_flight_{0};
  std::atomic<int> max_in_flight_{0};
  std::atomic<int> max_history_{0};
  std::atomic<int> last_history_back_{0};
};

class ScoreCollmRowsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::Recommender::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                                         grpc::InsecureChannelCredentials()));
  }
  void TearDown() override { server_->Shutdown(); }

  // Row i: user "u<i % 3>", item "<i + 1>", a history of i ids 1..i.
  static std::vector<CollmRow> Rows(int n) {
    std::vector<CollmRow> rows(n);
    for (int i = 0; i < n; ++i) {
      rows[i].user_id = "u" + std::to_string(i % 3);
      rows[i].item_id = std::to_string(i + 1);
      rows[i].label = i % 2;
      rows[i].line = i + 2;
      for (int h = 1; h <= i; ++h) rows[i].history.push_back(std::to_string(h));
    }
    return rows;
  }

  FakeRecommender service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Recommender::Stub> stub_;
};

TEST_F(ScoreCollmRowsTest, AnswersEveryRowInOrder) {
  const std::vector<CollmRow> rows = Rows(40);
  ScoreCollmOptions options;
  options.concurrency = 8;
  absl::StatusOr<ScoreCollmResult> r = ScoreCollmRows(stub_.get(), rows, options, nullptr);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->scores.size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_TRUE(r->scores[i].known);
    EXPECT_FLOAT_EQ(r->scores[i].logit, (i + 1) / 10.0f);
    EXPECT_FLOAT_EQ(r->scores[i].probability, (i + 1) / 100.0f);
  }
  EXPECT_EQ(service_.calls_.load(), 40);
  EXPECT_EQ(r->unknown_items, 0);
  EXPECT_EQ(r->unknown_history, 40);  // the fake reports one per request
  EXPECT_EQ(r->mode, v1::RANKING_MODE_SEQUENTIAL_ONLY);
  EXPECT_EQ(r->model_version, "fake-1");
}

TEST_F(ScoreCollmRowsTest, SendsOnlyTheMostRecentMaxHistoryIds) {
  const std::vector<CollmRow> rows = Rows(12);
  ScoreCollmOptions options;
  options.max_history = 5;
  absl::StatusOr<ScoreCollmResult> r = ScoreCollmRows(stub_.get(), rows, options, nullptr);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(service_.max_history_.load(), 5);
  EXPECT_EQ(r->truncated_histories, 6);  // rows 6..11 have 6..11 ids
  options.concurrency = 1;
  ASSERT_TRUE(ScoreCollmRows(stub_.get(), {rows.back()}, options, nullptr).ok());
  EXPECT_EQ(service_.last_history_back_.load(), 11);  // the newest id is kept
}

TEST_F(ScoreCollmRowsTest, KeepsAtMostConcurrencyRpcsInFlight) {
  service_.delay_ms_ = 5;
  ScoreCollmOptions options;
  options.concurrency = 3;
  ASSERT_TRUE(ScoreCollmRows(stub_.get(), Rows(30), options, nullptr).ok());
  EXPECT_LE(service_.max_in_flight_.load(), 3);
  EXPECT_GE(service_.max_in_flight_.load(), 2);
}

TEST_F(ScoreCollmRowsTest, CountsUnknownItemsWithoutFailing) {
  std::vector<CollmRow> rows = Rows(4);
  rows[2].item_id = "unknown-item";
  absl::StatusOr<ScoreCollmResult> r =
      ScoreCollmRows(stub_.get(), rows, ScoreCollmOptions(), nullptr);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->unknown_items, 1);
  EXPECT_FALSE(r->scores[2].known);
  EXPECT_TRUE(r->scores[3].known);
}

TEST_F(ScoreCollmRowsTest, StopsAtTheFirstFailedRpcNamingItsLine) {
  std::vector<CollmRow> rows = Rows(20);
  rows[5].item_id = "fail";
  ScoreCollmOptions options;
  options.concurrency = 1;
  absl::StatusOr<ScoreCollmResult> r = ScoreCollmRows(stub_.get(), rows, options, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "line 7 (user u2, item fail): no fail items");
  EXPECT_EQ(service_.calls_.load(), 6);  // nothing sent after the failure
}

TEST_F(ScoreCollmRowsTest, ReportsProgressWhileRunning) {
  service_.delay_ms_ = 2;
  ScoreCollmOptions options;
  options.concurrency = 1;
  options.progress_interval_s = 0.005;
  std::vector<ScoreProgress> seen;
  ASSERT_TRUE(ScoreCollmRows(stub_.get(), Rows(30), options, [&](const ScoreProgress& p) {
                seen.push_back(p);
              }).ok());
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.front().total, 30u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end(),
                             [](const auto& a, const auto& b) { return a.done < b.done; }));
}

TEST_F(ScoreCollmRowsTest, RejectsBadOptions) {
  ScoreCollmOptions options;
  options.concurrency = 0;
  EXPECT_EQ(ScoreCollmRows(stub_.get(), Rows(1), options, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sasrecllm::client
