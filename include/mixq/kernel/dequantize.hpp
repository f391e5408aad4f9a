// dequantize: quantized rows to fp32, bit-identical to dequantize_reference (the same fp32
// operations s * (v(q) - z), vectorized).
#pragma once
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "check.hpp"
#include "isa.hpp"

MIXQ_BEGIN_NAMESPACE
namespace kernel_detail {

/// Columns [c0, c1) of row r as fp32 weights into out[0 .. c1 - c0), from the row's codes
/// already unpacked to bytes (idx[0] is the code of column c0).
template <Scheme S, class Tag>
inline void dequant_from_idx(Tag t, const quantized_matrix_view<S>& m, std::size_t r, std::size_t c0, std::size_t c1,
                             const std::uint8_t* idx, float* out) noexcept {
  const std::size_t ul = unit_len(m.layout);
  std::size_t c = c0;
  while (c < c1) {
    const std::size_t ur = c / ul;
    const std::size_t e = min_sz(c1, (ur + 1) * ul);
    float s = 0, z = 0;
    unit_scale_zero(m, r, ur, s, z);
    dequant_unit<S>(t, idx + (c - c0), e - c, s, z, out + (c - c0));
    c = e;
  }
}

/// Columns [c0, c1) of row r as fp32 weights into out[0 .. c1 - c0). idx: c1 - c0 bytes of scratch.
template <Scheme S, class Tag>
inline void dequant_segment(Tag t, const quantized_matrix_view<S>& m, std::size_t r, std::size_t c0, std::size_t c1,
                            std::uint8_t* idx, float* out) noexcept {
#if MIXQ_KERNEL_HAS_AVX512
  if constexpr (std::is_same_v<Tag, avx512_tag> && S::code_bits == 4)
    if (dequant4_fits<S>(unit_len(m.layout), c0, c1)) return dequant4_segment(m, r, c0, c1, out);
#endif
  unpack<S::code_bits>(t, m.codes(r), c0, c1 - c0, idx);
  dequant_from_idx(t, m, r, c0, c1, idx, out);
}

template <Scheme S, class Tag>
inline void dequantize_rows(Tag t, const quantized_matrix_view<S>& m, float* out, std::size_t r0, std::size_t r1) {
  const std::size_t K = m.cols();
  std::uint8_t* idx = scratch_as<std::uint8_t>(0, K);
  for (std::size_t r = r0; r < r1; ++r) dequant_segment(t, m, r, 0, K, idx, out + (r - r0) * K);
}

}  // namespace kernel_detail

/// Rows [r0, r1) of m as fp32 into out (row-major, cols() floats per row, row r0 first).
/// Bit-identical to dequantize_reference. Throws mixq::error on a bad row range.
template <Scheme S>
void dequantize(const quantized_matrix_view<S>& m, float* out, std::size_t r0, std::size_t r1) {
  kernel_detail::check_rows("mixq::dequantize", m, r0, r1);
  if (r0 == r1) return;
  kernel_detail::check_ptr("mixq::dequantize", "out", out);
  kernel_detail::dequantize_rows<S>(kernel_detail::best_tag{}, m, out, r0, r1);
}
/// The whole matrix.
template <Scheme S>
void dequantize(const quantized_matrix_view<S>& m, float* out) {
  dequantize(m, out, 0, m.rows());
}

MIXQ_END_NAMESPACE
