// ggml IQ4_NL (FORMATS.md 4.3, 7.13): 32 values in 18 bytes.
#pragma once
#include "block_fields.hpp"

MIXQ_GGML_EXACT_FP_BEGIN
namespace mixq::ggml {

/// IQ4_NL: offset 0 fp16 d; offset 2, 16 bytes of codes (as Q4_0) into the non-linear table
/// {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}; x = d * table[code].
///
/// ggml has two quantizers. quantize_row (no importance) is quantize_row_iq4_nl_ref: one scale
/// -max/127, codes by nearest level, d = weighted least-squares fit with weights x^2.
/// quantize_row_model without importance is quantize_iq4_nl: 15 candidate scales, then every code
/// re-rounded with 1/d. With importance both give quantize_iq4_nl with weights
/// imp * sqrt(sigma^2 + x^2), sigma^2 = 2 mean x^2 of the block.
/// All-zero blocks (max |x| < 1e-15) get d = 0; ggml's reference leaves their codes
/// uninitialised, mixq writes 0 there (the values are zero either way, up to the sign of zero);
/// the model quantizer writes code 8 (level 1), as ggml does.
struct iq4_nl {
  static constexpr std::size_t block_elems = 32;
  static constexpr std::size_t block_bytes = 18;
  static constexpr int type_id = 20;  ///< GGML_TYPE_IQ4_NL
  static constexpr const char* name = "iq4_nl";
  static constexpr bool takes_importance = true;
  using scheme = ::mixq::scheme<::mixq::iq4_nl, ::mixq::group<32>, ::mixq::fp16, ::mixq::sym::signed_extreme>;  ///< the same values as a mixq scheme (to_matrix / from_matrix)
};

inline namespace MIXQ_ISA_NS {
namespace detail {

template <>
struct ggml_codec<iq4_nl> {
  static void quantize_ref(const float* x, std::size_t nblocks, std::uint8_t* out) noexcept {
    for (std::size_t b = 0; b < nblocks; ++b, x += 32, out += 18) block(x, nullptr, out, -1);
  }
  static void quantize_importance(const float* x, std::size_t n, std::uint8_t* out, const float* imp) noexcept {
    for (std::size_t b = 0; b < n / 32; ++b, x += 32, imp += 32, out += 18) block(x, imp, out, 7);
  }
  static void quantize_model(const float* x, std::size_t n, std::uint8_t* out) noexcept {
    for (std::size_t b = 0; b < n / 32; ++b, x += 32, out += 18) block(x, nullptr, out, 7);
  }

  static void dequantize(const std::uint8_t* in, std::size_t nblocks, float* y) noexcept {
    scheme_dequantize<iq4_nl>(in, nblocks, y);
  }
  /// The block as its scheme stores it.
  static void read_fields(const std::uint8_t* in, block_fields& f) noexcept {
    f.d = load_le16(in);
    read_nibbles32(in + 2, nullptr, f.q);
  }
  static void write_fields(const block_fields& f, std::uint8_t* out) noexcept {
    store_le16(out, f.d);
    write_nibbles32(f.q, out + 2, nullptr);
  }

 private:
  // ggml quantize_row_iq4_nl_impl with super-block = block = 32.
  static void block(const float* x, const float* imp, std::uint8_t* out, int ntry) noexcept {
    float w[32];
    std::uint8_t L[32] = {};
    if (imp != nullptr) {
      float sigma2 = 0;
      for (int j = 0; j < 32; ++j) sigma2 += x[j] * x[j];
      sigma2 *= 2.0f / 32.0f;
      for (int j = 0; j < 32; ++j) w[j] = imp[j] * std::sqrt(sigma2 + x[j] * x[j]);
    } else {
      for (int j = 0; j < 32; ++j) w[j] = x[j] * x[j];
    }
    const float d = iq4_nl_search(32, x, w, iq4_nl_levels.data(), L, ntry);
    store_half(out, d);
    if (ntry > 0) {
      const float id = d != 0.0f ? 1 / d : 0.0f;
      for (int j = 0; j < 32; ++j)
        L[j] = static_cast<std::uint8_t>(best_index_int8(16, iq4_nl_levels.data(), id * x[j]));
    }
    for (int j = 0; j < 16; ++j) out[2 + j] = static_cast<std::uint8_t>(L[j] | (L[j + 16] << 4));
  }
};

}  // namespace detail
}  // namespace MIXQ_ISA_NS
}  // namespace mixq::ggml
MIXQ_GGML_EXACT_FP_END
