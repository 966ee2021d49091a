// Assertion for the fuzz targets: a failed invariant aborts, so libFuzzer saves the input
// as a crash artifact like any sanitizer report.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                                                 \
  do {                                                                                        \
    if (!(condition)) {                                                                       \
      std::fprintf(stderr, "invariant failed: %s (%s:%d)\n", #condition, __FILE__, __LINE__); \
      std::abort();                                                                           \
    }                                                                                         \
  } while (false)

// Reads every byte of a range, so AddressSanitizer reports a view that points outside the
// input even when the code under test never reads it itself.
inline unsigned TouchBytes(const unsigned char* data, size_t size) {
  unsigned sum = 0;
  for (size_t i = 0; i < size; ++i) {
    sum += data[i];
  }
  return sum;
}
