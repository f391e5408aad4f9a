// Exact, constexpr helpers on the bits of float and double.
#pragma once
#include <bit>
#include <cstdint>

#include "../../config.hpp"

MIXQ_BEGIN_NAMESPACE
namespace detail {

/// 2^e as a double, exact for -1022 <= e <= 1023.
constexpr double pow2d(int e) noexcept {
  return std::bit_cast<double>(static_cast<std::uint64_t>(e + 1023) << 52);
}

/// A float's magnitude as significand * 2^(exponent - 23) with the significand normalised to
/// [2^23, 2^24), fp32 subnormals included. Requires a finite, non-zero input.
struct unpacked_float {
  std::uint32_t sign;  // 0 or 1
  std::uint32_t sig;   // in [2^23, 2^24)
  int exponent;        // floor(log2 |x|)
};

constexpr unpacked_float unpack(float x) noexcept {
  const auto u = std::bit_cast<std::uint32_t>(x);
  const std::uint32_t e = (u >> 23) & 0xffu;
  const std::uint32_t m = u & 0x7fffffu;
  if (e != 0) return {u >> 31, m | 0x800000u, static_cast<int>(e) - 127};
  const int lz = std::countl_zero(m) - 8;  // shift that brings the top set bit to bit 23
  return {u >> 31, m << lz, -126 - lz};
}

constexpr bool is_nan(float x) noexcept {
  return (std::bit_cast<std::uint32_t>(x) & 0x7fffffffu) > 0x7f800000u;
}
constexpr bool is_inf(float x) noexcept {
  return (std::bit_cast<std::uint32_t>(x) & 0x7fffffffu) == 0x7f800000u;
}
constexpr bool is_finite(float x) noexcept {
  return (std::bit_cast<std::uint32_t>(x) & 0x7f800000u) != 0x7f800000u;
}

/// Round sig / 2^shift to the nearest integer, ties to even (shift >= 0).
constexpr std::uint32_t shift_right_rne(std::uint32_t sig, int shift) noexcept {
  if (shift == 0) return sig;
  if (shift > 31) return 0;  // sig < 2^24 < half of 2^shift
  const std::uint32_t r = sig >> shift;
  const std::uint32_t rem = sig & ((1u << shift) - 1u);
  const std::uint32_t half = 1u << (shift - 1);
  return (rem > half || (rem == half && (r & 1u))) ? r + 1u : r;
}

/// Round a float to the nearest integer, ties to even, without touching the FP environment.
/// Requires |x| < 2^31.
constexpr std::int32_t round_to_int_rne(float x) noexcept {
  const auto t = static_cast<std::int32_t>(x);  // toward zero
  const float frac = x - static_cast<float>(t);  // exact for |x| < 2^24; 0 beyond
  const float afrac = frac < 0 ? -frac : frac;
  if (afrac > 0.5f || (afrac == 0.5f && (t & 1))) return t + (x < 0 ? -1 : 1);
  return t;
}

}  // namespace detail
MIXQ_END_NAMESPACE
