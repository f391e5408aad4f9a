// The fast activation path for integer-valued formats: activations are quantized on the fly to
// int8 per block of B columns (scale amax/127, round to nearest even), and each block's dot
// product with the codes is exact integer arithmetic (VNNI vpdpbusd where present).
//
// Which schemes: every scheme whose code values are, after one power-of-two factor 2^k,
// integers of a byte range (q8_codes<S>::supported): all integer formats and zero policies,
// fp4 e2m1, fp6 e2m3, iq4_nl. `supports_q8<S>` says so at compile time.
//
// Block size B (q8_block): 128 when the unit length is a multiple of 128 or a whole row
// (per-channel, per-tensor; the last block may be short), else 32 when it divides the unit,
// else the unit length itself. Blocks never straddle two scale units.
//
// Error bound (tested): with sx_b = amax_b / 127 (amax_b = max |x| over block b), u = 2^-24,
// V = the largest |code value| of the format and s_c, z_c the scale and zero of c's unit,
//   |y_r - sum_c w_rc x_c| <= sum_b (sx_b / 2 + 4 u amax_b) sum_{c in b} |w_rc|
//                             + (nblocks + 6) u sum_c (|w_rc| + 2 |s_c| (V + |z_c|)) (|x_c| + sx_b)
//                             + (K + 1) 2^-149
// Derivation: x^_c = sx_b q_c with |x_c - x^_c| <= sx_b / 2 + 3 u amax_b (rounding x / sx_b to
// an integer, plus the fp32 roundings of 127 / amax, x * inv and sx_b). The integer dot products
// sum u_c q_c of the unsigned weight bytes u_c = (v_c + offset) 2^k are exact, and the integer
// offset and zero are subtracted exactly before the conversion to fp32; the partial sums are
// then scaled and added in fp32, per SIMD lane, so each rounding is relative to a partial sum of
// |u_c q_c|, i.e. of s (|v_c| + offset + |z|) |x^_c| -- hence the 2 |s| (V + |z|) term (an
// all-zero unit gives a result of that order, not exactly 0). At most nblocks + 6 roundings
// touch each term.
#pragma once
#include <cstddef>
#include <cstdint>

#include "check.hpp"
#include "gemv.hpp"
#include "isa.hpp"

MIXQ_BEGIN_NAMESPACE

/// True when scheme S has the int8-activation path (gemv_q8 / gemm_q8).
template <Scheme S>
inline constexpr bool supports_q8 = kernel_detail::q8_codes<S>::supported;

namespace kernel_detail {

/// Any supported scheme, any arch: unpack + map the row's codes to weight bytes, then one
/// integer dot per block.
template <Scheme S, class Tag>
inline void gemm_q8_rows_generic(Tag t, const quantized_matrix_view<S>& m, const q8_rows& a, std::size_t N, float* Y,
                                 std::size_t ldy, std::size_t r0, std::size_t r1) {
  using Q = q8_codes<S>;
  const std::size_t K = m.cols(), ul = unit_len(m.layout);
  std::uint8_t* u = scratch_as<std::uint8_t>(0, K);
  const double inv_shift = 1.0 / static_cast<double>(1 << Q::shift);
  for (std::size_t r = r0; r < r1; ++r) {
    unpack<S::code_bits>(t, m.codes(r), 0, K, u);
    map_u8<S>(t, u, K);
    for (std::size_t n = 0; n < N; ++n) {
      const std::int8_t* q = a.q + n * a.ldq;
      float acc = 0.0f;
      std::size_t cur_unit = ~std::size_t{0};
      float s = 0, z = 0;
      double corr = 0;
      for (std::size_t b = 0; b < a.nb; ++b) {
        const std::size_t c0 = b * a.block, len = min_sz(a.block, K - c0);
        const std::size_t ur = c0 / ul;
        if (ur != cur_unit) {
          unit_scale_zero(m, r, ur, s, z);
          corr = static_cast<double>(Q::offset) + static_cast<double>(z) * static_cast<double>(1 << Q::shift);
          cur_unit = ur;
        }
        const std::int32_t isum = dot_u8s8(t, u + c0, q + c0, len);
        if constexpr (S::has_min) {  // sum (s q - m) x = s sum q x - m sum x
          const double d = s * static_cast<double>(isum) - static_cast<double>(z) * a.sum[n * a.nb + b];
          acc += a.scale[n * a.nb + b] * static_cast<float>(d);
          continue;
        }
        const double d = (static_cast<double>(isum) - corr * a.sum[n * a.nb + b]) * inv_shift;
        acc += s * a.scale[n * a.nb + b] * static_cast<float>(d);
      }
      Y[n * ldy + r] = acc;
    }
  }
}

template <Scheme S>
inline bool gemm_q8_fused(generic_tag, const quantized_matrix_view<S>&, const float*, std::size_t, std::size_t, float*,
                          std::size_t, std::size_t, std::size_t) {
  return false;
}

template <Scheme S, class Tag>
inline void gemm_q8_rows(Tag t, const quantized_matrix_view<S>& m, const float* X, std::size_t N, std::size_t ldx,
                         float* Y, std::size_t ldy, std::size_t r0, std::size_t r1) {
  if (gemm_q8_fused<S>(t, m, X, N, ldx, Y, ldy, r0, r1)) return;
  const q8_rows a = quantize_rows_q8(t, X, N, ldx, m.cols(), q8_block(m.layout), 5);
  gemm_q8_rows_generic<S>(t, m, a, N, Y, ldy, r0, r1);
}

}  // namespace kernel_detail

/// gemv with int8-quantized activations (the fast path; see the error bound above).
/// Compile-time error for schemes without it (check supports_q8<S>).
template <Scheme S>
void gemv_q8(const quantized_matrix_view<S>& m, const float* x, float* y, std::size_t r0, std::size_t r1) {
  static_assert(supports_q8<S>, "mixq::gemv_q8: the scheme's code values are not integers (use gemv)");
  kernel_detail::check_rows("mixq::gemv_q8", m, r0, r1);
  if (r0 == r1) return;
  kernel_detail::check_ptr("mixq::gemv_q8", "x", x);
  kernel_detail::check_ptr("mixq::gemv_q8", "y", y);
  kernel_detail::gemm_q8_rows<S>(kernel_detail::best_tag{}, m, x, 1, m.cols(), y, m.rows(), r0, r1);
}
template <Scheme S>
void gemv_q8(const quantized_matrix_view<S>& m, const float* x, float* y) {
  gemv_q8(m, x, y, 0, m.rows());
}

/// gemm with int8-quantized activations (each row of X quantized per block).
template <Scheme S>
void gemm_q8(const quantized_matrix_view<S>& m, const float* X, std::size_t N, std::size_t ldx, float* Y,
             std::size_t ldy, std::size_t r0, std::size_t r1) {
  static_assert(supports_q8<S>, "mixq::gemm_q8: the scheme's code values are not integers (use gemm)");
  kernel_detail::check_rows("mixq::gemm_q8", m, r0, r1);
  if (r0 == r1 || N == 0) return;
  kernel_detail::check_ptr("mixq::gemm_q8", "X", X);
  kernel_detail::check_ptr("mixq::gemm_q8", "Y", Y);
  kernel_detail::check_ld("mixq::gemm_q8", "ldx", ldx, m.cols());
  kernel_detail::check_ld("mixq::gemm_q8", "ldy", ldy, m.rows());
  kernel_detail::gemm_q8_rows<S>(kernel_detail::best_tag{}, m, X, N, ldx, Y, ldy, r0, r1);
}
template <Scheme S>
void gemm_q8(const quantized_matrix_view<S>& m, const float* X, std::size_t N, std::size_t ldx, float* Y,
             std::size_t ldy) {
  gemm_q8(m, X, N, ldx, Y, ldy, 0, m.rows());
}

MIXQ_END_NAMESPACE
