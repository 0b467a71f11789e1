#include "cli/read_command.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <limits>
#include <optional>

#include "cli/commands.h"
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

// Waits up to kPollIntervalMs. False if stdout's reader has gone away.
bool WaitForNews() {
  struct pollfd pfd = {};
  pfd.fd = STDOUT_FILENO;
  pfd.events = 0;  // only POLLERR/POLLHUP: a pipe whose reader closed
  int n = ::poll(&pfd, 1, kPollIntervalMs);
  return !(n > 0 && (pfd.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0);
}

class Reader {
 public:
  Reader(Store* store, std::optional<FeedId> feed, const ReadArgs& args)
      : store_(store), feed_(feed), json_(args.json), cursor_(args.since) {
    if (args.has_limit) remaining_ = args.limit;
  }

  bool done() const { return remaining_ == 0; }

  // Prints everything after the cursor, up to the limit.
  Status PrintNew() {
    while (remaining_ > 0) {
      const size_t want =
          static_cast<size_t>(std::min<uint64_t>(remaining_, kPageSize));
      std::string out;
      size_t got = 0;
      if (feed_) {
        PLUMLOG_ASSIGN_OR_RETURN(std::vector<Entry> entries,
                                 store_->ReadFeed(*feed_, cursor_ + 1, want));
        got = entries.size();
        for (const Entry& e : entries) {
          out += json_ ? EntryJsonLine(e, std::nullopt) : EntryTextLine(e);
          cursor_ = e.seq();
        }
      } else {
        PLUMLOG_ASSIGN_OR_RETURN(ArrivalPage page,
                                 store_->ReadArrival(cursor_, want));
        got = page.entries.size();
        for (size_t i = 0; i < page.entries.size(); ++i) {
          out += json_ ? EntryJsonLine(page.entries[i], page.positions[i])
                       : EntryTextLine(page.entries[i]);
        }
        cursor_ = page.next;
      }
      remaining_ -= got;
      PLUMLOG_RETURN_IF_ERROR(WriteStdout(out));
      if (got < want) break;
    }
    return FlushStdout();
  }

 private:
  Store* store_;
  std::optional<FeedId> feed_;
  bool json_;
  uint64_t cursor_;
  uint64_t remaining_ = std::numeric_limits<uint64_t>::max();
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
  Status st = reader.PrintNew();
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

}  // namespace plumlog::cli
