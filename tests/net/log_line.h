// Test helper: whether a line has the log format of net::Logger,
// "<UTC time with ms>Z <LEVEL> <message>", e.g.
// "2026-01-31T10:00:00.112Z INFO listening on ...". (No std::regex: GCC 12
// warns about its internals under the sanitizer builds.)
#ifndef PLUMLOG_TESTS_NET_LOG_LINE_H_
#define PLUMLOG_TESTS_NET_LOG_LINE_H_

#include <cctype>
#include <string_view>

namespace plumlog::testing {

inline bool IsLogLine(std::string_view line) {
  // 2026-01-31T10:00:00.112Z : digits everywhere but these positions.
  constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd.dddZ ";
  if (line.size() <= kShape.size()) return false;
  for (size_t i = 0; i < kShape.size(); ++i) {
    const bool ok = kShape[i] == 'd'
                        ? std::isdigit(static_cast<unsigned char>(line[i])) != 0
                        : line[i] == kShape[i];
    if (!ok) return false;
  }
  line.remove_prefix(kShape.size());
  for (std::string_view level : {"ERROR ", "WARN ", "INFO ", "DEBUG "}) {
    if (line.starts_with(level)) return line.size() > level.size();
  }
  return false;
}

}  // namespace plumlog::testing

#endif  // PLUMLOG_TESTS_NET_LOG_LINE_H_
