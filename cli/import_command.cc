#include "cli/import_command.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "cli/control_client.h"
#include "cli/control_protocol.h"
#include "cli/home.h"
#include "cli/output.h"
#include "cli/progress_bar.h"
#include "cli/stream_verifier.h"
#include "storage/export_stream.h"
#include "storage/msgpack_reader.h"

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

// Draws pass 1's progress by the bytes of the stream read so far.
void ShowVerifyProgress(ProgressBar* bar, std::ifstream* in, uint64_t size,
                        uint64_t entries) {
  if (!bar->enabled()) return;
  const std::streamoff pos = in->tellg();
  const uint64_t done = pos < 0 ? size : static_cast<uint64_t>(pos);
  bar->Update("verifying", done, size,
              std::to_string(size == 0 ? 100 : done * 100 / size) + "% (" +
                  std::to_string(entries) + " entries)");
}

// Pass 1: reads and checks the whole stream; writes nothing.
Status Verify(const std::string& path, const Store& store, ProgressBar* bar,
              uint64_t* count) {
  std::ifstream in;
  PLUMLOG_RETURN_IF_ERROR(OpenStream(path, &in));
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
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
    ShowVerifyProgress(bar, &in, ec ? 0 : size, reader.count());
  }
  PLUMLOG_RETURN_IF_ERROR(verifier.Finish());
  *count = verifier.entries();
  return Status::OK();
}

struct IngestTotals {
  uint64_t stored = 0;
  uint64_t duplicates = 0;
};

// Stores one batch: Store::Ingest, or the same through the daemon.
using IngestFn = std::function<Result<IngestResult>(std::vector<Entry>)>;

Status IngestBatch(const IngestFn& ingest, std::vector<Entry>* batch,
                   uint64_t first_index, IngestTotals* totals) {
  PLUMLOG_ASSIGN_OR_RETURN(const IngestResult r, ingest(*batch));
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

// Pass 2: ingests the verified stream (`count` entries) in batches.
Status Ingest(const std::string& path, const IngestFn& ingest, uint64_t count,
              ProgressBar* bar, IngestTotals* totals) {
  std::ifstream in;
  PLUMLOG_RETURN_IF_ERROR(OpenStream(path, &in));
  storage::ExportReader reader(&in);
  std::vector<Entry> batch;
  batch.reserve(kIngestBatch);
  uint64_t first_index = 1;
  size_t batch_bytes = 0;
  while (true) {
    Entry e;
    bool done = false;
    PLUMLOG_RETURN_IF_ERROR(reader.Next(&e, &done));
    if (done) break;
    batch_bytes += e.encoded().size() + 8;
    batch.push_back(std::move(e));
    if (batch.size() == kIngestBatch || batch_bytes >= kMaxIngestFrameBytes) {
      PLUMLOG_RETURN_IF_ERROR(IngestBatch(ingest, &batch, first_index, totals));
      first_index = reader.count() + 1;
      batch_bytes = 0;
      bar->Update("storing", reader.count(), count,
                  std::to_string(reader.count()) + "/" + std::to_string(count) +
                      " entries");
    }
  }
  if (!batch.empty())
    PLUMLOG_RETURN_IF_ERROR(IngestBatch(ingest, &batch, first_index, totals));
  return Status::OK();
}

// The daemon's answer to an ingest request, as an IngestResult.
Result<IngestResult> IngestViaDaemon(ControlClient* client,
                                     const std::vector<Entry>& entries) {
  std::string req = ControlRequest(kIngest, 1);
  storage::AppendMsgpackArrayHeader(&req,
                                    static_cast<uint32_t>(entries.size()));
  for (const Entry& e : entries) storage::AppendMsgpackBin(&req, e.encoded());
  uint32_t n = 0;
  std::string results;
  // Verifying and writing a batch may take a while on a slow disk.
  PLUMLOG_RETURN_IF_ERROR(client->Call(req, 300000, &n, &results));
  storage::MsgpackReader r(results);
  IngestResult out;
  uint64_t v = 0;
  PLUMLOG_RETURN_IF_ERROR(r.ReadUint("stored", &v));
  out.stored = static_cast<size_t>(v);
  PLUMLOG_RETURN_IF_ERROR(r.ReadUint("duplicates", &v));
  out.duplicates = static_cast<size_t>(v);
  if (!r.TryReadNil()) {
    PLUMLOG_RETURN_IF_ERROR(r.ReadUint("failed index", &v));
    if (v >= entries.size())
      return Status::Corruption("the daemon sent a bad failed index");
    out.failed_index = static_cast<size_t>(v);
  }
  uint64_t code = 0;
  std::string_view message;
  PLUMLOG_RETURN_IF_ERROR(r.ReadUint("failure code", &code));
  PLUMLOG_RETURN_IF_ERROR(
      r.ReadStr("failure message", kMaxControlFrameBytes, &message));
  if (out.failed_index) {
    out.failure = StatusFromCode(code, std::string(message));
    if (out.failure.ok()) out.failure = Status::IOError(std::string(message));
  }
  return out;
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
  // A running daemon owns the store: verify against a read-only view and
  // ingest through the daemon.
  std::unique_ptr<ControlClient> client;
  Status st = ConnectIfRunning(home, &client);
  if (!st.ok()) return Fail(st);
  Result<std::unique_ptr<Store>> store =
      OpenStore(home, client ? Access::kReadOnly : Access::kWrite);
  if (!client && !store.ok() && store.status().code() == Status::Code::kBusy) {
    // A daemon may have started since we looked.
    st = ConnectIfRunning(home, &client);
    if (!st.ok()) return Fail(st);
    if (client) store = OpenStore(home, Access::kReadOnly);
  }
  if (!store.ok()) return Fail(store.status());
  uint64_t count = 0;
  ProgressBar bar;
  st = Verify(path, **store, &bar, &count);
  bar.Clear();
  if (!st.ok())
    return Fail(st.WithContext("import refused, nothing was written"));
  IngestFn ingest;
  if (client) {
    ingest = [&client](std::vector<Entry> batch) {
      return IngestViaDaemon(client.get(), batch);
    };
  } else {
    ingest = [&store](std::vector<Entry> batch) -> Result<IngestResult> {
      return (*store)->Ingest(std::move(batch));
    };
  }
  IngestTotals totals;
  st = Ingest(path, ingest, count, &bar, &totals);
  bar.Clear();
  if (!st.ok()) return Fail(st.WithContext("import failed"));
  st = WriteStdout("imported " + std::to_string(count) +
                   " entries: " + std::to_string(totals.stored) + " stored, " +
                   std::to_string(totals.duplicates) + " duplicates\n");
  if (st.ok()) st = FlushStdout();
  return st.ok() ? kExitOk : Fail(st);
}

}  // namespace plumlog::cli
