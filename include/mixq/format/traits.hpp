// format_traits<F>: the constants of a format, computed from its definition at compile time.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "codec.hpp"

MIXQ_BEGIN_NAMESPACE

/// bits, range and special values of a format. `max_finite` is the largest finite value,
/// `lowest` the most negative one (integers: what encode() can produce). `min_normal` is the smallest positive normal
/// (for integers and codebooks: the smallest positive value), `min_subnormal` the smallest
/// positive value. `finite_codes` counts codes that decode to finite numbers; `finite_values`
/// counts distinct finite values (+0 and -0 are one value).
template <Format F>
struct format_traits {
  static constexpr int bits = F::bits;
  static constexpr std::size_t num_codes = std::size_t{1} << bits;

 private:
  struct summary {
    float max_finite = 0, min_normal = 0, min_subnormal = 0, lowest = 0;
    bool has_inf = false, has_nan = false, has_negative_zero = false, is_signed = false;
    std::size_t finite_codes = 0, finite_values = 0;
  };
  static constexpr bool nan_of(float v) { return v != v; }
  // Walk every code once (at most 2^16), so the traits can never disagree with decode().
  static constexpr summary compute() {
    summary s{};
    bool has_zero = false, has_pos_zero = false;
    float min_sub = 0;
    for (std::size_t c = 0; c < num_codes; ++c) {
      const float v = decode<F>(static_cast<code_t<F>>(c));
      if (nan_of(v)) { s.has_nan = true; continue; }
      if (detail::is_inf(v)) { s.has_inf = true; continue; }
      ++s.finite_codes;
      const float a = v < 0 ? -v : v;
      if (v < 0) s.is_signed = true;
      if (v == 0) {
        const bool neg = std::bit_cast<std::uint32_t>(v) >> 31;
        if (neg) s.has_negative_zero = true; else has_pos_zero = true;
        has_zero = true;
        continue;
      }
      if (v > s.max_finite) s.max_finite = v;
      if (v < s.lowest) s.lowest = v;
      if (min_sub == 0 || a < min_sub) min_sub = a;
    }
    s.min_subnormal = min_sub;
    // Distinct finite values: count codes whose value has not been seen at a lower code.
    for (std::size_t c = 0; c < num_codes; ++c) {
      const float v = decode<F>(static_cast<code_t<F>>(c));
      if (!detail::is_finite(v)) continue;
      bool seen = false;
      if constexpr (num_codes <= 256) {
        for (std::size_t d = 0; d < c && !seen; ++d) seen = decode<F>(static_cast<code_t<F>>(d)) == v;
      } else {
        seen = (v == 0 && std::bit_cast<std::uint32_t>(v) >> 31 && has_pos_zero);  // 16-bit floats: only +-0 repeat
      }
      if (!seen) ++s.finite_values;
    }
    (void)has_zero;
    s.min_normal = min_sub;
    if constexpr (requires { F::min_int; }) {  // integers: the encodable range, not every code
      s.lowest = static_cast<float>(F::min_int);
      s.max_finite = static_cast<float>(F::max_int);
      s.finite_values = static_cast<std::size_t>(F::max_int - F::min_int + 1);
    }
    if constexpr (requires { F::man_bits; F::emin; }) {
      s.min_normal = static_cast<float>(detail::pow2d(F::emin));
    } else if constexpr (requires { F::bias; }) {
      s.min_normal = min_sub;  // e8m0: every value is normal
    }
    return s;
  }
  static constexpr summary s_ = compute();

 public:
  static constexpr float max_finite = s_.max_finite;
  static constexpr float lowest = s_.lowest;  ///< most negative finite value (0 if unsigned)
  static constexpr float min_normal = s_.min_normal;
  static constexpr float min_subnormal = s_.min_subnormal;
  static constexpr bool has_inf = s_.has_inf;
  static constexpr bool has_nan = s_.has_nan;
  static constexpr bool has_negative_zero = s_.has_negative_zero;
  static constexpr bool is_signed = s_.is_signed;
  static constexpr std::size_t finite_codes = s_.finite_codes;
  static constexpr std::size_t finite_values = s_.finite_values;
};

namespace detail {
inline const char* flavor_suffix(flavor f) {
  switch (f) {
    case flavor::ieee: return "";
    case flavor::fn: return "fn";
    case flavor::fnuz: return "fnuz";
    case flavor::finite: return "fn";
  }
  return "";
}
}  // namespace detail

/// A readable name: "fp8_e4m3fn", "fp16", "int4", "int4_sym", "uint4", "e8m0fnu", "codebook4".
template <class F> std::string format_name();
template <Format F> requires requires { F::man_bits; }
std::string format_name_impl() {
  if (F::exp_bits == 5 && F::man_bits == 10 && F::kind == flavor::ieee) return "fp16";
  if (F::exp_bits == 8 && F::man_bits == 7 && F::kind == flavor::ieee) return "bf16";
  // Appended piece by piece: GCC 12 warns falsely (-Wrestrict, PR105651) on "lit" + string.
  std::string s = "fp";
  s += std::to_string(F::bits);
  s += "_e";
  s += std::to_string(F::exp_bits);
  s += 'm';
  s += std::to_string(F::man_bits);
  s += detail::flavor_suffix(F::kind);
  return s;
}
template <Format F> requires requires { F::min_int; }
std::string format_name_impl() {
  std::string s = F::is_signed ? "int" : "uint";
  s += std::to_string(F::bits);
  if (F::symmetric) s += "_sym";
  return s;
}
template <class F> std::string format_name() {
  if constexpr (std::is_same_v<F, e8m0fnu>) return "e8m0fnu";
  else if constexpr (std::is_same_v<F, nf4>) return "nf4";
  else if constexpr (std::is_same_v<F, iq4_nl>) return "iq4_nl";
  else if constexpr (std::is_same_v<F, bnb_fp4>) return "bnb_fp4";
  else if constexpr (requires { F::values; }) {
    std::string s = "codebook";
    s += std::to_string(F::bits);
    return s;
  }
  else return format_name_impl<F>();
}

MIXQ_END_NAMESPACE
