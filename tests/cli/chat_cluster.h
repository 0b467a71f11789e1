// Test fixture for the chat tests (pipes and tmux): three initialised homes
// and up to three `plumlog serve` daemons on loopback, daemon 0 on a fixed
// port so that the others find it again after a restart.
#ifndef PLUMLOG_TESTS_CLI_CHAT_CLUSTER_H_
#define PLUMLOG_TESTS_CLI_CHAT_CLUSTER_H_

#include <gtest/gtest.h>
#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/cli/daemon_util.h"
#include "tests/cli/subprocess.h"

namespace plumlog::testing {

class ChatClusterTest : public ::testing::Test {
 protected:
  static constexpr const char* kNicks[3] = {"alice", "bob", "carol"};

  void SetUp() override {
    for (const char* name : {"a", "b", "c"}) {
      homes_.push_back(dir_.Sub(name));
      RunResult r = RunWithHome(homes_.back(), {"init"});
      ASSERT_EQ(r.exit_code, 0) << Show(r);
    }
  }

  // Starts daemon i (0 = the first; the others --peer it unless
  // `isolated`).
  void Serve(size_t i, bool isolated = false) {
    std::vector<std::string> args = {"--preset", "test"};
    if (i == 0) {
      if (port0_ == 0) port0_ = FreePort();
      args.push_back("--listen");
      args.push_back("127.0.0.1:" + std::to_string(port0_));
    }
    if (i > 0 && !isolated) {
      args.push_back("--peer");
      args.push_back(Address0());
    }
    daemons_[i] = std::make_unique<Daemon>(homes_[i], args);
    ASSERT_TRUE(daemons_[i]->started()) << daemons_[i]->log();
  }
  // Stops daemon i gracefully (SIGTERM) or kills it (SIGKILL).
  void StopDaemon(size_t i, int sig = SIGTERM) {
    const int code = daemons_[i]->Stop(sig);
    EXPECT_EQ(code, sig == SIGKILL ? -1 : 0) << daemons_[i]->log();
    daemons_[i].reset();
  }
  // Daemon 0's address (also while it is stopped).
  std::string Address0() {
    if (daemons_[0]) address0_ = daemons_[0]->address();
    return address0_;
  }

  std::string Logs() const {
    std::string o;
    for (size_t i = 0; i < 3; ++i) {
      if (daemons_[i])
        o += "--- daemon " + std::to_string(i) + ":\n" + daemons_[i]->log();
    }
    return o;
  }

  uint16_t port0_ = 0;
  std::string address0_;
  TempDir dir_;
  std::vector<std::string> homes_;
  std::unique_ptr<Daemon> daemons_[3];
};

}  // namespace plumlog::testing

#endif  // PLUMLOG_TESTS_CLI_CHAT_CLUSTER_H_
