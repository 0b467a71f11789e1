#include <gtest/gtest.h>
#include <filesystem>
#include "plumlog/store.h"

namespace plumlog {
TEST(Smoke, AppendReadIngest) {
  auto dir = std::filesystem::temp_directory_path() / ("plumlog-smoke-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  auto a = Store::Open((dir / "a").string(), StoreOptions::Test());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto b = Store::Open((dir / "b").string(), StoreOptions::Test());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  std::vector<Entry> es;
  for (int i = 0; i < 5; ++i) {
    auto e = (*a)->Append(TextContent("hello " + std::to_string(i)));
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    EXPECT_EQ(e->seq(), uint64_t(i + 1));
    es.push_back(*e);
  }
  std::vector<std::string> batch(200, TextContent("x"));
  auto bb = (*a)->AppendBatch(batch);
  ASSERT_TRUE(bb.ok()) << bb.status().ToString();
  EXPECT_EQ(bb->back().seq(), 205u);
  auto all = (*a)->ReadFeed((*a)->local_id(), 1, 1000);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 205u);
  auto r = (*b)->Ingest(*all);
  EXPECT_TRUE(r.ok()) << r.failure.ToString();
  EXPECT_EQ(r.stored, 205u);
  auto r2 = (*b)->Ingest(*all);
  EXPECT_EQ(r2.duplicates, 205u);
  auto rep = (*b)->Check();
  ASSERT_TRUE(rep.ok());
  EXPECT_TRUE(rep->ok()) << rep->problems.front().where << ": " << rep->problems.front().what;
  EXPECT_EQ(rep->entries, 205u);
  auto g = (*b)->GetById(es[2].id());
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->encoded(), es[2].encoded());
  std::filesystem::remove_all(dir);
}
}  // namespace plumlog
