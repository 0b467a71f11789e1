// How entries and feed heads are printed (docs/cli.md, "Output formats").
#ifndef PLUMLOG_CLI_ENTRY_FORMAT_H_
#define PLUMLOG_CLI_ENTRY_FORMAT_H_

#include <cstdint>
#include <optional>
#include <string>

#include "plumlog/types.h"

namespace plumlog::cli {

// "2024-05-01T12:34:56.789Z" (UTC), or the plain number of milliseconds when
// the value is beyond year 9999.
std::string FormatTimestamp(uint64_t ms);

// "<seq>\t@<author short>\t<timestamp>\t<content as text>\n"
std::string EntryTextLine(const Entry& entry);

// One JSON object and "\n": author, seq, id, previous, lamport, timestamp (ms),
// content; plus position when `position` is set (arrival order).
std::string EntryJsonLine(const Entry& entry, std::optional<uint64_t> position);

// "<author>\t<seq>\t<head id>\t<forked|->\n"
std::string FeedTextLine(const FeedInfo& feed);
// {"author","seq","head","lamport","forked"} and "\n".
std::string FeedJsonLine(const FeedInfo& feed);

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_ENTRY_FORMAT_H_
