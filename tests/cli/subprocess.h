// Test helper: run a program with arguments, stdin and environment overrides,
// capturing stdout, stderr and the exit status, with a timeout so that a hang
// fails the test instead of blocking it.
#ifndef PLUMLOG_TESTS_CLI_SUBPROCESS_H_
#define PLUMLOG_TESTS_CLI_SUBPROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace plumlog::testing {

using Millis = std::chrono::milliseconds;

struct RunResult {
  int exit_code = -1;   // -1 unless the process exited normally
  int term_signal = 0;  // the signal that ended it, if any
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Environment changes for a child: name -> value, or nullopt to unset.
using EnvOverrides = std::map<std::string, std::optional<std::string>>;

// One child process with pipes on stdin, stdout and stderr.
class Subprocess {
 public:
  // argv[0] is the program's path. With `stderr_on_terminal`, the child's
  // stderr is a pseudo-terminal (isatty(2) is true; what it writes there is
  // read as its stderr, with the terminal's "\n" -> "\r\n").
  static std::unique_ptr<Subprocess> Start(const std::vector<std::string>& argv,
                                           const EnvOverrides& env = {},
                                           bool stderr_on_terminal = false);
  // Kills (SIGKILL) and reaps the child if it is still running.
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }

  // Writes all of `data` to the child's stdin (while draining its output).
  bool WriteStdin(std::string_view data, Millis timeout = Millis(30000));
  void CloseStdin();
  // Closes our end of the child's stdout pipe.
  void CloseStdout();

  // The next line of stdout without its "\n"; nullopt on timeout or EOF.
  std::optional<std::string> ReadLine(Millis timeout);
  // Everything read from stdout so far that ReadLine has not returned.
  const std::string& pending_out() const { return out_; }

  void Kill(int sig);
  // Reads stdout/stderr to EOF and reaps the child. On timeout, kills it with
  // SIGKILL and sets timed_out.
  RunResult Finish(Millis timeout = Millis(30000));
  // Reaps the child without reading; false on timeout.
  bool WaitExit(Millis timeout, RunResult* result);

 private:
  Subprocess() = default;
  // Polls the open pipes once, up to `ms`; reads what is readable. If
  // `to_write` is set, writes some of it to stdin. False when nothing is open.
  bool PumpOnce(int ms, std::string_view* to_write);
  void Reap(int status, RunResult* result);

  pid_t pid_ = -1;
  bool reaped_ = false;
  int in_fd_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
};

// Runs the plumlog binary (PLUMLOG_BIN) with `args`, feeding `stdin_data`.
RunResult RunPlumlog(const std::vector<std::string>& args,
                     std::string_view stdin_data = "",
                     const EnvOverrides& env = {},
                     Millis timeout = Millis(30000));

// RunPlumlog with stderr on a pseudo-terminal (progress bars are drawn).
RunResult RunPlumlogOnTerminal(const std::vector<std::string>& args,
                               Millis timeout = Millis(60000));

// RunPlumlog({"--home", home, args...}, stdin_data).
RunResult RunWithHome(const std::string& home,
                      const std::vector<std::string>& args,
                      std::string_view stdin_data = "");

// Exit status, stdout and stderr, for assertion messages.
std::string Show(const RunResult& r);

// A fresh directory under $TMPDIR, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(std::string_view name) const {
    return path_ + "/" + std::string(name);
  }

 private:
  std::string path_;
};

std::string ReadFileBytes(const std::string& path);
void WriteFileBytes(const std::string& path, std::string_view bytes);

// Splits text into lines (no trailing empty line).
std::vector<std::string> Lines(std::string_view text);

}  // namespace plumlog::testing

#endif  // PLUMLOG_TESTS_CLI_SUBPROCESS_H_
