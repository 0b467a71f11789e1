// The daemon's metrics: RenderMetrics' OpenMetrics text, checked field by
// field and by an independent parser (prometheus_client's OpenMetrics
// parser, Debian's python3-prometheus-client), and GatherStoreFigures on a
// real store.
#include "cli/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/control_protocol.h"
#include "tests/cli/subprocess.h"

namespace plumlog::cli {
namespace {

using json = nlohmann::json;
using plumlog::testing::RunResult;
using plumlog::testing::Show;
using plumlog::testing::Subprocess;
using plumlog::testing::TempDir;
using ::testing::EndsWith;
using ::testing::HasSubstr;

FeedId IdFromByte(uint8_t b) {
  std::string raw(32, static_cast<char>(b));
  return *FeedId::FromBytes(raw);
}

// Built field by field: these ids are not curve points, which
// PeerAddress::Parse refuses.
PeerAddress AddressOf(const std::string& host, const FeedId& id) {
  PeerAddress a;
  a.host = host;
  a.port = 8640;
  a.id = id;
  return a;
}

NodeStatus SampleStatus() {
  NodeStatus s;
  s.id = IdFromByte(1);
  s.address = AddressOf("10.0.0.1", s.id);
  s.uptime_ms = 12345;
  ConnectionStatus c;
  c.peer = IdFromByte(2);
  c.replicating = true;
  s.connections.push_back(c);
  ConnectionStatus handshaking;
  handshaking.peer = IdFromByte(3);
  s.connections.push_back(handshaking);
  s.configured_peers.push_back(AddressOf("10.0.0.2", c.peer));
  s.active_view = {IdFromByte(2)};
  s.passive_view = {IdFromByte(3), IdFromByte(4)};
  s.members_alive = 4;
  s.members = {{IdFromByte(2), "alive"},
               {IdFromByte(3), "alive"},
               {IdFromByte(4), "suspect"}};
  s.progress_current = 90;
  s.progress_target = 100;
  s.peer_progress = {{IdFromByte(2), 10, 3}, {IdFromByte(5), 0, 0}};
  s.counters.handshake_failures = 7;
  s.counters.entries_verified = 1000;
  s.counters.bytes_sent = 4096;
  s.verify_rate = 2.5;
  return s;
}

StoreFigures SampleStore() {
  StoreFigures f;
  f.entries = 50000;
  f.feeds = 3;
  f.fork_proofs = 1;
  f.disk_bytes = 123456789;
  return f;
}

TEST(MetricsTest, RendersEveryFigureAsOpenMetricsText) {
  const std::string text =
      RenderMetrics(SampleStatus(), SampleStore(), "0.1.0");
  EXPECT_THAT(text, EndsWith("\n# EOF\n"));
  const std::string peer2 = IdFromByte(2).ToString();
  const std::vector<std::string> expected = {
      "# TYPE plumlog_store_entries gauge\n",
      "\nplumlog_store_entries 50000\n",
      "\nplumlog_store_feeds 3\n",
      "\nplumlog_store_fork_proofs 1\n",
      "# UNIT plumlog_store_size_bytes bytes\n",
      "\nplumlog_store_size_bytes 123456789\n",
      "\nplumlog_uptime_seconds 12.345\n",
      "\nplumlog_connections 2\n",
      "\nplumlog_peers 1\n",
      "\nplumlog_configured_peers 1\n",
      "\nplumlog_members 4\n",
      "\nplumlog_member_states{state=\"alive\"} 2\n",
      "\nplumlog_member_states{state=\"suspect\"} 1\n",
      "\nplumlog_view_size{view=\"passive\"} 2\n",
      "\nplumlog_replication_behind_entries 10\n",
      "\nplumlog_peer_behind_entries{peer=\"" + peer2 + "\"} 10\n",
      "\nplumlog_peer_ahead_entries{peer=\"" + peer2 + "\"} 3\n",
      "\nplumlog_verify_rate 2.5\n",
      "# TYPE plumlog_handshake_failures counter\n",
      "\nplumlog_handshake_failures_total 7\n",
      "\nplumlog_entries_verified_total 1000\n",
      "\nplumlog_bytes_sent_total 4096\n",
  };
  for (const std::string& line : expected) EXPECT_THAT(text, HasSubstr(line));
  EXPECT_THAT(text,
              HasSubstr("plumlog_node_info{id=\"" + IdFromByte(1).ToString() +
                        "\",address=\"net:10.0.0.1:8640~shs:"));
  // Every counter of NodeCounters is there.
  for (const CounterField& f : CounterFields())
    EXPECT_THAT(text,
                HasSubstr("\nplumlog_" + std::string(f.name) + "_total "));
}

// Parses `text` with prometheus_client's OpenMetrics parser: samples as
// [[name, labels, value], ...]; a parse error fails the process.
RunResult ParseWithPrometheusClient(const std::string& text) {
  const char* script = R"(
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out.append([family.name, family.type, s.name, s.labels, s.value])
print(json.dumps(out))
)";
  std::unique_ptr<Subprocess> p =
      Subprocess::Start({"/usr/bin/python3", "-c", script});
  p->WriteStdin(text);
  return p->Finish();
}

bool HavePrometheusClient() {
  RunResult r =
      Subprocess::Start({"/usr/bin/python3", "-c",
                         "import prometheus_client.openmetrics.parser"})
          ->Finish();
  return r.exit_code == 0;
}

TEST(MetricsTest, AnOpenMetricsParserAcceptsItAndReadsTheValuesBack) {
  if (!HavePrometheusClient()) {
    GTEST_SKIP() << "/usr/bin/python3 with prometheus_client is missing "
                    "(scripts/deps --test installs python3-prometheus-client)";
  }
  // A version with characters that need escaping in a label value.
  const std::string text =
      RenderMetrics(SampleStatus(), SampleStore(), "0.1\"x\\y");
  RunResult r = ParseWithPrometheusClient(text);
  ASSERT_EQ(r.exit_code, 0) << Show(r) << text;
  json samples = json::parse(r.out);
  std::map<std::string, double> values;
  std::map<std::string, std::string> types;
  for (const json& s : samples) {
    std::string key = s[2];
    for (const auto& [k, v] : s[3].items())
      key += "|" + k + "=" + v.get<std::string>();
    values[key] = s[4];
    types[s[0]] = s[1];
  }
  EXPECT_EQ(values["plumlog_store_entries"], 50000);
  EXPECT_EQ(values["plumlog_store_size_bytes"], 123456789);
  EXPECT_EQ(values["plumlog_uptime_seconds"], 12.345);
  EXPECT_EQ(values["plumlog_peers"], 1);
  EXPECT_EQ(values["plumlog_members"], 4);
  EXPECT_EQ(values["plumlog_verify_rate"], 2.5);
  EXPECT_EQ(values["plumlog_handshake_failures_total"], 7);
  EXPECT_EQ(
      values["plumlog_peer_behind_entries|peer=" + IdFromByte(2).ToString()],
      10);
  EXPECT_EQ(
      values["plumlog_peer_ahead_entries|peer=" + IdFromByte(5).ToString()], 0);
  EXPECT_EQ(types["plumlog_handshake_failures"], "counter");
  EXPECT_EQ(types["plumlog_store_entries"], "gauge");
  EXPECT_EQ(types["plumlog_node"], "info");
  bool found_info = false;
  for (const json& s : samples) {
    if (s[2] == "plumlog_node_info") {
      found_info = true;
      EXPECT_EQ(s[3]["version"], "0.1\"x\\y");
      EXPECT_EQ(s[3]["id"], IdFromByte(1).ToString());
    }
  }
  EXPECT_TRUE(found_info);
  // An empty status (a node with no peers) renders valid text too.
  RunResult empty = ParseWithPrometheusClient(
      RenderMetrics(NodeStatus(), StoreFigures(), "0"));
  EXPECT_EQ(empty.exit_code, 0) << Show(empty);
}

TEST(MetricsTest, StoreFiguresCountEntriesFeedsAndBytes) {
  TempDir dir;
  const std::string home = dir.Sub("home");
  StoreOptions options;
  options.create_if_missing = true;
  auto store = Store::Open(home, options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  std::vector<std::string> contents(250, TextContent("hello"));
  ASSERT_TRUE((*store)->AppendBatch(contents).ok());
  Result<StoreFigures> f = GatherStoreFigures(**store, home + "/db");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->entries, 250u);
  EXPECT_EQ(f->feeds, 1u);
  EXPECT_EQ(f->fork_proofs, 0u);
  EXPECT_GT(f->disk_bytes, 0u);
  EXPECT_FALSE(GatherStoreFigures(**store, home + "/nope").ok());
}

}  // namespace
}  // namespace plumlog::cli
