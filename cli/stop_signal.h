// SIGINT/SIGTERM for the commands that run until stopped (read --follow,
// chat): the handler only sets a flag, and without SA_RESTART a blocking
// poll() returns EINTR, so the command notices at once and ends cleanly.
#ifndef PLUMLOG_CLI_STOP_SIGNAL_H_
#define PLUMLOG_CLI_STOP_SIGNAL_H_

namespace plumlog::cli {

void InstallStopHandlers();
// True once SIGINT or SIGTERM arrived.
bool StopRequested();

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_STOP_SIGNAL_H_
