// Deterministic, libm-free inputs and the FNV-1a hash of the hash-based golden data
// (tests/data/ggml/hashes.txt). Must stay in step with the generator described in
// tests/data/ggml/README.md: same PRNG (splitmix64), same fp32 operations, same call order.
#pragma once
#include <bit>
#include <cstddef>
#include <cstdint>
#include <mixq/calibrate/ggml_search.hpp>  // MIXQ_GGML_EXACT_FP_BEGIN/END

// Inputs and weights must be computed exactly as the generator did: no FMA contraction.
MIXQ_GGML_EXACT_FP_BEGIN
namespace ggml_hash {

struct rng {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  float u01() { return static_cast<float>(next() >> 40) * 0x1p-24f; }
  float gauss() {  // Irwin-Hall(4), unit variance
    const float a = u01(), b = u01(), c = u01(), d = u01();
    return ((a + b) + (c + d) - 2.0f) * 1.7320508f;
  }
  int uniform_int(int lo, int hi) { return lo + static_cast<int>(next() % static_cast<std::uint64_t>(hi - lo + 1)); }
};

inline float pow2(int k) { return std::bit_cast<float>(static_cast<std::uint32_t>(127 + k) << 23); }
inline float step(float f, int dir) {
  return std::bit_cast<float>(
      static_cast<std::uint32_t>(static_cast<std::int64_t>(std::bit_cast<std::uint32_t>(f)) + dir));
}

/// Families 0..11: normal, uniform +-100, multiples of 1/8, 25% zeros + tiny, 2% x1000 outliers,
/// all zero, constant, single non-zero, fp32 subnormals, small integers, huge (fp16 overflow),
/// block maxima on / next to powers of two.
inline void fill(rng& r, int family, float* x, int n) {
  switch (family % 12) {
    case 0:
      for (int i = 0; i < n; ++i) x[i] = r.gauss();
      break;
    case 1:
      for (int i = 0; i < n; ++i) x[i] = r.u01() * 200.0f - 100.0f;
      break;
    case 2:
      for (int i = 0; i < n; ++i) x[i] = static_cast<float>(r.uniform_int(-64, 64)) / 8.0f;
      break;
    case 3:
      for (int i = 0; i < n; ++i) {
        const float u = r.u01();
        x[i] = u < 0.25f ? 0.0f : r.gauss() * 1e-3f;
      }
      break;
    case 4:
      for (int i = 0; i < n; ++i) {
        const float g = r.gauss();
        const float u = r.u01();
        x[i] = g * (u < 0.02f ? 1000.0f : 1.0f);
      }
      break;
    case 5:
      for (int i = 0; i < n; ++i) x[i] = (i % 7 == 3) ? -0.0f : 0.0f;
      break;
    case 6: {
      const float c = r.gauss() * 4.0f;
      for (int i = 0; i < n; ++i) x[i] = c;
      break;
    }
    case 7: {
      for (int i = 0; i < n; ++i) x[i] = 0.0f;
      const int pos = r.uniform_int(0, n - 1);
      x[pos] = r.gauss() * 10.0f;
      break;
    }
    case 8:
      for (int i = 0; i < n; ++i) x[i] = r.gauss() * 1e-39f;
      break;
    case 9:
      for (int i = 0; i < n; ++i) x[i] = static_cast<float>(r.uniform_int(-8, 8));
      break;
    case 10:
      for (int i = 0; i < n; ++i) x[i] = r.gauss() * 3e6f;
      break;
    case 11:
      for (int g = 0; g < n; g += 32) {
        const float p = pow2(r.uniform_int(-12, 12));
        const int pick = r.uniform_int(0, 2);
        const float top = pick == 0 ? step(p, -1) : pick == 1 ? p : step(p, 1);
        for (int i = 0; i < 32; ++i) x[g + i] = (r.u01() * 2.0f - 1.0f) * top * 0.999f;
        const int pos = r.uniform_int(0, 31);
        const int neg = r.uniform_int(0, 1);
        x[g + pos] = neg ? -top : top;
      }
      break;
  }
}

/// Importance values: 5% zeros, the rest u1 * u2 * 4 + 1e-3.
inline void importance(rng& r, float* w, int n) {
  for (int i = 0; i < n; ++i) {
    const float u = r.u01();
    if (u < 0.05f) {
      w[i] = 0.0f;
      continue;
    }
    const float a = r.u01(), b = r.u01();
    w[i] = a * b * 4.0f + 1e-3f;
  }
}

struct fnv1a {
  std::uint64_t h = 0xcbf29ce484222325ull;
  void bytes(const std::uint8_t* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  }
  void floats(const float* v, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      const auto u = std::bit_cast<std::uint32_t>(v[i]);
      const std::uint8_t b[4] = {static_cast<std::uint8_t>(u), static_cast<std::uint8_t>(u >> 8),
                                 static_cast<std::uint8_t>(u >> 16), static_cast<std::uint8_t>(u >> 24)};
      bytes(b, 4);
    }
  }
};

}  // namespace ggml_hash
MIXQ_GGML_EXACT_FP_END
