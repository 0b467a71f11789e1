// Log lines from a Node (connections, handshake failures, misbehaving peers,
// membership changes) and the daemon: levels and a narrow sink interface.
//
//   class MyLog : public plumlog::LogSink {
//     void Log(plumlog::LogLevel level, std::string_view message) override;
//   };
//   options.log_sink = &my_log;  // NodeOptions
#ifndef PLUMLOG_LOG_H_
#define PLUMLOG_LOG_H_

#include <cstdint>
#include <string_view>

#include "plumlog/status.h"

namespace plumlog {

// Severity, most severe first: a sink set to level L keeps every line of
// level L and above (kInfo keeps error, warn and info).
enum class LogLevel : uint8_t {
  kError = 0,  // something failed or broke for good: a fork detected (the
               // feed is frozen), a failed accept, a log file lost
  kWarn = 1,   // a peer misbehaved or failed: bad handshake, invalid entry,
               // flooding or slow peer, a member suspected or down
  kInfo = 2,   // the node's life: listening, connections opened and closed,
               // peers added, members up and down, shutdown
  kDebug = 3,  // chatty details for diagnosis
};

// "error", "warn", "info", "debug".
const char* LogLevelName(LogLevel level);
// Parses one of the names above; InvalidArgument naming them otherwise.
Result<LogLevel> ParseLogLevel(std::string_view name);

// Where log lines go. Called on the node's loop thread (several nodes may
// share one sink, so an implementation used that way must be thread-safe);
// must not block for long and must not call back into the Node.
class LogSink {
 public:
  virtual ~LogSink() = default;
  // One line, without a trailing newline or timestamp.
  virtual void Log(LogLevel level, std::string_view message) = 0;
  // Lines of a level the sink would drop are not even formatted.
  virtual bool Enabled(LogLevel level) const {
    (void)level;
    return true;
  }
};

}  // namespace plumlog

#endif  // PLUMLOG_LOG_H_
