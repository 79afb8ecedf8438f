// The transport limits: validation, and a message larger than the limit is
// refused with RESOURCE_EXHAUSTED before the service sees it (a real server
// on a free port with a stand-in service).
#include "server/connection_limits.h"

#include <atomic>
#include <memory>
#include <string>

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

}  // namespace
}  // namespace sasrecllm::server
