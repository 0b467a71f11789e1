// The daemon's metrics in the OpenMetrics 1.0 text format (also read by
// Prometheus), served by `plumlog serve --metrics HOST:PORT` at /metrics
// (docs/operations.md, "Metrics"). Rendering is a pure function of a
// NodeStatus and a few store figures.
#ifndef PLUMLOG_CLI_METRICS_H_
#define PLUMLOG_CLI_METRICS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "plumlog/node.h"
#include "plumlog/status.h"
#include "plumlog/store.h"

namespace plumlog::cli {

// The Content-Type of RenderMetrics' output.
inline constexpr std::string_view kOpenMetricsContentType =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

// What the store holds (the node's status covers the network side).
struct StoreFigures {
  uint64_t entries = 0;      // entries stored, all feeds
  uint64_t feeds = 0;        // feeds with at least one entry
  uint64_t fork_proofs = 0;  // fork proofs stored
  uint64_t disk_bytes = 0;   // size of the files of the store's database
};

// Reads the figures from `store` and the database directory `db_dir`.
Result<StoreFigures> GatherStoreFigures(const Store& store,
                                        const std::string& db_dir);

// The exposition: one family per figure, `# EOF` at the end. `version` goes
// into the plumlog_node_info labels.
std::string RenderMetrics(const NodeStatus& status, const StoreFigures& store,
                          std::string_view version);

}  // namespace plumlog::cli

#endif  // PLUMLOG_CLI_METRICS_H_
