#include "server/metrics.h"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include <cerrno>
#include <cstring>
#include <exception>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "prometheus/text_serializer.h"

namespace sasrecllm::server {
namespace {

// Seconds, from 0.25 ms to ~131 s: hybrid requests on CPU take seconds and,
// queued behind a full LLM stage, tens of seconds; the top buckets keep
// their quantiles measurable instead of pinned at the last bound.
prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  return {0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016,  0.032,  0.064,  0.128,
          0.256,   0.512,  1.024, 2.048, 4.096, 8.192, 16.384, 32.768, 65.536, 131.072};
}

// Requests (or sequences) per batch, 1 to 1024.
prometheus::Histogram::BucketBoundaries BatchSizeBuckets() {
  return {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
}

prometheus::MetricFamily OneValue(const std::string& name, const std::string& help,
                                  prometheus::MetricType type, double value) {
  prometheus::MetricFamily family;
  family.name = name;
  family.help = help;
  family.type = type;
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(metric);
  return family;
}

}  // namespace

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  std::vector<prometheus::MetricFamily> families;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page_size = static_cast<double>(sysconf(_SC_PAGESIZE));

  // /proc/self/stat: "pid (comm) state ..."; comm may hold spaces, so split
  // after the last ')'. Fields after it start at field 3 (state).
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');
  if (paren != std::string::npos && ticks > 0) {
    std::vector<std::string> fields =
        absl::StrSplit(stat.substr(paren + 2), ' ', absl::SkipEmpty());
    // Field n (1-based, man 5 proc) is fields[n - 3]: utime 14, stime 15, starttime 22.
    if (fields.size() > 19) {
      const double utime = std::stod(fields[14 - 3]);
      const double stime = std::stod(fields[15 - 3]);
      families.push_back(OneValue("process_cpu_seconds_total",
                                  "Total user and system CPU time spent in seconds.",
                                  prometheus::MetricType::Counter, (utime + stime) / ticks));
      const double start_ticks = std::stod(fields[22 - 3]);
      std::ifstream proc_stat("/proc/stat");
      std::string line;
      while (std::getline(proc_stat, line)) {
        if (line.rfind("btime ", 0) == 0) {
          const double boot_time = std::stod(line.substr(6));
          families.push_back(OneValue("process_start_time_seconds",
                                      "Start time of the process since unix epoch in seconds.",
                                      prometheus::MetricType::Gauge,
                                      boot_time + start_ticks / ticks));
          break;
        }
      }
    }
  }

  // /proc/self/statm: size resident shared ... (in pages).
  std::ifstream statm("/proc/self/statm");
  double size_pages = 0, resident_pages = 0;
  if (statm >> size_pages >> resident_pages) {
    families.push_back(OneValue("process_resident_memory_bytes", "Resident memory size in bytes.",
                                prometheus::MetricType::Gauge, resident_pages * page_size));
    families.push_back(OneValue("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                                prometheus::MetricType::Gauge, size_pages * page_size));
  }
  return families;
}

namespace {

// The metric family `name` built by `builder`, registered in `registry`.
template <typename Builder>
auto& Family(Builder builder, const char* name, const char* help, prometheus::Registry& registry) {
  return builder.Name(name).Help(help).Register(registry);
}

prometheus::Labels ModelInfoLabels(const Metrics::ModelInfo& info) {
  return {{"version", info.version}, {"device", info.device}, {"dtype", info.dtype}};
}

}  // namespace

Metrics::Metrics(const ModelInfo& model_info)
    : registry_(std::make_shared<prometheus::Registry>()),
      process_collector_(std::make_shared<ProcessCollector>()) {
  requests_total_ = &Family(prometheus::BuildCounter(), "sasrecllm_requests_total",
                            "Finished RPCs by method and gRPC status code.", *registry_);
  request_duration_ = &Family(prometheus::BuildHistogram(), "sasrecllm_request_duration_seconds",
                              "RPC duration in the server, from arrival to finish.", *registry_);
  queue_duration_ = &Family(prometheus::BuildHistogram(), "sasrecllm_queue_duration_seconds",
                            "Time a request waited in a stage's queue.", *registry_);
  batch_size_ =
      &Family(prometheus::BuildHistogram(), "sasrecllm_batch_size",
              "Batch size per model call (requests for sasrec, sequences for llm).", *registry_);
  inference_duration_ =
      &Family(prometheus::BuildHistogram(), "sasrecllm_inference_duration_seconds",
              "Model time of one batch.", *registry_);
  queue_depth_ = &Family(prometheus::BuildGauge(), "sasrecllm_queue_depth",
                         "Requests waiting in a stage's queue.", *registry_);
  queue_capacity_ = &Family(prometheus::BuildGauge(), "sasrecllm_queue_capacity",
                            "Most requests a stage's queue holds (0: the stage is off).",
                            *registry_);
  inflight_ = &Family(prometheus::BuildGauge(), "sasrecllm_inflight_requests",
                      "RPCs accepted and not yet finished.", *registry_)
                   .Add({});
  llm_tokens_ =
      &Family(prometheus::BuildCounter(), "sasrecllm_llm_tokens_total",
              "LLM prompt tokens: computed (prefill) or reused from a shared prefix.", *registry_);
  model_info_ = &Family(prometheus::BuildGauge(), "sasrecllm_model_info",
                        "The model serving now (always 1).", *registry_);
  model_info_series_ = &model_info_->Add(ModelInfoLabels(model_info));
  model_info_series_->Set(1);
  model_reloads_ = &Family(prometheus::BuildCounter(), "sasrecllm_model_reloads_total",
                           "Hot reloads of the model bundle by result (ok, failed).", *registry_);
  // Both exported at 0: increase() and the alert see the first failure.
  for (const char* result : {"ok", "failed"}) model_reloads_->Add({{"result", result}});

  // Create the children that always exist so that they are exported at zero.
  for (const char* stage : {kStageSasrec, kStageLlm}) {
    batch_size_->Add({{"stage", stage}}, BatchSizeBuckets());
    inference_duration_->Add({{"stage", stage}}, LatencyBuckets());
    queue_duration_->Add({{"stage", stage}}, LatencyBuckets());
    queue_depth_->Add({{"stage", stage}});
    queue_capacity_->Add({{"stage", stage}});
  }
  for (const char* kind : {"prefill", "prefix_reused"}) llm_tokens_->Add({{"kind", kind}});
  for (const char* method : {"Recommend", "Score", "GetModelInfo"}) {
    requests_total_->Add({{"method", method}, {"code", "OK"}});
    request_duration_->Add({{"method", method}}, LatencyBuckets());
  }
}

void Metrics::RecordRequest(absl::string_view method, absl::StatusCode code,
                            absl::Duration duration) {
  const std::string m(method);
  requests_total_->Add({{"method", m}, {"code", absl::StatusCodeToString(code)}}).Increment();
  request_duration_->Add({{"method", m}}, LatencyBuckets())
      .Observe(absl::ToDoubleSeconds(duration));
}

void Metrics::ObserveQueueWait(absl::string_view stage, absl::Duration waited) {
  queue_duration_->Add({{"stage", std::string(stage)}}, LatencyBuckets())
      .Observe(absl::ToDoubleSeconds(waited));
}

void Metrics::ObserveBatchSize(absl::string_view stage, size_t size) {
  batch_size_->Add({{"stage", std::string(stage)}}, BatchSizeBuckets())
      .Observe(static_cast<double>(size));
}

void Metrics::ObserveInference(absl::string_view stage, absl::Duration duration) {
  inference_duration_->Add({{"stage", std::string(stage)}}, LatencyBuckets())
      .Observe(absl::ToDoubleSeconds(duration));
}

void Metrics::SetQueueDepth(absl::string_view stage, size_t depth) {
  queue_depth_->Add({{"stage", std::string(stage)}}).Set(static_cast<double>(depth));
}
void Metrics::SetQueueCapacity(absl::string_view stage, size_t capacity) {
  queue_capacity_->Add({{"stage", std::string(stage)}}).Set(static_cast<double>(capacity));
}
void Metrics::IncrementInflight() { inflight_->Increment(); }
void Metrics::DecrementInflight() { inflight_->Decrement(); }

void Metrics::AddLlmTokens(absl::string_view kind, int64_t tokens) {
  llm_tokens_->Add({{"kind", std::string(kind)}}).Increment(static_cast<double>(tokens));
}

void Metrics::RecordReload(bool ok, const ModelInfo& model_info) {
  model_reloads_->Add({{"result", ok ? "ok" : "failed"}}).Increment();
  if (!ok) return;
  absl::MutexLock lock(&model_info_mu_);
  prometheus::Gauge* next = &model_info_->Add(ModelInfoLabels(model_info));
  next->Set(1);
  if (next != model_info_series_) model_info_->Remove(model_info_series_);
  model_info_series_ = next;
}

std::string Metrics::SerializeText() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  for (auto& family : process_collector_->Collect()) families.push_back(std::move(family));
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

// A minimal HTTP/1.1 server: one thread, one connection at a time (scrapes
// are rare and small), "Connection: close" after each response.
class Metrics::HttpServer {
 public:
  HttpServer(const Metrics* metrics, int listen_fd, int wake_read, int wake_write)
      : metrics_(metrics), listen_fd_(listen_fd), wake_read_(wake_read), wake_write_(wake_write) {
    thread_ = std::thread([this] { Loop(); });
  }

  ~HttpServer() {
    const char byte = 0;
    (void)!write(wake_write_, &byte, 1);
    thread_.join();
    close(listen_fd_);
    close(wake_read_);
    close(wake_write_);
  }

 private:
  void Loop() {
    while (true) {
      pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_read_, POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) continue;
      if (fds[1].revents != 0) return;
      if ((fds[0].revents & POLLIN) == 0) continue;
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      timeval timeout{2, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
      Handle(fd);
      close(fd);
    }
  }

  void Handle(int fd) {
    std::string request;
    char buffer[4096];
    while (request.find("\r\n\r\n") == std::string::npos && request.size() < 65536) {
      const ssize_t n = read(fd, buffer, sizeof(buffer));
      if (n <= 0) break;
      request.append(buffer, static_cast<size_t>(n));
    }
    const std::string line = request.substr(0, request.find("\r\n"));
    std::vector<std::string> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
    std::string status = "200 OK", type = "text/plain; version=0.0.4; charset=utf-8", body;
    if (parts.size() < 2) {
      status = "400 Bad Request";
      body = "bad request\n";
    } else if (parts[0] != "GET" && parts[0] != "HEAD") {
      status = "405 Method Not Allowed";
      body = "only GET\n";
    } else if (parts[1] != "/metrics" && parts[1].rfind("/metrics?", 0) != 0) {
      status = "404 Not Found";
      body = "metrics are at /metrics\n";
    } else {
      body = metrics_->SerializeText();
    }
    std::string response =
        absl::StrCat("HTTP/1.1 ", status, "\r\nContent-Type: ", type,
                     "\r\nContent-Length: ", body.size(), "\r\nConnection: close\r\n\r\n");
    if (parts.empty() || parts[0] != "HEAD") response += body;
    size_t sent = 0;
    while (sent < response.size()) {
      const ssize_t n = send(fd, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
  }

  const Metrics* const metrics_;
  const int listen_fd_, wake_read_, wake_write_;
  std::thread thread_;
};

Metrics::~Metrics() = default;

absl::StatusOr<int> Metrics::Serve(const std::string& address) {
  if (http_server_ != nullptr) return absl::FailedPreconditionError("metrics already served");
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("metrics address \"", address,
                                                   "\" is not host:port"));
  }
  std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* result = nullptr;
  if (int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &result);
      rc != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", address, ": ", gai_strerror(rc)));
  }
  int fd = -1;
  std::string error = "no address";
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 64) == 0) break;
    error = std::strerror(errno);
    close(fd);
    fd = -1;
  }
  freeaddrinfo(result);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", address, ": ", error));
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  const int bound_port = bound.ss_family == AF_INET6
                             ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                             : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  int wake[2];
  if (pipe2(wake, O_CLOEXEC) != 0) {
    close(fd);
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  http_server_ = std::make_unique<HttpServer>(this, fd, wake[0], wake[1]);
  return bound_port;
}

}  // namespace sasrecllm::server
