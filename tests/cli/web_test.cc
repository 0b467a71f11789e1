// `plumlog serve --http`: the daemon's web server through real daemons and
// HTTP requests (the page itself is checked in a browser by
// tests/web/web_chat_browser_test.cc).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
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

class WebChatApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = dir_.Sub("h");
    ASSERT_EQ(RunWithHome(home_, {"init"}).exit_code, 0);
    daemon_ = std::make_unique<Daemon>(
        home_,
        std::vector<std::string>{"--preset", "test", "--http", "127.0.0.1:0"});
    ASSERT_TRUE(daemon_->started()) << daemon_->log();
    web_ = WebAddress(*daemon_);
    ASSERT_FALSE(web_.empty()) << daemon_->log();
  }
  void TearDown() override {
    if (daemon_) {
      EXPECT_EQ(daemon_->Stop(SIGTERM), 0) << daemon_->log();
    }
  }
  HttpResult Post(const std::string& path, const json& body) {
    return HttpCall(web_, "POST", path, body.dump(),
                    {{"Content-Type", "application/json"}});
  }
  json Messages(const std::string& query) {
    HttpResult r = HttpGet(web_, "/api/messages?" + query);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false);
  }

  TempDir dir_;
  std::string home_;
  std::unique_ptr<Daemon> daemon_;
  std::string web_;
};

TEST_F(WebChatApiTest, PageAndAssets) {
  HttpResult r = HttpGet(web_, "/");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_THAT(r.headers["content-security-policy"],
              HasSubstr("default-src 'self'"));
  EXPECT_THAT(r.body, HasSubstr("<script src=\"/app.js\"></script>"));
  r = HttpGet(web_, "/app.js");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.headers["content-type"], HasSubstr("javascript"));
  EXPECT_THAT(r.body, HasSubstr("new EventSource('/api/events')"));
  r = HttpGet(web_, "/app.css");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.headers["content-type"], HasSubstr("text/css"));
}

TEST_F(WebChatApiTest, MessagesSendingNamesAndTopics) {
  // Written through the CLI: a nickname and two messages.
  ASSERT_EQ(RunWithHome(home_, {"append", "--json",
                                R"({"type":"plumlog/nick","name":"dora"})"})
                .exit_code,
            0);
  for (const char* text : {"one", "two"}) {
    json m = {{"type", "plumlog/chat"}, {"room", "lobby"}, {"text", text}};
    ASSERT_EQ(RunWithHome(home_, {"append", "--json", m.dump()}).exit_code, 0);
  }
  json j = Messages("room=lobby");
  ASSERT_EQ(j["messages"].size(), 2u) << j.dump();
  EXPECT_EQ(j["total"], 2);
  EXPECT_EQ(j["messages"][0]["text"], "one");
  EXPECT_EQ(j["messages"][1]["text"], "two");
  EXPECT_EQ(j["messages"][0]["name"], "dora");
  EXPECT_LT(j["messages"][0]["key"].get<std::string>(),
            j["messages"][1]["key"].get<std::string>());
  EXPECT_EQ(j["names"].size(), 1u);
  EXPECT_EQ(Messages("room=lobby&limit=1")["messages"][0]["text"], "two");
  EXPECT_TRUE(Messages("room=empty")["messages"].empty());

  // Sending through the API.
  HttpResult r = Post("/api/send", {{"room", "lobby"}, {"text", "three"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["seq"], 4);
  r = Post("/api/send",
           {{"room", "lobby"}, {"text", "waves"}, {"action", true}});
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(Post("/api/topic", {{"room", "lobby"}, {"topic", "plans"}}).status,
            200);
  ASSERT_EQ(Post("/api/nick", {{"name", "dorothy"}}).status, 200);
  j = Messages("room=lobby");
  ASSERT_EQ(j["messages"].size(), 4u) << j.dump();
  EXPECT_EQ(j["messages"][3]["text"], "waves");
  EXPECT_EQ(j["messages"][3]["action"], true);
  EXPECT_EQ(j["messages"][2]["name"], "dorothy");
  EXPECT_EQ(j["topic"]["topic"], "plans");
  HttpResult rooms = HttpGet(web_, "/api/rooms");
  ASSERT_EQ(rooms.status, 200);
  EXPECT_EQ(json::parse(rooms.body)["rooms"][0]["messages"], 4);

  // Bad requests: what is wrong, never stored.
  EXPECT_EQ(HttpGet(web_, "/api/messages").status, 400);
  EXPECT_EQ(HttpGet(web_, "/api/messages?room=no%20spaces").status, 400);
  EXPECT_EQ(HttpGet(web_, "/api/messages?room=lobby&limit=0").status, 400);
  EXPECT_EQ(HttpGet(web_, "/api/messages?room=lobby&limit=x").status, 400);
  r = HttpCall(web_, "POST", "/api/send", R"({"room":"lobby","text":"x"})",
               {{"Content-Type", "text/plain"}});
  EXPECT_EQ(r.status, 415) << r.body;
  r = HttpCall(web_, "POST", "/api/send", "{not json",
               {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(Post("/api/send", {{"room", "lobby"}}).status, 400);
  EXPECT_EQ(Post("/api/send", {{"room", "lobby"}, {"text", ""}}).status, 400);
  EXPECT_EQ(Post("/api/send", {{"room", "bad room"}, {"text", "x"}}).status,
            400);
  EXPECT_EQ(Post("/api/send", {{"room", "lobby"}, {"text", 5}}).status, 400);
  EXPECT_EQ(Post("/api/nick", {{"name", "tab\there"}}).status, 400);
  // Another site's page cannot post through the browser.
  r = HttpCall(web_, "POST", "/api/send", R"({"room":"lobby","text":"x"})",
               {{"Content-Type", "application/json"},
                {"Origin", "http://evil.example"}});
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(Messages("room=lobby")["messages"].size(), 4u);
}

TEST_F(WebChatApiTest, LiveEvents) {
  SseClient events(web_, "/api/events");
  ASSERT_EQ(events.status(), 200);
  auto next = [&](const std::string& name) -> json {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      std::optional<SseMessage> m = events.Next(Millis(1000));
      if (m && m->event == name) return json::parse(m->data);
    }
    return nullptr;
  };
  json hello = next("hello");
  ASSERT_FALSE(hello.is_null());
  RunResult id = RunWithHome(home_, {"whoami"});
  EXPECT_EQ(hello["id"].get<std::string>() + "\n", id.out);
  ASSERT_EQ(Post("/api/send", {{"room", "lobby"}, {"text", "live one"}}).status,
            200);
  json m = next("message");
  ASSERT_FALSE(m.is_null());
  EXPECT_EQ(m["text"], "live one");
  EXPECT_EQ(m["room"], "lobby");
  // Entries written elsewhere (the CLI) come too.
  json other = {
      {"type", "plumlog/chat"}, {"room", "kitchen"}, {"text", "from the cli"}};
  ASSERT_EQ(RunWithHome(home_, {"append", "--json", other.dump()}).exit_code,
            0);
  m = next("message");
  ASSERT_FALSE(m.is_null());
  EXPECT_EQ(m["text"], "from the cli");
  EXPECT_EQ(m["room"], "kitchen");
  ASSERT_EQ(Post("/api/nick", {{"name", "eve"}}).status, 200);
  json n = next("name");
  ASSERT_FALSE(n.is_null());
  EXPECT_EQ(n["name"], "eve");
  ASSERT_EQ(Post("/api/topic", {{"room", "lobby"}, {"topic", "t"}}).status,
            200);
  json t = next("topic");
  ASSERT_FALSE(t.is_null());
  EXPECT_EQ(t["topic"], "t");
  EXPECT_EQ(t["author"], "eve");
  json s = next("status");
  ASSERT_FALSE(s.is_null());
  EXPECT_EQ(s["id"], hello["id"]);
  EXPECT_TRUE(s["connections"].is_array());
}

}  // namespace
}  // namespace plumlog::testing
