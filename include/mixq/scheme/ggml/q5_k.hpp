// ggml Q5_K (FORMATS.md 7.11): 256 values in 176 bytes.
#pragma once
#include <cstring>

#include "q4_k.hpp"

MIXQ_GGML_EXACT_FP_BEGIN
namespace mixq::ggml {

/// Q5_K: as Q4_K with 5-bit codes. Offset 0 fp16 d, 2 fp16 dmin, 4: 12 bytes of scales/mins (as
/// Q4_K), 16: 32 bytes qh (bit i / 32 of byte i % 32 = bit 4 of code i), 48: 128 bytes of low
/// nibbles (as Q4_K's codes). x = (d * sc_j) * q - (dmin * m_j).
struct q5_k {
  static constexpr std::size_t block_elems = 256;
  static constexpr std::size_t block_bytes = 176;
  static constexpr int type_id = 13;  ///< GGML_TYPE_Q5_K
  static constexpr const char* name = "q5_K";
  static constexpr bool takes_importance = true;
  using scheme = ::mixq::kq5;  ///< the same values as a mixq scheme (to_matrix / from_matrix)
};

inline namespace MIXQ_ISA_NS {
namespace detail {

template <>
struct ggml_codec<q5_k> {
  using fit = kquant_affine<31>;

  static void quantize_ref(const float* x, std::size_t nblocks, std::uint8_t* out) noexcept {
    std::uint8_t L[256];
    for (std::size_t b = 0; b < nblocks; ++b, x += 256, out += 176) {
      fit::fit_ref(x, out, L, -0.5f, 15);
      pack(out, L);
    }
  }
  static void quantize_importance(const float* x, std::size_t n, std::uint8_t* out, const float* imp) noexcept {
    std::uint8_t L[256];
    for (std::size_t b = 0; b < n / 256; ++b, x += 256, imp += 256, out += 176) {
      fit::fit_importance(x, imp, out, L, true);
      pack(out, L);
    }
  }
  static void dequantize(const std::uint8_t* in, std::size_t nblocks, float* y) noexcept {
    scheme_dequantize<q5_k>(in, nblocks, y);
  }
  /// The block as kq5 stores it: uint6 scale and min codes, uint5 codes.
  static void read_fields(const std::uint8_t* in, block_fields& f) noexcept {
    fit::read_scales(in, f);
    const std::uint8_t* qh = in + 16;
    const std::uint8_t* qs = in + 48;
    for (int i = 0; i < 256; ++i) {
      const int low = (qs[32 * (i / 64) + i % 32] >> (i % 64 < 32 ? 0 : 4)) & 0x0f;
      f.q[i] = static_cast<std::uint8_t>(low + (((qh[i % 32] >> (i / 32)) & 1) << 4));
    }
  }
  static void write_fields(const block_fields& f, std::uint8_t* out) noexcept {
    fit::write_scales(f, out);
    pack(out, f.q);
  }

 private:
  static void pack(std::uint8_t* blk, const std::uint8_t* L) noexcept {
    std::uint8_t* qh = blk + 16;
    std::uint8_t* ql = blk + 48;
    std::memset(qh, 0, 32);
    for (int i = 0; i < 256; ++i)
      if (L[i] > 15) qh[i % 32] = static_cast<std::uint8_t>(qh[i % 32] | (1u << (i / 32)));
    for (int g = 0; g < 256; g += 64, ql += 32)
      for (int l = 0; l < 32; ++l) ql[l] = static_cast<std::uint8_t>((L[g + l] & 0x0f) | ((L[g + l + 32] & 0x0f) << 4));
  }
};

}  // namespace detail
}  // namespace MIXQ_ISA_NS
}  // namespace mixq::ggml
MIXQ_GGML_EXACT_FP_END
