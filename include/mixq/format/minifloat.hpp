// Minifloats: sign + ExpBits exponent + ManBits mantissa, in four flavours.
#pragma once
#include <bit>
#include <cstdint>

#include "code.hpp"
#include "detail/float_bits.hpp"
#include "overflow.hpp"

namespace mixq {

/// How a minifloat spends its special codes.
///  ieee   : exponent all-ones is inf (mantissa 0) or NaN (else), like IEEE 754 (fp16, bf16, e5m2).
///  fn     : finite; the single magnitude pattern all-ones (S.1..1.1..1) is NaN (e4m3fn).
///  fnuz   : finite, unsigned zero; the negative-zero code 1.0..0 is the only NaN, bias + 1.
///  finite : finite, no NaN at all (the OCP MX element types fp6 e2m3/e3m2 and fp4 e2m1).
enum class flavor { ieee, fn, fnuz, finite };

/// A sign bit, `ExpBits` exponent bits and `ManBits` mantissa bits (at most 16 bits in all).
/// Value of sign s, exponent field E, mantissa M: (-1)^s 2^(1-bias) M/2^m if E = 0, else
/// (-1)^s 2^(E-bias) (1 + M/2^m). bias = 2^(e-1) - 1, or 2^(e-1) for fnuz.
/// encode: round to nearest, ties to even, directly from fp32, with gradual underflow.
template <int ExpBits, int ManBits, flavor Flavor>
struct minifloat {
  static_assert(ExpBits >= 1 && ExpBits <= 8, "minifloat: ExpBits must be in 1..8");
  static_assert(ManBits >= 0 && ManBits <= 10, "minifloat: ManBits must be in 0..10");
  static_assert(1 + ExpBits + ManBits <= 16, "minifloat: at most 16 bits in all");
  static_assert(Flavor != flavor::ieee || (ManBits >= 1 && ExpBits >= 2),
                "minifloat: an ieee flavour needs a mantissa bit (to tell inf from NaN) and two exponent bits");
  static_assert(ExpBits < 8 || Flavor == flavor::ieee || Flavor == flavor::fnuz,
                "minifloat: with 8 exponent bits only ieee and fnuz keep every value within fp32 range "
                "(fn/finite would have a finite binade at 2^128)");
  static_assert(Flavor != flavor::fn || ExpBits + ManBits >= 2,
                "minifloat: an fn flavour needs a finite value besides its NaN pattern");

  static constexpr int exp_bits = ExpBits;
  static constexpr int man_bits = ManBits;
  static constexpr flavor kind = Flavor;
  static constexpr int bits = 1 + ExpBits + ManBits;
  static constexpr int bias = (1 << (ExpBits - 1)) - (Flavor == flavor::fnuz ? 0 : 1);
  static constexpr int emin = 1 - bias;  // exponent of the smallest normal

  /// Largest finite magnitude as a code without the sign bit.
  static constexpr std::uint32_t max_magnitude_code =
      Flavor == flavor::ieee ? ((((1u << ExpBits) - 2u) << ManBits) | ((1u << ManBits) - 1u))
      : Flavor == flavor::fn ? (1u << (ExpBits + ManBits)) - 2u
                             : (1u << (ExpBits + ManBits)) - 1u;
  static constexpr std::uint32_t sign_mask = 1u << (ExpBits + ManBits);
};

// Named formats (names as ml_dtypes spells them).
using fp8_e4m3fn = minifloat<4, 3, flavor::fn>;
using fp8_e4m3fnuz = minifloat<4, 3, flavor::fnuz>;
using fp8_e5m2 = minifloat<5, 2, flavor::ieee>;
using fp8_e5m2fnuz = minifloat<5, 2, flavor::fnuz>;
using fp6_e2m3fn = minifloat<2, 3, flavor::finite>;
using fp6_e3m2fn = minifloat<3, 2, flavor::finite>;
using fp4_e2m1fn = minifloat<2, 1, flavor::finite>;
/// IEEE binary16 and bfloat16, used for scale storage. No compiler _Float16 needed.
using fp16 = minifloat<5, 10, flavor::ieee>;
using bf16 = minifloat<8, 7, flavor::ieee>;

}  // namespace mixq

MIXQ_BEGIN_NAMESPACE
namespace detail {

template <int E, int M, flavor Fl>
struct minifloat_codec {
  using F = minifloat<E, M, Fl>;
  using code = code_t<F>;
  static constexpr std::uint32_t sign_mask = F::sign_mask;
  static constexpr std::uint32_t mag_mask = sign_mask - 1u;
  static constexpr std::uint32_t max_mag = F::max_magnitude_code;
  static constexpr std::uint32_t exp_all_ones = ((1u << E) - 1u) << M;

  static constexpr code make(std::uint32_t sign, std::uint32_t mag) noexcept {
    return static_cast<code>((sign ? sign_mask : 0u) | mag);
  }
  static constexpr code zero(std::uint32_t sign) noexcept {
    return Fl == flavor::fnuz ? code{0} : make(sign, 0);
  }
  /// The NaN code. Formats without NaN follow ml_dtypes: +NaN -> the -0 code, -NaN -> +0
  /// (the MX spec leaves this implementation-defined).
  static constexpr code nan(std::uint32_t sign) noexcept {
    if constexpr (Fl == flavor::ieee) return make(sign, exp_all_ones | (1u << (M - 1)));  // quiet
    else if constexpr (Fl == flavor::fn) return make(sign, mag_mask);
    else if constexpr (Fl == flavor::fnuz) return static_cast<code>(sign_mask);
    else return make(!sign, 0);
  }
  /// The result of overflow under overflow::propagate.
  static constexpr code overflowed(std::uint32_t sign) noexcept {
    if constexpr (Fl == flavor::ieee) return make(sign, exp_all_ones);
    else if constexpr (Fl == flavor::finite) return make(sign, max_mag);
    else return nan(sign);
  }

  static constexpr code encode(float x, overflow o) noexcept {
    const auto u = std::bit_cast<std::uint32_t>(x);
    const std::uint32_t sign = u >> 31;
    if ((u & 0x7fffffffu) > 0x7f800000u) return nan(sign);
    if ((u & 0x7fffffffu) == 0x7f800000u)
      return o == overflow::saturate ? make(sign, max_mag) : overflowed(sign);
    if ((u & 0x7fffffffu) == 0) return zero(sign);

    const unpacked_float a = unpack(x);
    const int q = a.exponent > F::emin ? a.exponent : F::emin;  // binade, or the subnormal range
    // a = sig 2^(k-23); in units of ulp = 2^(q-M) that is sig / 2^(23 + q - M - k), exactly.
    std::uint32_t r = shift_right_rne(a.sig, 23 + q - M - a.exponent);
    if (r == 0) return zero(sign);
    std::uint32_t mag;
    if (r < (1u << M)) {
      mag = r;  // subnormal: q == emin
    } else {
      int e = q;
      if (r >= (2u << M)) {  // rounded up into the next binade: r == 2^(M+1) exactly
        r >>= 1;
        ++e;
      }
      const int field = e + F::bias;
      if (field >= (1 << E)) return o == overflow::saturate ? make(sign, max_mag) : overflowed(sign);
      mag = (static_cast<std::uint32_t>(field) << M) | (r - (1u << M));
    }
    if (mag > max_mag) return o == overflow::saturate ? make(sign, max_mag) : overflowed(sign);
    return make(sign, mag);
  }

  static constexpr bool is_nan_code(code c) noexcept {
    const std::uint32_t u = c & (sign_mask | mag_mask);
    const std::uint32_t mag = u & mag_mask;
    if constexpr (Fl == flavor::ieee) return (mag & exp_all_ones) == exp_all_ones && (mag & ((1u << M) - 1u)) != 0;
    else if constexpr (Fl == flavor::fn) return mag == mag_mask;
    else if constexpr (Fl == flavor::fnuz) return u == sign_mask;
    else return false;
  }

  static constexpr float decode(code c) noexcept {
    const std::uint32_t sign = (c & sign_mask) ? 1u : 0u;
    const std::uint32_t mag = c & mag_mask;
    if (is_nan_code(c)) {
      const float n = std::bit_cast<float>(0x7fc00000u);
      return sign ? -n : n;
    }
    if (Fl == flavor::ieee && mag == exp_all_ones) {
      const float inf = std::bit_cast<float>(0x7f800000u);
      return sign ? -inf : inf;
    }
    const std::uint32_t ef = mag >> M;
    const std::uint32_t mf = mag & ((1u << M) - 1u);
    // Exact: every value of these formats is an fp32 (possibly subnormal) number.
    const double v = ef == 0 ? static_cast<double>(mf) * pow2d(F::emin - M)
                             : static_cast<double>(mf + (1u << M)) * pow2d(static_cast<int>(ef) - F::bias - M);
    const auto f = static_cast<float>(v);
    return sign ? -f : f;
  }
};

}  // namespace detail
MIXQ_END_NAMESPACE
