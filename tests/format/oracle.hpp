// Independent reference ("oracle") for the format layer tests.
//
// Written from FORMATS.md only (§1.1 value formula, §1.3 conversion algorithm, §2.1 special
// codes, §2.3 special-value policies, §3 integer ranges, brief: E8M0 ties to the even code).
// It uses double arithmetic with std::frexp / std::ldexp / std::nearbyint and shares no code
// with include/mixq/format: nothing here calls encode/decode/format_traits of the library.
#pragma once
#include <algorithm>
#include <array>
#include <bit>
#include <cfenv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

namespace oracle {

// Own copy of the four special-code layouts (§2.1 naming: ieee / fn / fnuz / MX finite).
enum class kind { ieee, fn, fnuz, finite };

/// A sign/exponent/mantissa format described by numbers, not by the library's tag types.
struct mf_spec {
  int e = 0, m = 0;
  kind k = kind::ieee;
  std::uint32_t maxc = 0;  // largest finite magnitude code, filled by the constructor
  double maxf = 0;         // its value

  mf_spec(int e_, int m_, kind k_) : e(e_), m(m_), k(k_) {
    // Largest finite magnitude: scan the positive codes with value() (§1.1 + special codes).
    for (std::uint32_t c = 0; c < sign_bit(); ++c) {
      const double v = value(c);
      if (std::isfinite(v) && v > maxf) maxf = v, maxc = c;
    }
  }

  int bits() const { return 1 + e + m; }
  std::uint32_t ncodes() const { return 1u << bits(); }
  std::uint32_t sign_bit() const { return 1u << (e + m); }
  std::uint32_t exp_field(std::uint32_t c) const { return (c >> m) & ((1u << e) - 1u); }
  std::uint32_t man_field(std::uint32_t c) const { return c & ((1u << m) - 1u); }
  int bias() const { return (1 << (e - 1)) - (k == kind::fnuz ? 0 : 1); }
  int emin() const { return 1 - bias(); }
  bool has_inf() const { return k == kind::ieee; }
  bool has_nan() const { return k != kind::finite; }
  bool has_neg_zero() const { return k != kind::fnuz; }

  bool is_nan_code(std::uint32_t c) const {
    const std::uint32_t mag = c & (sign_bit() - 1u);
    const std::uint32_t top = (1u << e) - 1u;
    switch (k) {
      case kind::ieee: return exp_field(c) == top && man_field(c) != 0;
      case kind::fn: return mag == sign_bit() - 1u;  // S.1111.111
      case kind::fnuz: return c == sign_bit();       // the would-be -0 pattern
      case kind::finite: return false;
    }
    return false;
  }
  bool is_inf_code(std::uint32_t c) const {
    return k == kind::ieee && exp_field(c) == (1u << e) - 1u && man_field(c) == 0;
  }

  /// §1.1: E = 0 -> 2^(1-b) M/2^m, else 2^(E-b)(1 + M/2^m). NaN codes -> NaN, inf codes -> inf.
  double value(std::uint32_t c) const {
    const bool neg = (c & sign_bit()) != 0;
    if (is_nan_code(c)) return std::numeric_limits<double>::quiet_NaN();
    if (is_inf_code(c)) return neg ? -HUGE_VAL : HUGE_VAL;
    const double M = static_cast<double>(man_field(c));
    const int E = static_cast<int>(exp_field(c));
    const double mag = E == 0 ? std::ldexp(M, 1 - bias() - m) : std::ldexp(1.0 + std::ldexp(M, -m), E - bias());
    return neg ? -mag : mag;
  }

  std::uint32_t max_code() const { return maxc; }
  double max_finite() const { return maxf; }

  /// Canonical NaN code per §2.3 (ml_dtypes): ieee -> quiet NaN (top mantissa bit) with sign,
  /// fn -> S.1..1 with sign, fnuz -> 0x80-pattern, finite -> +NaN: the -0 code, -NaN: +0.
  std::uint32_t nan_code(bool neg) const {
    const std::uint32_t s = neg ? sign_bit() : 0u;
    switch (k) {
      case kind::ieee: return s | (((1u << e) - 1u) << m) | (1u << (m - 1));
      case kind::fn: return s | (sign_bit() - 1u);
      case kind::fnuz: return sign_bit();
      case kind::finite: return neg ? 0u : sign_bit();
    }
    return 0;
  }
  /// Non-saturating overflow result (§1.3 step 5): inf if any, else the NaN, else +-max.
  std::uint32_t overflow_code(bool neg, bool saturate) const {
    const std::uint32_t s = neg ? sign_bit() : 0u;
    if (saturate || k == kind::finite) return s | max_code();
    if (k == kind::ieee) return s | (((1u << e) - 1u) << m);
    return nan_code(neg);
  }
  std::uint32_t zero_code(bool neg) const { return (neg && has_neg_zero()) ? sign_bit() : 0u; }

  /// §1.3 with the §2.3 special values. saturate = OCP SAT (finite overflow and +-inf -> +-max).
  std::uint32_t encode(float xf, bool saturate) const {
    const bool neg = std::signbit(xf);
    if (std::isnan(xf)) return nan_code(neg);
    if (std::isinf(xf)) return overflow_code(neg, saturate);
    const double a = std::fabs(static_cast<double>(xf));
    if (a == 0) return zero_code(neg);
    int fe = 0;
    (void)std::frexp(a, &fe);  // a = f 2^fe, f in [0.5, 1)
    const int kexp = fe - 1;   // floor(log2 a), exact
    const int q = kexp > emin() ? kexp : emin();
    const double ulp = std::ldexp(1.0, q - m);
    const double n = a / ulp;            // exact: division by a power of two
    const double r = std::nearbyint(n);  // RNE (default rounding mode)
    const double R = r * ulp;
    if (R > max_finite()) return overflow_code(neg, saturate);
    if (R == 0) return zero_code(neg);
    const std::uint32_t s = neg ? sign_bit() : 0u;
    if (R < std::ldexp(1.0, emin())) return s | static_cast<std::uint32_t>(r);
    int re = 0;
    const double rf = std::frexp(R, &re);  // R = rf 2^re
    const int E = (re - 1) + bias();
    const auto M = static_cast<std::uint32_t>(std::ldexp(rf * 2.0 - 1.0, m));
    return s | (static_cast<std::uint32_t>(E) << m) | M;
  }
};

/// Sorted distinct finite values of a minifloat (negative and positive, one zero).
inline std::vector<double> sorted_finite_values(const mf_spec& s) {
  std::vector<double> v;
  for (std::uint32_t c = 0; c < s.ncodes(); ++c) {
    const double x = s.value(c);
    if (!std::isfinite(x)) continue;
    if (x == 0 && std::signbit(x)) continue;
    v.push_back(x);
  }
  std::vector<double> out;
  // insertion into a sorted vector; formats are small enough (<= 65536 codes): use std::sort.
  out = v;
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// --- E8M0 (§2.1: code c = 2^(c-127), 0xFF NaN; brief/header: ties to the even code) ---------
inline double e8m0_value(std::uint32_t c) {
  return c == 0xFF ? std::numeric_limits<double>::quiet_NaN() : std::ldexp(1.0, static_cast<int>(c) - 127);
}
inline std::uint32_t e8m0_encode(float xf, bool saturate) {
  if (std::isnan(xf)) return 0xFF;
  const double x = xf;
  if (!(x > 0)) return saturate ? 0x00 : 0xFF;  // +-0, negatives, -inf
  if (std::isinf(x)) return saturate ? 0xFE : 0xFF;
  if (x < std::ldexp(1.0, -127)) return 0x00;  // nearest value is 2^-127
  // nearest of 2^k and 2^(k+1) for 2^k <= x < 2^(k+1), midpoint 1.5 2^k, ties to the even code
  int fe = 0;
  (void)std::frexp(x, &fe);
  const int k = fe - 1;
  const double mid = 1.5 * std::ldexp(1.0, k);
  int code = k + 127;
  if (x > mid || (x == mid && (code % 2) != 0)) ++code;
  if (code > 254) return saturate ? 0xFE : 0xFF;
  return static_cast<std::uint32_t>(code);
}

// --- integers (§3): round to nearest even, then clamp; NaN -> 0 -------------------------------
struct int_spec {
  int bits;
  bool is_signed, symmetric;
  long lo() const { return is_signed ? -(1L << (bits - 1)) + (symmetric ? 1 : 0) : 0L; }
  long hi() const { return is_signed ? (1L << (bits - 1)) - 1 : (1L << bits) - 1; }
  /// The integer a code stands for (two's complement for signed formats).
  long value(std::uint32_t c) const {
    c &= (1u << bits) - 1u;
    if (is_signed && c >= (1u << (bits - 1))) return static_cast<long>(c) - (1L << bits);
    return static_cast<long>(c);
  }
  std::uint32_t code_of(long v) const { return static_cast<std::uint32_t>(v) & ((1u << bits) - 1u); }
  std::uint32_t encode(float xf) const {
    if (std::isnan(xf)) return 0;
    double r = std::nearbyint(static_cast<double>(xf));
    if (r < static_cast<double>(lo())) r = static_cast<double>(lo());
    if (r > static_cast<double>(hi())) r = static_cast<double>(hi());
    return code_of(static_cast<long>(r));
  }
};

// --- exact nearest-entry search for codebooks -------------------------------------------------
// Every finite float is an integer multiple of 2^-149 below 2^128, so it fits a 320-bit
// fixed-point integer exactly; distances |x - v| are then computed and compared exactly
// (no double rounding that could fake or hide a tie).
struct big {
  std::array<std::uint64_t, 5> w{};  // little-endian limbs, unit 2^-149
};
inline big big_of_magnitude(float f) {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(f) & 0x7fffffffu;
  const std::uint32_t ef = u >> 23, mf = u & 0x7fffffu;
  std::uint64_t sig = ef ? (mf | 0x800000u) : mf;
  const int shift = ef ? static_cast<int>(ef) - 1 : 0;
  big b;
  const int limb = shift / 64, off = shift % 64;
  b.w[static_cast<std::size_t>(limb)] = sig << off;
  if (off > 40 && limb + 1 < 5) b.w[static_cast<std::size_t>(limb + 1)] = sig >> (64 - off);
  return b;
}
inline int big_cmp(const big& a, const big& b) {
  for (int i = 4; i >= 0; --i) {
    const auto k = static_cast<std::size_t>(i);
    if (a.w[k] != b.w[k]) return a.w[k] < b.w[k] ? -1 : 1;
  }
  return 0;
}
inline big big_add(const big& a, const big& b) {
  big r;
  unsigned carry = 0;
  for (std::size_t i = 0; i < 5; ++i) {
    const std::uint64_t s = a.w[i] + b.w[i];
    const unsigned c1 = s < a.w[i];
    r.w[i] = s + carry;
    const unsigned c2 = r.w[i] < s;
    carry = c1 | c2;
  }
  return r;
}
inline big big_sub(const big& a, const big& b) {  // requires a >= b
  big r;
  unsigned borrow = 0;
  for (std::size_t i = 0; i < 5; ++i) {
    const std::uint64_t d = a.w[i] - b.w[i];
    const unsigned b1 = a.w[i] < b.w[i];
    r.w[i] = d - borrow;
    const unsigned b2 = d < borrow;
    borrow = b1 | b2;
  }
  return r;
}
/// |x - v| exactly, for finite floats.
inline big big_distance(float x, float v) {
  const big ax = big_of_magnitude(x), av = big_of_magnitude(v);
  if (std::signbit(x) != std::signbit(v)) return big_add(ax, av);
  return big_cmp(ax, av) >= 0 ? big_sub(ax, av) : big_sub(av, ax);
}

/// Brute-force nearest entry, ties (and duplicates) to the lowest index. +-inf is treated as
/// +-FLT_MAX and NaN as 0, as the codebook header documents.
template <std::size_t N>
std::uint32_t codebook_nearest(const std::array<float, N>& table, float x) {
  if (std::isnan(x)) x = 0.0f;
  if (std::isinf(x)) x = x > 0 ? std::numeric_limits<float>::max() : -std::numeric_limits<float>::max();
  std::size_t best = 0;
  big bd = big_distance(x, table[0]);
  for (std::size_t i = 1; i < N; ++i) {
    const big d = big_distance(x, table[i]);
    if (big_cmp(d, bd) < 0) bd = d, best = i;
  }
  return static_cast<std::uint32_t>(best);
}

// --- input generators ------------------------------------------------------------------------
inline float f32(std::uint32_t u) { return std::bit_cast<float>(u); }
inline std::uint32_t bits_of(float f) { return std::bit_cast<std::uint32_t>(f); }
inline float next_up(float f) { return std::nextafter(f, std::numeric_limits<float>::infinity()); }
inline float next_down(float f) { return std::nextafter(f, -std::numeric_limits<float>::infinity()); }

/// §9 reduced sweep: all 512 sign/exponent values x the top `top` mantissa bits x the low
/// mantissa bits set to {0, 1, all ones}. Calls fn(float) for each input.
template <class Fn>
void reduced_sweep(int top, Fn&& fn) {
  const int low = 23 - top;
  const std::uint32_t low_all = low > 0 ? (1u << low) - 1u : 0u;
  const std::uint32_t lows[3] = {0u, low > 0 ? 1u : 0u, low_all};
  const int nlows = low > 0 ? 3 : 1;
  for (std::uint32_t se = 0; se < 512; ++se)
    for (std::uint32_t hi = 0; hi < (1u << top); ++hi)
      for (int l = 0; l < nlows; ++l) fn(f32((se << 23) | (hi << low) | lows[l]));
}

/// Every `stride`-th fp32 bit pattern starting at `start` (stride prime: hits every residue).
template <class Fn>
void strided_sweep(std::uint32_t stride, std::uint32_t start, Fn&& fn) {
  for (std::uint64_t u = start; u <= 0xffffffffull; u += stride) fn(f32(static_cast<std::uint32_t>(u)));
}

/// Counts mismatches; reports the first few with full detail through the callback's text.
struct mismatch_log {
  std::size_t checked = 0, bad = 0;
  std::vector<std::string> first;
  void add(bool ok, const char* what, float x, std::uint32_t got, std::uint32_t want) {
    ++checked;
    if (ok) return;
    ++bad;
    if (first.size() < 8) {
      char buf[200];
      std::snprintf(buf, sizeof buf, "%s: x=%a (bits 0x%08x) got 0x%x want 0x%x", what, static_cast<double>(x),
                    bits_of(x), got, want);
      first.emplace_back(buf);
    }
  }
};

}  // namespace oracle
