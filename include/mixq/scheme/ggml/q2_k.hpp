// ggml Q2_K (FORMATS.md 7.8): 256 values in 84 bytes.
#pragma once
#include "block_fields.hpp"

MIXQ_GGML_EXACT_FP_BEGIN
namespace mixq::ggml {

/// Q2_K: 16 sub-blocks of 16. Offset 0, 16 bytes: sub-block j scale (low nibble) and min (high
/// nibble); offset 16, 64 bytes of 2-bit codes (value i: byte 32 (i / 128) + i % 32, bits
/// 2 ((i % 128) / 32)); offset 80 fp16 d; offset 82 fp16 dmin. x = (d * sc_j) * q - (dmin * m_j).
struct q2_k {
  static constexpr std::size_t block_elems = 256;
  static constexpr std::size_t block_bytes = 84;
  static constexpr int type_id = 10;  ///< GGML_TYPE_Q2_K
  static constexpr const char* name = "q2_K";
  static constexpr bool takes_importance = true;
  using scheme = ::mixq::kq2;  ///< the same values as a mixq scheme (to_matrix / from_matrix)
};

inline namespace MIXQ_ISA_NS {
namespace detail {

/// Q2_K/Q3_K code packing: 4 groups of 32 share the bytes of each 128 values.
inline void pack_2bit(std::uint8_t* qs, const std::uint8_t* L) noexcept {
  for (int g = 0; g < 256; g += 128)
    for (int l = 0; l < 32; ++l)
      qs[g / 4 + l] =
          static_cast<std::uint8_t>(L[g + l] | (L[g + l + 32] << 2) | (L[g + l + 64] << 4) | (L[g + l + 96] << 6));
}

template <>
struct ggml_codec<q2_k> {
  /// Per sub-block make_qkx2_quants(nmax 3, weights |x|, rmin -0.5, rdelta 0.1, 15 steps, absolute
  /// error); scales and mins to 4 bits against their maxima; codes re-rounded with the stored scales.
  static void quantize_ref(const float* x, std::size_t nblocks, std::uint8_t* out) noexcept {
    std::uint8_t L[256], scratch[16];
    float w[16], scales[16], mins[16];
    for (std::size_t b = 0; b < nblocks; ++b, x += 256, out += 84) {
      float max_scale = 0, max_min = 0;
      for (int j = 0; j < 16; ++j) {
        for (int l = 0; l < 16; ++l) w[l] = std::fabs(x[16 * j + l]);
        scales[j] = make_qkx2_quants(16, 3, x + 16 * j, w, L + 16 * j, &mins[j], scratch, -0.5f, 0.1f, 15, true);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
      }
      std::uint8_t* sc = out;
      if (max_scale > 0) {
        const float iscale = 15.0f / max_scale;
        for (int j = 0; j < 16; ++j) sc[j] = static_cast<std::uint8_t>(nearest_int(iscale * scales[j]));
        store_half(out + 80, max_scale / 15.0f);
      } else {
        for (int j = 0; j < 16; ++j) sc[j] = 0;
        store_half(out + 80, 0.0f);
      }
      if (max_min > 0) {
        const float iscale = 15.0f / max_min;
        for (int j = 0; j < 16; ++j)
          sc[j] = static_cast<std::uint8_t>(sc[j] | (static_cast<unsigned>(nearest_int(iscale * mins[j])) << 4));
        store_half(out + 82, max_min / 15.0f);
      } else {
        store_half(out + 82, 0.0f);
      }
      requantize(x, out, L);
      pack_2bit(out + 16, L);
    }
  }

  /// Weights imp * sqrt(sigma^2 + x^2), sigma^2 = mean x^2 of the super-block;
  /// make_qkx3_quants(nmax 3, rmin -0.9, rdelta 0.05, 36 steps, squared error); scales and mins
  /// to 4 bits with make_qp_quants weighted by the sub-block weight sums.
  static void quantize_importance(const float* x, std::size_t n, std::uint8_t* out, const float* imp) noexcept {
    std::uint8_t L[256], scratch[16], Ls[16], Lm[16];
    float w[16], scales[16], mins[16], sw[16];
    for (std::size_t b = 0; b < n / 256; ++b, x += 256, imp += 256, out += 84) {
      float sumx2 = 0;
      for (int j = 0; j < 256; ++j) sumx2 += x[j] * x[j];
      const float sigma2 = sumx2 / 256.0f;
      for (int j = 0; j < 16; ++j) {
        for (int l = 0; l < 16; ++l) w[l] = imp[16 * j + l] * std::sqrt(sigma2 + x[16 * j + l] * x[16 * j + l]);
        sw[j] = 0;
        for (int l = 0; l < 16; ++l) sw[j] += w[l];
        scales[j] = make_qkx3_quants(16, 3, x + 16 * j, w, L + 16 * j, &mins[j], scratch, -0.9f, 0.05f, 36, false);
      }
      const float dm = make_qp_quants(16, 15, scales, Ls, sw);
      const float mm = make_qp_quants(16, 15, mins, Lm, sw);
      store_half(out + 80, dm);
      store_half(out + 82, mm);
      for (int j = 0; j < 16; ++j) out[j] = static_cast<std::uint8_t>(Ls[j] | (Lm[j] << 4));
      requantize(x, out, L);
      pack_2bit(out + 16, L);
    }
  }

  static void dequantize(const std::uint8_t* in, std::size_t nblocks, float* y) noexcept {
    scheme_dequantize<q2_k>(in, nblocks, y);
  }

  /// The block as kq2 stores it: uint4 scale and min codes, uint2 codes.
  static void read_fields(const std::uint8_t* in, block_fields& f) noexcept {
    f.d = load_le16(in + 80);
    f.dmin = load_le16(in + 82);
    for (int j = 0; j < 16; ++j) f.sc[j] = in[j] & 0x0f, f.mn[j] = static_cast<std::uint8_t>(in[j] >> 4);
    for (int i = 0; i < 256; ++i)
      f.q[i] = static_cast<std::uint8_t>((in[16 + 32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3);
  }
  static void write_fields(const block_fields& f, std::uint8_t* out) noexcept {
    for (int j = 0; j < 16; ++j) out[j] = static_cast<std::uint8_t>((f.sc[j] & 0x0f) | (f.mn[j] << 4));
    pack_2bit(out + 16, f.q);
    store_le16(out + 80, f.d);
    store_le16(out + 82, f.dmin);
  }

 private:
  // Codes of sub-blocks with a non-zero stored scale, from the stored (fp16, 4-bit) scale and min.
  static void requantize(const float* x, const std::uint8_t* blk, std::uint8_t* L) noexcept {
    const float d = load_half(blk + 80), dmin = load_half(blk + 82);
    for (int j = 0; j < 16; ++j) {
      const float dd = d * static_cast<float>(blk[j] & 0x0f);
      if (dd == 0.0f) continue;
      const float dm = dmin * static_cast<float>(blk[j] >> 4);
      for (int l = 0; l < 16; ++l) {
        const int q = nearest_int((x[16 * j + l] + dm) / dd);
        L[16 * j + l] = static_cast<std::uint8_t>(q < 0 ? 0 : (q > 3 ? 3 : q));
      }
    }
  }
};

}  // namespace detail
}  // namespace MIXQ_ISA_NS
}  // namespace mixq::ggml
MIXQ_GGML_EXACT_FP_END
