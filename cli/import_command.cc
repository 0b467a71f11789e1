#include "cli/import_command.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include "cli/home.h"
#include "cli/output.h"
#include "cli/stream_verifier.h"
#include "storage/export_stream.h"

namespace plumlog::cli {
namespace {

// Entries per Store::Ingest call (one atomic write each).
constexpr size_t kIngestBatch = 1000;

// Removes a spooled temporary file when the import ends.
class TempFile {
 public:
  TempFile() = default;
  ~TempFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  // Copies all of stdin into a new file in $TMPDIR (or /tmp).
  Status SpoolStdin() {
    const char* dir = std::getenv("TMPDIR");
    path_ = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") +
            "/plumlog-import-XXXXXX";
    const int fd = ::mkstemp(path_.data());
    if (fd < 0) {
      Status st = Status::IOError("cannot create a temporary file " + path_ +
                                  ": " + std::strerror(errno));
      path_.clear();
      return st;
    }
    Status st;
    char buf[65536];
    while (st.ok()) {
      ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        st = Status::IOError(std::string("cannot read standard input: ") +
                             std::strerror(errno));
      }
      if (n <= 0) break;
      for (ssize_t off = 0; off < n && st.ok();) {
        ssize_t w = ::write(fd, buf + off, static_cast<size_t>(n - off));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
          st = Status::IOError("cannot write " + path_ + ": " +
                               std::strerror(errno));
        } else {
          off += w;
        }
      }
    }
    ::close(fd);
    return st;
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Status OpenStream(const std::string& path, std::ifstream* in) {
  in->open(path, std::ios::binary);
  if (!*in)
    return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
  return Status::OK();
}

// Pass 1: reads and checks the whole stream; writes nothing.
Status Verify(const std::string& path, const Store& store, uint64_t* count) {
  std::ifstream in;
  PLUMLOG_RETURN_IF_ERROR(OpenStream(path, &in));
  const int threads =
      static_cast<int>(std::max(1u, std::thread::hardware_concurrency())) - 1;
  crypto::WorkerPool pool(threads);
  StreamVerifier verifier(&store, &pool);
  storage::ExportReader reader(&in);
  while (true) {
    Entry e;
    bool done = false;
    PLUMLOG_RETURN_IF_ERROR(reader.Next(&e, &done));
    if (done) break;
    PLUMLOG_RETURN_IF_ERROR(verifier.Add(std::move(e), reader.count()));
  }
  PLUMLOG_RETURN_IF_ERROR(verifier.Finish());
  *count = verifier.entries();
  return Status::OK();
}

struct IngestTotals {
  uint64_t stored = 0;
  uint64_t duplicates = 0;
};

Status IngestBatch(Store* store, std::vector<Entry>* batch,
                   uint64_t first_index, IngestTotals* totals) {
  const IngestResult r = store->Ingest(*batch);
  totals->stored += r.stored;
  totals->duplicates += r.duplicates;
  if (!r.ok()) {
    const Entry& bad = (*batch)[*r.failed_index];
    return r.failure.WithContext(
        "stream entry " + std::to_string(first_index + *r.failed_index) + " (" +
        bad.author().ToString() + " seq " + std::to_string(bad.seq()) +
        ") was refused after " + std::to_string(totals->stored) +
        " entries had been stored");
  }
  batch->clear();
  return Status::OK();
}

// Pass 2: ingests the verified stream in batches.
Status Ingest(const std::string& path, Store* store, IngestTotals* totals) {
  std::ifstream in;
  PLUMLOG_RETURN_IF_ERROR(OpenStream(path, &in));
  storage::ExportReader reader(&in);
  std::vector<Entry> batch;
  batch.reserve(kIngestBatch);
  uint64_t first_index = 1;
  while (true) {
    Entry e;
    bool done = false;
    PLUMLOG_RETURN_IF_ERROR(reader.Next(&e, &done));
    if (done) break;
    batch.push_back(std::move(e));
    if (batch.size() == kIngestBatch) {
      PLUMLOG_RETURN_IF_ERROR(IngestBatch(store, &batch, first_index, totals));
      first_index = reader.count() + 1;
    }
  }
  if (!batch.empty())
    PLUMLOG_RETURN_IF_ERROR(IngestBatch(store, &batch, first_index, totals));
  return Status::OK();
}

}  // namespace

int RunImport(const std::string& home, const ImportArgs& args) {
  TempFile spool;
  std::string path = args.input;
  if (path.empty() || path == "-") {
    Status st = spool.SpoolStdin();
    if (!st.ok()) return Fail(st.WithContext("import failed"));
    path = spool.path();
  } else if (::access(path.c_str(), R_OK) != 0) {
    return Fail(
        Status::IOError("cannot read " + path + ": " + std::strerror(errno)));
  }
  Result<std::unique_ptr<Store>> store = OpenStore(home, Access::kWrite);
  if (!store.ok()) return Fail(store.status());
  uint64_t count = 0;
  Status st = Verify(path, **store, &count);
  if (!st.ok())
    return Fail(st.WithContext("import refused, nothing was written"));
  IngestTotals totals;
  st = Ingest(path, store->get(), &totals);
  if (!st.ok()) return Fail(st.WithContext("import failed"));
  st = WriteStdout("imported " + std::to_string(count) +
                   " entries: " + std::to_string(totals.stored) + " stored, " +
                   std::to_string(totals.duplicates) + " duplicates\n");
  if (st.ok()) st = FlushStdout();
  return st.ok() ? kExitOk : Fail(st);
}

}  // namespace plumlog::cli
