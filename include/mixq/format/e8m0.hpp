// E8M0: the OCP MX shared scale. Unsigned, 8 exponent bits, no mantissa, no zero.
#pragma once
#include <bit>
#include <cstdint>

#include "code.hpp"
#include "detail/float_bits.hpp"
#include "overflow.hpp"

namespace mixq {

/// E8M0 ("fnu": finite, NaN, unsigned). Code c is 2^(c-127) for c in 0..254; 0xFF is NaN.
/// There is no zero and no sign: every value is a power of two from 2^-127 to 2^127.
/// encode rounds to the nearest power of two (midpoint 1.5 * 2^e), ties to the even code,
/// as OCP's round-to-nearest-even asks (ml_dtypes before PR #398 rounds ties up instead).
/// Zero, negative numbers and -inf: saturate -> 0x00 (2^-127), propagate -> NaN. Positive values
/// below 2^-127 give 0x00 in both policies. To derive an MX scale from a block maximum use
/// the scale rules of scheme/ (floor of log2), not this rounding.
struct e8m0fnu {
  static constexpr int bits = 8;
  static constexpr int bias = 127;
};

}  // namespace mixq

MIXQ_BEGIN_NAMESPACE
namespace detail {

struct e8m0_codec {
  using code = std::uint8_t;
  static constexpr code nan_code = 0xff;

  static constexpr code encode(float x, overflow o) noexcept {
    if (is_nan(x)) return nan_code;
    if (!(x > 0.0f)) return o == overflow::saturate ? code{0} : nan_code;  // 0, negative, -inf
    if (is_inf(x)) return o == overflow::saturate ? code{0xfe} : nan_code;
    const unpacked_float a = unpack(x);
    if (a.exponent < -127) return 0;  // below the smallest value: nearest is 2^-127
    int c = a.exponent + 127;
    constexpr std::uint32_t midpoint = 0xc00000u;  // 1.5 in units of 2^-23
    if (a.sig > midpoint || (a.sig == midpoint && (c & 1))) ++c;
    if (c > 254) return o == overflow::saturate ? code{0xfe} : nan_code;
    return static_cast<code>(c);
  }

  static constexpr float decode(code c) noexcept {
    if (c == nan_code) return std::bit_cast<float>(0x7fc00000u);
    return static_cast<float>(pow2d(static_cast<int>(c) - 127));  // 0x00 is an fp32 subnormal
  }
};

}  // namespace detail
MIXQ_END_NAMESPACE
