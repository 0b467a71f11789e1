// Shared helpers for the fuzz targets in this directory.
#ifndef PLUMLOG_TESTS_FUZZ_FUZZ_CHECK_H_
#define PLUMLOG_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>

// Aborts (via a trap, which libFuzzer and the replay driver both report as a
// crash) when an invariant of the code under test does not hold. Only for real
// invariant violations: a decoder rejecting bad input is not one.
#define FUZZ_CHECK(cond)                                                   \
  do {                                                                     \
    if (!(cond)) {                                                         \
      std::fprintf(stderr, "fuzz invariant violated: %s (%s:%d)\n", #cond, \
                   __FILE__, __LINE__);                                    \
      std::fflush(stderr);                                                 \
      __builtin_trap();                                                    \
    }                                                                      \
  } while (0)

#endif  // PLUMLOG_TESTS_FUZZ_FUZZ_CHECK_H_
