// Micro-benchmarks of the entry codec (Google Benchmark).
#include <benchmark/benchmark.h>

#include "crypto/keypair.h"
#include "format/entry_codec.h"

namespace plumlog {
namespace {

std::string Content200() {
  std::string c;
  c.push_back(static_cast<char>(0xd9));
  c.push_back(static_cast<char>(198));
  c.append(198, 'c');
  return c;
}

Entry SampleEntry() {
  auto kp = crypto::KeyPair::Generate();
  std::string content = Content200();
  EntryCodec::Fields f;
  f.author = kp.public_key();
  f.seq = 2;
  f.previous = EntryId();
  f.lamport = 7;
  f.timestamp_ms = 1700000000000;
  f.content = content;
  return EntryCodec::Build(kp, f).value();
}

void BM_EncodeSigned(benchmark::State& state) {
  std::string content = Content200();
  EntryCodec::Fields f;
  f.seq = 2;
  f.previous = EntryId();
  f.lamport = 7;
  f.timestamp_ms = 1700000000000;
  f.content = content;
  for (auto _ : state) benchmark::DoNotOptimize(EntryCodec::EncodeSigned(f));
}
BENCHMARK(BM_EncodeSigned);

void BM_Decode(benchmark::State& state) {
  Entry e = SampleEntry();
  for (auto _ : state) benchmark::DoNotOptimize(Entry::Decode(e.encoded()));
}
BENCHMARK(BM_Decode);

void BM_DecodeStored(benchmark::State& state) {
  Entry e = SampleEntry();
  for (auto _ : state) benchmark::DoNotOptimize(EntryCodec::DecodeStored(e.encoded(), e.id()));
}
BENCHMARK(BM_DecodeStored);

void BM_Verify(benchmark::State& state) {
  Entry e = SampleEntry();
  for (auto _ : state) benchmark::DoNotOptimize(e.VerifySignature());
}
BENCHMARK(BM_Verify);

}  // namespace
}  // namespace plumlog

BENCHMARK_MAIN();
