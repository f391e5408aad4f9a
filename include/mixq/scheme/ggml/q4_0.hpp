// ggml Q4_0 (FORMATS.md 7.2): 32 values in 18 bytes.
#pragma once
#include "block_fields.hpp"

MIXQ_GGML_EXACT_FP_BEGIN
namespace mixq::ggml {

/// Q4_0: offset 0 fp16 d; offset 2, 16 bytes: byte j holds the code of value j (low nibble) and
/// of value j+16 (high nibble). x = (code - 8) * d.
struct q4_0 {
  static constexpr std::size_t block_elems = 32;
  static constexpr std::size_t block_bytes = 18;
  static constexpr int type_id = 2;  ///< GGML_TYPE_Q4_0
  static constexpr const char* name = "q4_0";
  static constexpr bool takes_importance = true;  ///< quantize_q4_0 uses an imatrix
  using scheme = ::mixq::scheme<::mixq::int4, ::mixq::group<32>, ::mixq::fp16, ::mixq::sym::signed_extreme>;  ///< the same values as a mixq scheme (to_matrix / from_matrix)
};

inline namespace MIXQ_ISA_NS {
namespace detail {

template <>
struct ggml_codec<q4_0> {
  /// d = max / -8 (max: the value of largest magnitude); code = min(15, int8(x / d + 8.5)), with
  /// the fp32 reciprocal; d stored as fp16.
  static void quantize_ref(const float* x, std::size_t nblocks, std::uint8_t* out) noexcept {
    for (std::size_t b = 0; b < nblocks; ++b, x += 32, out += 18) {
      float amax = 0, max = 0;
      for (int j = 0; j < 32; ++j) {
        if (amax < std::fabs(x[j])) amax = std::fabs(x[j]), max = x[j];
      }
      const float d = max / -8.0f;
      const float id = d != 0.0f ? 1.0f / d : 0.0f;
      store_half(out, d);
      for (int j = 0; j < 16; ++j) {
        const int lo = std::min(15, trunc_to_int8(x[j] * id + 8.5f));
        const int hi = std::min(15, trunc_to_int8(x[j + 16] * id + 8.5f));
        out[2 + j] = static_cast<std::uint8_t>(static_cast<std::uint8_t>(lo) | (static_cast<std::uint8_t>(hi) << 4));
      }
    }
  }

  /// Weights imp * sqrt(sigma^2 + x^2), sigma^2 = mean x^2 over the whole row; codes and scale
  /// from make_qx_quants(nmax = 8).
  static void quantize_importance(const float* x, std::size_t n, std::uint8_t* out, const float* imp) noexcept {
    float sum_x2 = 0;
    for (std::size_t j = 0; j < n; ++j) sum_x2 += x[j] * x[j];
    const float sigma2 = sum_x2 / static_cast<float>(n);
    float w[32];
    std::int8_t L[32];
    for (std::size_t b = 0; b < n / 32; ++b, x += 32, imp += 32, out += 18) {
      for (int j = 0; j < 32; ++j) w[j] = imp[j] * std::sqrt(sigma2 + x[j] * x[j]);
      store_half(out, make_qx_quants(32, 8, x, L, w));
      for (int j = 0; j < 16; ++j) out[2 + j] = static_cast<std::uint8_t>(L[j] | (L[j + 16] << 4));
    }
  }

  static void dequantize(const std::uint8_t* in, std::size_t nblocks, float* y) noexcept {
    scheme_dequantize<q4_0>(in, nblocks, y);
  }
  /// The block as its scheme stores it.
  static void read_fields(const std::uint8_t* in, block_fields& f) noexcept {
    f.d = load_le16(in);
    read_nibbles32(in + 2, nullptr, f.q);
    for (int j = 0; j < 32; ++j) f.q[j] ^= 8;  // int4 two's complement of code - 8
  }
  static void write_fields(const block_fields& f, std::uint8_t* out) noexcept {
    std::uint8_t q[32];
    for (int j = 0; j < 32; ++j) q[j] = static_cast<std::uint8_t>((f.q[j] & 15) ^ 8);
    store_le16(out, f.d);
    write_nibbles32(q, out + 2, nullptr);
  }
};

}  // namespace detail
}  // namespace MIXQ_ISA_NS
}  // namespace mixq::ggml
MIXQ_GGML_EXACT_FP_END
