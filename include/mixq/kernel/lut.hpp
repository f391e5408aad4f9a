// Per-scheme tables generated from the scheme's type: the 2^b decoded code values (the one
// trick that covers integer, minifloat and codebook formats alike), the integer form of those
// values for the int8-activation path, and fast decoding of stored scales.
#pragma once
#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "../layout/quantized_matrix.hpp"

MIXQ_BEGIN_NAMESPACE
namespace kernel_detail {

template <class F>
inline constexpr bool is_int_format = requires { F::min_int; };
template <class F>
constexpr bool is_signed_int_format() noexcept {
  if constexpr (is_int_format<F>) return F::is_signed;
  else return false;
}

/// code_value<S>(q) for every code q: what a code stands for before scale and zero.
template <Scheme S>
struct code_lut {
  static constexpr int bits = S::code_bits;
  static constexpr std::size_t size = std::size_t{1} << bits;
  static constexpr std::array<float, size> make() noexcept {
    std::array<float, size> t{};
    for (std::size_t q = 0; q < size; ++q) t[q] = code_value<S>(static_cast<unsigned>(q));
    return t;
  }
  alignas(64) static constexpr std::array<float, size> values = make();
  /// Integer formats decode by integer arithmetic (v = q, or q sign-extended).
  static constexpr bool integer = S::is_asymmetric || is_int_format<typename S::format>;
  /// Signed integer codes: v = (q ^ sign) - sign. 0 for unsigned / asymmetric codes.
  static constexpr int sign_flip =
      (!S::is_asymmetric && is_signed_int_format<typename S::format>()) ? (1 << (bits - 1)) : 0;
};

/// The int8-activation path: the code values as integers. For every code q,
///   code_value(q) * 2^shift == u8[q] - offset     (exactly; u8[q] in 0..255)
/// Asymmetric schemes: u8[q] = q, offset = 0 and the unit's zero is subtracted on top.
/// `supported` is false when no shift 0..8 makes every value an integer of that range
/// (nf4, fp8, fp6 e3m2, formats with NaN codes).
template <Scheme S>
struct q8_codes {
  static constexpr std::size_t size = code_lut<S>::size;
  struct info {
    bool supported = false;
    int shift = 0, offset = 0, umin = 0, umax = 0;
    std::array<std::uint8_t, size> u8{};
  };
  static constexpr bool is_integral(double v) noexcept {
    if (!(v == v) || v > 1e6 || v < -1e6) return false;
    const auto t = static_cast<long long>(v);
    return static_cast<double>(t) == v;
  }
  static constexpr info make() noexcept {
    info r{};
    const auto& lut = code_lut<S>::values;
    if constexpr (S::is_asymmetric) {
      r.supported = true;
      for (std::size_t q = 0; q < size; ++q) r.u8[q] = static_cast<std::uint8_t>(q);
      r.umax = static_cast<int>(size - 1);
      return r;
    } else {
      for (int k = 0; k <= 8; ++k) {
        bool ok = true;
        double lo = 0, hi = 0;
        for (std::size_t q = 0; q < size && ok; ++q) {
          const double v = static_cast<double>(lut[q]) * static_cast<double>(1 << k);
          ok = is_integral(v) && v >= -128 && v <= 127;
          lo = v < lo ? v : lo;
          hi = v > hi ? v : hi;
        }
        if (!ok) continue;
        r.supported = true;
        r.shift = k;
        // Smallest offset that makes every value a byte: keeps u small (maddubs needs u <= 128).
        r.offset = static_cast<int>(-lo);
        r.umin = 255, r.umax = 0;
        for (std::size_t q = 0; q < size; ++q) {
          const int u = static_cast<int>(static_cast<double>(lut[q]) * static_cast<double>(1 << k)) + r.offset;
          r.u8[q] = static_cast<std::uint8_t>(u);
          r.umin = u < r.umin ? u : r.umin;
          r.umax = u > r.umax ? u : r.umax;
        }
        (void)hi;
        return r;
      }
      return r;
    }
  }
  static constexpr info data = make();
  static constexpr bool supported = data.supported;
  static constexpr int shift = data.shift;
  static constexpr int offset = data.offset;
  static constexpr int umax = data.umax;
  alignas(64) static constexpr std::array<std::uint8_t, size> u8 = data.u8;
};

/// Decodes stored scales (and float zeros) quickly: a 256-entry table for 8-bit formats,
/// bit moves for bf16 and fp32, an exact bit routine for fp16 (subnormals, inf, NaN).
template <class SF>
struct scale_decoder {
  using code = scale_code_t<SF>;
  static constexpr bool small = !std::is_same_v<SF, fp32> && SF::bits <= 8;
  static constexpr std::array<float, 256> make() noexcept {
    std::array<float, 256> t{};
    if constexpr (small)
      for (std::size_t c = 0; c < (std::size_t{1} << SF::bits); ++c) t[c] = decode_scale<SF>(static_cast<code>(c));
    return t;
  }
  alignas(64) static constexpr std::array<float, 256> table = make();

  static float one(code c) noexcept {
    if constexpr (std::is_same_v<SF, fp32>) {
      return c;
    } else if constexpr (small) {
      return table[c & 0xffu];
    } else if constexpr (std::is_same_v<SF, bf16>) {
      return std::bit_cast<float>(static_cast<std::uint32_t>(c) << 16);
    } else if constexpr (std::is_same_v<SF, fp16>) {
      const std::uint32_t h = c, sign = (h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
      if (e == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (m << 13));
      if (e != 0) return std::bit_cast<float>(sign | ((e + 112u) << 23) | (m << 13));
      // subnormal: m * 2^-24, exact in fp32
      const float v = static_cast<float>(static_cast<int>(m)) * 5.9604644775390625e-08f;
      return sign ? -v : v;
    } else {
      return decode_scale<SF>(c);
    }
  }
};

/// K-quant (super_block) schemes: scales s[i] = fp32(d * v(sc)) and mins z[i] = fp32(dmin * v(mc))
/// (0 without sub_min) of units u0 .. u0 + n - 1 of one row, the values view.scale / view.min give.
template <Scheme S>
inline void super_unit_scales(const quantized_matrix_view<S>& m, std::size_t u0, std::size_t n, float* s,
                              float* z) noexcept {
  using SupD = scale_decoder<typename S::tensor_scale::format>;
  using SubD = scale_decoder<typename S::scale_format>;
  const std::size_t ups = m.layout.units_per_super;
  std::size_t i = 0;
  while (i < n) {
    const std::size_t u = u0 + i, sb = m.super_of(u);
    const std::size_t end = std::min(n, i + (ups - u % m.layout.units_per_row % ups));
    const float d = SupD::one(m.super_scales()[sb]);
    for (std::size_t k = i; k < end; ++k) s[k] = d * SubD::one(m.scales()[u0 + k]);
    if constexpr (S::has_sub_min) {
      using MinD = scale_decoder<typename S::zero_policy::min_format>;
      const float dmin = SupD::one(m.super_mins()[sb]);
      for (std::size_t k = i; k < end; ++k) z[k] = dmin * MinD::one(m.sub_mins()[u0 + k]);
    } else {
      for (std::size_t k = i; k < end; ++k) z[k] = 0.0f;
    }
    i = end;
  }
}

/// Decoded scales and zeros of one row: s[u], z[u] for the row's units (1 for per-tensor).
/// `n` units; zeros are 0 for symmetric schemes.
template <Scheme S>
inline void row_scales(const quantized_matrix_view<S>& m, std::size_t r, float* s, float* z) noexcept {
  using SD = scale_decoder<typename S::scale_format>;
  const std::size_t n = S::is_per_tensor ? 1 : m.layout.units_per_row;
  const std::size_t u0 = S::is_per_tensor ? 0 : r * m.layout.units_per_row;
  if constexpr (S::has_super_blocks) {  // K-quants: d * v(sc), and the min in z
    super_unit_scales(m, u0, n, s, z);
    return;
  }
  const auto* sc = m.scales() + u0;
  for (std::size_t i = 0; i < n; ++i) s[i] = SD::one(sc[i]);
  if constexpr (S::has_tensor_scale) {  // effective scale: unit scale times the fp32 tensor scale
    const float t = m.tensor_scale();
    for (std::size_t i = 0; i < n; ++i) s[i] *= t;
  }
  if constexpr (S::has_int_zero) {
    const std::uint8_t* zs = m.base + m.layout.zeros_offset + (S::is_per_tensor ? 0 : r) * m.layout.zero_row_bytes;
    for (std::size_t i = 0; i < n; ++i) z[i] = static_cast<float>(detail::get_code(zs, i, S::code_bits));
  } else if constexpr (S::has_float_zero || S::has_float_min) {
    const auto* zs = reinterpret_cast<const scale_code_t<typename S::scale_format>*>(m.base + m.layout.zeros_offset) + u0;
    // float_min: z is the min subtracted after scaling, -m (view.min)
    for (std::size_t i = 0; i < n; ++i) z[i] = S::has_float_min ? -SD::one(zs[i]) : SD::one(zs[i]);
  } else {
    for (std::size_t i = 0; i < n; ++i) z[i] = 0.0f;
  }
}

/// Decoded scale and zero of unit `ur` (0-based within the row) of row r.
template <Scheme S>
inline void unit_scale_zero(const quantized_matrix_view<S>& m, std::size_t r, std::size_t ur, float& s, float& z) noexcept {
  using SD = scale_decoder<typename S::scale_format>;
  const std::size_t u = S::is_per_tensor ? 0 : r * m.layout.units_per_row + ur;
  if constexpr (S::has_super_blocks) {
    // K-quants: z carries the unit's min (dequant_unit computes s * q - z for asym::sub_min).
    super_unit_scales(m, u, 1, &s, &z);
    return;
  }
  s = SD::one(m.scales()[u]);
  if constexpr (S::has_tensor_scale) s *= m.tensor_scale();
  if constexpr (S::has_int_zero) {
    const std::uint8_t* zs = m.base + m.layout.zeros_offset + (S::is_per_tensor ? 0 : r) * m.layout.zero_row_bytes;
    z = static_cast<float>(detail::get_code(zs, S::is_per_tensor ? 0 : ur, S::code_bits));
  } else if constexpr (S::has_float_zero) {
    z = SD::one(reinterpret_cast<const scale_code_t<typename S::scale_format>*>(m.base + m.layout.zeros_offset)[u]);
  } else if constexpr (S::has_float_min) {  // z carries the min subtracted after scaling, -m
    z = -SD::one(reinterpret_cast<const scale_code_t<typename S::scale_format>*>(m.base + m.layout.zeros_offset)[u]);
  } else {
    z = 0.0f;
  }
}

/// Columns per unit of a row (the whole row for per-channel and per-tensor schemes).
template <Scheme S>
constexpr std::size_t unit_len(const matrix_layout<S>& l) noexcept {
  return S::is_per_tensor ? l.cols : l.unit_cols;
}

}  // namespace kernel_detail
MIXQ_END_NAMESPACE
