// ggml Q5_0 (FORMATS.md 7.4): 32 values in 22 bytes.
#pragma once
#include "block_fields.hpp"

MIXQ_GGML_EXACT_FP_BEGIN
namespace mixq::ggml {

/// Q5_0: offset 0 fp16 d; offset 2 uint32 qh (LE), bit i = bit 4 of code i; offset 6, 16 bytes
/// of the low 4 bits (as Q4_0). x = (code - 16) * d.
struct q5_0 {
  static constexpr std::size_t block_elems = 32;
  static constexpr std::size_t block_bytes = 22;
  static constexpr int type_id = 6;  ///< GGML_TYPE_Q5_0
  static constexpr const char* name = "q5_0";
  static constexpr bool takes_importance = true;
  using scheme = ::mixq::scheme<::mixq::int5, ::mixq::group<32>, ::mixq::fp16, ::mixq::sym::signed_extreme>;  ///< the same values as a mixq scheme (to_matrix / from_matrix)
};

inline namespace MIXQ_ISA_NS {
namespace detail {

inline void pack_q5(std::uint8_t* qh_at, std::uint8_t* qs_at, const std::uint8_t* code) noexcept {
  std::uint32_t qh = 0;
  for (int j = 0; j < 16; ++j) {
    const std::uint8_t lo = code[j], hi = code[j + 16];
    qs_at[j] = static_cast<std::uint8_t>((lo & 0x0f) | ((hi & 0x0f) << 4));
    qh |= ((lo & 0x10u) >> 4) << j;
    qh |= ((hi & 0x10u) >> 4) << (j + 16);
  }
  store_le32(qh_at, qh);
}

template <>
struct ggml_codec<q5_0> {
  /// d = max / -16; code = min(31, int8(x / d + 16.5)).
  static void quantize_ref(const float* x, std::size_t nblocks, std::uint8_t* out) noexcept {
    std::uint8_t code[32];
    for (std::size_t b = 0; b < nblocks; ++b, x += 32, out += 22) {
      float amax = 0, max = 0;
      for (int j = 0; j < 32; ++j) {
        if (amax < std::fabs(x[j])) amax = std::fabs(x[j]), max = x[j];
      }
      const float d = max / -16.0f;
      const float id = d != 0.0f ? 1.0f / d : 0.0f;
      store_half(out, d);
      for (int j = 0; j < 32; ++j) code[j] = static_cast<std::uint8_t>(std::min(31, trunc_to_int8(x[j] * id + 16.5f)));
      pack_q5(out + 2, out + 6, code);
    }
  }

  /// As Q4_0 with make_qx_quants(nmax = 16).
  static void quantize_importance(const float* x, std::size_t n, std::uint8_t* out, const float* imp) noexcept {
    float sum_x2 = 0;
    for (std::size_t j = 0; j < n; ++j) sum_x2 += x[j] * x[j];
    const float sigma2 = sum_x2 / static_cast<float>(n);
    float w[32];
    std::int8_t L[32];
    std::uint8_t code[32];
    for (std::size_t b = 0; b < n / 32; ++b, x += 32, imp += 32, out += 22) {
      for (int j = 0; j < 32; ++j) w[j] = imp[j] * std::sqrt(sigma2 + x[j] * x[j]);
      store_half(out, make_qx_quants(32, 16, x, L, w));
      for (int j = 0; j < 32; ++j) code[j] = static_cast<std::uint8_t>(L[j]);
      pack_q5(out + 2, out + 6, code);
    }
  }

  static void dequantize(const std::uint8_t* in, std::size_t nblocks, float* y) noexcept {
    scheme_dequantize<q5_0>(in, nblocks, y);
  }
  /// The block as its scheme stores it.
  static void read_fields(const std::uint8_t* in, block_fields& f) noexcept {
    f.d = load_le16(in);
    read_nibbles32(in + 6, in + 2, f.q);
    for (int j = 0; j < 32; ++j) f.q[j] ^= 16;  // int5 two's complement of code - 16
  }
  static void write_fields(const block_fields& f, std::uint8_t* out) noexcept {
    std::uint8_t q[32];
    for (int j = 0; j < 32; ++j) q[j] = static_cast<std::uint8_t>((f.q[j] & 31) ^ 16);
    store_le16(out, f.d);
    write_nibbles32(q, out + 6, out + 2);
  }
};

}  // namespace detail
}  // namespace MIXQ_ISA_NS
}  // namespace mixq::ggml
MIXQ_GGML_EXACT_FP_END
