// Prng: a small fixed-seed pseudo-random generator for scenario pcaps, benchmarks and tests.
//
// SplitMix64 (Steele, Lea, Flood 2014): one 64-bit state word, passes BigCrush, and its output
// is defined by integer arithmetic only, so the same seed gives the same sequence on every
// compiler and machine. That is the point: generated pcaps are committed and regenerated
// byte-identically. Never use std::uniform_int_distribution and friends here: their algorithms
// are unspecified and differ between standard libraries.
//
// Not for cryptography, not for statistics that care about the tiny bias of below() (a
// multiply-shift without rejection: bias < n / 2^64).
//
// Thread-safety: none; a plain value, one per generating thread.
#pragma once

#include <cstdint>

namespace camwatch::testsupport {

class Prng {
 public:
  explicit constexpr Prng(std::uint64_t seed) : state_(seed) {}

  constexpr std::uint64_t next() {
    state_ += 0x9E37'79B9'7F4A'7C15ULL;
    std::uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58'476D'1CE4'E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D0'49BB'1331'11EBULL;
    return z ^ (z >> 31);
  }

  // Uniform in [0, n); n == 0 gives 0.
  constexpr std::uint64_t below(std::uint64_t n) { return multiply_high(next(), n); }

  // Uniform in [lo, hi] (inclusive); lo <= hi.
  constexpr std::int64_t between(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(hi - lo) + 1));
  }

  // True with probability per_million / 1'000'000.
  constexpr bool chance_ppm(std::uint32_t per_million) { return below(1'000'000) < per_million; }

 private:
  // High 64 bits of a 64x64-bit product, in portable integer arithmetic (no __int128).
  static constexpr std::uint64_t multiply_high(std::uint64_t a, std::uint64_t b) {
    std::uint64_t a_lo = a & 0xFFFF'FFFFU, a_hi = a >> 32;
    std::uint64_t b_lo = b & 0xFFFF'FFFFU, b_hi = b >> 32;
    std::uint64_t lo_lo = a_lo * b_lo;
    std::uint64_t hi_lo = a_hi * b_lo;
    std::uint64_t lo_hi = a_lo * b_hi;
    std::uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xFFFF'FFFFU) + lo_hi;
    return a_hi * b_hi + (hi_lo >> 32) + (cross >> 32);
  }

  std::uint64_t state_;
};

}  // namespace camwatch::testsupport
