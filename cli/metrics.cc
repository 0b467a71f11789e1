#include "cli/metrics.h"

#include <charconv>
#include <filesystem>
#include <map>
#include <system_error>

#include "cli/control_protocol.h"

namespace plumlog::cli {
namespace {

// Escapes a label value or help text: backslash, double quote, newline.
std::string Escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// The shortest text that reads back as `v`.
std::string Number(double v) {
  char buf[64];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

class Exposition {
 public:
  // Starts a family: its TYPE, UNIT (if any) and HELP lines.
  void Family(std::string_view name, std::string_view type,
              std::string_view help, std::string_view unit = "") {
    out_ += "# TYPE " + std::string(name) + " " + std::string(type) + "\n";
    if (!unit.empty())
      out_ += "# UNIT " + std::string(name) + " " + std::string(unit) + "\n";
    out_ += "# HELP " + std::string(name) + " " + Escape(help) + "\n";
  }
  // One sample; `labels` is `k="v",...` already escaped, or empty.
  void Sample(std::string_view name, const std::string& labels,
              const std::string& value) {
    out_ += std::string(name);
    if (!labels.empty()) out_ += "{" + labels + "}";
    out_ += " " + value + "\n";
  }
  void Gauge(std::string_view name, std::string_view help, uint64_t value,
             std::string_view unit = "") {
    Family(name, "gauge", help, unit);
    Sample(name, "", std::to_string(value));
  }
  void Counter(std::string_view name, std::string_view help, uint64_t value) {
    Family(name, "counter", help);
    Sample(std::string(name) + "_total", "", std::to_string(value));
  }
  // A gauge with one sample per replication peer, labelled by its id.
  void PerPeer(std::string_view name, std::string_view help,
               const std::vector<PeerProgress>& peers,
               uint64_t PeerProgress::*field) {
    Family(name, "gauge", help);
    for (const PeerProgress& p : peers) {
      Sample(name, "peer=\"" + Escape(p.peer.ToString()) + "\"",
             std::to_string(p.*field));
    }
  }
  std::string Finish() { return std::move(out_) + "# EOF\n"; }

 private:
  std::string out_;
};

std::string Label(std::string_view key, std::string_view value) {
  return std::string(key) + "=\"" + Escape(value) + "\"";
}

// Help text of NodeCounters' fields (docs/operations.md, "What status says").
const std::map<std::string, std::string, std::less<>>& CounterHelp() {
  static const std::map<std::string, std::string, std::less<>> kHelp = {
      {"connections_accepted", "TCP connections accepted."},
      {"connections_dialed", "TCP connections dialled."},
      {"dial_failures", "Dials that failed (refused, unreachable, timed out)."},
      {"handshakes_ok", "Secret handshakes completed."},
      {"handshake_failures",
       "Handshakes that failed (wrong network key, garbage, wrong peer key)."},
      {"handshake_timeouts", "Peers that stalled mid-handshake."},
      {"idle_timeouts",
       "Connections closed after receiving nothing for the idle timeout."},
      {"connections_refused",
       "Connections refused by admission (limits per address, per /24, on "
       "handshakes, or max-connections)."},
      {"connections_evicted",
       "Unauthenticated or unknown connections closed to make room for newer "
       "ones."},
      {"receive_budget_closes",
       "Connections closed because the node's buffered incomplete frames "
       "passed max-receive-buffer-bytes."},
      {"refused_by_peers", "Connections a peer refused with a reason."},
      {"claims_refused",
       "Notes about feeds nobody here holds that were over a peer's claim "
       "limit (dropped)."},
      {"reconcile_sessions",
       "Reconciliation sessions this node started (repair rounds and first "
       "contacts)."},
      {"reconcile_failures",
       "Reconciliation sessions abandoned without an answer or broken by a "
       "peer or a store error."},
      {"first_contact_fallbacks",
       "First contacts that fell back to announcing every feed."},
      {"frames_unsendable",
       "Frames for a member without a connection that could not be dialled "
       "(no address known, redial backing off, no room): dropped."},
      {"store_errors", "Store reads or writes that failed."},
      {"stream_errors",
       "Box-stream frames that failed to authenticate, or truncated streams."},
      {"oversized_frames",
       "Frames over the size limit (the connection is dropped)."},
      {"malformed_frames",
       "Frames that did not decode (the connection is dropped)."},
      {"invalid_entries",
       "Entries received with a bad signature or broken chain (never stored)."},
      {"forks",
       "Forks detected: two validly signed entries of one author at one "
       "sequence."},
      {"slow_peer_disconnects",
       "Peers disconnected because their send queue passed the hard limit."},
      {"throttled",
       "Times a connection sending too many frames per second was paused."},
      {"entries_received", "Entries received from peers."},
      {"entries_stored", "Entries received from peers and stored."},
      {"entries_sent", "Entries sent to peers."},
      {"duplicates_received", "Entries received that were already stored."},
      {"frames_sent", "Frames sent on all connections."},
      {"frames_received", "Frames received on all connections."},
      {"bytes_sent", "Bytes sent on all connections (encrypted)."},
      {"bytes_received", "Bytes received on all connections (encrypted)."},
      {"entries_verified",
       "Received entries whose signature was verified (all but duplicates); "
       "rate() of it is the verify rate."},
  };
  return kHelp;
}

}  // namespace

Result<StoreFigures> GatherStoreFigures(const Store& store,
                                        const std::string& db_dir) {
  StoreFigures f;
  PLUMLOG_ASSIGN_OR_RETURN(std::vector<FeedInfo> feeds, store.Feeds());
  f.feeds = feeds.size();
  for (const FeedInfo& feed : feeds) f.entries += feed.seq;
  PLUMLOG_ASSIGN_OR_RETURN(std::vector<ForkProof> forks, store.Forks());
  f.fork_proofs = forks.size();
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(db_dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator();
       it.increment(ec)) {
    std::error_code size_ec;
    if (it->is_regular_file(size_ec)) {
      const uintmax_t size = it->file_size(size_ec);
      if (!size_ec) f.disk_bytes += size;
    }
  }
  if (ec) {
    return Status::IOError("cannot measure " + db_dir + ": " + ec.message());
  }
  return f;
}

std::string RenderMetrics(const NodeStatus& s, const StoreFigures& store,
                          std::string_view version) {
  Exposition e;
  e.Family("plumlog_node", "info",
           "This node: its feed id, address and version.");
  e.Sample(
      "plumlog_node_info",
      Label("id", s.id.ToString()) + "," +
          Label("address", s.address.port == 0 ? "" : s.address.ToString()) +
          "," + Label("version", version),
      "1");
  e.Family("plumlog_uptime_seconds", "gauge", "Time since the node started.",
           "seconds");
  e.Sample("plumlog_uptime_seconds", "",
           Number(static_cast<double>(s.uptime_ms) / 1000.0));

  e.Gauge("plumlog_store_entries", "Entries stored, all feeds.", store.entries);
  e.Gauge("plumlog_store_feeds", "Feeds with at least one entry stored.",
          store.feeds);
  e.Gauge("plumlog_store_fork_proofs",
          "Fork proofs stored (each freezes one feed).", store.fork_proofs);
  e.Gauge("plumlog_store_size_bytes", "Size of the store's database files.",
          store.disk_bytes, "bytes");

  uint64_t replicating = 0;
  for (const ConnectionStatus& c : s.connections)
    replicating += c.replicating ? 1 : 0;
  e.Gauge("plumlog_connections",
          "Open TCP connections, handshakes in progress included.",
          s.connections.size());
  e.Gauge("plumlog_peers",
          "Peers replicated with (open replication connections).", replicating);
  e.Gauge("plumlog_configured_peers",
          "Configured peers (--peer, config file, peers add).",
          s.configured_peers.size());
  e.Gauge("plumlog_members",
          "Estimated size of the network: members alive or suspect, this node "
          "included.",
          s.members_alive);
  std::map<std::string, uint64_t> states;
  for (const auto& [id, state] : s.members) states[state]++;
  e.Family("plumlog_member_states", "gauge",
           "Members known to the membership protocol, by state.");
  for (const char* state : {"alive", "suspect"}) states.try_emplace(state, 0);
  for (const auto& [state, n] : states)
    e.Sample("plumlog_member_states", Label("state", state), std::to_string(n));
  e.Family("plumlog_view_size", "gauge",
           "Members in the membership's active and passive views.");
  e.Sample("plumlog_view_size", Label("view", "active"),
           std::to_string(s.active_view.size()));
  e.Sample("plumlog_view_size", Label("view", "passive"),
           std::to_string(s.passive_view.size()));

  e.Gauge("plumlog_replication_behind_entries",
          "Entries connected peers have offered that are not stored yet (all "
          "feeds).",
          s.progress_target - std::min(s.progress_target, s.progress_current));
  e.PerPeer("plumlog_peer_behind_entries",
            "Per replication peer: entries it has offered that are not stored "
            "here yet.",
            s.peer_progress, &PeerProgress::behind);
  e.PerPeer(
      "plumlog_peer_ahead_entries",
      "Per replication peer: entries stored here, of feeds it replicates, "
      "that it lacks and that have not been sent to it yet.",
      s.peer_progress, &PeerProgress::ahead);
  e.Family("plumlog_verify_rate", "gauge",
           "Received entries whose signature was verified, per second over the "
           "last 10 s.");
  e.Sample("plumlog_verify_rate", "", Number(s.verify_rate));
  const auto& help = CounterHelp();
  for (const CounterField& f : CounterFields()) {
    auto it = help.find(f.name);
    e.Counter(std::string("plumlog_") + f.name,
              it != help.end() ? it->second : std::string(f.name),
              s.counters.*f.field);
  }
  return e.Finish();
}

}  // namespace plumlog::cli
