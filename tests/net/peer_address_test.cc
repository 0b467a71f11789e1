#include <gtest/gtest.h>

#include "crypto/keypair.h"
#include "crypto/secret_handshake.h"
#include "plumlog/node.h"

namespace plumlog {
namespace {

FeedId SomeId() {
  uint8_t seed[32] = {7};
  return crypto::KeyPair::FromSeed(std::span<const uint8_t, 32>(seed, 32)).public_key();
}

std::string Key64(const FeedId& id) {
  std::string s = id.ToString();
  return s.substr(1, s.size() - 9);
}

TEST(PeerAddressTest, ParsesMultiserverFormAndPrintsItBack) {
  const FeedId id = SomeId();
  const std::string text = "net:127.0.0.1:8640~shs:" + Key64(id);
  Result<PeerAddress> a = PeerAddress::Parse(text);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8640);
  EXPECT_EQ(a->id, id);
  EXPECT_EQ(a->ToString(), text);
  EXPECT_EQ(a->HostPort(), "127.0.0.1:8640");
}

TEST(PeerAddressTest, AcceptsShortFormsAndIpv6) {
  const FeedId id = SomeId();
  Result<PeerAddress> a = PeerAddress::Parse("example.org:1~shs:" + Key64(id));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "example.org");
  Result<PeerAddress> b = PeerAddress::Parse("10.0.0.2:9~" + id.ToString());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->id, id);
  Result<PeerAddress> c = PeerAddress::Parse("net:[::1]:8640~shs:" + Key64(id));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->HostPort(), "[::1]:8640");
  EXPECT_EQ(PeerAddress::Parse(c->ToString())->host, "::1");
}

TEST(PeerAddressTest, RejectsBadAddressesWithClearErrors) {
  const std::string key = Key64(SomeId());
  for (const std::string& bad :
       {std::string("127.0.0.1:8640"), "net:127.0.0.1~shs:" + key, "net::8640~shs:" + key,
        "net:127.0.0.1:99999~shs:" + key, "net:127.0.0.1:0~shs:" + key,
        "net:127.0.0.1:80x~shs:" + key, "net:::1:8640~shs:" + key,
        std::string("net:127.0.0.1:8640~shs:short"), "net:127.0.0.1:8640~shs:" + key + "x",
        std::string("net:h st:1~shs:") + key, std::string("")}) {
    Result<PeerAddress> a = PeerAddress::Parse(bad);
    EXPECT_FALSE(a.ok()) << bad;
    if (!a.ok()) {
      EXPECT_EQ(a.status().code(), Status::Code::kInvalidArgument) << bad;
    }
  }
  Result<PeerAddress> no_key = PeerAddress::Parse("127.0.0.1:8640");
  EXPECT_NE(no_key.status().message().find("key"), std::string::npos);
}

TEST(PeerAddressTest, TakesTheWholeFeedIdAfterShsAndSaysWhatAKeyIs) {
  const FeedId id = SomeId();
  Result<PeerAddress> a = PeerAddress::Parse("net:127.0.0.1:8640~shs:" + id.ToString());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->id, id);
  EXPECT_EQ(a->ToString(), "net:127.0.0.1:8640~shs:" + Key64(id));
  // A bad key says what is expected and where to get it.
  for (const std::string& bad :
       {"net:127.0.0.1:8640~shs:" + Key64(id).substr(1),
        "net:127.0.0.1:8640~shs:@" + Key64(id) + ".sha256", std::string("net:h:1~shs:")}) {
    Result<PeerAddress> b = PeerAddress::Parse(bad);
    ASSERT_FALSE(b.ok()) << bad;
    EXPECT_NE(b.status().message().find("44 characters of base64"), std::string::npos)
        << b.status().message();
    EXPECT_NE(b.status().message().find("plumlog whoami --address"), std::string::npos);
  }
  // A bare HOST:PORT: the hint names the command that prints a whole address.
  Result<PeerAddress> bare = PeerAddress::Parse("127.0.0.1:8640");
  ASSERT_FALSE(bare.ok());
  EXPECT_NE(bare.status().message().find("`plumlog whoami --address`"), std::string::npos)
      << bare.status().message();
}

TEST(NetworkKeyTest, DefaultIsPlumlogsOwnAndParsesHexAndBase64) {
  NetworkKey def = DefaultNetworkKey();
  EXPECT_TRUE(std::equal(def.begin(), def.end(), crypto::kPlumlogNetworkKey.begin()));
  EXPECT_FALSE(std::equal(def.begin(), def.end(), crypto::kSsbMainNetworkKey.begin()));
  Result<NetworkKey> hex =
      ParseNetworkKey("d4a1cb88a66f02f8db635ce26441cc5dac1b08420ceaac230839b755845a9ffb");
  ASSERT_TRUE(hex.ok());
  EXPECT_TRUE(std::equal(hex->begin(), hex->end(), crypto::kSsbMainNetworkKey.begin()));
  Result<NetworkKey> b64 = ParseNetworkKey("1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s=");
  ASSERT_TRUE(b64.ok());
  EXPECT_EQ(*b64, *hex);
  EXPECT_FALSE(ParseNetworkKey("xyz").ok());
  EXPECT_FALSE(
      ParseNetworkKey("g4a1cb88a66f02f8db635ce26441cc5dac1b08420ceaac230839b755845a9ffb").ok());
  EXPECT_FALSE(ParseNetworkKey("1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/t=").ok());
}

TEST(NodeOptionsTest, PresetsValidateAndBadValuesAreNamed) {
  EXPECT_TRUE(NodeOptions::Lan().Validate().ok());
  EXPECT_TRUE(NodeOptions::Wan().Validate().ok());
  EXPECT_TRUE(NodeOptions::Test().Validate().ok());
  NodeOptions o;
  o.listen = "nope";
  EXPECT_NE(o.Validate().message().find("listen"), std::string::npos);
  o = NodeOptions();
  o.send_queue_hard_bytes = o.send_queue_soft_bytes;
  EXPECT_NE(o.Validate().message().find("send_queue_hard_bytes"), std::string::npos);
  o = NodeOptions();
  o.max_connections = 0;
  EXPECT_FALSE(o.Validate().ok());
  o = NodeOptions();
  o.no_listen = true;
  o.listen = "garbage";
  EXPECT_TRUE(o.Validate().ok());
  // Reconciliation's options (docs/protocol.md section 14).
  ReplicationOptions r = ReplicationOptions::Wan();
  EXPECT_TRUE(r.Validate().ok());
  r.reconcile_timeout_ms = 0;
  EXPECT_NE(r.Validate().message().find("reconcile_timeout_ms"),
            std::string::npos);
  r = ReplicationOptions();
  r.max_reconcile_sessions = 0;
  EXPECT_NE(r.Validate().message().find("max_reconcile_sessions"),
            std::string::npos);
  // The graft stagger (section 10.1): 0..graft_timeout_ms.
  r = ReplicationOptions();
  r.graft_stagger_ms = 0;
  EXPECT_TRUE(r.Validate().ok());
  r.graft_stagger_ms = -1;
  EXPECT_NE(r.Validate().message().find("graft_stagger_ms"), std::string::npos);
  r.graft_stagger_ms = r.graft_timeout_ms + 1;
  EXPECT_NE(r.Validate().message().find("graft_stagger_ms"), std::string::npos);
  EXPECT_TRUE(ReplicationOptions::Test().Validate().ok());
}

}  // namespace
}  // namespace plumlog
