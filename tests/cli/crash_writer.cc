// Test helper for crash_test.cc: opens a store once and appends until killed,
// writing "<seq>\t<entry id>\n" to stdout after each Append (or AppendBatch)
// has returned, i.e. only for acknowledged entries.
//
//   plumlog_crash_writer HOME THREADS BATCH
// THREADS appenders run concurrently (group commit); BATCH > 1 uses
// AppendBatch with that many entries per call.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "plumlog/store.h"

namespace {

void Ack(const plumlog::Entry& e) {
  // One write() per line: lines from several threads never interleave.
  const std::string line =
      std::to_string(e.seq()) + "\t" + e.id().ToString() + "\n";
  if (::write(STDOUT_FILENO, line.data(), line.size()) !=
      static_cast<ssize_t>(line.size())) {
    std::_Exit(3);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s HOME THREADS BATCH\n", argv[0]);
    return 2;
  }
  const int threads = std::atoi(argv[2]);
  const int batch = std::atoi(argv[3]);
  auto store = plumlog::Store::Open(argv[1], plumlog::StoreOptions());
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    return 1;
  }
  plumlog::Store* s = store->get();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([s, t, batch] {
      for (uint64_t i = 0;; ++i) {
        const std::string text =
            "thread " + std::to_string(t) + " entry " + std::to_string(i);
        if (batch <= 1) {
          auto e = s->Append(plumlog::TextContent(text));
          if (!e.ok()) std::_Exit(4);
          Ack(*e);
        } else {
          std::vector<std::string> contents(static_cast<size_t>(batch),
                                            plumlog::TextContent(text));
          auto es = s->AppendBatch(contents);
          if (!es.ok()) std::_Exit(4);
          for (const plumlog::Entry& e : *es) Ack(e);
        }
      }
    });
  }
  for (std::thread& w : workers) w.join();
  return 0;
}
