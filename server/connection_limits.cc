#include "server/connection_limits.h"

#include <limits>
#include <string>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "grpc/grpc.h"

namespace sasrecllm::server {

absl::Status ConnectionLimits::Validate() const {
  for (const auto& [name, value, min] :
       {std::tuple{"max_message_bytes", max_message_bytes, 1},
        std::tuple{"max_concurrent_streams", max_concurrent_streams, 1},
        std::tuple{"min_ping_interval_ms", min_ping_interval_ms, 0},
        std::tuple{"max_ping_strikes", max_ping_strikes, 0},
        std::tuple{"max_connection_age_s", max_connection_age_s, 0},
        std::tuple{"max_connection_age_grace_s", max_connection_age_grace_s, 0}}) {
    if (value < min) {
      return absl::InvalidArgumentError(absl::StrCat(name, " must be >= ", min, ", got ", value));
    }
  }
  // In milliseconds they must fit gRPC's int arguments.
  constexpr int kMaxSeconds = std::numeric_limits<int>::max() / 1000;
  for (const auto& [name, value] : {std::pair{"max_connection_age_s", max_connection_age_s},
                                    std::pair{"max_connection_age_grace_s",
                                              max_connection_age_grace_s}}) {
    if (value > kMaxSeconds) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " must be <= ", kMaxSeconds, ", got ", value));
    }
  }
  return absl::OkStatus();
}

void ApplyConnectionLimits(const ConnectionLimits& limits, grpc::ServerBuilder* builder) {
  builder->SetMaxReceiveMessageSize(limits.max_message_bytes);
  builder->AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, limits.max_concurrent_streams);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                              limits.min_ping_interval_ms);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, limits.max_ping_strikes);
  if (limits.max_connection_age_s > 0) {
    builder->AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                                limits.max_connection_age_s * 1000);
    builder->AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                                limits.max_connection_age_grace_s * 1000);
  }
}

}  // namespace sasrecllm::server
