// gemv: y = W x for one fp32 activation vector, exact path (fp32 activations; codes decoded in
// registers and multiplied with fused FMAs).
//
// Error bound (documented in kernel.hpp and tested): with w the reference weights
// (dequantize_reference) and u = 2^-24,
//     |y_r - sum_c w_rc x_c| <= (K + 3) u sum_c |w_rc x_c| + (2K + sum_c |x_c|) 2^-149
// (the last term only matters when products are fp32 subnormals).
#pragma once
#include <cstddef>
#include <cstdint>

#include "check.hpp"
#include "dequantize.hpp"
#include "isa.hpp"

MIXQ_BEGIN_NAMESPACE
namespace kernel_detail {

inline constexpr std::size_t gemv_chunk = 1024;

/// Any scheme, any arch: dequantize a chunk of the row (exact reference weights) into L1, dot.
template <Scheme S, class Tag>
inline void gemv_rows_generic(Tag t, const quantized_matrix_view<S>& m, const float* x, float* y, std::size_t r0,
                              std::size_t r1) {
  const std::size_t K = m.cols();
  const std::size_t ck = min_sz(K, gemv_chunk);
  std::uint8_t* idx = scratch_as<std::uint8_t>(0, ck);
  float* w = scratch_as<float>(1, ck);
  for (std::size_t r = r0; r < r1; ++r) {
    float acc = 0.0f;
    for (std::size_t c = 0; c < K; c += ck) {
      const std::size_t e = min_sz(K, c + ck);
      dequant_segment(t, m, r, c, e, idx, w);
      acc += dot(t, w, x + c, e - c);
    }
    y[r] = acc;
  }
}

/// Fused fast paths: return false when the scheme / shape has none on this arch.
template <Scheme S>
inline bool gemv_fused(generic_tag, const quantized_matrix_view<S>&, const float*, float*, std::size_t, std::size_t) {
  return false;
}

template <Scheme S, class Tag>
inline void gemv_rows(Tag t, const quantized_matrix_view<S>& m, const float* x, float* y, std::size_t r0, std::size_t r1) {
  if (!gemv_fused<S>(t, m, x, y, r0, r1)) gemv_rows_generic<S>(t, m, x, y, r0, r1);
}

}  // namespace kernel_detail

/// y[r] = sum_c W[r][c] x[c] for rows r in [r0, r1) (y indexed by absolute row; x has cols()
/// floats). Exact path: fp32 activations. Non-finite activations propagate as in fp32
/// arithmetic (not checked). Throws mixq::error on a bad row range or null pointers.
template <Scheme S>
void gemv(const quantized_matrix_view<S>& m, const float* x, float* y, std::size_t r0, std::size_t r1) {
  kernel_detail::check_rows("mixq::gemv", m, r0, r1);
  if (r0 == r1) return;
  kernel_detail::check_ptr("mixq::gemv", "x", x);
  kernel_detail::check_ptr("mixq::gemv", "y", y);
  kernel_detail::gemv_rows<S>(kernel_detail::best_tag{}, m, x, y, r0, r1);
}
template <Scheme S>
void gemv(const quantized_matrix_view<S>& m, const float* x, float* y) {
  gemv(m, x, y, 0, m.rows());
}

MIXQ_END_NAMESPACE
