#include "cli/repair_command.h"

#include <cstdio>
#include <memory>
#include <vector>

#include "cli/control_client.h"
#include "cli/home.h"
#include "cli/output.h"
#include "crypto/keypair.h"
#include "plumlog/store.h"

namespace plumlog::cli {
namespace {

std::string Lines(const std::vector<CheckProblem>& list,
                  const std::string& indent) {
  std::string out;
  for (const CheckProblem& p : list)
    out += indent + p.where + ": " + p.what + "\n";
  return out;
}

Status Print(const std::string& text) {
  Status st = WriteStdout(text);
  if (st.ok()) st = FlushStdout();
  return st;
}

// Busy when a daemon answers on the store's control socket.
Status RequireNoDaemon(const std::string& home, const std::string& what) {
  std::unique_ptr<ControlClient> client;
  PLUMLOG_RETURN_IF_ERROR(ConnectIfRunning(home, &client));
  if (client) {
    return Status::Busy("a daemon is running on " + home + "; " + what);
  }
  return Status::OK();
}

}  // namespace

std::optional<std::string> OldKeyFileNote(const std::string& home) {
  int version = 0;
  if (!crypto::KeyPair::Load(home + "/secret", &version).ok() || version != 1) {
    return std::nullopt;
  }
  return home +
         "/secret is a key file of format v1, which does not name its "
         "identity; it is read as before, and the database's identity record "
         "guards against a changed key (docs/format.md section 3)";
}

void NoteOldKeyFile(const std::string& home) {
  if (std::optional<std::string> note = OldKeyFileNote(home)) {
    std::fprintf(stderr, "plumlog: note: %s\n", note->c_str());
  }
}

int RunCheckDamaged(const std::string& home, const std::string& why) {
  std::vector<CheckProblem> damage;
  Result<std::unique_ptr<Store>> store = Store::OpenDamaged(home, &damage);
  if (!store.ok()) {
    return Fail(store.status().WithContext("the store does not open (" + why +
                                           ") and cannot be salvaged"));
  }
  Result<CheckReport> report = (*store)->Check();
  if (!report.ok()) return Fail(report.status().WithContext("check failed"));
  std::string out =
      "the store at " + home +
      " does not open: it is damaged. Checked a salvaged copy instead (the "
      "store itself was not changed).\n";
  if (!damage.empty()) {
    out += "damage found while reading it:\n" + Lines(damage, "  ");
  }
  out += "checked " + std::to_string(report->feeds) + " feeds, " +
         std::to_string(report->entries) + " entries, " +
         std::to_string(report->forks) + " fork proofs of the salvaged copy: " +
         std::to_string(report->problems.size()) + " problems\n";
  out += Lines(report->problems, "  ");
  Status st = Print(out);
  if (!st.ok()) return Fail(st);
  return Fail(Status::Corruption(
      "the store is damaged (above); `plumlog repair` rebuilds it from every "
      "entry that still verifies and keeps the damaged database aside"));
}

int RunRepair(const std::string& home) {
  Status st = RequireNoDaemon(home, "stop it before repairing the store");
  if (!st.ok()) return Fail(st);
  Result<RepairReport> r = Store::Repair(home);
  if (!r.ok()) return Fail(r.status().WithContext("repair failed"));
  std::string out = "repaired " + home + ": kept " +
                    std::to_string(r->entries_kept) + " entries of " +
                    std::to_string(r->feeds) + " feeds and " +
                    std::to_string(r->forks_kept) + " fork proofs\n";
  if (r->damage.empty()) {
    out += "no damage found\n";
  } else {
    out += "damage found:\n" + Lines(r->damage, "  ");
  }
  if (r->entries_unreadable > 0) {
    out += std::to_string(r->entries_unreadable) +
           " stored entries did not read, decode or verify and were dropped\n";
  }
  if (r->entries_set_aside > 0) {
    out +=
        std::to_string(r->entries_set_aside) +
        " verified entries follow a gap in their feed; they were set aside "
        "(still in the damaged copy) and come back from peers with the gap\n";
  }
  if (!r->incomplete.empty()) {
    out +=
        "feeds missing entries (peers send them again: run `plumlog serve`, or "
        "`plumlog sync ADDR` with a peer):\n";
    for (const RepairReport::FeedLoss& f : r->incomplete) {
      out += "  " + f.feed.ToString() + " holds 1.." + std::to_string(f.kept) +
             ", missing " + std::to_string(f.kept + 1) + ".." +
             std::to_string(f.known) + " (at least)\n";
    }
  }
  out += "the damaged database was moved to " + r->damaged_copy +
         "; delete it once the store is complete again\n";
  out +=
      "appends to the own feed are held until a node has heard from a peer "
      "how much of it it holds (or `plumlog confirm-feed`)\n";
  st = Print(out);
  return st.ok() ? kExitOk : Fail(st);
}

int RunConfirmFeed(const std::string& home) {
  Status st = RequireNoDaemon(
      home,
      "it ends the hold itself once a peer has told it how much of the feed "
      "it holds; to skip that, restart it with --no-own-feed-check");
  if (!st.ok()) return Fail(st);
  Result<std::unique_ptr<Store>> store = OpenStore(home, Access::kWrite, 1);
  if (!store.ok()) return Fail(store.status());
  std::optional<std::string> hold = (*store)->OwnFeedHold();
  if (!hold) {
    st = Print("the own feed " + (*store)->local_id().ToString() +
               " is not held; nothing to confirm\n");
    return st.ok() ? kExitOk : Fail(st);
  }
  st = (*store)->ConfirmOwnFeed();
  if (!st.ok()) return Fail(st);
  st = Print("confirmed the own feed " + (*store)->local_id().ToString() +
             " (it was held: " + *hold + "); appends are allowed\n");
  return st.ok() ? kExitOk : Fail(st);
}

}  // namespace plumlog::cli
