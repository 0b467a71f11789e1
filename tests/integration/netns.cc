#include "tests/integration/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "tests/cli/subprocess.h"

namespace plumlog::testing {
namespace {

bool WriteProcFile(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::write(fd, text.data(), text.size()) ==
                  static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

class NftFirewall : public Firewall {
 public:
  explicit NftFirewall(std::string nft) : nft_(std::move(nft)) {}

  bool Setup(std::string* why) {
    return Nft({"add", "table", "inet", kTable}, why) &&
           Nft({"add", "chain", "inet", kTable, "input",
                "{ type filter hook input priority 0; policy accept; }"},
               why) &&
           Nft({"add", "chain", "inet", kTable, "output",
                "{ type filter hook output priority 0; policy accept; }"},
               why);
  }

  std::string name() const override { return "nftables (" + nft_ + ")"; }

  bool Loss(int percent, std::string* why) override {
    return Nft({"add", "rule", "inet", kTable, "input", "iif", "lo", "numgen",
                "random", "mod", "100", "<", std::to_string(percent), "drop"},
               why);
  }

  bool Isolate(const std::string& address, gid_t gid,
               std::string* why) override {
    return Nft({"add", "rule", "inet", kTable, "input", "ip", "daddr", address,
                "drop"},
               why) &&
           Nft({"add", "rule", "inet", kTable, "input", "ip", "saddr", address,
                "drop"},
               why) &&
           Nft({"add", "rule", "inet", kTable, "output", "meta", "skgid",
                std::to_string(gid), "drop"},
               why);
  }

  bool Clear(std::string* why) override {
    return Nft({"flush", "table", "inet", kTable}, why);
  }

  std::string Show() override {
    std::string out, why;
    if (!Exec({nft_, "list", "table", "inet", kTable}, &why, &out)) return why;
    return out;
  }

 private:
  static constexpr const char* kTable = "plumlog_test";

  bool Nft(std::vector<std::string> args, std::string* why) {
    args.insert(args.begin(), nft_);
    return Exec(args, why);
  }

  std::string nft_;
};

class IptablesFirewall : public Firewall {
 public:
  explicit IptablesFirewall(std::string iptables)
      : iptables_(std::move(iptables)) {}

  bool Setup(std::string* why) { return Ipt({"-L", "INPUT", "-n"}, why); }

  std::string name() const override { return "iptables (" + iptables_ + ")"; }

  bool Loss(int percent, std::string* why) override {
    std::ostringstream p;
    p << percent / 100.0;
    return Ipt({"-A", "INPUT", "-i", "lo", "-m", "statistic", "--mode",
                "random", "--probability", p.str(), "-j", "DROP"},
               why);
  }

  bool Isolate(const std::string& address, gid_t gid,
               std::string* why) override {
    return Ipt({"-A", "INPUT", "-d", address, "-j", "DROP"}, why) &&
           Ipt({"-A", "INPUT", "-s", address, "-j", "DROP"}, why) &&
           Ipt({"-A", "OUTPUT", "-m", "owner", "--gid-owner",
                std::to_string(gid), "-j", "DROP"},
               why);
  }

  bool Clear(std::string* why) override {
    return Ipt({"-F", "INPUT"}, why) && Ipt({"-F", "OUTPUT"}, why);
  }

  std::string Show() override {
    std::string out, why;
    if (!Exec({iptables_, "-w", "-S"}, &why, &out)) return why;
    return out;
  }

 private:
  bool Ipt(std::vector<std::string> args, std::string* why) {
    args.insert(args.begin(), {iptables_, "-w"});
    return Exec(args, why);
  }

  std::string iptables_;
};

}  // namespace

std::string FindTool(const std::string& name) {
  std::string path = std::getenv("PATH") != nullptr ? std::getenv("PATH") : "";
  path += ":/usr/sbin:/sbin:/usr/bin:/bin";
  std::stringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    const std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

bool EnterNetworkNamespace(std::string* why) {
  if (::unshare(CLONE_NEWNET) != 0) {
    const int first = errno;
    // Without CAP_SYS_ADMIN: a user namespace where we are root, as
    // `unshare -rn` does.
    const uid_t uid = ::geteuid();
    const gid_t gid = ::getegid();
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) {
      *why = std::string("network namespaces are forbidden here: "
                         "unshare(CLONE_NEWNET): ") +
             std::strerror(first) +
             "; unshare(CLONE_NEWUSER|CLONE_NEWNET): " + std::strerror(errno);
      return false;
    }
    if (!WriteProcFile("/proc/self/setgroups", "deny") ||
        !WriteProcFile("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1") ||
        !WriteProcFile("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1")) {
      *why = std::string("cannot map ids in the new user namespace: ") +
             std::strerror(errno);
      return false;
    }
  }
  const std::string ip = FindTool("ip");
  if (ip.empty()) {
    *why = "no `ip` command (install iproute2; scripts/deps --test does)";
    return false;
  }
  std::string err;
  if (!Firewall::Exec({ip, "link", "set", "lo", "up"}, &err)) {
    *why = "cannot bring up lo in the new network namespace: " + err;
    return false;
  }
  return true;
}

bool CanRunAsGroup(gid_t gid) {
  const pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid == 0) ::_exit(::setresgid(gid, gid, gid) == 0 ? 0 : 1);
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::unique_ptr<Firewall> Firewall::Create(std::string* why) {
  std::string reasons;
  const std::string nft = FindTool("nft");
  if (!nft.empty()) {
    auto f = std::make_unique<NftFirewall>(nft);
    std::string err;
    if (f->Setup(&err)) return f;
    reasons += "nft does not work here: " + err + "; ";
  } else {
    reasons += "no nft; ";
  }
  const std::string ipt = FindTool("iptables");
  if (!ipt.empty()) {
    auto f = std::make_unique<IptablesFirewall>(ipt);
    std::string err;
    if (f->Setup(&err)) return f;
    reasons += "iptables does not work here: " + err;
  } else {
    reasons += "no iptables";
  }
  *why = "no packet filter to drop packets with (" + reasons +
         "); install nftables or iptables (scripts/deps --test does)";
  return nullptr;
}

bool Firewall::Exec(const std::vector<std::string>& argv, std::string* why,
                    std::string* out) {
  std::unique_ptr<Subprocess> p = Subprocess::Start(argv);
  RunResult r = p->Finish(Millis(30000));
  if (out != nullptr) *out = r.out;
  if (r.exit_code == 0) return true;
  std::string cmd;
  for (const std::string& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
  *why = "`" + cmd + "`: " + plumlog::testing::Show(r);
  return false;
}

}  // namespace plumlog::testing
