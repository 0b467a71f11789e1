#include "node/contact.h"

#include "core/msgpack_reader.h"

namespace plumlog::node {
namespace {

using core::AppendMsgpackBool;
using core::AppendMsgpackMapHeader;
using core::AppendMsgpackStr;
using core::MsgpackReader;

// Keys per map and nesting of skipped values: a contact entry has three keys;
// anything far beyond is not one.
constexpr uint32_t kMaxKeys = 32;
constexpr int kMaxSkipDepth = 16;
// "@" + 44 base64 + ".ed25519"
constexpr size_t kFeedIdTextBytes = 53;

}  // namespace

std::string EncodeContact(const FeedId& contact, bool following) {
  std::string out;
  AppendMsgpackMapHeader(&out, 3);
  AppendMsgpackStr(&out, "type");
  AppendMsgpackStr(&out, kContactType);
  AppendMsgpackStr(&out, "contact");
  AppendMsgpackStr(&out, contact.ToString());
  AppendMsgpackStr(&out, "following");
  AppendMsgpackBool(&out, following);
  return out;
}

std::optional<ContactContent> ParseContact(std::string_view content) {
  MsgpackReader r(content);
  uint32_t n = 0;
  if (!r.ReadMapHeader("content", &n).ok() || n > kMaxKeys) return std::nullopt;
  bool is_contact = false;
  std::optional<FeedId> contact;
  std::optional<bool> following;
  for (uint32_t i = 0; i < n; ++i) {
    std::string_view key;
    if (!r.ReadStr("key", 64, &key).ok()) return std::nullopt;
    if (key == "type") {
      std::string_view v;
      if (!r.ReadStr("type", 64, &v).ok()) return std::nullopt;
      is_contact = v == kContactType;
    } else if (key == "contact") {
      std::string_view v;
      if (!r.ReadStr("contact", kFeedIdTextBytes, &v).ok()) return std::nullopt;
      Result<FeedId> id = FeedId::Parse(v);
      if (!id.ok()) return std::nullopt;
      contact = *id;
    } else if (key == "following") {
      bool v = false;
      if (!r.ReadBool("following", &v).ok()) return std::nullopt;
      following = v;
    } else if (!r.SkipValue("value", kMaxSkipDepth).ok()) {
      return std::nullopt;
    }
  }
  if (!r.ExpectEnd("content").ok() || !is_contact || !contact || !following)
    return std::nullopt;
  return ContactContent{*contact, *following};
}

}  // namespace plumlog::node
