// The service's Prometheus metrics. The names and labels are fixed by
// DESIGN.md section 2 (dashboards and alerts rely on them):
//
//   sasrecllm_requests_total{method,code}            counter, code = gRPC status name
//   sasrecllm_request_duration_seconds{method}       histogram, end to end in the server
//   sasrecllm_queue_duration_seconds{stage}          histogram, time waiting in a stage's queue
//   sasrecllm_batch_size{stage}                      histogram, stage = "sasrec" | "llm"
//   sasrecllm_inference_duration_seconds{stage}      histogram, one batch's model time
//   sasrecllm_queue_depth{stage}                     gauge, requests waiting in a stage's queue
//   sasrecllm_queue_capacity{stage}                  gauge, that queue's size (--max-queue-size)
//   sasrecllm_inflight_requests                      gauge
//   sasrecllm_llm_tokens_total{kind}                 counter, kind = "prefill" | "prefix_reused"
//   sasrecllm_model_info{version,device,dtype}       gauge = 1, the model serving now
//   sasrecllm_model_reloads_total{result}            counter, result = "ok" | "failed"
//   process_cpu_seconds_total, process_resident_memory_bytes,
//   process_start_time_seconds                       from /proc/self (Linux)
//
//   Metrics metrics({.version = "v1", .device = "cpu", .dtype = "float32"});
//   metrics.RecordRequest("Recommend", absl::StatusCode::kOk, absl::Milliseconds(3));
//   absl::StatusOr<int> port = metrics.Serve("0.0.0.0:9464");  // GET /metrics
//
// Thread safety: all methods are thread-safe (prometheus-cpp metrics are atomic).
#ifndef SASRECLLM_SERVER_METRICS_H_
#define SASRECLLM_SERVER_METRICS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace sasrecllm::server {

inline constexpr char kStageSasrec[] = "sasrec";
inline constexpr char kStageLlm[] = "llm";

// process_cpu_seconds_total, process_resident_memory_bytes and
// process_start_time_seconds, read from /proc/self at each scrape (prometheus-cpp
// has no process collector). Yields nothing where /proc is unreadable.
class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

class Metrics {
 public:
  struct ModelInfo {
    std::string version;
    std::string device;
    std::string dtype;
  };

  explicit Metrics(const ModelInfo& model_info);

  // One finished RPC: `method` is the RPC name ("Recommend").
  void RecordRequest(absl::string_view method, absl::StatusCode code, absl::Duration duration);
  // `stage`: the pipeline stage's name (kStageSasrec, kStageLlm, ...).
  void ObserveQueueWait(absl::string_view stage, absl::Duration waited);
  void ObserveBatchSize(absl::string_view stage, size_t size);
  void ObserveInference(absl::string_view stage, absl::Duration duration);
  void SetQueueDepth(absl::string_view stage, size_t depth);
  // Most requests the stage's queue holds (0: the stage does not run here).
  void SetQueueCapacity(absl::string_view stage, size_t capacity);
  void IncrementInflight();
  void DecrementInflight();
  // kind: "prefill" or "prefix_reused".
  void AddLlmTokens(absl::string_view kind, int64_t tokens);
  // A hot reload's outcome. After an ok one, sasrecllm_model_info has the new
  // model's series only (`model_info`), so that a dashboard never shows two.
  void RecordReload(bool ok, const ModelInfo& model_info);

  // Every metric above plus the process metrics, in the text exposition format.
  std::string SerializeText() const;

  // Serves GET /metrics on `address` ("host:port"; port 0 picks a free one)
  // from one background thread until this object is destroyed. Returns the
  // bound port, or UNAVAILABLE when the address cannot be bound. At most once.
  //
  // Not prometheus::Exposer: its civetweb threads get a fixed ~100 KiB stack,
  // and with libtorch's OpenBLAS loaded (60 KiB of static TLS, which glibc
  // carves out of every thread's stack) pthread_create fails with EINVAL. The
  // exposition itself is prometheus-cpp's TextSerializer.
  absl::StatusOr<int> Serve(const std::string& address);

  ~Metrics();

  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<ProcessCollector> process_collector_;
  class HttpServer;
  std::unique_ptr<HttpServer> http_server_;

  prometheus::Family<prometheus::Counter>* requests_total_;
  prometheus::Family<prometheus::Histogram>* request_duration_;
  prometheus::Family<prometheus::Histogram>* queue_duration_;
  prometheus::Family<prometheus::Histogram>* batch_size_;
  prometheus::Family<prometheus::Histogram>* inference_duration_;
  prometheus::Family<prometheus::Gauge>* queue_depth_;
  prometheus::Family<prometheus::Gauge>* queue_capacity_;
  prometheus::Gauge* inflight_;
  prometheus::Family<prometheus::Counter>* llm_tokens_;
  prometheus::Family<prometheus::Gauge>* model_info_;
  prometheus::Family<prometheus::Counter>* model_reloads_;
  absl::Mutex model_info_mu_;
  prometheus::Gauge* model_info_series_ ABSL_GUARDED_BY(model_info_mu_);
};

}  // namespace sasrecllm::server

#endif  // SASRECLLM_SERVER_METRICS_H_
