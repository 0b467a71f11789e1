// Status and Result<T>: how every plumlog call reports success or failure.
// No exceptions cross the public API.
#ifndef PLUMLOG_STATUS_H_
#define PLUMLOG_STATUS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace plumlog {

class [[nodiscard]] Status {
 public:
  // Append-only; values are part of the C++ ABI and of process exit codes.
  enum class Code : uint8_t {
    kOk = 0,
    kNotFound = 1,
    kInvalidArgument = 2,   // the caller passed something malformed
    kCorruption = 3,        // stored or received bytes fail their checks
    kIOError = 4,           // the file system or a socket failed
    kBusy = 5,              // another process holds the store
    kAlreadyExists = 6,
    kFailedPrecondition = 7,  // e.g. store not initialised
    kPermissionDenied = 8,  // e.g. secret key readable by others
    kInvalidEntry = 9,      // an entry breaks a validity rule (see docs/format.md)
    kForked = 10,           // the feed is forked and refuses entries
    kNoSpace = 11,          // the disk is full
    kTooLarge = 12,         // over a documented size limit
    kAborted = 13,          // stopped before completion (shutdown, earlier failure)
  };

  Status() = default;
  static Status OK() { return Status(); }
  static Status NotFound(std::string_view msg) { return {Code::kNotFound, msg}; }
  static Status InvalidArgument(std::string_view msg) { return {Code::kInvalidArgument, msg}; }
  static Status Corruption(std::string_view msg) { return {Code::kCorruption, msg}; }
  static Status IOError(std::string_view msg) { return {Code::kIOError, msg}; }
  static Status Busy(std::string_view msg) { return {Code::kBusy, msg}; }
  static Status AlreadyExists(std::string_view msg) { return {Code::kAlreadyExists, msg}; }
  static Status FailedPrecondition(std::string_view msg) { return {Code::kFailedPrecondition, msg}; }
  static Status PermissionDenied(std::string_view msg) { return {Code::kPermissionDenied, msg}; }
  static Status InvalidEntry(std::string_view msg) { return {Code::kInvalidEntry, msg}; }
  static Status Forked(std::string_view msg) { return {Code::kForked, msg}; }
  static Status NoSpace(std::string_view msg) { return {Code::kNoSpace, msg}; }
  static Status TooLarge(std::string_view msg) { return {Code::kTooLarge, msg}; }
  static Status Aborted(std::string_view msg) { return {Code::kAborted, msg}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "ok", or "<code name>: <message>".
  std::string ToString() const;
  // A copy with "context: " put in front of the message.
  Status WithContext(std::string_view context) const;

  static const char* CodeName(Code code);

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  Status(Code code, std::string_view msg) : code_(code), message_(msg) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// A value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    if (status_.ok()) status_ = Status::Aborted("Result built from an OK status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace plumlog

// Early-return helpers for code inside plumlog (and for embedders who like them).
#define PLUMLOG_RETURN_IF_ERROR(expr)        \
  do {                                       \
    ::plumlog::Status _st = (expr);          \
    if (!_st.ok()) return _st;               \
  } while (0)

#define PLUMLOG_CONCAT_INNER(a, b) a##b
#define PLUMLOG_CONCAT(a, b) PLUMLOG_CONCAT_INNER(a, b)
#define PLUMLOG_ASSIGN_OR_RETURN(lhs, expr)                              \
  auto PLUMLOG_CONCAT(_res_, __LINE__) = (expr);                         \
  if (!PLUMLOG_CONCAT(_res_, __LINE__).ok())                             \
    return PLUMLOG_CONCAT(_res_, __LINE__).status();                     \
  lhs = std::move(PLUMLOG_CONCAT(_res_, __LINE__)).value()

#endif  // PLUMLOG_STATUS_H_
