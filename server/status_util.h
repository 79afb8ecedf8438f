// Conversions between the model's sasrecllm::Status, absl::Status and
// grpc::Status. All three number their codes the same way (gRPC's canonical
// codes), so the conversions are casts.
#ifndef SASRECLLM_SERVER_STATUS_UTIL_H_
#define SASRECLLM_SERVER_STATUS_UTIL_H_

#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"
#include "base/status.h"

namespace sasrecllm::server {

inline absl::Status FromModelStatus(const ::sasrecllm::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(static_cast<int>(status.code())),
                      status.message());
}

inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(static_cast<int>(status.code())),
                      std::string(status.message()));
}

}  // namespace sasrecllm::server

#endif  // SASRECLLM_SERVER_STATUS_UTIL_H_
