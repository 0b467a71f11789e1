#include "cli/commands.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cli/content_json.h"
#include "cli/control_client.h"
#include "cli/daemon_commands.h"
#include "cli/entry_format.h"
#include "cli/home.h"
#include "cli/output.h"

namespace plumlog::cli {
namespace {

Status ReadFd(int fd, const std::string& name, std::string* out) {
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IOError("cannot read " + name + ": " +
                             std::strerror(errno));
    }
    if (n == 0) return Status::OK();
    out->append(buf, static_cast<size_t>(n));
    if (out->size() > kMaxInputBytes) {
      return Status::TooLarge(
          name + " is larger than " + std::to_string(kMaxInputBytes) +
          " bytes; an entry is at most " + std::to_string(kMaxEntryBytes));
    }
  }
}

}  // namespace

Result<std::string> ReadInput(const std::string& path) {
  std::string out;
  if (path == "-") {
    PLUMLOG_RETURN_IF_ERROR(ReadFd(STDIN_FILENO, "standard input", &out));
    return out;
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
  Status st = ReadFd(fd, path, &out);
  ::close(fd);
  PLUMLOG_RETURN_IF_ERROR(st);
  return out;
}

std::string CheckFeedArg(const std::string& arg) {
  if (arg == "self") return "";
  Result<FeedId> id = FeedId::Parse(arg);
  if (id.ok()) return "";
  return "not a feed id (expected self or @<base64>.ed25519): " + arg;
}

Result<FeedId> ResolveFeedArg(std::string_view arg, const Store& store) {
  if (arg == "self") return store.local_id();
  return FeedId::Parse(arg);
}

int RunInit(const std::string& home) {
  Status st = Store::Init(home);
  if (!st.ok()) return Fail(st);
  // Read the new identity back through the normal path, which also proves the
  // store opens.
  Result<std::unique_ptr<Store>> store = OpenStore(home, Access::kWrite, 1);
  if (!store.ok()) return Fail(store.status());
  st = WriteStdout((*store)->local_id().ToString() + "\n");
  if (st.ok()) st = FlushStdout();
  return st.ok() ? kExitOk : Fail(st);
}

int RunWhoami(const std::string& home, bool address) {
  if (address) {
    Result<std::unique_ptr<ControlClient>> client = RequireDaemon(home);
    if (!client.ok()) return Fail(client.status());
    FeedId id;
    std::string addr;
    Status st = DaemonHello(client->get(), &id, &addr);
    if (st.ok()) st = WriteStdout(addr + "\n");
    if (st.ok()) st = FlushStdout();
    return st.ok() ? kExitOk : Fail(st);
  }
  Result<std::unique_ptr<Store>> store = OpenStore(home, Access::kReadOnly, 1);
  if (!store.ok()) return Fail(store.status());
  Status st = WriteStdout((*store)->local_id().ToString() + "\n");
  if (st.ok()) st = FlushStdout();
  return st.ok() ? kExitOk : Fail(st);
}

int RunFeeds(const std::string& home, bool json) {
  Result<std::unique_ptr<Store>> store = OpenStore(home, Access::kReadOnly, 1);
  if (!store.ok()) return Fail(store.status());
  Result<std::vector<FeedInfo>> feeds = (*store)->Feeds();
  if (!feeds.ok()) return Fail(feeds.status());
  Status st;
  for (const FeedInfo& f : *feeds) {
    st = WriteStdout(json ? FeedJsonLine(f) : FeedTextLine(f));
    if (!st.ok()) break;
  }
  if (st.ok()) st = FlushStdout();
  return st.ok() ? kExitOk : Fail(st);
}

namespace {

// Check works on a read-only view, so it runs while another process writes.
Result<CheckReport> CheckStore(const std::string& home) {
  PLUMLOG_ASSIGN_OR_RETURN(std::unique_ptr<Store> store,
                           OpenStore(home, Access::kReadOnly));
  Result<CheckReport> report = store->Check();
  if (!report.ok()) return report.status().WithContext("check failed");
  return report;
}

}  // namespace

int RunCheck(const std::string& home) {
  Result<CheckReport> report = CheckStore(home);
  if (!report.ok()) return Fail(report.status());
  std::string out = "checked " + std::to_string(report->feeds) + " feeds, " +
                    std::to_string(report->entries) + " entries, " +
                    std::to_string(report->forks) + " fork proofs: ";
  if (report->ok()) {
    out += "ok\n";
  } else {
    out += std::to_string(report->problems.size()) + " problems\n";
    for (const CheckProblem& p : report->problems)
      out += p.where + ": " + p.what + "\n";
  }
  Status st = WriteStdout(out);
  if (st.ok()) st = FlushStdout();
  if (!st.ok()) return Fail(st);
  if (!report->ok()) {
    return Fail(Status::Corruption("the store has " +
                                   std::to_string(report->problems.size()) +
                                   " problems (listed above)"));
  }
  return kExitOk;
}

}  // namespace plumlog::cli
