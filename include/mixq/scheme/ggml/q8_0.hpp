// ggml Q8_0 (FORMATS.md 7.6): 32 values in 34 bytes.
#pragma once
#include "block_fields.hpp"

MIXQ_GGML_EXACT_FP_BEGIN
namespace mixq::ggml {

/// Q8_0: offset 0 fp16 d, offset 2, 32 int8 codes in order. x = q * d.
struct q8_0 {
  static constexpr std::size_t block_elems = 32;
  static constexpr std::size_t block_bytes = 34;
  static constexpr int type_id = 8;  ///< GGML_TYPE_Q8_0
  static constexpr const char* name = "q8_0";
  static constexpr bool takes_importance = false;  ///< quantize_q8_0 ignores an imatrix
  using scheme = ::mixq::scheme<::mixq::int8, ::mixq::group<32>, ::mixq::fp16, ::mixq::sym::restricted>;  ///< the same values as a mixq scheme (to_matrix / from_matrix)
};

inline namespace MIXQ_ISA_NS {
namespace detail {

template <>
struct ggml_codec<q8_0> {
  /// d = amax / 127; q = roundf(x / d) (ties away from zero), with the fp32 reciprocal.
  static void quantize_ref(const float* x, std::size_t nblocks, std::uint8_t* out) noexcept {
    for (std::size_t b = 0; b < nblocks; ++b, x += 32, out += 34) {
      float amax = 0;
      for (int j = 0; j < 32; ++j) {
        const float a = std::fabs(x[j]);
        amax = amax > a ? amax : a;
      }
      const float d = amax / 127.0f;
      const float id = d != 0.0f ? 1.0f / d : 0.0f;
      store_half(out, d);
      for (int j = 0; j < 32; ++j) out[2 + j] = trunc_to_byte(std::round(x[j] * id));
    }
  }

  static void quantize_importance(const float* x, std::size_t n, std::uint8_t* out, const float*) noexcept {
    quantize_ref(x, n / 32, out);
  }

  static void dequantize(const std::uint8_t* in, std::size_t nblocks, float* y) noexcept {
    scheme_dequantize<q8_0>(in, nblocks, y);
  }
  /// The block as its scheme stores it.
  static void read_fields(const std::uint8_t* in, block_fields& f) noexcept {
    f.d = load_le16(in);
    std::memcpy(f.q, in + 2, 32);  // int8 codes are the bytes
  }
  static void write_fields(const block_fields& f, std::uint8_t* out) noexcept {
    store_le16(out, f.d);
    std::memcpy(out + 2, f.q, 32);
  }
};

}  // namespace detail
}  // namespace MIXQ_ISA_NS
}  // namespace mixq::ggml
MIXQ_GGML_EXACT_FP_END
