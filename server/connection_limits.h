// Limits on what a client controls at the transport: message size, streams
// per connection, keepalive pings, connection age. Each is a server flag
// with a safe default (server_flags.h); Apply sets them on a ServerBuilder.
// The request's own limits (history length, candidates, top_k) are
// validation.h's.
//
//   ConnectionLimits limits;                 // the defaults
//   limits.max_message_bytes = 1 << 20;
//   ApplyConnectionLimits(limits, &builder);  // before BuildAndStart
//
// Thread safety: a value type; Apply before the server starts.
#ifndef SASRECLLM_SERVER_CONNECTION_LIMITS_H_
#define SASRECLLM_SERVER_CONNECTION_LIMITS_H_

#include "absl/status/status.h"
#include "grpcpp/server_builder.h"

namespace sasrecllm::server {

struct ConnectionLimits {
  // Largest request message; a larger one is answered RESOURCE_EXHAUSTED
  // before it is parsed. 1 MiB holds 1000 candidates of 1 KiB ids. Default: 1 MiB.
  int max_message_bytes = 1 << 20;
  // Most calls in flight on one HTTP/2 connection; more wait for a free
  // stream on the client side. Default: 256.
  int max_concurrent_streams = 256;
  // The shortest interval (ms) between a client's pings while the server
  // sends it nothing; pings faster than this count as strikes. (On a
  // connection with no call at all, gRPC counts every ping as a strike.)
  // Default: 10000.
  int min_ping_interval_ms = 10000;
  // Strikes before the server closes the connection with GOAWAY
  // ENHANCE_YOUR_CALM ("too_many_pings"); 0 = no limit. Default: 2.
  int max_ping_strikes = 2;
  // A connection older than this (s) is sent GOAWAY, so that clients spread
  // over replicas added since; 0 = no limit. Default: 1800 (30 minutes).
  int max_connection_age_s = 1800;
  // What calls still running on such a connection get to finish (s). Default: 60.
  int max_connection_age_grace_s = 60;

  // INVALID_ARGUMENT naming the first field out of range.
  absl::Status Validate() const;
};

// Sets `limits` (valid) on `builder` as gRPC channel arguments.
void ApplyConnectionLimits(const ConnectionLimits& limits, grpc::ServerBuilder* builder);

}  // namespace sasrecllm::server

#endif  // SASRECLLM_SERVER_CONNECTION_LIMITS_H_
