// ggml Q6_K (FORMATS.md 7.12): 256 values in 210 bytes.
#pragma once
#include <cstring>

#include "block_fields.hpp"

MIXQ_GGML_EXACT_FP_BEGIN
namespace mixq::ggml {

/// Q6_K: 16 sub-blocks of 16. Offset 0, 128 bytes ql (low 4 bits), 128: 64 bytes qh (high 2
/// bits), 192: 16 int8 scales, 208: fp16 d. Value i (h = i / 128, g = (i % 128) / 32, l = i % 32):
/// low nibble in ql byte 64 h + l + 32 (g % 2), low half for g < 2, high half otherwise; high bits
/// at bits 2 g of qh byte 32 h + l. x = (d * sc_j) * (code - 32).
struct q6_k {
  static constexpr std::size_t block_elems = 256;
  static constexpr std::size_t block_bytes = 210;
  static constexpr int type_id = 14;  ///< GGML_TYPE_Q6_K
  static constexpr const char* name = "q6_K";
  static constexpr bool takes_importance = true;  ///< used raw as make_qx_quants weights
  using scheme = ::mixq::kq6;  ///< the same values as a mixq scheme (to_matrix / from_matrix)
};

inline namespace MIXQ_ISA_NS {
namespace detail {

template <>
struct ggml_codec<q6_k> {
  /// Per sub-block make_qx_quants(nmax 32, weights x^2); int8 scales against the one of largest
  /// magnitude (d = that / -128); codes re-rounded with the stored scales.
  static void quantize_ref(const float* x, std::size_t nblocks, std::uint8_t* out) noexcept {
    for (std::size_t b = 0; b < nblocks; ++b, x += 256, out += 210) block(x, nullptr, out);
  }
  /// As the reference, with the importance values as the make_qx_quants weights.
  static void quantize_importance(const float* x, std::size_t n, std::uint8_t* out, const float* imp) noexcept {
    for (std::size_t b = 0; b < n / 256; ++b, x += 256, imp += 256, out += 210) block(x, imp, out);
  }
  static void dequantize(const std::uint8_t* in, std::size_t nblocks, float* y) noexcept {
    scheme_dequantize<q6_k>(in, nblocks, y);
  }
  /// The block as kq6 stores it: int8 scale codes (the bytes), int6 codes (two's complement of code - 32).
  static void read_fields(const std::uint8_t* in, block_fields& f) noexcept {
    f.d = load_le16(in + 208);
    f.dmin = 0;
    for (int j = 0; j < 16; ++j) f.sc[j] = in[192 + j], f.mn[j] = 0;
    for (int i = 0; i < 256; ++i) {
      const int h = i / 128, g = (i % 128) / 32, l = i % 32;
      const int low = (in[64 * h + l + 32 * (g % 2)] >> (g < 2 ? 0 : 4)) & 0x0f;
      const int high = (in[128 + 32 * h + l] >> (2 * g)) & 3;
      f.q[i] = static_cast<std::uint8_t>((low | (high << 4)) ^ 32);
    }
  }
  static void write_fields(const block_fields& f, std::uint8_t* out) noexcept {
    std::int8_t L[256];
    for (int i = 0; i < 256; ++i) L[i] = static_cast<std::int8_t>((f.q[i] & 63) ^ 32);
    pack_codes(out, L);
    for (int j = 0; j < 16; ++j) out[192 + j] = f.sc[j];
    store_le16(out + 208, f.d);
  }

 private:
  static void block(const float* x, const float* imp, std::uint8_t* out) noexcept {
    std::int8_t L[256];
    float scales[16];
    float max_scale = 0, max_abs_scale = 0;
    for (int j = 0; j < 16; ++j) {
      scales[j] = make_qx_quants(16, 32, x + 16 * j, L + 16 * j, imp ? imp + 16 * j : nullptr);
      const float a = std::fabs(scales[j]);
      if (a > max_abs_scale) max_abs_scale = a, max_scale = scales[j];
    }
    if (max_abs_scale < group_max_eps) {
      std::memset(out, 0, 210);
      store_half(out + 208, 0.0f);
      return;
    }
    const float iscale = -128.0f / max_scale;
    store_half(out + 208, 1 / iscale);
    for (int j = 0; j < 16; ++j) {
      const int s = nearest_int(iscale * scales[j]);
      out[192 + j] = static_cast<std::uint8_t>(s < 127 ? s : 127);
    }
    const float d_all = load_half(out + 208);
    for (int j = 0; j < 16; ++j) {
      const float d = d_all * static_cast<float>(static_cast<std::int8_t>(out[192 + j]));
      if (d == 0.0f) continue;
      for (int l = 0; l < 16; ++l) {
        const int q = nearest_int(x[16 * j + l] / d);
        L[16 * j + l] = static_cast<std::int8_t>((q < -32 ? -32 : (q > 31 ? 31 : q)) + 32);
      }
    }
    pack_codes(out, L);
  }
  // ql and qh from the levels L[i] = code + 32 in 0..63.
  static void pack_codes(std::uint8_t* out, const std::int8_t* L) noexcept {
    std::uint8_t* ql = out;
    std::uint8_t* qh = out + 128;
    for (int g = 0; g < 256; g += 128, ql += 64, qh += 32) {
      for (int l = 0; l < 32; ++l) {
        const int a = L[g + l], b = L[g + l + 32], c = L[g + l + 64], e = L[g + l + 96];
        ql[l] = static_cast<std::uint8_t>((a & 0x0f) | ((c & 0x0f) << 4));
        ql[l + 32] = static_cast<std::uint8_t>((b & 0x0f) | ((e & 0x0f) << 4));
        qh[l] = static_cast<std::uint8_t>((a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6));
      }
    }
  }
};

}  // namespace detail
}  // namespace MIXQ_ISA_NS
}  // namespace mixq::ggml
MIXQ_GGML_EXACT_FP_END
