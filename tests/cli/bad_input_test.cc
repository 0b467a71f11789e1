// The plumlog command on bad input: each case must fail with a clear message
// and a non-zero exit, and leave the store exactly as it was.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <sstream>

#include "crypto/keypair.h"
#include "plumlog/store.h"
#include "format/entry_codec.h"
#include "storage/export_stream.h"
#include "tests/cli/subprocess.h"

namespace plumlog::testing {
namespace {

using ::testing::HasSubstr;

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = dir_.Sub("home");
    RunResult r = RunWithHome(home_, {"init"});
    ASSERT_EQ(r.exit_code, 0) << Show(r);
    for (const char* text : {"one", "two", "three"}) {
      ASSERT_EQ(Run({"append", text}).exit_code, 0);
    }
    before_ = State();
  }

  RunResult Run(const std::vector<std::string>& args,
                std::string_view in = "") {
    return RunWithHome(home_, args, in);
  }

  // Everything a failed command must not change: heads and every entry.
  std::string State() { return StateOf(home_); }
  static std::string StateOf(const std::string& home) {
    RunResult feeds = RunWithHome(home, {"feeds"});
    RunResult read = RunWithHome(home, {"read", "--json"});
    RunResult check = RunWithHome(home, {"check"});
    EXPECT_EQ(check.exit_code, 0) << Show(check);
    return feeds.out + read.out + check.out;
  }

  // Asserts a failed command: exit code, "plumlog: error: " and `what` on
  // stderr, nothing on stdout, store unchanged.
  void ExpectRefused(const RunResult& r, int code, std::string_view what) {
    EXPECT_EQ(r.exit_code, code) << Show(r);
    EXPECT_THAT(r.err, HasSubstr("plumlog: error: "));
    EXPECT_THAT(r.err, HasSubstr(std::string(what)));
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(State(), before_);
  }

  TempDir dir_;
  std::string home_;
  std::string before_;
};

// ---- content ----

TEST_F(BadInputTest, MalformedJson) {
  ExpectRefused(Run({"append", "--json", "{\"a\": 1,}"}), 1,
                "invalid JSON: parse error at line 1");
  ExpectRefused(Run({"append", "--json", "-"}, "[1, 2"), 1, "invalid JSON");
  ExpectRefused(Run({"append", "--json", ""}), 1, "invalid JSON");
  ExpectRefused(Run({"append", "--json", "1 2"}), 1, "invalid JSON");
  const std::string file = dir_.Sub("bad.json");
  WriteFileBytes(file, "{\"unterminated\": \"str");
  ExpectRefused(Run({"append", "--json-file", file}), 1,
                file + ": invalid JSON");
  ExpectRefused(Run({"append", "--json", R"({"$bin": "not base64!"})"}), 1,
                "\"$bin\" must be a padded standard base64 string");
  ExpectRefused(Run({"append", "--json", R"({"$ext": 300, "$bin": "AA=="})"}),
                1, "\"$ext\" must be an integer from -128 to 127");
  ExpectRefused(
      Run({"append", "--json", std::string(200, '[') + std::string(200, ']')}),
      1, "nested more than");
  ExpectRefused(Run({"append", "--json-file", dir_.Sub("missing.json")}), 1,
                "cannot open");
}

TEST_F(BadInputTest, ContentOverTheLimit) {
  const std::string big(70000, 'x');
  ExpectRefused(Run({"append", big}), 1, "an entry is at most 65536");
  ExpectRefused(Run({"append"}, big), 1, "an entry is at most 65536");
  ExpectRefused(Run({"append", "--json", "\"" + big + "\""}), 1,
                "an entry is at most 65536");
  // Content under 64 KiB whose entry, with header and signature, is over it.
  ExpectRefused(Run({"append", std::string(65536 - 100, 'y')}), 1,
                "the limit is 65536");
  // And well under it is fine.
  RunResult ok = Run({"append", std::string(60000, 'z')});
  EXPECT_EQ(ok.exit_code, 0) << Show(ok);
  EXPECT_THAT(ok.out, HasSubstr("4\t%"));
}

// ---- the store's location and key ----

TEST_F(BadInputTest, MissingStore) {
  const std::string missing = dir_.Sub("nowhere");
  for (std::vector<std::string> args : {std::vector<std::string>{"whoami"},
                                        {"append", "x"},
                                        {"read"},
                                        {"read", "--follow"},
                                        {"feeds"},
                                        {"check"},
                                        {"export", "-o", dir_.Sub("out")},
                                        {"import", "-"}}) {
    RunResult r = RunWithHome(missing, args);
    EXPECT_EQ(r.exit_code, 1) << args[0] << Show(r);
    EXPECT_THAT(r.err,
                HasSubstr("plumlog: error: no plumlog store at " + missing +
                          " (run `plumlog init` first, or pass --home)"));
  }
  EXPECT_FALSE(std::filesystem::exists(missing));
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("out")));
  // An existing but empty directory is not a store either.
  std::filesystem::create_directory(missing);
  RunResult r = RunWithHome(missing, {"append", "x"});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_THAT(r.err, HasSubstr("no plumlog store at"));
  EXPECT_TRUE(std::filesystem::is_empty(missing));
  // Neither is a home with a key but no database.
  ASSERT_EQ(RunWithHome(missing, {"init"}).exit_code, 0);
  std::filesystem::remove_all(missing + "/db");
  r = RunWithHome(missing, {"feeds"});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_THAT(r.err,
              HasSubstr("is incomplete; run `plumlog init` to finish it"));
}

TEST_F(BadInputTest, CorruptSecretKey) {
  const std::string secret = home_ + "/secret";
  const std::string good = ReadFileBytes(secret);
  std::string short_key = good.substr(0, good.size() - 2);
  short_key += '\n';
  std::string bad_header = good;
  bad_header[0] = 'x';
  for (const std::string& bad :
       {std::string(""), std::string("garbage\n"), short_key, bad_header}) {
    WriteFileBytes(secret, bad);
    ::chmod(secret.c_str(), 0600);
    for (std::vector<std::string> args :
         {std::vector<std::string>{"append", "x"}, {"whoami"}, {"read"}}) {
      RunResult r = Run(args);
      EXPECT_EQ(r.exit_code, 1) << Show(r);
      EXPECT_THAT(r.err, HasSubstr("plumlog: error: secret key " + secret +
                                   " is malformed"));
      EXPECT_EQ(r.out, "");
    }
  }
  WriteFileBytes(secret, good);
  EXPECT_EQ(State(), before_);
}

TEST_F(BadInputTest, WorldReadableSecretKeyIsRefused) {
  const std::string secret = home_ + "/secret";
  for (mode_t mode : {0644, 0640, 0604, 0660}) {
    ASSERT_EQ(::chmod(secret.c_str(), mode), 0);
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode));
    for (std::vector<std::string> args :
         {std::vector<std::string>{"append", "x"}, {"whoami"}, {"feeds"}}) {
      RunResult r = Run(args);
      EXPECT_EQ(r.exit_code, 1) << Show(r);
      EXPECT_THAT(r.err,
                  HasSubstr("secret key " + secret + " has mode " + text));
      EXPECT_THAT(r.err, HasSubstr("chmod 600"));
    }
  }
  ASSERT_EQ(::chmod(secret.c_str(), 0600), 0);
  EXPECT_EQ(State(), before_);
}

// ---- import ----

class BadImportTest : public BadInputTest {
 protected:
  void SetUp() override {
    BadInputTest::SetUp();
    stream_path_ = dir_.Sub("good.plumlog");
    RunResult r = Run({"export", "-o", stream_path_});
    ASSERT_EQ(r.exit_code, 0) << Show(r);
    stream_ = ReadFileBytes(stream_path_);
    target_ = dir_.Sub("target");
    ASSERT_EQ(RunWithHome(target_, {"init"}).exit_code, 0);
    ASSERT_EQ(RunWithHome(target_, {"append", "target's own"}).exit_code, 0);
    target_before_ = StateOf(target_);
  }

  // Imports `bytes` into the target from a file and from stdin; both must fail
  // with `what` and leave the target unchanged.
  void ExpectImportRefused(std::string_view bytes, std::string_view what) {
    const std::string path = dir_.Sub("bad.plumlog");
    WriteFileBytes(path, bytes);
    for (bool from_stdin : {false, true}) {
      RunResult r = from_stdin ? RunWithHome(target_, {"import"}, bytes)
                               : RunWithHome(target_, {"import", path});
      EXPECT_EQ(r.exit_code, 1) << Show(r);
      EXPECT_THAT(
          r.err,
          HasSubstr("plumlog: error: import refused, nothing was written: "));
      EXPECT_THAT(r.err, HasSubstr(std::string(what)));
      EXPECT_EQ(r.out, "");
      EXPECT_EQ(StateOf(target_), target_before_);
    }
  }

  std::vector<Entry> Entries() {
    std::istringstream in(stream_);
    storage::ExportReader reader(&in);
    std::vector<Entry> out;
    while (true) {
      Entry e;
      bool done = false;
      Status st = reader.Next(&e, &done);
      EXPECT_TRUE(st.ok()) << st.ToString();
      if (!st.ok() || done) break;
      out.push_back(e);
    }
    return out;
  }

  static std::string Stream(const std::vector<Entry>& entries) {
    std::ostringstream out;
    storage::ExportWriter writer(&out);
    for (const Entry& e : entries) EXPECT_TRUE(writer.Write(e).ok());
    EXPECT_TRUE(writer.Finish().ok());
    return out.str();
  }

  std::string stream_path_;
  std::string stream_;
  std::string target_;
  std::string target_before_;
};

TEST_F(BadImportTest, TheGoodStreamImports) {
  RunResult r = RunWithHome(target_, {"import", stream_path_});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out, "imported 3 entries: 3 stored, 0 duplicates\n");
}

TEST_F(BadImportTest, TruncatedStream) {
  for (size_t cut : {size_t{0}, size_t{5}, size_t{17}, size_t{19}, size_t{40},
                     stream_.size() / 2, stream_.size() - 41,
                     stream_.size() - 33, stream_.size() - 1}) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    ExpectImportRefused(
        std::string_view(stream_).substr(0, cut),
        cut < 17 ? "not a plumlog export stream" : "export stream truncated");
  }
}

TEST_F(BadImportTest, TrailingBytes) {
  ExpectImportRefused(stream_ + "x",
                      "unexpected bytes after the end of the export stream");
}

TEST_F(BadImportTest, FlippedByteInTheMiddle) {
  // A byte inside the second entry's signature: still decodes, so the digest
  // (checked before anything is written) is what catches it.
  std::vector<Entry> entries = Entries();
  const size_t second = 17 + 4 + entries[0].encoded().size() + 4;
  std::string bad = stream_;
  bad[second + entries[1].encoded().size() - 10] ^= 0x01;
  ExpectImportRefused(bad, "export stream digest mismatch");
  // Any byte anywhere: always refused.
  for (size_t at = 0; at < stream_.size(); at += 7) {
    std::string b = stream_;
    b[at] ^= 0x20;
    const std::string path = dir_.Sub("flip.plumlog");
    WriteFileBytes(path, b);
    RunResult r = RunWithHome(target_, {"import", path});
    EXPECT_EQ(r.exit_code, 1) << "byte " << at << Show(r);
  }
  EXPECT_EQ(StateOf(target_), target_before_);
}

TEST_F(BadImportTest, TamperedEntryWithRecomputedDigest) {
  std::vector<Entry> entries = Entries();
  ASSERT_EQ(entries.size(), 3u);
  // "two" -> "twO" in entry 2's content; the stream digest is recomputed, so
  // only the signature can tell.
  std::string bytes = entries[1].encoded();
  const size_t at = bytes.find("two");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 2] = 'O';
  Result<Entry> forged = Entry::Decode(bytes);
  ASSERT_TRUE(forged.ok()) << forged.status().ToString();
  entries[1] = *forged;
  ExpectImportRefused(Stream(entries), "stream entry 2 (" +
                                           entries[1].author().ToString() +
                                           " seq 2): bad signature");
  // The same for the last entry, whose id no later entry links to.
  entries = Entries();
  bytes = entries[2].encoded();
  bytes[bytes.find("three")] = 'T';
  forged = Entry::Decode(bytes);
  ASSERT_TRUE(forged.ok());
  entries[2] = *forged;
  ExpectImportRefused(Stream(entries), "stream entry 3 (" +
                                           entries[2].author().ToString() +
                                           " seq 3): bad signature");
}

TEST_F(BadImportTest, BrokenChainInStream) {
  std::vector<Entry> entries = Entries();
  ExpectImportRefused(Stream({entries[0], entries[2]}),
                      "stream entry 2 (" + entries[2].author().ToString() +
                          " seq 3): expected seq 2");
  ExpectImportRefused(Stream({entries[1], entries[2]}),
                      "the store holds this feed only up to seq 0");
  ExpectImportRefused(Stream({entries[0], entries[1], entries[1]}),
                      "expected seq 3");
}

TEST_F(BadImportTest, ForkOfAStoredFeedIsRefused) {
  // A second, validly signed entry 2 by the same author: a fork.
  Result<crypto::KeyPair> key = crypto::KeyPair::Load(home_ + "/secret");
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  std::vector<Entry> entries = Entries();
  EntryCodec::Fields f;
  f.author = entries[1].author();
  f.seq = 2;
  f.previous = entries[0].id();
  f.lamport = entries[1].lamport();
  f.timestamp_ms = entries[1].timestamp_ms();
  const std::string content = TextContent("the other two");
  f.content = content;
  Result<Entry> fork = EntryCodec::Build(*key, f);
  ASSERT_TRUE(fork.ok());
  // Into the store that holds seq 1..3, whole and as the stream's last entry.
  ASSERT_EQ(RunWithHome(target_, {"import", stream_path_}).exit_code, 0);
  target_before_ = StateOf(target_);
  ExpectImportRefused(Stream({entries[0], *fork}),
                      "conflicts with the stored entry");
  // Also when the stream goes past the stored head on the forked branch.
  f.seq = 3;
  f.previous = fork->id();
  f.lamport = fork->lamport() + 1;
  Result<Entry> fork3 = EntryCodec::Build(*key, f);
  f.seq = 4;
  f.previous = fork3->id();
  f.lamport = fork3->lamport() + 1;
  Result<Entry> fork4 = EntryCodec::Build(*key, f);
  ExpectImportRefused(Stream({entries[0], *fork, *fork3, *fork4}),
                      "conflicts with the stored entry");
}

TEST_F(BadImportTest, NotAStreamAtAll) {
  ExpectImportRefused("hello, this is not an export\n",
                      "not a plumlog export stream");
  RunResult r = RunWithHome(target_, {"import", dir_.Sub("no-such-file")});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_THAT(r.err, HasSubstr("cannot read " + dir_.Sub("no-such-file")));
}

// ---- command line ----

TEST_F(BadInputTest, UnknownFlags) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{"init", "--bogus"},
        {"whoami", "-x"},
        {"append", "--jsn", "1"},
        {"read", "--folow"},
        {"feeds", "--yaml"},
        {"check", "--fix"},
        {"export", "-z"},
        {"import", "--force"},
        {"--frobnicate", "whoami"}}) {
    RunResult r = Run(args);
    EXPECT_EQ(r.exit_code, 2) << args[0] << Show(r);
    EXPECT_THAT(
        r.err,
        HasSubstr("plumlog: error: The following argument was not expected"));
    EXPECT_THAT(r.err, HasSubstr("Run with --help for more information."));
    EXPECT_EQ(r.out, "");
  }
  EXPECT_EQ(State(), before_);
}

TEST_F(BadInputTest, UsageErrors) {
  struct Case {
    std::vector<std::string> args;
    std::string what;
  };
  const std::vector<Case> cases = {
      {{}, "A subcommand is required"},
      {{"frobnicate"}, "unknown command: frobnicate"},
      {{"frobnicate", "--y"}, "unknown command: frobnicate"},
      {{"append", "text", "--json", "1"}, "TEXT excludes --json"},
      {{"append", "--file", "a", "--json-file", "b"},
       "--file excludes --json-file"},
      {{"append", "--json", "1", "--file", "a"}, "--json excludes --file"},
      {{"append", "two", "words"}, "not expected: words"},
      {{"append", "--json"}, "--json: 1 required JSON missing"},
      {{"read", "@nope.ed25519"}, "not a feed id"},
      {{"read", "--since", "-1"}, "not an integer from 0 to 2^63-1: -1"},
      {{"read", "--limit", "ten"}, "not an integer"},
      {{"read", "--since", "99999999999999999999"}, "not an integer"},
      {{"export", "self", "@AAAA.ed25519"}, "not a feed id"},
      {{"import", "a", "b"}, "not expected"},
  };
  for (const Case& c : cases) {
    RunResult r = Run(c.args);
    EXPECT_EQ(r.exit_code, 2) << Show(r);
    EXPECT_THAT(r.err, HasSubstr("plumlog: error: "));
    EXPECT_THAT(r.err, HasSubstr(c.what));
  }
  EXPECT_EQ(State(), before_);
}

TEST_F(BadInputTest, ExportFailureLeavesNoFile) {
  const std::string out = dir_.Sub("exports/x.plumlog");
  std::filesystem::create_directory(dir_.Sub("exports"));
  RunResult r =
      Run({"export", "@AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=.ed25519",
           "-o", out});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_THAT(r.err, HasSubstr("cannot export: no entries of @AAAA"));
  EXPECT_TRUE(std::filesystem::is_empty(dir_.Sub("exports")));
  // Into a directory that does not exist.
  r = Run({"export", "-o", dir_.Sub("missing/x.plumlog")});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_THAT(r.err, HasSubstr("cannot create a file next to"));
}

// ---- a second writer ----

TEST_F(BadInputTest, SecondWriterIsBusy) {
  Result<std::unique_ptr<Store>> held = Store::Open(home_, StoreOptions());
  ASSERT_TRUE(held.ok()) << held.status().ToString();
  RunResult r = Run({"append", "blocked"});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_THAT(r.err,
              HasSubstr("plumlog: error: store is in use by another process"));
  const std::string stream = dir_.Sub("s.plumlog");
  ASSERT_EQ(Run({"export", "-o", stream}).exit_code, 0);  // readers still work
  r = Run({"import", stream});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_THAT(r.err, HasSubstr("store is in use by another process"));
  // Readers see what the holder writes.
  ASSERT_TRUE((*held)->Append(TextContent("by the holder")).ok());
  RunResult read = Run({"read", "self", "--since", "3"});
  EXPECT_EQ(read.exit_code, 0) << Show(read);
  EXPECT_THAT(read.out, HasSubstr("\tby the holder\n"));
  EXPECT_EQ(Run({"whoami"}).exit_code, 0);
  EXPECT_THAT(Run({"feeds"}).out, HasSubstr("\t4\t%"));
  held->reset();
  r = Run({"append", "after"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_THAT(r.out, HasSubstr("5\t%"));
}

}  // namespace
}  // namespace plumlog::testing
