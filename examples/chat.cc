// A small chat app that embeds plumlog: a Store for the messages and a Node
// that replicates them with other instances. Uses only the public headers.
//
//   example_chat HOME ROOM [--listen HOST:PORT] [--peer net:HOST:PORT~shs:KEY]...
//                          [--nick NAME]
//
// HOME is created on first use. It prints its own address first (give it to
// the others as --peer), then the room's history in causal order, then every
// new message as it arrives. Each line read from standard input is sent to
// the room; "/nick NAME" sets a nickname, "/quit" (or end of input) leaves.
#include <plumlog/chat.h>
#include <plumlog/node.h>
#include <plumlog/store.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace {

class ChatRoom : public plumlog::NodeListener {
 public:
  explicit ChatRoom(std::string room) : room_(std::move(room)) {}

  // Called on the node's thread for every entry stored (ours and others').
  void OnEntry(const plumlog::Entry& e) override {
    std::lock_guard<std::mutex> l(mu_);
    Show(e);
    std::fflush(stdout);
  }

  // Prints the stored history of the room in causal order.
  void ShowHistory(plumlog::Store& store) {
    std::vector<plumlog::Entry> all;
    uint64_t after = 0;
    for (;;) {
      plumlog::Result<plumlog::ArrivalPage> page = store.ReadArrival(after, 1000);
      if (!page.ok() || page->entries.empty()) break;
      for (plumlog::Entry& e : page->entries) all.push_back(std::move(e));
      after = page->next;
    }
    std::sort(all.begin(), all.end(), plumlog::chat::CausalLess);
    std::lock_guard<std::mutex> l(mu_);
    for (const plumlog::Entry& e : all) Show(e);
    std::fflush(stdout);
  }

 private:
  void Show(const plumlog::Entry& e) {
    plumlog::chat::Content c = plumlog::chat::Parse(e.content());
    if (c.kind == plumlog::chat::Content::Kind::kNick) {
      nicks_[e.author()] = c.name;
    } else if (c.kind == plumlog::chat::Content::Kind::kMessage && c.room == room_) {
      auto it = nicks_.find(e.author());
      const std::string who = it != nicks_.end() ? it->second : e.author().Short();
      std::printf("<%s> %s\n", who.c_str(), c.text.c_str());
    }
  }

  std::mutex mu_;
  std::string room_;
  std::map<plumlog::FeedId, std::string> nicks_;
};

int Fail(const std::string& what, const plumlog::Status& s) {
  std::fprintf(stderr, "example_chat: %s: %s\n", what.c_str(), s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: example_chat HOME ROOM [--listen HOST:PORT] [--peer ADDR]... "
                 "[--nick NAME]\n");
    return 2;
  }
  const std::string home = argv[1], room = argv[2];
  plumlog::NodeOptions options = plumlog::NodeOptions::Lan();
  options.listen = "127.0.0.1:0";
  std::string nick;
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--listen") {
      options.listen = value;
    } else if (flag == "--peer") {
      plumlog::Result<plumlog::PeerAddress> peer = plumlog::PeerAddress::Parse(value);
      if (!peer.ok()) return Fail("--peer", peer.status());
      options.peers.push_back(*peer);
    } else if (flag == "--nick") {
      nick = value;
    } else {
      std::fprintf(stderr, "example_chat: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (plumlog::Status st = plumlog::chat::ValidateRoom(room); !st.ok()) return Fail("room", st);

  plumlog::Status init = plumlog::Store::Init(home);
  if (!init.ok() && init.code() != plumlog::Status::Code::kAlreadyExists) {
    return Fail("init " + home, init);
  }
  plumlog::Result<std::unique_ptr<plumlog::Store>> store = plumlog::Store::Open(home, plumlog::StoreOptions::Default());
  if (!store.ok()) return Fail("open " + home, store.status());

  ChatRoom chat(room);
  chat.ShowHistory(**store);
  plumlog::Result<std::unique_ptr<plumlog::Node>> node =
      plumlog::Node::Start(store->get(), options);
  if (!node.ok()) return Fail("start node", node.status());
  (*node)->AddListener(&chat);
  std::printf("address: %s\n", (*node)->address().ToString().c_str());
  std::fflush(stdout);

  auto send = [&](const plumlog::Result<std::string>& content) {
    if (!content.ok()) {
      std::fprintf(stderr, "example_chat: %s\n", content.status().ToString().c_str());
      return;
    }
    plumlog::Result<plumlog::Entry> e = (*store)->Append(*content);
    if (!e.ok()) std::fprintf(stderr, "example_chat: %s\n", e.status().ToString().c_str());
  };
  if (!nick.empty()) send(plumlog::chat::EncodeNick(nick));
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line == "/quit") break;
    if (line.rfind("/nick ", 0) == 0) {
      send(plumlog::chat::EncodeNick(line.substr(6)));
    } else if (!line.empty()) {
      send(plumlog::chat::EncodeMessage(room, line));
    }
  }
  (*node)->RemoveListener(&chat);
  (*node)->Stop();
  return 0;
}
