// Contact entries: how a node publishes whom it follows (docs/format.md,
// "Contact entries"). The shape is Secure Scuttlebutt's contact message
// (the SSB protocol guide, "Follows"), encoded as entry content:
//
//   {"type": "contact", "contact": "@<base64>.ed25519", "following":
//   true|false}
//
// a msgpack map with str keys. The latest contact entry of an author about a
// feed decides whether the author follows it; the follow graph of the entries
// a node holds decides, with `hops`, which feeds it replicates
// (node/replication_policy.h). Readers ignore keys they do not know (SSB's
// "blocking" among them: plumlog keeps blocks private, in the store).
#ifndef PLUMLOG_NODE_CONTACT_H_
#define PLUMLOG_NODE_CONTACT_H_

#include <optional>
#include <string>
#include <string_view>

#include "plumlog/types.h"

namespace plumlog::node {

inline constexpr std::string_view kContactType = "contact";

struct ContactContent {
  FeedId contact;
  bool following = false;
};

std::string EncodeContact(const FeedId& contact, bool following);
// nullopt when `content` is not a well-formed contact entry with a
// "following" key. Never fails otherwise.
std::optional<ContactContent> ParseContact(std::string_view content);

}  // namespace plumlog::node

#endif  // PLUMLOG_NODE_CONTACT_H_
