#include "tests/cli/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace plumlog::testing {
namespace {

using Clock = std::chrono::steady_clock;

int MsLeft(Clock::time_point deadline) {
  auto left =
      std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

void CloseFd(int* fd) {
  if (*fd >= 0) ::close(*fd);
  *fd = -1;
}

}  // namespace

std::unique_ptr<Subprocess> Subprocess::Start(
    const std::vector<std::string>& argv, const EnvOverrides& env,
    bool stderr_on_terminal) {
  // A child that exits early must not kill the test with SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 ||
      ::pipe2(err, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  if (stderr_on_terminal) {
    // The master end replaces the stderr pipe's read end, the slave end its
    // write end (opened here, before the fork, so the master never sees a
    // terminal nobody has opened yet).
    char terminal[128] = {};
    const int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || ::grantpt(master) != 0 || ::unlockpt(master) != 0 ||
        ::ptsname_r(master, terminal, sizeof terminal) != 0) {
      throw std::runtime_error("cannot open a pseudo-terminal");
    }
    const int slave = ::open(terminal, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) throw std::runtime_error("cannot open the terminal");
    ::close(err[0]);
    ::close(err[1]);
    err[0] = master;
    err[1] = slave;
  }
  // Build argv and envp before fork: the child only calls async-signal-safe
  // functions.
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view kv(*e);
    std::string name(kv.substr(0, kv.find('=')));
    if (env.count(name) == 0) env_strings.emplace_back(kv);
  }
  for (const auto& [name, value] : env) {
    if (value) env_strings.push_back(name + "=" + *value);
  }
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  std::unique_ptr<Subprocess> p(new Subprocess());
  p->pid_ = ::fork();
  if (p->pid_ < 0) throw std::runtime_error("fork failed");
  if (p->pid_ == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    // Default signal dispositions for the child (gtest may have changed some).
    ::signal(SIGPIPE, SIG_DFL);
    ::execve(args[0], args.data(), envp.data());
    const char msg[] = "exec failed\n";
    (void)!::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  p->in_fd_ = in[1];
  p->out_fd_ = out[0];
  p->err_fd_ = err[0];
  ::fcntl(p->in_fd_, F_SETFL, O_NONBLOCK);
  return p;
}

Subprocess::~Subprocess() {
  CloseFd(&in_fd_);
  CloseFd(&out_fd_);
  CloseFd(&err_fd_);
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    int status;
    ::waitpid(pid_, &status, 0);
  }
}

bool Subprocess::PumpOnce(int ms, std::string_view* to_write) {
  struct pollfd fds[3];
  int n = 0;
  int out_i = -1, err_i = -1, in_i = -1;
  if (out_fd_ >= 0) {
    out_i = n;
    fds[n++] = {out_fd_, POLLIN, 0};
  }
  if (err_fd_ >= 0) {
    err_i = n;
    fds[n++] = {err_fd_, POLLIN, 0};
  }
  if (to_write != nullptr && in_fd_ >= 0) {
    in_i = n;
    fds[n++] = {in_fd_, POLLOUT, 0};
  }
  if (n == 0) return false;
  int r = ::poll(fds, static_cast<nfds_t>(n), ms);
  if (r <= 0) return true;
  char buf[65536];
  auto drain = [&](int idx, int* fd, std::string* sink) {
    if (idx < 0 || (fds[idx].revents & (POLLIN | POLLHUP | POLLERR)) == 0)
      return;
    ssize_t got = ::read(*fd, buf, sizeof buf);
    if (got > 0) {
      sink->append(buf, static_cast<size_t>(got));
    } else if (got == 0 || errno != EINTR) {
      CloseFd(fd);
    }
  };
  drain(out_i, &out_fd_, &out_);
  drain(err_i, &err_fd_, &err_);
  if (in_i >= 0 && (fds[in_i].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
    ssize_t w = ::write(in_fd_, to_write->data(), to_write->size());
    if (w > 0) {
      to_write->remove_prefix(static_cast<size_t>(w));
    } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
      to_write->remove_prefix(to_write->size());  // the child closed stdin
    }
  }
  return true;
}

bool Subprocess::WriteStdin(std::string_view data, Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!data.empty() && in_fd_ >= 0) {
    if (Clock::now() >= deadline) return false;
    PumpOnce(MsLeft(deadline), &data);
  }
  return data.empty();
}

void Subprocess::CloseStdin() { CloseFd(&in_fd_); }
void Subprocess::CloseStdout() { CloseFd(&out_fd_); }

std::optional<std::string> Subprocess::ReadLine(Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    size_t nl = out_.find('\n');
    if (nl != std::string::npos) {
      std::string line = out_.substr(0, nl);
      out_.erase(0, nl + 1);
      return line;
    }
    if (out_fd_ < 0 || Clock::now() >= deadline) return std::nullopt;
    PumpOnce(MsLeft(deadline), nullptr);
  }
}

void Subprocess::Kill(int sig) {
  if (pid_ > 0 && !reaped_) ::kill(pid_, sig);
}

void Subprocess::Reap(int status, RunResult* result) {
  reaped_ = true;
  if (WIFEXITED(status)) result->exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result->term_signal = WTERMSIG(status);
}

bool Subprocess::WaitExit(Millis timeout, RunResult* result) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    int status;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      Reap(status, result);
      return true;
    }
    if (Clock::now() >= deadline) return false;
    ::usleep(2000);
  }
}

RunResult Subprocess::Finish(Millis timeout) {
  RunResult result;
  const auto deadline = Clock::now() + timeout;
  CloseStdin();
  while (out_fd_ >= 0 || err_fd_ >= 0) {
    if (Clock::now() >= deadline) {
      result.timed_out = true;
      ::kill(pid_, SIGKILL);
      break;
    }
    PumpOnce(MsLeft(deadline), nullptr);
  }
  if (!WaitExit(
          result.timed_out ? Millis(10000) : Millis(MsLeft(deadline) + 1000),
          &result)) {
    result.timed_out = true;
    ::kill(pid_, SIGKILL);
    WaitExit(Millis(10000), &result);
  }
  result.out = std::move(out_);
  result.err = std::move(err_);
  return result;
}

RunResult RunPlumlog(const std::vector<std::string>& args,
                     std::string_view stdin_data, const EnvOverrides& env,
                     Millis timeout) {
  std::vector<std::string> argv = {PLUMLOG_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  std::unique_ptr<Subprocess> p = Subprocess::Start(argv, env);
  p->WriteStdin(stdin_data, timeout);
  return p->Finish(timeout);
}

RunResult RunPlumlogOnTerminal(const std::vector<std::string>& args,
                               Millis timeout) {
  std::vector<std::string> argv = {PLUMLOG_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  std::unique_ptr<Subprocess> p = Subprocess::Start(argv, {}, true);
  return p->Finish(timeout);
}

RunResult RunWithHome(const std::string& home,
                      const std::vector<std::string>& args,
                      std::string_view stdin_data) {
  std::vector<std::string> full = {"--home", home};
  full.insert(full.end(), args.begin(), args.end());
  return RunPlumlog(full, stdin_data);
}

std::string Show(const RunResult& r) {
  return "exit " + std::to_string(r.exit_code) + " signal " +
         std::to_string(r.term_signal) + (r.timed_out ? " TIMED OUT" : "") +
         "\n--- stdout:\n" + r.out.substr(0, 4000) + "\n--- stderr:\n" +
         r.err.substr(0, 4000);
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
      "/plumlog-cli-test-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr)
    throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFileBytes(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::vector<std::string> Lines(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    if (nl == std::string_view::npos) {
      lines.emplace_back(text);
      break;
    }
    lines.emplace_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  return lines;
}

}  // namespace plumlog::testing
