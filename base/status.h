// Status and StatusOr<T> for every library of the project.
//
// `base/` and `model/` build without Abseil (so that model/ also builds against a CUDA
// libtorch on a machine without Abseil), so they carry this small copy of
// absl::Status. The codes have absl's (and gRPC's) canonical numbering, so the
// server converts with a cast: grpc::StatusCode(static_cast<int>(s.code())).
//
//   StatusOr<Tensor> t = ReadTensor(path);
//   if (!t.ok()) return t.status();
//   SASRECLLM_ASSIGN_OR_RETURN(auto table, ReadSafetensors(path));
#ifndef SASRECLLM_BASE_STATUS_H_
#define SASRECLLM_BASE_STATUS_H_

#include <cassert>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <ostream>
#include <string>
#include <utility>

namespace sasrecllm {

enum class StatusCode : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
};

// "INVALID_ARGUMENT" etc., as gRPC and Abseil spell the codes.
const char* StatusCodeName(StatusCode code);

class Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message)
      : code_(code), message_(code == StatusCode::kOk ? "" : std::move(message)) {}

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "INVALID_ARGUMENT: message", or "OK".
  std::string ToString() const;

  // Returns a copy whose message is "prefix: message" (OK stays OK).
  Status WithPrefix(const std::string& prefix) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status OkStatus() { return Status(); }
inline Status InvalidArgumentError(std::string m) {
  return Status(StatusCode::kInvalidArgument, std::move(m));
}
inline Status NotFoundError(std::string m) { return Status(StatusCode::kNotFound, std::move(m)); }
inline Status FailedPreconditionError(std::string m) {
  return Status(StatusCode::kFailedPrecondition, std::move(m));
}
inline Status InternalError(std::string m) { return Status(StatusCode::kInternal, std::move(m)); }
inline Status DataLossError(std::string m) { return Status(StatusCode::kDataLoss, std::move(m)); }
inline Status OutOfRangeError(std::string m) {
  return Status(StatusCode::kOutOfRange, std::move(m));
}
inline Status UnavailableError(std::string m) {
  return Status(StatusCode::kUnavailable, std::move(m));
}
inline Status ResourceExhaustedError(std::string m) {
  return Status(StatusCode::kResourceExhausted, std::move(m));
}
inline Status UnimplementedError(std::string m) {
  return Status(StatusCode::kUnimplemented, std::move(m));
}
inline Status CancelledError(std::string m) { return Status(StatusCode::kCancelled, std::move(m)); }
inline Status DeadlineExceededError(std::string m) {
  return Status(StatusCode::kDeadlineExceeded, std::move(m));
}

std::ostream& operator<<(std::ostream& os, const Status& status);

// OK when every named value is > 0; else INVALID_ARGUMENT
// "CONTEXT: NAME must be > 0, got V" for the first that is not:
//   SASRECLLM_RETURN_IF_ERROR(RequirePositive("config", {{"hidden_size", hidden_size}}));
Status RequirePositive(const std::string& context,
                       std::initializer_list<std::pair<const char*, int64_t>> values);

// Either a value or a non-OK status.
template <typename T>
class StatusOr {
 public:
  StatusOr(const Status& status) : status_(status) {  // NOLINT: implicit by design
    assert(!status.ok() && "StatusOr built from an OK status without a value");
    if (status_.ok()) status_ = InternalError("StatusOr built from OK status without a value");
  }
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  // Precondition: ok().
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T&& operator*() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace sasrecllm

#define SASRECLLM_STATUS_CONCAT_INNER_(a, b) a##b
#define SASRECLLM_STATUS_CONCAT_(a, b) SASRECLLM_STATUS_CONCAT_INNER_(a, b)

// Returns from the calling function when `expr` (a Status) is not OK.
#define SASRECLLM_RETURN_IF_ERROR(expr)                         \
  do {                                                          \
    ::sasrecllm::Status sasrecllm_status_ = (expr);             \
    if (!sasrecllm_status_.ok()) return sasrecllm_status_;      \
  } while (0)

// `lhs` = the value of `rexpr` (a StatusOr), or returns its status.
#define SASRECLLM_ASSIGN_OR_RETURN(lhs, rexpr)                                        \
  SASRECLLM_ASSIGN_OR_RETURN_IMPL_(SASRECLLM_STATUS_CONCAT_(statusor_, __LINE__), lhs, \
                                   rexpr)
#define SASRECLLM_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                     \
  if (!statusor.ok()) return statusor.status();                \
  lhs = std::move(statusor).value()

#endif  // SASRECLLM_BASE_STATUS_H_
