// ggml Q5_1 (FORMATS.md 7.5): 32 values in 24 bytes.
#pragma once
#include "q5_0.hpp"

MIXQ_GGML_EXACT_FP_BEGIN
namespace mixq::ggml {

/// Q5_1: offset 0 fp16 d, offset 2 fp16 m, offset 4 uint32 qh (as Q5_0), offset 8, 16 bytes of
/// low bits. x = code * d + m.
struct q5_1 {
  static constexpr std::size_t block_elems = 32;
  static constexpr std::size_t block_bytes = 24;
  static constexpr int type_id = 7;  ///< GGML_TYPE_Q5_1
  static constexpr const char* name = "q5_1";
  static constexpr bool takes_importance = true;
  using scheme = ::mixq::scheme<::mixq::uint_format<5>, ::mixq::group<32>, ::mixq::fp16, ::mixq::asym::float_min<>>;  ///< the same values as a mixq scheme (to_matrix / from_matrix)
};

inline namespace MIXQ_ISA_NS {
namespace detail {

template <>
struct ggml_codec<q5_1> {
  /// d = (max - min) / 31, m = min; code = uint8((x - min) / d + 0.5), not clamped (as ggml).
  static void quantize_ref(const float* x, std::size_t nblocks, std::uint8_t* out) noexcept {
    std::uint8_t code[32];
    for (std::size_t b = 0; b < nblocks; ++b, x += 32, out += 24) {
      float min = std::numeric_limits<float>::max(), max = -std::numeric_limits<float>::max();
      for (int j = 0; j < 32; ++j) {
        if (x[j] < min) min = x[j];
        if (x[j] > max) max = x[j];
      }
      const float d = (max - min) / 31.0f;
      const float id = d != 0.0f ? 1.0f / d : 0.0f;
      store_half(out, d);
      store_half(out + 2, min);
      for (int j = 0; j < 32; ++j) code[j] = trunc_to_byte((x[j] - min) * id + 0.5f);
      pack_q5(out + 4, out + 8, code);
    }
  }

  /// As Q4_1 with nmax = 31.
  static void quantize_importance(const float* x, std::size_t n, std::uint8_t* out, const float* imp) noexcept {
    float sum_x2 = 0;
    for (std::size_t j = 0; j < n; ++j) sum_x2 += x[j] * x[j];
    const float sigma2 = sum_x2 / static_cast<float>(n);
    float w[32];
    std::uint8_t L[32], scratch[32];
    for (std::size_t b = 0; b < n / 32; ++b, x += 32, imp += 32, out += 24) {
      for (int j = 0; j < 32; ++j) w[j] = imp[j] * std::sqrt(sigma2 + x[j] * x[j]);
      float neg_min = 0;
      const float d = make_qkx3_quants(32, 31, x, w, L, &neg_min, scratch, -0.9f, 0.05f, 36, false);
      store_half(out, d);
      store_half(out + 2, -neg_min);
      pack_q5(out + 4, out + 8, L);
    }
  }

  static void dequantize(const std::uint8_t* in, std::size_t nblocks, float* y) noexcept {
    scheme_dequantize<q5_1>(in, nblocks, y);
  }
  /// The block as its scheme stores it.
  static void read_fields(const std::uint8_t* in, block_fields& f) noexcept {
    f.d = load_le16(in);
    f.dmin = load_le16(in + 2);
    read_nibbles32(in + 8, in + 4, f.q);
  }
  static void write_fields(const block_fields& f, std::uint8_t* out) noexcept {
    store_le16(out, f.d);
    store_le16(out + 2, f.dmin);
    write_nibbles32(f.q, out + 8, out + 4);
  }
};

}  // namespace detail
}  // namespace MIXQ_ISA_NS
}  // namespace mixq::ggml
MIXQ_GGML_EXACT_FP_END
