// Damaged stores and the own-feed hold (docs/cli.md): `plumlog repair`,
// `plumlog confirm-feed`, `plumlog check` on a store that does not open, and
// the note about key files of format v1.
#ifndef PLUMLOG_CLI_REPAIR_COMMAND_H_
#define PLUMLOG_CLI_REPAIR_COMMAND_H_

#include <optional>
#include <string>

namespace plumlog::cli {

// Rebuilds the store from every entry that still verifies (Store::Repair)
// and prints what was damaged, what was kept and what peers must send again.
int RunRepair(const std::string& home);
// Ends the own-feed hold of a store that no daemon runs on.
int RunConfirmFeed(const std::string& home);
// `check` on a store that does not open as damaged: checks a salvaged copy
// and prints the damage and the problems. `why` is the open's error.
int RunCheckDamaged(const std::string& home, const std::string& why);
// A note when <home>/secret is a key file of format v1 (commands print it on
// stderr, the daemon logs it).
std::optional<std::string> OldKeyFileNote(const std::string& home);
void NoteOldKeyFile(const std::string& home);

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_REPAIR_COMMAND_H_
