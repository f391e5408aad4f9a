// ggml MXFP4 (FORMATS.md 5.1, 7.16): 32 values in 17 bytes.
#pragma once
#include <bit>

#include "block_fields.hpp"

MIXQ_GGML_EXACT_FP_BEGIN
namespace mixq::ggml {

/// MXFP4 (ggml container): offset 0 E8M0 exponent e, offset 1, 16 bytes: byte j = code of value
/// j (low nibble) | code of value j+16 (high nibble). Codes index ggml's doubled E2M1 table
/// {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, ..., -12}; x = table[code] * 2^(e - 128).
struct mxfp4 {
  static constexpr std::size_t block_elems = 32;
  static constexpr std::size_t block_bytes = 17;
  static constexpr int type_id = 39;  ///< GGML_TYPE_MXFP4
  static constexpr const char* name = "mxfp4";
  static constexpr bool takes_importance = false;  ///< quantize_mxfp4 ignores an imatrix
  using scheme = ::mixq::mxfp4;  ///< the same values as a mixq scheme (to_matrix / from_matrix)
};

inline namespace MIXQ_ISA_NS {
namespace detail {

/// ggml kvalues_mxfp4: twice the E2M1 values.
inline constexpr std::int8_t mxfp4_levels[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

/// ggml's "E8M0 to fp32 half": 2^(e - 128), an fp32 subnormal for e < 2.
inline float e8m0_half(std::uint8_t e) noexcept {
  const std::uint32_t bits = e < 2 ? (0x00200000u << e) : (static_cast<std::uint32_t>(e - 1) << 23);
  return std::bit_cast<float>(bits);
}

template <>
struct ggml_codec<mxfp4> {
  /// e = uint8(floor(log2(amax)) - 2 + 127) (0 if amax = 0; like ggml on x86, amax below 2^-125
  /// wraps around to e >= 0xfc through the int8 truncation); code = first table entry minimising
  /// |table[c] * 2^(e-128) - x|. floor(log2f(a)) is taken as floor of log2 in double rounded to
  /// float, which equals glibc's floorf(log2f(a)) for every positive fp32 a (checked exhaustively).
  static void quantize_ref(const float* x, std::size_t nblocks, std::uint8_t* out) noexcept {
    for (std::size_t b = 0; b < nblocks; ++b, x += 32, out += 17) {
      float amax = 0;
      for (int j = 0; j < 32; ++j) {
        if (amax < std::fabs(x[j])) amax = std::fabs(x[j]);
      }
      std::uint8_t e = 0;
      if (amax > 0.0f) {
        const float lg = std::floor(static_cast<float>(std::log2(static_cast<double>(amax))));
        e = trunc_to_byte(lg - 2.0f + 127.0f);
      }
      const float h = e8m0_half(e);
      out[0] = e;
      for (int j = 0; j < 16; ++j)
        out[1 + j] = static_cast<std::uint8_t>(nearest_level(x[j], h) | (nearest_level(x[j + 16], h) << 4));
    }
  }

  static void quantize_importance(const float* x, std::size_t n, std::uint8_t* out, const float*) noexcept {
    quantize_ref(x, n / 32, out);
  }

  static void dequantize(const std::uint8_t* in, std::size_t nblocks, float* y) noexcept {
    for (std::size_t b = 0; b < nblocks; ++b, in += 17, y += 32) {
      const float h = e8m0_half(in[0]);
      for (int j = 0; j < 16; ++j) {
        y[j] = static_cast<float>(mxfp4_levels[in[1 + j] & 0x0f]) * h;
        y[j + 16] = static_cast<float>(mxfp4_levels[in[1 + j] >> 4]) * h;
      }
    }
  }
  /// The block as its scheme stores it.
  static void read_fields(const std::uint8_t* in, block_fields& f) noexcept {
    f.d = in[0];  // the e8m0 byte; codes are E2M1 codes (ggml's table is E2M1 doubled)
    read_nibbles32(in + 1, nullptr, f.q);
  }
  static void write_fields(const block_fields& f, std::uint8_t* out) noexcept {
    out[0] = static_cast<std::uint8_t>(f.d);
    write_nibbles32(f.q, out + 1, nullptr);
  }

 private:
  static int nearest_level(float x, float h) noexcept {
    int best = 0;
    float best_err = std::fabs(static_cast<float>(mxfp4_levels[0]) * h - x);
    for (int c = 1; c < 16; ++c) {
      const float err = std::fabs(static_cast<float>(mxfp4_levels[c]) * h - x);
      if (err < best_err) best = c, best_err = err;
    }
    return best;
  }
};

}  // namespace detail
}  // namespace MIXQ_ISA_NS
}  // namespace mixq::ggml
MIXQ_GGML_EXACT_FP_END
