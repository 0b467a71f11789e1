#include "cli/entry_format.h"

#include <nlohmann/json.hpp>

#include "cli/content_json.h"
#include "net/logger.h"

namespace plumlog::cli {

std::string FormatTimestamp(uint64_t ms) { return net::FormatUtcMillis(ms); }

std::string EntryTextLine(const Entry& entry) {
  std::string line = std::to_string(entry.seq());
  line += "\t@";
  line += entry.author().Short();
  line += '\t';
  line += FormatTimestamp(entry.timestamp_ms());
  line += '\t';
  line += ContentToText(entry.content());
  line += '\n';
  return line;
}

std::string EntryJsonLine(const Entry& entry,
                          std::optional<uint64_t> position) {
  nlohmann::ordered_json obj;
  obj["author"] = entry.author().ToString();
  obj["seq"] = entry.seq();
  obj["id"] = entry.id().ToString();
  obj["previous"] = entry.previous()
                        ? nlohmann::ordered_json(entry.previous()->ToString())
                        : nlohmann::ordered_json(nullptr);
  obj["lamport"] = entry.lamport();
  obj["timestamp"] = entry.timestamp_ms();
  if (position) obj["position"] = *position;
  // Splice the content in last, keeping the fields above in this order.
  std::string line = obj.dump();
  line.pop_back();  // '}'
  line += ",\"content\":";
  line += DumpJson(ContentToJson(entry.content()));
  line += "}\n";
  return line;
}

std::string FeedTextLine(const FeedInfo& feed) {
  return feed.author.ToString() + "\t" + std::to_string(feed.seq) + "\t" +
         feed.head.ToString() + "\t" + (feed.forked ? "forked" : "-") + "\n";
}

std::string FeedJsonLine(const FeedInfo& feed) {
  nlohmann::ordered_json obj;
  obj["author"] = feed.author.ToString();
  obj["seq"] = feed.seq;
  obj["head"] = feed.head.ToString();
  obj["lamport"] = feed.lamport;
  obj["forked"] = feed.forked;
  return obj.dump() + "\n";
}

}  // namespace plumlog::cli
