// Integer formats of 1..8 bits: two's complement (full or symmetric range) or unsigned.
#pragma once
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "code.hpp"
#include "detail/float_bits.hpp"
#include "overflow.hpp"

namespace mixq {

/// A b-bit integer. Signed codes are two's complement in the low `Bits` bits.
/// \tparam Symmetric  signed only: drop the most negative code, so the encodable range is
///                    [-(2^(b-1)-1), 2^(b-1)-1] (the "restricted" range of ALGORITHMS 1.1(c) S2).
///                    Decoding the dropped code still gives -2^(b-1).
/// encode rounds to nearest, ties to even, and clamps (integers have no inf or NaN, so both
/// overflow policies saturate); NaN encodes to the code of 0.
template <int Bits, bool Signed = true, bool Symmetric = false>
struct int_format {
  static_assert(Bits >= 1 && Bits <= 8, "int_format: Bits must be in 1..8");
  static_assert(Signed || !Symmetric, "int_format: the symmetric range applies to signed formats");
  static_assert(!(Symmetric && Bits == 1), "int_format: a symmetric 1-bit format has one level");
  static constexpr int bits = Bits;
  static constexpr bool is_signed = Signed;
  static constexpr bool symmetric = Symmetric;
  /// Smallest and largest integers encode() produces.
  static constexpr int min_int = Signed ? -(1 << (Bits - 1)) + (Symmetric ? 1 : 0) : 0;
  static constexpr int max_int = Signed ? (1 << (Bits - 1)) - 1 : (1 << Bits) - 1;
};

template <int Bits> using int_sym = int_format<Bits, true, true>;
template <int Bits> using uint_format = int_format<Bits, false>;

using int2 = int_format<2>;
using int3 = int_format<3>;
using int4 = int_format<4>;
using int5 = int_format<5>;
using int6 = int_format<6>;
using int8 = int_format<8>;
using uint4 = uint_format<4>;
using uint8 = uint_format<8>;

}  // namespace mixq

MIXQ_BEGIN_NAMESPACE
namespace detail {
template <int Bits, bool Signed, bool Symmetric>
struct int_codec {
  using F = int_format<Bits, Signed, Symmetric>;
  using code = code_t<F>;
  static constexpr unsigned mask = (1u << Bits) - 1u;

  static constexpr code encode(float x, overflow) noexcept {
    // Clamp first (NaN fails both comparisons and is mapped to 0), then round: the clamped value
    // is within the range, and rounding an in-range value cannot leave it.
    constexpr float lo = static_cast<float>(F::min_int), hi = static_cast<float>(F::max_int);
    const float c = x >= lo ? (x <= hi ? x : hi) : (x < lo ? lo : 0.0f);
    // nearbyint rounds ties to even in the default rounding mode, which mixq assumes (as ggml does).
    int v;
    if (std::is_constant_evaluated()) v = round_to_int_rne(c);
    else v = static_cast<int>(std::nearbyint(c));
    return static_cast<code>(static_cast<unsigned>(v) & mask);
  }

  /// The integer a code stands for (sign-extended for signed formats).
  static constexpr int to_int(code c) noexcept {
    const unsigned u = c & mask;
    if constexpr (Signed) {
      const unsigned sign = 1u << (Bits - 1);
      return static_cast<int>(u ^ sign) - static_cast<int>(sign);
    } else {
      return static_cast<int>(u);
    }
  }

  static constexpr float decode(code c) noexcept { return static_cast<float>(to_int(c)); }
};
}  // namespace detail
MIXQ_END_NAMESPACE
