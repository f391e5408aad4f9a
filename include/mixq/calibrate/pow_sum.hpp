// sum_i wt_i |d_i|^p over a buffer, vectorized with xsimd (the error of a clip-search candidate).
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>

#include <xsimd/xsimd.hpp>

#include "../config.hpp"

// GCC 12 reports false "may be used uninitialized" warnings inside the AVX-512 intrinsics xsimd
// calls (the `__Y = __Y` passthrough of their masked forms, GCC PR105593) wherever they are
// inlined; silenced for this header's functions only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

MIXQ_BEGIN_NAMESPACE
namespace detail {

#if XSIMD_WITH_SSE2 || XSIMD_WITH_NEON || XSIMD_WITH_NEON64
/// |a|^p = 2^(p log2 a) for a batch (xsimd 8.1's own pow does not compile for AVX-512BW: its
/// log uses an int select, A1 in STYLE.md). log2 a: exponent plus 2 atanh(s) / ln 2 on a
/// mantissa in [sqrt(1/2), sqrt(2)) (series to s^11, |s| < 0.172); 2^y: 2^round(y) times a
/// degree-8 Taylor polynomial of e^(f ln 2), |f| <= 1/2. The relative error is about
/// ulp(y) ln 2: below 6e-6 for |y| < 128 (measured 4.8e-6 worst over 2^-30 .. 2^30, p 0.5 .. 3).
/// a = 0 gives 0; subnormal a and results below 2^-126 are not exact (< 2^-125).
template <class A>
inline xsimd::batch<float, A> pow_batch(xsimd::batch<float, A> a, float p) noexcept {
  using fb = xsimd::batch<float, A>;
  using ib = xsimd::batch<std::int32_t, A>;
  const ib bits = xsimd::bitwise_cast<ib>(xsimd::abs(a));
  // exponent field of a * sqrt(2) (0x3504f3: the mantissa bits of sqrt 2), so m is in [sqrt(1/2), sqrt(2))
  const ib t = (bits + ib(0x3504f3)) & ib(0x7f800000);
  const fb e = xsimd::to_float(t) * fb(1.0f / 8388608) - fb(127.0f);  // t = E 2^23 is exact in fp32
  const fb m = xsimd::bitwise_cast<fb>(bits - t + ib(0x3f800000));
  const fb s = (m - fb(1.0f)) / (m + fb(1.0f)), s2 = s * s;
  fb r(1.0f / 11);
  r = r * s2 + fb(1.0f / 9);
  r = r * s2 + fb(1.0f / 7);
  r = r * s2 + fb(1.0f / 5);
  r = r * s2 + fb(1.0f / 3);
  r = r * s2 + fb(1.0f);
  const fb log2a = e + s * r * fb(2.8853900817779268f);  // 2 / ln 2
  fb y = log2a * fb(p);
  y = xsimd::max(xsimd::min(y, fb(127.0f)), fb(-126.0f));
  const fb n = xsimd::nearbyint(y);
  const fb f = (y - n) * fb(0.69314718055994531f);
  fb q(1.0f / 40320);
  q = q * f + fb(1.0f / 5040);
  q = q * f + fb(1.0f / 720);
  q = q * f + fb(1.0f / 120);
  q = q * f + fb(1.0f / 24);
  q = q * f + fb(1.0f / 6);
  q = q * f + fb(0.5f);
  q = q * f + fb(1.0f);
  q = q * f + fb(1.0f);
  const fb two_n = xsimd::bitwise_cast<fb>(xsimd::to_int((n + fb(127.0f)) * fb(8388608.0f)));  // 2^n, exact
  return xsimd::select(xsimd::abs(a) == fb(0.0f), fb(0.0f), q * two_n);
}
#endif

/// sum_i wt_i |d_i|^p (wt == nullptr: weights 1), p > 0. Lanes accumulate in fp32 and the lane
/// sums in fp64: relative error below 6e-6 per term (pow_batch; exact squares for p = 2) plus
/// n / lanes fp32 additions.
inline double pow_sum(const float* d, const float* wt, std::size_t n, float p) noexcept {
  std::size_t i = 0;
  double total = 0;
#if XSIMD_WITH_SSE2 || XSIMD_WITH_NEON || XSIMD_WITH_NEON64
  using batch = xsimd::batch<float>;
  constexpr std::size_t W = batch::size;
  batch acc(0.0f);
  for (; i + W <= n; i += W) {
    const batch a = batch::load_unaligned(d + i);
    batch t = p == 2.0f ? a * a : pow_batch(a, p);
    if (wt) t = t * batch::load_unaligned(wt + i);
    acc = acc + t;
  }
  alignas(64) float lanes[W];
  acc.store_aligned(lanes);
  for (std::size_t l = 0; l < W; ++l) total += lanes[l];
#endif
  for (; i < n; ++i) {
    const float a = std::fabs(d[i]);
    const float t = p == 2.0f ? a * a : (a == 0 ? 0.0f : std::pow(a, p));
    total += wt ? static_cast<double>(wt[i]) * t : static_cast<double>(t);
  }
  return total;
}

// A clip-search candidate must beat the best by more than twice the relative error of pow_sum (< 6e-6
// per term, plus fp32 lane sums), so that min-max (p = 1) wins ties and near-ties and the result
// is never worse than min-max in the exact norm.
inline constexpr double clip_margin = 3e-5;

}  // namespace detail
MIXQ_END_NAMESPACE

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
