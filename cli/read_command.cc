#include "cli/read_command.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <limits>
#include <optional>
#include <vector>

#include "cli/commands.h"
#include "cli/content_json.h"
#include "cli/entry_format.h"
#include "cli/home.h"
#include "cli/output.h"
#include "cli/stop_signal.h"

namespace plumlog::cli {
namespace {

// Entries read from the store per call.
constexpr size_t kPageSize = 1000;
// How often --follow asks the store for news.
constexpr int kPollIntervalMs = 100;
constexpr uint64_t kNoLimit = std::numeric_limits<uint64_t>::max();

// Waits up to kPollIntervalMs. False if stdout's reader has gone away.
bool WaitForNews() {
  struct pollfd pfd = {};
  pfd.fd = STDOUT_FILENO;
  pfd.events = 0;  // only POLLERR/POLLHUP: a pipe whose reader closed
  int n = ::poll(&pfd, 1, kPollIntervalMs);
  return !(n > 0 && (pfd.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0);
}

// Prints entries of one feed (by seq) or of all (by arrival position),
// forwards from a cursor, or backwards from the newest.
class Reader {
 public:
  Reader(Store* store, std::optional<FeedId> feed, const ReadArgs& args)
      : store_(store),
        feed_(feed),
        json_(args.json),
        type_(args.type),
        since_(args.since),
        cursor_(args.since) {
    if (args.has_limit) remaining_ = args.limit;
  }

  bool done() const { return remaining_ == 0; }

  // Prints everything after the cursor, up to the limit.
  Status PrintNew() {
    while (remaining_ > 0) {
      std::string out;
      size_t got = 0;
      if (feed_) {
        PLUMLOG_ASSIGN_OR_RETURN(
            std::vector<Entry> entries,
            store_->ReadFeed(*feed_, cursor_ + 1, kPageSize));
        got = entries.size();
        for (const Entry& e : entries) {
          cursor_ = e.seq();
          if (Print(e, std::nullopt, &out)) break;
        }
      } else {
        PLUMLOG_ASSIGN_OR_RETURN(ArrivalPage page,
                                 store_->ReadArrival(cursor_, kPageSize));
        got = page.entries.size();
        for (size_t i = 0; i < page.entries.size(); ++i) {
          cursor_ = page.positions[i];
          if (Print(page.entries[i], page.positions[i], &out)) break;
        }
      }
      PLUMLOG_RETURN_IF_ERROR(WriteStdout(out));
      if (got < kPageSize) break;
    }
    return FlushStdout();
  }

  // Walks back from the newest entry (down to `since`) and prints the
  // newest `count` matching entries: newest first with `newest_first`, else
  // oldest first (they are collected, then printed). Leaves the cursor at the
  // newest entry, so that PrintNew() then follows from there.
  Status PrintLast(uint64_t count, bool newest_first) {
    std::vector<std::pair<Entry, std::optional<uint64_t>>> kept;
    // Where the store ends now: following continues from there.
    uint64_t end = 0;
    if (feed_) {
      Result<FeedInfo> head = store_->Feed(*feed_);
      if (!head.ok() && head.status().code() != Status::Code::kNotFound)
        return head.status();
      if (head.ok()) end = head->seq;
    } else {
      PLUMLOG_ASSIGN_OR_RETURN(
          ArrivalPage newest,
          store_->ReadArrivalBackward(std::numeric_limits<uint64_t>::max(), 1));
      if (!newest.entries.empty()) end = newest.positions.front();
    }
    cursor_ = std::max(cursor_, end);
    uint64_t before = end + 1;
    uint64_t matched = 0;
    while (matched < count && before > since_ + 1) {
      std::vector<Entry> entries;
      std::vector<uint64_t> positions;
      if (feed_) {
        const uint64_t from = std::max<uint64_t>(
            since_ + 1, before > kPageSize ? before - kPageSize : 1);
        PLUMLOG_ASSIGN_OR_RETURN(entries,
                                 store_->ReadFeed(*feed_, from, before - from));
        std::reverse(entries.begin(), entries.end());
        for (const Entry& e : entries) positions.push_back(e.seq());
        before = from;
      } else {
        PLUMLOG_ASSIGN_OR_RETURN(
            ArrivalPage page, store_->ReadArrivalBackward(before, kPageSize));
        entries = std::move(page.entries);
        positions = std::move(page.positions);
        before = entries.empty() ? 0 : page.next;
      }
      if (entries.empty()) break;
      std::string out;
      for (size_t i = 0; i < entries.size() && matched < count; ++i) {
        if (positions[i] <= since_) break;
        if (!Matches(entries[i])) continue;
        ++matched;
        const std::optional<uint64_t> pos =
            feed_ ? std::nullopt : std::optional<uint64_t>(positions[i]);
        if (newest_first) {
          out += Line(entries[i], pos);
        } else {
          kept.emplace_back(std::move(entries[i]), pos);
        }
      }
      PLUMLOG_RETURN_IF_ERROR(WriteStdout(out));
    }
    std::string out;
    for (auto it = kept.rbegin(); it != kept.rend(); ++it) {
      out += Line(it->first, it->second);
      if (out.size() >= (size_t{1} << 20)) {
        PLUMLOG_RETURN_IF_ERROR(WriteStdout(out));
        out.clear();
      }
    }
    PLUMLOG_RETURN_IF_ERROR(WriteStdout(out));
    return FlushStdout();
  }

 private:
  bool Matches(const Entry& e) const {
    if (!type_) return true;
    const std::optional<std::string> type = ContentTypeField(e.content());
    return type && *type == *type_;
  }

  std::string Line(const Entry& e, std::optional<uint64_t> position) const {
    return json_ ? EntryJsonLine(e, position) : EntryTextLine(e);
  }

  // Adds `e` to `out` if it matches; true once the limit is reached.
  bool Print(const Entry& e, std::optional<uint64_t> position,
             std::string* out) {
    if (!Matches(e)) return false;
    *out += Line(e, position);
    return --remaining_ == 0;
  }

  Store* store_;
  std::optional<FeedId> feed_;
  bool json_;
  std::optional<std::string> type_;
  uint64_t since_;
  uint64_t cursor_;
  uint64_t remaining_ = kNoLimit;
};

}  // namespace

int RunRead(const std::string& home, const ReadArgs& args) {
  if (args.follow) InstallStopHandlers();
  Result<std::unique_ptr<Store>> store = OpenStore(home, Access::kReadOnly, 1);
  if (!store.ok()) return Fail(store.status());
  std::optional<FeedId> feed;
  if (!args.feed.empty()) {
    Result<FeedId> id = ResolveFeedArg(args.feed, **store);
    if (!id.ok()) return Fail(id.status());
    feed = *id;
  }
  Reader reader(store->get(), feed, args);
  Status st;
  if (args.reverse || args.has_last) {
    const uint64_t count = args.has_last    ? args.last
                           : args.has_limit ? args.limit
                                            : kNoLimit;
    st = reader.PrintLast(count, args.reverse);
  } else {
    st = reader.PrintNew();
  }
  while (st.ok() && args.follow && !reader.done() && !StopRequested()) {
    if (!WaitForNews()) break;
    if (StopRequested()) break;
    Result<bool> news = (*store)->Refresh();
    if (!news.ok()) {
      st = news.status().WithContext("cannot follow the store");
      break;
    }
    if (*news) st = reader.PrintNew();
  }
  // A reader that went away (`plumlog read | head`) is a normal end.
  if (st.code() == Status::Code::kAborted) return kExitOk;
  return st.ok() ? kExitOk : Fail(st);
}

std::string CheckEntryIdArg(const std::string& arg) {
  Result<EntryId> id = EntryId::Parse(arg);
  return id.ok() ? ""
                 : "not an entry id (expected %<base64>.blake2b, as `append` "
                   "and `read --json` print it): " +
                       arg;
}

int RunGet(const std::string& home, const std::string& id_text, bool json) {
  Result<EntryId> id = EntryId::Parse(id_text);
  if (!id.ok()) return UsageFail(CheckEntryIdArg(id_text));
  Result<std::unique_ptr<Store>> store = OpenStore(home, Access::kReadOnly, 1);
  if (!store.ok()) return Fail(store.status());
  Result<Entry> entry = (*store)->GetById(*id);
  if (!entry.ok()) {
    if (entry.status().code() == Status::Code::kNotFound) {
      return Fail(Status::NotFound("no entry " + id->ToString() +
                                   " in the store at " + home));
    }
    return Fail(entry.status());
  }
  Status st = WriteStdout(json ? EntryJsonLine(*entry, std::nullopt)
                               : EntryTextLine(*entry));
  if (st.ok()) st = FlushStdout();
  return st.ok() ? kExitOk : Fail(st);
}

}  // namespace plumlog::cli
