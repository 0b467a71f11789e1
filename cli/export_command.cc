#include "cli/export_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "cli/home.h"
#include "cli/output.h"
#include "storage/export_stream.h"

namespace plumlog::cli {
namespace {

constexpr size_t kPageSize = 1000;

// Writes each feed from seq 1 up to the head it had when the export started,
// so entries appended meanwhile by another process do not make it inconsistent.
Status WriteFeeds(const Store& store, const std::vector<FeedInfo>& feeds,
                  std::ostream* out) {
  storage::ExportWriter writer(out);
  for (const FeedInfo& f : feeds) {
    uint64_t next = 1;
    while (next <= f.seq) {
      const size_t want =
          static_cast<size_t>(std::min<uint64_t>(kPageSize, f.seq - next + 1));
      PLUMLOG_ASSIGN_OR_RETURN(std::vector<Entry> page,
                               store.ReadFeed(f.author, next, want));
      if (page.empty()) {
        return Status::Corruption("feed " + f.author.ToString() +
                                  " has no entry seq " + std::to_string(next) +
                                  " below its head " + std::to_string(f.seq) +
                                  "; run `plumlog check`");
      }
      for (const Entry& e : page) {
        if (e.seq() != next) {
          return Status::Corruption("feed " + f.author.ToString() +
                                    " misses seq " + std::to_string(next) +
                                    "; run `plumlog check`");
        }
        PLUMLOG_RETURN_IF_ERROR(writer.Write(e));
        ++next;
      }
    }
  }
  return writer.Finish();
}

// The file mode a newly created file gets under the current umask.
mode_t DefaultFileMode() {
  const mode_t mask = ::umask(0);
  ::umask(mask);
  return 0666 & ~mask;
}

Status WriteFile(const Store& store, const std::vector<FeedInfo>& feeds,
                 const std::string& path) {
  std::string tmp = path + ".tmp-XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0)
    return Status::IOError("cannot create a file next to " + path + ": " +
                           std::strerror(errno));
  Status st;
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) st = Status::IOError("cannot open " + tmp);
    if (st.ok()) st = WriteFeeds(store, feeds, &out);
    if (st.ok()) {
      out.close();
      if (!out) st = Status::IOError("cannot write " + tmp);
    }
  }
  if (st.ok() && ::fchmod(fd, DefaultFileMode()) != 0) {
    st = Status::IOError("cannot chmod " + tmp + ": " + std::strerror(errno));
  }
  if (st.ok() && ::fsync(fd) != 0) {
    st = Status::IOError("cannot fsync " + tmp + ": " + std::strerror(errno));
  }
  ::close(fd);
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    st = Status::IOError("cannot rename " + tmp + " to " + path + ": " +
                         std::strerror(errno));
  }
  if (!st.ok()) ::unlink(tmp.c_str());
  return st;
}

}  // namespace

int RunExport(const std::string& home, const ExportArgs& args) {
  const bool to_stdout = args.output.empty() || args.output == "-";
  if (to_stdout && ::isatty(STDOUT_FILENO)) {
    return UsageFail(
        "refusing to write a binary export stream to a terminal; use -o FILE "
        "or redirect");
  }
  Result<std::unique_ptr<Store>> store = OpenStore(home, Access::kReadOnly);
  if (!store.ok()) return Fail(store.status());
  // Resolve every feed before writing anything.
  std::vector<FeedInfo> feeds;
  if (args.feeds.empty()) {
    Result<std::vector<FeedInfo>> all = (*store)->Feeds();
    if (!all.ok()) return Fail(all.status());
    feeds = std::move(all).value();
  } else {
    for (const std::string& arg : args.feeds) {
      Result<FeedId> id = ResolveFeedArg(arg, **store);
      if (!id.ok()) return Fail(id.status());
      Result<FeedInfo> info = (*store)->Feed(*id);
      if (!info.ok()) return Fail(info.status().WithContext("cannot export"));
      bool seen = false;
      for (const FeedInfo& f : feeds) seen = seen || f.author == info->author;
      if (!seen) feeds.push_back(*info);
    }
  }
  Status st;
  if (to_stdout) {
    std::ios::sync_with_stdio(false);
    st = WriteFeeds(**store, feeds, &std::cout);
    if (st.ok()) {
      std::cout.flush();
      if (!std::cout)
        st = Status::IOError(
            "cannot write the export stream to standard output");
    }
  } else {
    st = WriteFile(**store, feeds, args.output);
  }
  if (!st.ok()) return Fail(st.WithContext("export failed"));
  return kExitOk;
}

}  // namespace plumlog::cli
