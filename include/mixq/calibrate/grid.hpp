// The grid of one scale unit (tensor, row or group): fitting its scale and zero, and
// quantizing values against the scale *as stored* (rounded to the scale format first).
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "../format/traits.hpp"
#include "../layout/quantized_matrix.hpp"
#include "../scheme/scheme.hpp"

MIXQ_BEGIN_NAMESPACE

/// Scale and zero of one unit, as stored and as decoded.
template <Scheme S>
struct unit_grid {
  static_assert(!S::has_super_blocks,
                "mixq: two-level k-quant (super_block) schemes are calibrated by mixq::quantize (calibrate/kquant.hpp); "
                "GPTQ, AWQ and HQQ take single-level schemes");
  using scale_t = scale_code_t<typename S::scale_format>;
  scale_t scale_code{};
  float scale = 0;        ///< decoded scale
  unsigned zero_code = 0; ///< int zero (asym::int_zero)
  scale_t zero_stored{};  ///< float zero code (asym::float_zero) or min code (asym::float_min)
  float zero = 0;         ///< decoded zero (0 for symmetric schemes); asym::float_min: the decoded min m
  float encode_factor = 0;  ///< tensor-scale schemes: elements are encoded from w * encode_factor
};

namespace detail {
template <Scheme S>
struct grid_constants {
  using F = typename S::format;
  using T = format_traits<F>;
  /// Largest magnitude the format reaches on both sides (sym::restricted divides by it).
  static constexpr float both_sides = T::lowest < 0 && -T::lowest < T::max_finite ? -T::lowest : T::max_finite;
  static constexpr int qmax = (1 << S::code_bits) - 1;  // asymmetric codes 0..qmax
  static constexpr int mx_emax = unpack(both_sides).exponent;  // OCP: exponent of the element max
};

inline int clamp_int(int v, int lo, int hi) noexcept { return v < lo ? lo : (v > hi ? hi : v); }
inline int round_clamped(float x) noexcept {  // RNE of x (default rounding mode), NaN -> 0, |x| <= 2^30
  const float lim = 1073741824.0f;
  const float c = x >= -lim ? (x <= lim ? x : lim) : (x < -lim ? -lim : 0.0f);
  return static_cast<int>(std::nearbyint(c));
}
}  // namespace detail

/// Store scale s in the scheme's scale format and fill in the decoded value.
template <Scheme S>
void set_scale(unit_grid<S>& g, float s) noexcept {
  g.scale_code = encode_scale<typename S::scale_format>(s);
  g.scale = decode_scale<typename S::scale_format>(g.scale_code);
}

/// Min-max grid of n values, with the range shrunk by `shrink` (1 = plain min-max).
/// ALGORITHMS.md 1.1: sym::restricted s = A/L (MX: 2^(floor(log2 A) - emax), OCP floor rule);
/// sym::gptq s = 2A/(2^b-1); sym::signed_extreme s = v*/lowest; asymmetric s = (hi-lo)/Qmax with
/// the zero from the *stored* scale. Degenerate units (all zero, or lo == hi) get the widened
/// range [-1, 1] around them, so that the grid is always usable.
///
/// Tensor-scale schemes (NVFP4) take the tensor's decode scale t = amax_tensor / (L * max scale):
/// s_u = scale_format(A / L / t) (RNE, saturating), effective scale fp32(s_u * t), and elements
/// are encoded from w * min(1 / (s_u * t), FLT_MAX), as TransformerEngine does.
template <Scheme S>
unit_grid<S> fit_minmax(const float* v, std::size_t n, float shrink = 1.0f, float tensor_scale = 1.0f) noexcept {
  using C = detail::grid_constants<S>;
  unit_grid<S> g;
  if constexpr (S::has_tensor_scale) {
    float a = 0;
    for (std::size_t i = 0; i < n; ++i) a = std::fabs(v[i]) > a ? std::fabs(v[i]) : a;
    a *= shrink;
    const float big = std::numeric_limits<float>::max();
    const float s_enc = 1.0f / tensor_scale;
    float sb = a / C::both_sides * s_enc;
    sb = sb > big ? big : sb;
    g.scale_code = encode_scale<typename S::scale_format>(sb);
    const float stored = decode_scale<typename S::scale_format>(g.scale_code);
    g.scale = stored * tensor_scale;
    const float enc = 1.0f / (stored * tensor_scale);
    g.encode_factor = enc > big ? big : enc;
    return g;
  } else if constexpr (S::is_asymmetric) {
    float lo = v[0], hi = v[0];
    for (std::size_t i = 1; i < n; ++i) lo = v[i] < lo ? v[i] : lo, hi = v[i] > hi ? v[i] : hi;
    if (S::zero_policy::include_zero) lo = lo > 0 ? 0 : lo, hi = hi < 0 ? 0 : hi;
    lo *= shrink;
    hi *= shrink;
    if constexpr (S::has_float_min) {
      // w = s * q + m: m = lo as stored; the scale spans what is left above the stored m, so
      // the stored grid still reaches hi. A constant unit is exact with s = 0 (w = m).
      g.zero_stored = encode_scale<typename S::scale_format>(lo);
      g.zero = decode_scale<typename S::scale_format>(g.zero_stored);
      set_scale(g, hi > g.zero ? (hi - g.zero) / static_cast<float>(C::qmax) : 0.0f);
      return g;
    }
    if (hi == lo) lo -= 1, hi += 1;
    set_scale(g, (hi - lo) / static_cast<float>(C::qmax));
    if (g.scale == 0) return g;  // scale underflowed its format: every weight becomes 0
    if constexpr (S::has_int_zero) {
      g.zero_code = static_cast<unsigned>(detail::clamp_int(detail::round_clamped(-lo / g.scale), 0, C::qmax));
      g.zero = static_cast<float>(g.zero_code);
    } else {
      g.zero_stored = encode_scale<typename S::scale_format>(-lo / g.scale);
      g.zero = decode_scale<typename S::scale_format>(g.zero_stored);
    }
  } else if constexpr (std::is_same_v<typename S::zero_policy, sym::signed_extreme>) {
    float vstar = 0;
    for (std::size_t i = 0; i < n; ++i) vstar = std::fabs(v[i]) > std::fabs(vstar) ? v[i] : vstar;
    vstar *= shrink;
    if (vstar == 0) vstar = 1;
    set_scale(g, vstar / format_traits<typename S::format>::lowest);
  } else {
    float a = 0;
    for (std::size_t i = 0; i < n; ++i) a = std::fabs(v[i]) > a ? std::fabs(v[i]) : a;
    a *= shrink;
    if constexpr (S::is_mx) {
      if (a == 0) {
        g.scale_code = 0;
      } else {
        int shared = detail::unpack(a).exponent - C::mx_emax;
        shared = shared < -127 ? -127 : (shared > 127 ? 127 : shared);
        g.scale_code = static_cast<std::uint8_t>(shared + 127);
      }
      g.scale = decode<e8m0fnu>(g.scale_code);
    } else {
      if (a == 0) a = 1;
      if constexpr (std::is_same_v<typename S::zero_policy, sym::gptq>)
        set_scale(g, 2 * a / static_cast<float>(C::qmax));
      else
        set_scale(g, a / C::both_sides);
    }
  }
  return g;
}

/// Code of value w under grid g (round to nearest on the format's grid, ties to even; saturating).
template <Scheme S>
unsigned quantize_value(float w, const unit_grid<S>& g) noexcept {
  using C = detail::grid_constants<S>;
  using F = typename S::format;
  if constexpr (S::has_int_zero) {
    if (g.scale == 0) return g.zero_code;
    return static_cast<unsigned>(
        detail::clamp_int(detail::round_clamped(w / g.scale) + static_cast<int>(g.zero_code), 0, C::qmax));
  } else if constexpr (S::has_float_zero) {
    if (g.scale == 0) return 0;
    return static_cast<unsigned>(detail::clamp_int(detail::round_clamped(w / g.scale + g.zero), 0, C::qmax));
  } else if constexpr (S::has_float_min) {
    if (g.scale == 0) return 0;
    return static_cast<unsigned>(detail::clamp_int(detail::round_clamped((w - g.zero) / g.scale), 0, C::qmax));
  } else {
    float x;
    if constexpr (S::has_tensor_scale) x = w * g.encode_factor;
    else x = g.scale == 0 ? 0.0f : w / g.scale;
    return encode<F>(detail::is_finite(x) ? x : 0.0f, overflow::saturate) & ((1u << F::bits) - 1u);
  }
}

/// Value of code q under grid g: s * (v(q) - z), the same expression as dequantize_reference
/// (asym::float_min: s * q + m, two roundings).
MIXQ_EXACT_FP_BEGIN
template <Scheme S>
float dequantize_value(unsigned q, const unit_grid<S>& g) noexcept {
  if constexpr (S::has_float_min) return g.scale * code_value<S>(q) + g.zero;
  else return g.scale * (code_value<S>(q) - g.zero);
}
MIXQ_EXACT_FP_END

/// The tensor decode scale of a tensor-scale scheme from the tensor's absolute maximum:
/// t = amax / (L * max scale) (NVFP4: amax / 2688); 1 when amax is 0 or t is not a normal number.
template <Scheme S>
float tensor_scale_for(float amax) noexcept {
  if constexpr (!S::has_tensor_scale) {
    return 1.0f;
  } else {
    const float s_enc = detail::grid_constants<S>::both_sides *
                        format_traits<typename S::scale_format>::max_finite / amax;  // TE: 2688 / amax
    if (!(amax > 0) || !(s_enc > 0) || !detail::is_finite(s_enc)) return 1.0f;
    return 1.0f / s_enc;
  }
}

/// Store a unit's grid into a matrix (unit index u as in quantized_matrix_view::unit).
template <Scheme S>
void store_grid(quantized_matrix<S>& m, std::size_t u, const unit_grid<S>& g) noexcept {
  m.scales()[u] = g.scale_code;
  if constexpr (S::has_int_zero) m.set_int_zero(u, g.zero_code);
  if constexpr (S::has_float_zero) m.set_float_zero(u, g.zero_stored);
  if constexpr (S::has_float_min) m.set_float_min(u, g.zero_stored);
}

MIXQ_END_NAMESPACE
