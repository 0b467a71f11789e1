// A store on a small file system that fills up. The test moves itself into a
// mount namespace of its own (unshare(CLONE_NEWNS), so nothing is visible
// outside it) and mounts a 32 MiB tmpfs there for the store's home; the
// daemons it starts inherit the namespace. Skips, saying why, where it may
// not (not root, no CAP_SYS_ADMIN, seccomp).
//
// What must hold: appends fail with exit 1 and a message that says the disk
// is full, nothing acknowledged is lost, `check` passes once space is free
// again, and a running daemon takes appends again once space is freed,
// without a restart.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include "tests/integration/integration_test.h"
#include "tests/integration/reliability_util.h"

namespace plumlog::testing {
namespace {

using Clock = std::chrono::steady_clock;
using ::testing::AnyOf;
using ::testing::HasSubstr;

constexpr size_t kFsBytes = size_t{32} << 20;

uint64_t FreeBytes(const std::string& path) {
  struct statvfs st;
  if (::statvfs(path.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

// Fills the file system holding `path` up to all but `leave` bytes.
void Fill(const std::string& path, uint64_t leave) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  const std::string block(1 << 16, 'f');
  while (FreeBytes(path.substr(0, path.rfind('/'))) > leave + block.size()) {
    out.write(block.data(), block.size());
    out.flush();
    if (!out) break;
  }
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  return s;
}

class DiskFullTest : public IntegrationTest {
 protected:
  void SetUp() override {
    if (::unshare(CLONE_NEWNS) != 0) {
      GTEST_SKIP() << "cannot create a mount namespace (unshare(CLONE_NEWNS): "
                   << std::strerror(errno)
                   << "); run as root to test a full disk";
    }
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      GTEST_SKIP() << "cannot make mounts private: " << std::strerror(errno);
    }
    mnt_ = cluster_.dir() + "/small";
    ::mkdir(mnt_.c_str(), 0700);
    const std::string opts = "size=" + std::to_string(kFsBytes) + ",mode=0700";
    if (::mount("tmpfs", mnt_.c_str(), "tmpfs", 0, opts.c_str()) != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs: " << std::strerror(errno);
    }
    mounted_ = true;
    std::printf("store on a %zu MiB tmpfs at %s\n", kFsBytes >> 20,
                mnt_.c_str());
  }

  void TearDown() override {
    IntegrationTest::TearDown();
    if (d_) {
      if (HasFailure()) std::cout << d_->Logs();
      d_.reset();  // SIGKILLs its daemon before the unmount
    }
    if (mounted_) ::umount2(mnt_.c_str(), MNT_DETACH);
  }

  // Appends (10 KB each) until one fails; the failure's result.
  RunResult AppendUntilFull(const Peer& p, std::vector<Ack>* acks) {
    const std::string big(10000, 'z');
    for (int i = 0; i < 5000; ++i) {
      RunResult r = p.Run({"append", "--", big + std::to_string(i)});
      if (r.exit_code != 0) return r;
      const size_t tab = r.out.find('\t');
      acks->push_back(Ack{std::stoull(r.out.substr(0, tab)),
                          r.out.substr(tab + 1, r.out.size() - tab - 2)});
    }
    return RunResult{};
  }

  void ExpectAcked(const Peer& p, const std::vector<Ack>& acks) {
    std::string why;
    auto feed = ReadContiguous(p, p.id(), &why);
    ASSERT_TRUE(feed.has_value()) << why;
    for (const Ack& a : acks) {
      auto it = feed->find(a.seq);
      ASSERT_TRUE(it != feed->end()) << "acknowledged seq " << a.seq << " lost";
      ASSERT_EQ(it->second, a.id) << "seq " << a.seq;
    }
  }

  std::string mnt_;
  bool mounted_ = false;
  std::unique_ptr<Peer> d_;
};

TEST_F(DiskFullTest, AppendsFailCleanlyAndResumeOnceSpaceIsFreed) {
  d_ = std::make_unique<Peer>("d", mnt_ + "/home");
  Peer& d = *d_;
  ASSERT_TRUE(d.Init());
  Peer& q = Add("q");  // a peer on the ordinary disk
  ASSERT_TRUE(Start(d, {}));
  const std::string listen = "127.0.0.1:" + std::to_string(d.port());
  ASSERT_TRUE(Start(q, {"--peer", d.address()}));
  std::vector<Ack> acks;

  // 1. Through the daemon: fill the disk, leaving 1 MiB.
  const std::string filler = mnt_ + "/filler";
  Fill(filler, 1 << 20);
  RunResult full = AppendUntilFull(d, &acks);
  std::printf("through the daemon: %zu appends acknowledged, then exit %d: %s",
              acks.size(), full.exit_code, full.err.c_str());
  ASSERT_EQ(full.exit_code, 1) << Show(full);
  EXPECT_THAT(Lower(full.err), HasSubstr("no space")) << Show(full);
  // The daemon is still up and answers.
  EXPECT_EQ(d.Run({"status"}).exit_code, 0) << d.Diagnose();
  // A second attempt fails the same way (no crash, no hang).
  RunResult again = d.Run({"append", "still full"});
  EXPECT_EQ(again.exit_code, 1) << Show(again);
  std::printf("a second append while full: exit %d: %s", again.exit_code,
              again.err.c_str());

  // 2. Free the space: the same daemon takes appends again.
  ASSERT_EQ(::unlink(filler.c_str()), 0);
  const auto freed = Clock::now();
  std::optional<Ack> back;
  std::string why;
  const bool resumed = PollEvery(Millis(200), Millis(10000), [&] {
    back = d.Append("after the disk was freed", &why);
    return back.has_value();
  });
  std::printf(
      "after freeing space: the daemon %s (%lld ms)%s\n",
      resumed ? "takes appends again without a restart"
              : "still refuses appends",
      static_cast<long long>(
          std::chrono::duration_cast<Millis>(Clock::now() - freed).count()),
      resumed ? "" : (": " + why).c_str());
  EXPECT_TRUE(resumed) << "the daemon did not resume after space was freed: "
                       << why;
  if (back) acks.push_back(*back);
  ASSERT_NO_FATAL_FAILURE(ExpectAcked(d, acks));
  // Replication to Q resumes too.
  const uint64_t head = d.Head(d.id());
  std::string missing;
  EXPECT_TRUE(PollEvery(Millis(100), Millis(30000), [&] {
    return cluster_.HaveAll({{d.id(), head}}, &missing, {&q});
  })) << missing;

  // 3. Without a daemon: stop it (SIGTERM), fill again, append directly.
  EXPECT_EQ(d.Stop(), 0) << d.Logs();
  Fill(filler, 1 << 20);
  RunResult direct = AppendUntilFull(d, &acks);
  std::printf("directly on the store: exit %d: %s", direct.exit_code,
              direct.err.c_str());
  ASSERT_EQ(direct.exit_code, 1) << Show(direct);
  EXPECT_THAT(Lower(direct.err), HasSubstr("no space")) << Show(direct);
  // Readers still work on the full disk.
  RunResult check_full = d.Run({"check"});
  std::printf("check on the full disk: exit %d: %s%s", check_full.exit_code,
              check_full.out.c_str(), check_full.err.c_str());

  // 4. Space freed: direct appends work, the store checks, the daemon
  // restarts and replicates.
  ASSERT_EQ(::unlink(filler.c_str()), 0);
  std::optional<Ack> direct_back =
      d.Append("direct, after the disk was freed", &why);
  ASSERT_TRUE(direct_back.has_value()) << why;
  acks.push_back(*direct_back);
  RunResult check = d.Run({"check"});
  EXPECT_EQ(check.exit_code, 0) << Show(check);
  ASSERT_NO_FATAL_FAILURE(ExpectAcked(d, acks));
  ASSERT_TRUE(Start(d, {"--listen", listen}));
  const uint64_t final_head = d.Head(d.id());
  EXPECT_TRUE(PollEvery(Millis(100), Millis(30000), [&] {
    return cluster_.HaveAll({{d.id(), final_head}}, &missing, {&q});
  })) << missing;
  EXPECT_EQ(d.Stop(), 0);
  check = d.Run({"check"});
  EXPECT_EQ(check.exit_code, 0) << Show(check);
}

}  // namespace
}  // namespace plumlog::testing
