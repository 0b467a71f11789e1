// `plumlog serve --http`: the daemon's web server through real daemons and
// HTTP requests (the page itself is checked in a browser by
// tests/web/web_chat_browser_test.cc).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/cli/daemon_util.h"
#include "tests/cli/http_client.h"
#include "tests/cli/subprocess.h"

namespace plumlog::testing {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

// The HOST:PORT of the daemon's web page, from its log ("web page
// http://HOST:PORT/"); "" if it has none.
std::string WebAddress(const Daemon& d) {
  const std::string log = d.log();
  const std::string marker = "web page http://";
  const size_t at = log.find(marker);
  if (at == std::string::npos) return "";
  const size_t start = at + marker.size();
  return log.substr(start, log.find('/', start) - start);
}

TEST(WebServeTest, StatusOverHttp) {
  TempDir dir;
  const std::string home = dir.Sub("h");
  ASSERT_EQ(RunWithHome(home, {"init"}).exit_code, 0);
  Daemon d(home, {"--preset", "test", "--http", "127.0.0.1:0"});
  ASSERT_TRUE(d.started()) << d.log();
  const std::string web = WebAddress(d);
  ASSERT_FALSE(web.empty()) << d.log();
  HttpResult r = HttpGet(web, "/api/status");
  ASSERT_EQ(r.status, 200) << r.error << r.body;
  EXPECT_EQ(r.headers["content-type"], "application/json");
  const json j = json::parse(r.body);
  EXPECT_EQ("net:" + j["address"].get<std::string>().substr(4), d.address());
  // The same object as `status --json` (minus what changes over time).
  RunResult s = RunWithHome(home, {"status", "--json"});
  ASSERT_EQ(s.exit_code, 0) << Show(s);
  EXPECT_EQ(json::parse(s.out)["id"], j["id"]);
  EXPECT_EQ(HttpGet(web, "/nope").status, 404);
  EXPECT_EQ(d.Stop(SIGTERM), 0) << d.log();
}

TEST(WebServeTest, RefusesNonLoopbackUnlessAllowed) {
  TempDir dir;
  const std::string home = dir.Sub("h");
  ASSERT_EQ(RunWithHome(home, {"init"}).exit_code, 0);
  RunResult r =
      RunWithHome(home, {"serve", "--preset", "test", "--http", "0.0.0.0:0"});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_THAT(r.err, HasSubstr("--http: 0.0.0.0:0 is not a loopback address"));
  EXPECT_THAT(r.err, HasSubstr("no authentication"));
  EXPECT_THAT(r.err, HasSubstr("--http-allow-remote"));
  // A host name is resolved, as for every address (docs/cli.md): localhost
  // is 127.0.0.1, loopback.
  {
    Daemon named(home, {"--preset", "test", "--http", "localhost:0"});
    ASSERT_TRUE(named.started()) << named.log();
    EXPECT_THAT(named.log(), HasSubstr("web page http://127.0.0.1:"));
    EXPECT_EQ(named.Stop(SIGTERM), 0);
  }
  r = RunWithHome(home, {"serve", "--http", "nonsense"});
  EXPECT_EQ(r.exit_code, 2) << Show(r);

  // Allowed explicitly (here from the config file).
  WriteFileBytes(dir.Sub("serve.conf"),
                 "http = 0.0.0.0:0\nhttp-allow-remote = true\n");
  Daemon d(home, {"--preset", "test", "--config", dir.Sub("serve.conf")});
  ASSERT_TRUE(d.started()) << d.log();
  const std::string web = WebAddress(d);
  ASSERT_THAT(web, ::testing::StartsWith("0.0.0.0:")) << d.log();
  const std::string port = web.substr(web.find(':') + 1);
  EXPECT_EQ(HttpCall("127.0.0.1:" + port, "GET", "/api/status", "",
                     {{"Host", "my-machine.example:" + port}})
                .status,
            200);
  EXPECT_EQ(d.Stop(SIGTERM), 0) << d.log();
}

TEST(WebServeTest, PortInUseIsReported) {
  TempDir dir;
  const std::string home = dir.Sub("h");
  ASSERT_EQ(RunWithHome(home, {"init"}).exit_code, 0);
  const std::string other = dir.Sub("o");
  ASSERT_EQ(RunWithHome(other, {"init"}).exit_code, 0);
  Daemon first(other, {"--preset", "test", "--http", "127.0.0.1:0"});
  ASSERT_TRUE(first.started()) << first.log();
  const std::string taken = WebAddress(first);
  RunResult r =
      RunWithHome(home, {"serve", "--preset", "test", "--http", taken});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_THAT(r.err, HasSubstr("--http: cannot listen on " + taken));
  // Nothing left behind: the store opens again at once.
  EXPECT_EQ(RunWithHome(home, {"feeds"}).exit_code, 0);
}

}  // namespace
}  // namespace plumlog::testing
