// ggml Q4_1 (FORMATS.md 7.3): 32 values in 20 bytes.
#pragma once
#include "block_fields.hpp"

MIXQ_GGML_EXACT_FP_BEGIN
namespace mixq::ggml {

/// Q4_1: offset 0 fp16 d, offset 2 fp16 m, offset 4, 16 bytes of codes (as Q4_0). x = code * d + m.
struct q4_1 {
  static constexpr std::size_t block_elems = 32;
  static constexpr std::size_t block_bytes = 20;
  static constexpr int type_id = 3;  ///< GGML_TYPE_Q4_1
  static constexpr const char* name = "q4_1";
  static constexpr bool takes_importance = true;
  using scheme = ::mixq::scheme<::mixq::uint4, ::mixq::group<32>, ::mixq::fp16, ::mixq::asym::float_min<>>;  ///< the same values as a mixq scheme (to_matrix / from_matrix)
};

inline namespace MIXQ_ISA_NS {
namespace detail {

template <>
struct ggml_codec<q4_1> {
  /// d = (max - min) / 15, m = min; code = min(15, int8((x - min) / d + 0.5)).
  static void quantize_ref(const float* x, std::size_t nblocks, std::uint8_t* out) noexcept {
    for (std::size_t b = 0; b < nblocks; ++b, x += 32, out += 20) {
      float min = std::numeric_limits<float>::max(), max = -std::numeric_limits<float>::max();
      for (int j = 0; j < 32; ++j) {
        if (x[j] < min) min = x[j];
        if (x[j] > max) max = x[j];
      }
      const float d = (max - min) / 15.0f;
      const float id = d != 0.0f ? 1.0f / d : 0.0f;
      store_half(out, d);
      store_half(out + 2, min);
      for (int j = 0; j < 16; ++j) {
        const int lo = std::min(15, trunc_to_int8((x[j] - min) * id + 0.5f));
        const int hi = std::min(15, trunc_to_int8((x[j + 16] - min) * id + 0.5f));
        out[4 + j] = static_cast<std::uint8_t>(static_cast<std::uint8_t>(lo) | (static_cast<std::uint8_t>(hi) << 4));
      }
    }
  }

  /// Weights imp * sqrt(sigma^2 + x^2) (sigma^2 = mean x^2 of the row); make_qkx3_quants(nmax 15,
  /// rmin -0.9, rdelta 0.05, 36 steps, squared error); m = -offset.
  static void quantize_importance(const float* x, std::size_t n, std::uint8_t* out, const float* imp) noexcept {
    float sum_x2 = 0;
    for (std::size_t j = 0; j < n; ++j) sum_x2 += x[j] * x[j];
    const float sigma2 = sum_x2 / static_cast<float>(n);
    float w[32];
    std::uint8_t L[32], scratch[32];
    for (std::size_t b = 0; b < n / 32; ++b, x += 32, imp += 32, out += 20) {
      for (int j = 0; j < 32; ++j) w[j] = imp[j] * std::sqrt(sigma2 + x[j] * x[j]);
      float neg_min = 0;
      const float d = make_qkx3_quants(32, 15, x, w, L, &neg_min, scratch, -0.9f, 0.05f, 36, false);
      store_half(out, d);
      store_half(out + 2, -neg_min);
      for (int j = 0; j < 16; ++j) out[4 + j] = static_cast<std::uint8_t>(L[j] | (L[j + 16] << 4));
    }
  }

  static void dequantize(const std::uint8_t* in, std::size_t nblocks, float* y) noexcept {
    scheme_dequantize<q4_1>(in, nblocks, y);
  }
  /// The block as its scheme stores it.
  static void read_fields(const std::uint8_t* in, block_fields& f) noexcept {
    f.d = load_le16(in);
    f.dmin = load_le16(in + 2);
    read_nibbles32(in + 4, nullptr, f.q);
  }
  static void write_fields(const block_fields& f, std::uint8_t* out) noexcept {
    store_le16(out, f.d);
    store_le16(out + 2, f.dmin);
    write_nibbles32(f.q, out + 4, nullptr);
  }
};

}  // namespace detail
}  // namespace MIXQ_ISA_NS
}  // namespace mixq::ggml
MIXQ_GGML_EXACT_FP_END
