#include "cli/append_command.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "cli/content_json.h"
#include "cli/control_client.h"
#include "cli/control_protocol.h"
#include "cli/daemon_commands.h"
#include "cli/home.h"
#include "cli/output.h"
#include "storage/msgpack_reader.h"
#include "storage/utf8.h"

namespace plumlog::cli {
namespace {

using AppendedEntry = std::pair<uint64_t, EntryId>;

// Names the input in messages.
std::string InputName(const AppendArgs& args) {
  return !args.has_file || args.file == "-" ? "standard input" : args.file;
}

// Why `bytes` is not text, or "" if it is: UTF-8 without NUL bytes.
std::string NotTextReason(std::string_view bytes) {
  if (!storage::IsUtf8(bytes)) return "is not UTF-8 text";
  if (bytes.find('\0') != std::string_view::npos) return "contains NUL bytes";
  return "";
}

// The content of a single entry from stdin or --file: text (refused unless
// it is text), or with --binary the bytes as a bin. Empty input is refused.
Result<std::string> InputContent(const AppendArgs& args) {
  PLUMLOG_ASSIGN_OR_RETURN(std::string bytes,
                           ReadInput(args.has_file ? args.file : "-"));
  const std::string name = InputName(args);
  if (bytes.empty()) {
    return Status::InvalidArgument(
        name +
        " is empty: nothing to append (to store an empty string, run "
        "`plumlog append ''`)");
  }
  if (args.binary) {
    std::string content;
    storage::AppendMsgpackBin(&content, bytes);
    return content;
  }
  const std::string why = NotTextReason(bytes);
  if (!why.empty()) {
    return Status::InvalidArgument(
        name + " " + why + " (" + std::to_string(bytes.size()) +
        " bytes); to store bytes, add --binary (stored as bin, shown as "
        "base64 in JSON)");
  }
  return TextContent(bytes);
}

// The msgpack content `plumlog append` was asked to store (one entry).
Result<std::string> AppendContent(const AppendArgs& args) {
  if (args.has_text) {
    const std::string why = NotTextReason(args.text);
    if (!why.empty()) return Status::InvalidArgument("TEXT " + why);
    return TextContent(args.text);
  }
  if (args.has_json) {
    if (args.json == "-") {
      PLUMLOG_ASSIGN_OR_RETURN(std::string text, ReadInput("-"));
      return JsonToContent(text);
    }
    return JsonToContent(args.json);
  }
  if (args.has_json_file) {
    PLUMLOG_ASSIGN_OR_RETURN(std::string text, ReadInput(args.json_file));
    Result<std::string> content = JsonToContent(text);
    if (!content.ok()) {
      return content.status().WithContext(
          args.json_file == "-" ? "standard input" : args.json_file);
    }
    return content;
  }
  return InputContent(args);
}

// Where entries go: a running daemon, or the store opened for writing.
class Appender {
 public:
  // `bulk`: many entries; sign on every core.
  static Result<std::unique_ptr<Appender>> Open(const std::string& home,
                                                bool bulk) {
    auto a = std::unique_ptr<Appender>(new Appender());
    PLUMLOG_RETURN_IF_ERROR(ConnectIfRunning(home, &a->client_));
    if (a->client_) return a;
    Result<std::unique_ptr<Store>> store =
        OpenStore(home, Access::kWrite, bulk ? 0 : 1, bulk);
    if (!store.ok() && store.status().code() == Status::Code::kBusy) {
      // A daemon may have started since we looked.
      PLUMLOG_RETURN_IF_ERROR(ConnectIfRunning(home, &a->client_));
      if (a->client_) return a;
    }
    if (!store.ok()) return store.status();
    a->store_ = std::move(*store);
    return a;
  }

  Result<AppendedEntry> Append(const std::string& content) {
    if (client_) return DaemonAppend(client_.get(), content);
    Result<Entry> e = store_->Append(content);
    if (!e.ok()) return e.status().WithContext("cannot append");
    return AppendedEntry(e->seq(), e->id());
  }

  // All of `contents` or nothing, as consecutive entries.
  Result<std::vector<AppendedEntry>> AppendBatch(
      const std::vector<std::string>& contents) {
    if (client_) return DaemonAppendBatch(client_.get(), contents);
    Result<std::vector<Entry>> entries = store_->AppendBatch(contents);
    if (!entries.ok()) return entries.status().WithContext("cannot append");
    std::vector<AppendedEntry> out;
    out.reserve(entries->size());
    for (const Entry& e : *entries) out.emplace_back(e.seq(), e.id());
    return out;
  }

 private:
  Appender() = default;
  std::unique_ptr<ControlClient> client_;
  std::unique_ptr<Store> store_;
};

std::string AppendedLine(const AppendedEntry& e) {
  return std::to_string(e.first) + "\t" + e.second.ToString() + "\n";
}

// Splits a file descriptor's bytes into lines ("\n"-terminated; a "\r"
// before the "\n" is dropped too; the last line may lack its "\n").
class LineReader {
 public:
  // Longer lines are refused: no entry can hold them.
  static constexpr size_t kMaxLineBytes = 2 * kMaxEntryBytes;

  LineReader(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}

  // The next line into *line; *done at the end of the input.
  Status Next(std::string_view* line, bool* done) {
    *done = false;
    while (true) {
      const size_t nl = buf_.find('\n', pos_);
      if (nl != std::string::npos) {
        *line = std::string_view(buf_).substr(pos_, nl - pos_);
        pos_ = nl + 1;
        break;
      }
      if (buf_.size() - pos_ > kMaxLineBytes) {
        return Status::TooLarge(
            "line " + std::to_string(number_ + 1) + " is longer than " +
            std::to_string(kMaxLineBytes) + " bytes; an entry is at most " +
            std::to_string(kMaxEntryBytes));
      }
      if (eof_) {
        if (pos_ == buf_.size()) {
          *done = true;
          return Status::OK();
        }
        *line = std::string_view(buf_).substr(pos_);
        pos_ = buf_.size();
        break;
      }
      PLUMLOG_RETURN_IF_ERROR(Fill());
    }
    ++number_;
    if (!line->empty() && line->back() == '\r') line->remove_suffix(1);
    return Status::OK();
  }

  // The number of the line Next() returned last (1, 2, ...).
  uint64_t number() const { return number_; }

 private:
  Status Fill() {
    buf_.erase(0, pos_);
    pos_ = 0;
    char chunk[65536];
    while (true) {
      const ssize_t n = ::read(fd_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        return Status::IOError("cannot read " + name_ + ": " +
                               std::strerror(errno));
      }
      if (n == 0) eof_ = true;
      buf_.append(chunk, static_cast<size_t>(n));
      return Status::OK();
    }
  }

  int fd_;
  std::string name_;
  std::string buf_;
  size_t pos_ = 0;
  bool eof_ = false;
  uint64_t number_ = 0;
};

bool IsBlank(std::string_view line) {
  return line.find_first_not_of(" \t") == std::string_view::npos;
}

// --lines / --jsonl: reads the input line by line and appends the entries in
// batches, printing "<seq>\t<id>" for each as its batch is stored.
class BulkAppend {
 public:
  BulkAppend(const AppendArgs& args, Appender* appender)
      : args_(args), appender_(appender) {}

  Status Run(int fd) {
    LineReader reader(fd, InputName(args_));
    while (true) {
      std::string_view line;
      bool done = false;
      Status st = reader.Next(&line, &done);
      if (!st.ok()) return StopAt(reader.number() + 1, st);
      if (done) break;
      // Blank lines carry nothing: skipped, like JSON Lines readers do.
      if (args_.lines ? line.empty() : IsBlank(line)) continue;
      Result<std::string> content = LineContent(line);
      if (content.ok() && content->size() > kMaxEntryBytes) {
        content = Status::TooLarge(
            "content is " + std::to_string(content->size()) +
            " bytes; an entry is at most " + std::to_string(kMaxEntryBytes));
      }
      if (!content.ok()) return StopAt(reader.number(), content.status());
      batch_bytes_ += content->size();
      batch_.push_back(std::move(*content));
      batch_lines_.push_back(reader.number());
      if (batch_.size() >= kAppendBatchLines ||
          batch_bytes_ >= kAppendBatchBytes) {
        PLUMLOG_RETURN_IF_ERROR(Flush());
      }
    }
    PLUMLOG_RETURN_IF_ERROR(Flush());
    if (appended_ == 0) {
      return Status::InvalidArgument(InputName(args_) +
                                     " has no lines: nothing to append");
    }
    return FlushStdout();
  }

 private:
  // Every line before a bad one is appended, nothing after it.
  Status StopAt(uint64_t line, const Status& why) {
    PLUMLOG_RETURN_IF_ERROR(Flush());
    return Stopped(line, why);
  }

  Result<std::string> LineContent(std::string_view line) {
    if (args_.jsonl) {
      Result<std::string> content = JsonToContent(line);
      if (content.ok()) return content;
      // The position is within the line.
      std::string why = content.status().message();
      const std::string_view line1 = "at line 1, column";
      if (size_t at = why.find(line1); at != std::string::npos)
        why.replace(at, line1.size(), "at column");
      return Status::InvalidArgument(why);
    }
    const std::string why = NotTextReason(line);
    if (!why.empty()) return Status::InvalidArgument("the line " + why);
    return TextContent(line);
  }

  // Appends the batch. When the store refuses it for one line's content
  // (e.g. too large), appends the lines one by one up to that line, so
  // everything before the bad line is stored and the error names it.
  Status Flush() {
    if (batch_.empty()) return Status::OK();
    Result<std::vector<AppendedEntry>> entries = appender_->AppendBatch(batch_);
    if (entries.ok()) {
      std::string out;
      for (const AppendedEntry& e : *entries) out += AppendedLine(e);
      appended_ += entries->size();
      PLUMLOG_RETURN_IF_ERROR(WriteStdout(out));
    } else if (entries.status().code() == Status::Code::kTooLarge ||
               entries.status().code() == Status::Code::kInvalidArgument) {
      for (size_t i = 0; i < batch_.size(); ++i) {
        Result<AppendedEntry> e = appender_->Append(batch_[i]);
        if (!e.ok()) return Stopped(batch_lines_[i], e.status());
        ++appended_;
        PLUMLOG_RETURN_IF_ERROR(WriteStdout(AppendedLine(*e)));
      }
    } else {
      return Stopped(batch_lines_.front(), entries.status());
    }
    batch_.clear();
    batch_lines_.clear();
    batch_bytes_ = 0;
    return Status::OK();
  }

  // The error that ends the command at line `line`, saying what was stored.
  Status Stopped(uint64_t line, const Status& why) {
    (void)FlushStdout();
    const std::string stored =
        appended_ == 0 ? "nothing was appended"
                       : "the " + std::to_string(appended_) +
                             " entries before it were appended (printed "
                             "above), nothing after";
    return StatusFromCode(static_cast<uint64_t>(why.code()),
                          "line " + std::to_string(line) + ": " +
                              why.message() + "; stopped there: " + stored);
  }

  const AppendArgs& args_;
  Appender* appender_;
  std::vector<std::string> batch_;
  std::vector<uint64_t> batch_lines_;
  size_t batch_bytes_ = 0;
  uint64_t appended_ = 0;
};

int RunBulkAppend(const std::string& home, const AppendArgs& args) {
  int fd = STDIN_FILENO;
  if (args.has_file && args.file != "-") {
    fd = ::open(args.file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return Fail(Status::IOError("cannot open " + args.file + ": " +
                                  std::strerror(errno)));
    }
  }
  Result<std::unique_ptr<Appender>> appender = Appender::Open(home, true);
  Status st = appender.ok() ? Status::OK() : appender.status();
  if (st.ok()) {
    BulkAppend bulk(args, appender->get());
    st = bulk.Run(fd);
  }
  if (fd != STDIN_FILENO) ::close(fd);
  return st.ok() ? kExitOk : Fail(st);
}

}  // namespace

int RunAppend(const std::string& home, const AppendArgs& args) {
  if (args.lines || args.jsonl) return RunBulkAppend(home, args);
  // Read the content before taking the writer lock: stdin may be slow.
  Result<std::string> content = AppendContent(args);
  if (!content.ok()) return Fail(content.status());
  Result<std::unique_ptr<Appender>> appender = Appender::Open(home, false);
  if (!appender.ok()) return Fail(appender.status());
  Result<AppendedEntry> entry = (*appender)->Append(*content);
  if (!entry.ok()) return Fail(entry.status());
  Status st = WriteStdout(AppendedLine(*entry));
  if (st.ok()) st = FlushStdout();
  // The entry is stored either way; a lost acknowledgement is still an error.
  return st.ok() ? kExitOk : Fail(st);
}

}  // namespace plumlog::cli
