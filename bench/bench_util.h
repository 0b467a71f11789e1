// Helpers shared by the benchmark programs (bench/README.md): statistics over
// samples, the 200-byte content every figure uses, and /proc readings.
#ifndef PLUMLOG_BENCH_BENCH_UTIL_H_
#define PLUMLOG_BENCH_BENCH_UTIL_H_

#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace plumlog::bench {

using SteadyClock = std::chrono::steady_clock;

inline double Seconds(SteadyClock::time_point a, SteadyClock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

inline double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  if (n == 0) return 0;
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Nearest-rank percentile, p in [0, 100].
inline double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t rank =
      static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  rank = std::clamp<size_t>(rank, 1, v.size());
  return v[rank - 1];
}

// The content of every benchmark entry: a msgpack str8 of 198 characters
// (200 bytes; the signed message is 287 bytes).
inline std::string Content200() {
  std::string c;
  c.push_back(static_cast<char>(0xd9));
  c.push_back(static_cast<char>(198));
  for (int i = 0; i < 198; ++i) c.push_back(static_cast<char>('a' + i % 26));
  return c;
}

// A "Key:   N kB" line of /proc/<pid>/status (pid 0: this process), in kB;
// -1 if the process or the line is gone.
inline long ProcStatusKb(pid_t pid, const char* key) {
  const std::string path = pid == 0
                               ? "/proc/self/status"
                               : "/proc/" + std::to_string(pid) + "/status";
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return -1;
  char line[256];
  long kb = -1;
  const size_t klen = std::strlen(key);
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, key, klen) == 0 && line[klen] == ':') {
      kb = std::atol(line + klen + 1);
      break;
    }
  }
  std::fclose(f);
  return kb;
}

// The 1-minute load average of the machine (/proc/loadavg), printed beside
// figures taken on the shared VM.
inline double LoadAverage1() {
  FILE* f = std::fopen("/proc/loadavg", "r");
  if (!f) return -1;
  double l = -1;
  if (std::fscanf(f, "%lf", &l) != 1) l = -1;
  std::fclose(f);
  return l;
}

}  // namespace plumlog::bench

#endif  // PLUMLOG_BENCH_BENCH_UTIL_H_
