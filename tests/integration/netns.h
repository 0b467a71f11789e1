// Network namespaces and packet filters for the integration tests: the test
// process moves itself into a fresh network namespace (the daemons it starts
// inherit it), where loopback addresses 127.0.0.2, .3, .4 ... all reach lo
// and firewall rules can drop packets without touching the machine's network.
#ifndef PLUMLOG_TESTS_INTEGRATION_NETNS_H_
#define PLUMLOG_TESTS_INTEGRATION_NETNS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

namespace plumlog::testing {

// The path of an executable `name` on $PATH, /usr/sbin or /sbin; "" if none.
std::string FindTool(const std::string& name);

// Moves this process into a new network namespace (unshare(CLONE_NEWNET),
// or, without the privilege, a new user namespace with it, as `unshare -rn`)
// and brings up lo. False, with the reason in `why`, where the machine
// forbids it or has no `ip`.
bool EnterNetworkNamespace(std::string* why);

// True if this process may run children as group `gid` (root in the initial
// user namespace can; a mapped user namespace cannot).
bool CanRunAsGroup(gid_t gid);

// Packet filter rules in the current network namespace, with nftables
// (preferred) or iptables. The rules live in the namespace and vanish with it.
class Firewall {
 public:
  // nft if it works here, else iptables; nullptr (and `why`) if neither.
  static std::unique_ptr<Firewall> Create(std::string* why);
  virtual ~Firewall() = default;

  virtual std::string name() const = 0;
  // Drops `percent` % of the packets arriving on lo, at random.
  virtual bool Loss(int percent, std::string* why) = 0;
  // Cuts `address` off from every other address: drops every packet to or
  // from it, and every packet sent by a socket of group `gid` (the daemon
  // listening on `address` runs as that group: its outgoing connections
  // leave from 127.0.0.1, not from `address`, since the kernel picks the
  // source address of a loopback connection by route and the daemon does not
  // bind its dialling sockets).
  virtual bool Isolate(const std::string& address, gid_t gid,
                       std::string* why) = 0;
  // Removes every rule added.
  virtual bool Clear(std::string* why) = 0;
  // The current rules, for messages.
  virtual std::string Show() = 0;

  // Runs `argv` (argv[0] a path); false with its output in `why` on failure.
  static bool Exec(const std::vector<std::string>& argv, std::string* why,
                   std::string* out = nullptr);
};

}  // namespace plumlog::testing

#endif  // PLUMLOG_TESTS_INTEGRATION_NETNS_H_
