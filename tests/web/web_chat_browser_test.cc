// The daemon's web chat in a real browser: three daemons with --http, one
// headless Chromium page on each (tests/web/web_chat_browser.js, through
// playwright-core), a line typed into each page's form at the same moment.
// Every page must show the same messages in the same order, and that order
// is the room's causal order as the stores hold it; each page shows its
// peers and members. A screenshot of each page is checked (PNG of the
// window's size, not blank) and kept in the build tree
// (tests/web/artifacts/). Skips, saying why, only when Chromium, node or
// playwright-core is not installed or Chromium cannot start.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "plumlog/types.h"
#include "tests/cli/daemon_util.h"
#include "tests/cli/subprocess.h"

namespace plumlog::testing {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

// Concatenation (GCC 12 warns wrongly about "literal" + std::string at -O3).
std::string Cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) out.append(p);
  return out;
}

// A decoded 8-bit RGB or RGBA PNG (non-interlaced, as Chromium writes).
struct Image {
  uint32_t width = 0;
  uint32_t height = 0;
  int channels = 0;
  std::vector<uint8_t> pixels;  // rows of width * channels bytes
  std::string error;
};

uint32_t BigEndian32(const std::string& s, size_t at) {
  return (uint32_t{static_cast<uint8_t>(s[at])} << 24) |
         (uint32_t{static_cast<uint8_t>(s[at + 1])} << 16) |
         (uint32_t{static_cast<uint8_t>(s[at + 2])} << 8) |
         uint32_t{static_cast<uint8_t>(s[at + 3])};
}

Image DecodePng(const std::string& file) {
  Image img;
  if (file.size() < 8 || file.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) {
    img.error = "not a PNG file";
    return img;
  }
  std::string idat;
  for (size_t pos = 8; pos + 12 <= file.size();) {
    const uint32_t len = BigEndian32(file, pos);
    const std::string type = file.substr(pos + 4, 4);
    if (pos + 12 + len > file.size()) break;
    const std::string data = file.substr(pos + 8, len);
    if (type == "IHDR" && len >= 13) {
      img.width = BigEndian32(data, 0);
      img.height = BigEndian32(data, 4);
      const int depth = static_cast<uint8_t>(data[8]);
      const int color = static_cast<uint8_t>(data[9]);
      const int interlace = static_cast<uint8_t>(data[12]);
      if (depth != 8 || (color != 2 && color != 6) || interlace != 0) {
        img.error = "unexpected PNG format";
        return img;
      }
      img.channels = color == 6 ? 4 : 3;
    } else if (type == "IDAT") {
      idat += data;
    }
    pos += 12 + len;
  }
  const size_t stride = size_t{img.width} * static_cast<size_t>(img.channels);
  std::vector<uint8_t> raw((stride + 1) * img.height);
  uLongf raw_len = raw.size();
  if (img.channels == 0 ||
      uncompress(raw.data(), &raw_len,
                 reinterpret_cast<const Bytef*>(idat.data()),
                 idat.size()) != Z_OK ||
      raw_len != raw.size()) {
    img.error = "cannot inflate the image data";
    return img;
  }
  // Undo the row filters (PNG specification, section 9).
  img.pixels.resize(stride * img.height);
  const size_t bpp = static_cast<size_t>(img.channels);
  for (uint32_t y = 0; y < img.height; ++y) {
    const uint8_t filter = raw[y * (stride + 1)];
    const uint8_t* in = &raw[y * (stride + 1) + 1];
    uint8_t* out = &img.pixels[y * stride];
    const uint8_t* up = y > 0 ? &img.pixels[(y - 1) * stride] : nullptr;
    for (size_t x = 0; x < stride; ++x) {
      const int a = x >= bpp ? out[x - bpp] : 0;
      const int b = up ? up[x] : 0;
      const int c = (up && x >= bpp) ? up[x - bpp] : 0;
      int v = in[x];
      switch (filter) {
        case 1:
          v += a;
          break;
        case 2:
          v += b;
          break;
        case 3:
          v += (a + b) / 2;
          break;
        case 4: {
          const int p = a + b - c;
          const int pa = std::abs(p - a), pb = std::abs(p - b),
                    pc = std::abs(p - c);
          v += (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c);
          break;
        }
        default:
          break;
      }
      out[x] = static_cast<uint8_t>(v);
    }
  }
  return img;
}

class WebChatBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = FindProgram("node");
    chromium_ = FindProgram("chromium");
    modules_ = std::string(PLUMLOG_SOURCE_DIR) +
               "/tests/web/node_modules/playwright-core";
    if (chromium_.empty())
      GTEST_SKIP() << "chromium is not installed (scripts/deps --test)";
    if (node_.empty())
      GTEST_SKIP() << "node is not installed (scripts/deps --test)";
    if (!fs::exists(modules_)) {
      GTEST_SKIP()
          << "playwright-core is not installed in tests/web/node_modules "
             "(scripts/deps --test runs npm ci there)";
    }
  }

  std::string node_, chromium_, modules_;
  TempDir dir_;
};

TEST_F(WebChatBrowserTest, ThreeDaemonsThreePagesOneOrder) {
  const std::vector<std::string> nicks = {"alice", "bob", "carol"};
  std::vector<std::string> homes;
  std::vector<std::unique_ptr<Daemon>> daemons;
  std::vector<std::string> web;
  for (size_t i = 0; i < 3; ++i) {
    homes.push_back(dir_.Sub(nicks[i]));
    ASSERT_EQ(RunWithHome(homes[i], {"init"}).exit_code, 0);
    std::vector<std::string> args = {"--preset", "test", "--http",
                                     "127.0.0.1:0"};
    if (i > 0) {
      args.push_back("--peer");
      args.push_back(daemons[0]->address());
    }
    daemons.push_back(std::make_unique<Daemon>(homes[i], args));
    ASSERT_TRUE(daemons[i]->started()) << daemons[i]->log();
    const std::string log = daemons[i]->log();
    const size_t at = log.find("web page http://");
    ASSERT_NE(at, std::string::npos) << log;
    const size_t start = at + std::string("web page ").size();
    web.push_back(log.substr(start, log.find('\n', start) - start));
  }
  // Nicknames, and a conversation already there: each line written after
  // the one before has reached the writer's daemon.
  auto append = [&](size_t i, const json& content) {
    RunResult r = RunWithHome(homes[i], {"append", "--json", content.dump()});
    ASSERT_EQ(r.exit_code, 0) << Show(r);
  };
  auto holds = [&](size_t i, size_t entries) {
    return PollUntil(
        [&] {
          RunResult r = RunWithHome(homes[i], {"read", "--json"});
          return r.exit_code == 0 && Lines(r.out).size() >= entries;
        },
        Millis(30000));
  };
  for (size_t i = 0; i < 3; ++i) {
    ASSERT_NO_FATAL_FAILURE(
        append(i, {{"type", "plumlog/nick"}, {"name", nicks[i]}}));
  }
  size_t entries = 3;
  for (int k = 0; k < 6; ++k) {
    const size_t i = static_cast<size_t>(k) % 3;
    ASSERT_TRUE(holds(i, entries)) << daemons[i]->log();
    ASSERT_NO_FATAL_FAILURE(
        append(i, {{"type", "plumlog/chat"},
                   {"room", "lobby"},
                   {"text", Cat({"earlier ", std::to_string(k)})}}));
    ++entries;
  }
  for (size_t i = 0; i < 3; ++i)
    ASSERT_TRUE(holds(i, entries)) << daemons[i]->log();

  // The browser: each page types a line at the same moment.
  const std::string artifacts =
      std::string(PLUMLOG_WEB_ARTIFACTS) + "/" +
      ::testing::UnitTest::GetInstance()->current_test_info()->name();
  fs::remove_all(artifacts);
  fs::create_directories(artifacts);
  json config = {{"chromium", chromium_},
                 {"out", artifacts},
                 {"room", "lobby"},
                 {"expect", 9},
                 {"pages", json::array()}};
  for (size_t i = 0; i < 3; ++i) {
    config["pages"].push_back(
        {{"url", web[i]}, {"say", Cat({"typed on ", nicks[i], "'s page"})}});
  }
  WriteFileBytes(dir_.Sub("config.json"), config.dump());
  std::unique_ptr<Subprocess> p = Subprocess::Start(
      {node_,
       std::string(PLUMLOG_SOURCE_DIR) + "/tests/web/web_chat_browser.js",
       dir_.Sub("config.json")});
  RunResult r = p->Finish(Millis(180000));
  if (r.exit_code == 3) GTEST_SKIP() << r.err;
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  const json result = json::parse(r.out);
  ASSERT_EQ(result["pages"].size(), 3u);

  // The room's causal order, from the first daemon's store: lamport, then
  // author (bytes), then sequence.
  RunResult read = RunWithHome(homes[0], {"read", "--json"});
  ASSERT_EQ(read.exit_code, 0) << Show(read);
  std::map<std::string, std::string> nick_of;  // author -> nick
  std::vector<std::tuple<uint64_t, FeedId, uint64_t, std::string>> room;
  for (const std::string& line : Lines(read.out)) {
    const json e = json::parse(line);
    const json& c = e["content"];
    if (!c.is_object()) continue;
    if (c.value("type", "") == "plumlog/nick") nick_of[e["author"]] = c["name"];
    if (c.value("type", "") != "plumlog/chat") continue;
    room.emplace_back(
        e["lamport"].get<uint64_t>(),
        *FeedId::Parse(e["author"].get<std::string>()),
        e["seq"].get<uint64_t>(),
        e["author"].get<std::string>() + "\n" + c["text"].get<std::string>());
  }
  std::sort(room.begin(), room.end());
  std::vector<std::string> expected;
  for (const auto& [lamport, author, seq, text] : room) {
    const std::string a = text.substr(0, text.find('\n'));
    expected.push_back(
        Cat({nick_of[a], ": ", text.substr(text.find('\n') + 1)}));
  }
  ASSERT_EQ(expected.size(), 9u);

  for (size_t i = 0; i < 3; ++i) {
    const json& page = result["pages"][i];
    std::vector<std::string> shown;
    std::set<std::string> keys;
    for (const json& m : page["messages"]) {
      shown.push_back(Cat(
          {m["nick"].get<std::string>(), ": ", m["text"].get<std::string>()}));
      keys.insert(m["key"].get<std::string>());
      EXPECT_THAT(m["time"].get<std::string>(),
                  ::testing::MatchesRegex("[0-9][0-9]:[0-9][0-9]"));
    }
    EXPECT_EQ(shown, expected) << "page " << i << ": " << page.dump(1);
    EXPECT_EQ(keys.size(), shown.size()) << "a message shown twice";
    // Its peers (the other two daemons, replicating) and the members.
    EXPECT_EQ(page["peers"].size(), 2u) << page["peers"].dump();
    for (const json& row : page["peers"]) {
      EXPECT_EQ(row[2], "replicating") << row.dump();
      const std::string name = row[0];
      EXPECT_TRUE(name == "alice" || name == "bob" || name == "carol")
          << row.dump();
    }
    EXPECT_EQ(page["members"].size(), 2u) << page["members"].dump();

    // The screenshot: the window's size, and not blank.
    const std::string png = ReadFileBytes(page["screenshot"]);
    const Image img = DecodePng(png);
    ASSERT_EQ(img.error, "") << page["screenshot"];
    EXPECT_EQ(img.width, 1280u);
    EXPECT_EQ(img.height, 800u);
    std::map<uint32_t, size_t> colors;
    const size_t n = size_t{img.width} * img.height;
    for (size_t k = 0; k < n; ++k) {
      const uint8_t* px = &img.pixels[k * static_cast<size_t>(img.channels)];
      ++colors[(uint32_t{px[0]} << 16) | (uint32_t{px[1]} << 8) | px[2]];
    }
    size_t most = 0;
    for (const auto& [c, count] : colors) most = std::max(most, count);
    EXPECT_GT(colors.size(), 20u) << "a nearly uniform screenshot";
    EXPECT_LT(most, n * 9 / 10) << "one colour fills 90 % of the screenshot";
  }
  for (auto& d : daemons) EXPECT_EQ(d->Stop(SIGTERM), 0) << d->log();
}

}  // namespace
}  // namespace plumlog::testing
