// Embedding plumlog: open two stores, append to one, replicate its feed into the
// other by hand (what the network layer does for you), and react to new entries
// through a listener. Uses only the public headers.
//
//   example_embed [DIR]      (default: a fresh directory under /tmp)
#include <plumlog/store.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

class PrintingListener : public plumlog::StoreListener {
 public:
  explicit PrintingListener(std::string name) : name_(std::move(name)) {}
  void OnEntry(const plumlog::Entry& e) override {
    std::printf("[%s] new entry %s seq %llu (%zu content bytes)\n", name_.c_str(),
                e.author().Short().c_str(), static_cast<unsigned long long>(e.seq()),
                e.content().size());
  }

 private:
  std::string name_;
};

int Fail(const plumlog::Status& s) {
  std::fprintf(stderr, "example_embed: %s\n", s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  if (argc > 1) {
    dir = argv[1];
  } else {
    char tmpl[] = "/tmp/plumlog-example-XXXXXX";
    if (!mkdtemp(tmpl)) return 1;
    dir = tmpl;
  }
  plumlog::StoreOptions options;       // documented defaults
  options.create_if_missing = true;    // make an identity on first use

  auto alice = plumlog::Store::Open(dir + "/alice", options);
  if (!alice.ok()) return Fail(alice.status());
  auto bob = plumlog::Store::Open(dir + "/bob", options);
  if (!bob.ok()) return Fail(bob.status());

  PrintingListener bob_listener("bob");
  (*bob)->AddListener(&bob_listener);

  std::printf("alice is %s\n", (*alice)->local_id().ToString().c_str());
  for (const char* text : {"first post", "second post", "third post"}) {
    auto e = (*alice)->Append(plumlog::TextContent(text));
    if (!e.ok()) return Fail(e.status());
    std::printf("alice appended seq %llu id %s\n", static_cast<unsigned long long>(e->seq()),
                e->id().ToString().c_str());
  }

  // Replicate alice's feed into bob's store: Ingest verifies every signature
  // and chain link before storing.
  auto entries = (*alice)->ReadFeed((*alice)->local_id(), 1, 100);
  if (!entries.ok()) return Fail(entries.status());
  plumlog::IngestResult r = (*bob)->Ingest(*entries);
  if (!r.ok()) return Fail(r.failure);
  std::printf("bob stored %zu entries, %zu duplicates\n", r.stored, r.duplicates);

  auto clock = (*bob)->GetClock();
  if (!clock.ok()) return Fail(clock.status());
  for (const auto& [feed, seq] : *clock) {
    std::printf("bob has %s up to seq %llu\n", feed.ToString().c_str(),
                static_cast<unsigned long long>(seq));
  }
  (*bob)->RemoveListener(&bob_listener);
  return clock->at((*alice)->local_id()) == 3 ? 0 : 1;
}
