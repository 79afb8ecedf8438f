// The transport limits, against a real server on a free port with a
// stand-in service: validation; a message larger than the limit is refused
// with RESOURCE_EXHAUSTED before the service sees it; a client pinging too
// often and a connection past its maximum age are disconnected.
#include "server/connection_limits.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/sasrecllm.grpc.pb.h"

namespace sasrecllm::server {
namespace {

using ::testing::HasSubstr;

// Answers every Recommend with no items, counting the calls it saw.
class CountingRecommender final : public v1::Recommender::Service {
 public:
  grpc::Status Recommend(grpc::ServerContext*, const v1::RecommendRequest*,
                         v1::RecommendResponse*) override {
    ++calls;
    return grpc::Status::OK;
  }
  std::atomic<int> calls{0};
};

TEST(ConnectionLimitsTest, DefaultsAreValidAndBadValuesAreNamed) {
  EXPECT_TRUE(ConnectionLimits().Validate().ok());
  ConnectionLimits limits;
  limits.max_concurrent_streams = 0;
  EXPECT_THAT(limits.Validate().message(), HasSubstr("max_concurrent_streams"));
  limits = ConnectionLimits();
  limits.max_connection_age_s = 3000000;  // overflows int milliseconds
  EXPECT_THAT(limits.Validate().message(), HasSubstr("max_connection_age_s"));
}

TEST(ConnectionLimitsTest, AMessageOverTheLimitIsResourceExhaustedBeforeTheService) {
  CountingRecommender service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  ConnectionLimits limits;
  limits.max_message_bytes = 1024;
  ApplyConnectionLimits(limits, &builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  auto stub = v1::Recommender::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));

  for (const auto& [id_bytes, ok] : {std::pair{500, true}, std::pair{2000, false}}) {
    v1::RecommendRequest request;
    request.set_user_id(std::string(id_bytes, 'u'));
    v1::RecommendResponse response;
    grpc::ClientContext context;
    const grpc::Status status = stub->Recommend(&context, request, &response);
    if (ok) {
      EXPECT_TRUE(status.ok()) << status.error_message();
    } else {
      EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
          << status.error_message();
    }
  }
  EXPECT_EQ(service.calls.load(), 1);
  server->Shutdown();
}

// A server on a free port with `limits` and a stand-in service.
struct LimitedServer {
  explicit LimitedServer(const ConnectionLimits& limits) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service);
    ApplyConnectionLimits(limits, &builder);
    server = builder.BuildAndStart();
  }
  ~LimitedServer() {
    if (server) server->Shutdown();
  }
  // A connected channel to it with the client's `args`.
  std::shared_ptr<grpc::Channel> Connect(const grpc::ChannelArguments& args) const {
    auto channel = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                             grpc::InsecureChannelCredentials(), args);
    EXPECT_TRUE(channel->WaitForConnected(std::chrono::system_clock::now() +
                                          std::chrono::seconds(10)));
    return channel;
  }

  CountingRecommender service;
  int port = 0;
  std::unique_ptr<grpc::Server> server;
};

// Whether `channel` leaves READY (the server closed its connection) within `wait`.
bool LeavesReadyWithin(grpc::Channel* channel, std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    if (channel->GetState(/*try_to_connect=*/false) != GRPC_CHANNEL_READY) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// A client that pings every 100 ms on a connection with no call gets GOAWAY
// ("too_many_pings") after --keepalive-max-ping-strikes (2) bad pings; a
// server with the strikes limit off (0) keeps the same client connected.
TEST(ConnectionLimitsTest, AClientPingingTooOftenIsDisconnectedAfterItsStrikes) {
  ConnectionLimits tolerant_limits;
  tolerant_limits.max_ping_strikes = 0;  // gRPC: no limit
  LimitedServer strict{ConnectionLimits()};
  LimitedServer tolerant{tolerant_limits};
  ASSERT_NE(strict.server, nullptr);
  ASSERT_NE(tolerant.server, nullptr);
  grpc::ChannelArguments pinging;
  pinging.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 100);
  pinging.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  pinging.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  pinging.SetInt(GRPC_ARG_HTTP2_MIN_SENT_PING_INTERVAL_WITHOUT_DATA_MS, 100);
  auto to_strict = strict.Connect(pinging);
  auto to_tolerant = tolerant.Connect(pinging);
  EXPECT_TRUE(LeavesReadyWithin(to_strict.get(), std::chrono::seconds(5)));
  EXPECT_EQ(to_tolerant->GetState(false), GRPC_CHANNEL_READY);
}

// A connection older than --max-connection-age-s gets GOAWAY (here after
// 1 s, +-10% jitter); the client reconnects for its next call. A server with
// the default age (30 minutes) keeps its connection meanwhile.
TEST(ConnectionLimitsTest, AConnectionOlderThanTheMaxAgeIsClosedAndTheClientReconnects) {
  ConnectionLimits short_lived;
  short_lived.max_connection_age_s = 1;
  short_lived.max_connection_age_grace_s = 1;
  LimitedServer aging{short_lived};
  LimitedServer lasting{ConnectionLimits()};
  ASSERT_NE(aging.server, nullptr);
  ASSERT_NE(lasting.server, nullptr);
  auto to_aging = aging.Connect(grpc::ChannelArguments());
  auto to_lasting = lasting.Connect(grpc::ChannelArguments());
  EXPECT_TRUE(LeavesReadyWithin(to_aging.get(), std::chrono::seconds(5)));
  EXPECT_EQ(to_lasting->GetState(false), GRPC_CHANNEL_READY);
  auto stub = v1::Recommender::NewStub(to_aging);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::RecommendResponse response;
  EXPECT_TRUE(stub->Recommend(&context, v1::RecommendRequest(), &response).ok());
}

}  // namespace
}  // namespace sasrecllm::server
