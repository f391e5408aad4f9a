// ggml Q3_K (FORMATS.md 7.9): 256 values in 110 bytes.
#pragma once
#include <cstring>

#include "q2_k.hpp"

MIXQ_GGML_EXACT_FP_BEGIN
namespace mixq::ggml {

/// Q3_K: 16 sub-blocks of 16. Offset 0, 32 bytes hmask (bit i / 32 of byte i % 32 = high bit of
/// value i); offset 32, 64 bytes of low 2 bits (arranged as Q2_K); offset 96, 12 bytes holding
/// sixteen 6-bit scales u_j (low 4 bits: low nibble of byte j for j < 8, high nibble of byte j - 8
/// otherwise; high 2 bits: bits 2 (j / 4) of byte 8 + j % 4); offset 108 fp16 d.
/// x = (d * (u_j - 32)) * (low2 + 4 hbit - 4).
struct q3_k {
  static constexpr std::size_t block_elems = 256;
  static constexpr std::size_t block_bytes = 110;
  static constexpr int type_id = 11;  ///< GGML_TYPE_Q3_K
  static constexpr const char* name = "q3_K";
  static constexpr bool takes_importance = true;
  using scheme = ::mixq::kq3;  ///< the same values as a mixq scheme (to_matrix / from_matrix)
};

inline namespace MIXQ_ISA_NS {
namespace detail {

template <>
struct ggml_codec<q3_k> {
  /// Per sub-block make_q3_quants(nmax 4, coordinate descent); scales to signed 6 bits against the
  /// one of largest magnitude (d = that / -32); codes re-rounded with the stored scales.
  static void quantize_ref(const float* x, std::size_t nblocks, std::uint8_t* out) noexcept {
    std::int8_t L[256];
    float scales[16];
    for (std::size_t b = 0; b < nblocks; ++b, x += 256, out += 110) {
      float max_scale = 0, amax = 0;
      for (int j = 0; j < 16; ++j) {
        scales[j] = make_q3_quants(16, 4, x + 16 * j, L + 16 * j, true);
        const float a = std::fabs(scales[j]);
        if (a > amax) amax = a, max_scale = scales[j];
      }
      std::uint8_t* sc = out + 96;
      std::memset(sc, 0, 12);
      if (max_scale != 0.0f) {
        const float iscale = -32.0f / max_scale;
        for (int j = 0; j < 16; ++j) {
          int l = static_cast<std::int8_t>(nearest_int(iscale * scales[j]));
          l = (l < -32 ? -32 : (l > 31 ? 31 : l)) + 32;
          put_scale(sc, j, l);
        }
        store_half(out + 108, 1 / iscale);
      } else {
        store_half(out + 108, 0.0f);
      }
      finish(x, out, L);
    }
  }

  /// Weights imp * sqrt(sigma^2 + x^2), sigma^2 = 2 mean x^2 of the super-block; per sub-block
  /// make_qx_quants(nmax 4) with those weights; the 16 scales by make_qx_quants(nmax 32) weighted
  /// by the sub-block weight sums.
  static void quantize_importance(const float* x, std::size_t n, std::uint8_t* out, const float* imp) noexcept {
    std::int8_t L[256], Ls[16];
    float w[16], scales[16], sw[16];
    for (std::size_t b = 0; b < n / 256; ++b, x += 256, imp += 256, out += 110) {
      float sumx2 = 0;
      for (int j = 0; j < 256; ++j) sumx2 += x[j] * x[j];
      const float sigma2 = 2 * sumx2 / 256.0f;
      for (int j = 0; j < 16; ++j) {
        for (int l = 0; l < 16; ++l) w[l] = imp[16 * j + l] * std::sqrt(sigma2 + x[16 * j + l] * x[16 * j + l]);
        float sumw = 0;
        for (int l = 0; l < 16; ++l) sumw += w[l];
        sw[j] = sumw;
        scales[j] = make_qx_quants(16, 4, x + 16 * j, L + 16 * j, w);
      }
      std::uint8_t* sc = out + 96;
      std::memset(sc, 0, 12);
      const float d_block = make_qx_quants(16, 32, scales, Ls, sw);
      for (int j = 0; j < 16; ++j) put_scale(sc, j, Ls[j]);
      store_half(out + 108, d_block);
      finish(x, out, L);
    }
  }

  static void dequantize(const std::uint8_t* in, std::size_t nblocks, float* y) noexcept {
    scheme_dequantize<q3_k>(in, nblocks, y);
  }

  /// The block as kq3 stores it: int6 scale codes (two's complement of u - 32), int3 codes
  /// (two's complement of low2 + 4 hbit - 4).
  static void read_fields(const std::uint8_t* in, block_fields& f) noexcept {
    f.d = load_le16(in + 108);
    f.dmin = 0;
    for (int j = 0; j < 16; ++j) f.sc[j] = static_cast<std::uint8_t>(get_scale(in + 96, j) ^ 32), f.mn[j] = 0;
    for (int i = 0; i < 256; ++i) {
      const int low = (in[32 + 32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3;
      const int high = (in[i % 32] >> (i / 32)) & 1;
      f.q[i] = static_cast<std::uint8_t>((low | (high << 2)) ^ 4);
    }
  }
  static void write_fields(const block_fields& f, std::uint8_t* out) noexcept {
    std::memset(out, 0, 110);
    for (int j = 0; j < 16; ++j) put_scale(out + 96, j, (f.sc[j] & 63) ^ 32);
    std::int8_t L[256];
    for (int i = 0; i < 256; ++i) L[i] = static_cast<std::int8_t>((f.q[i] & 7) ^ 4);
    pack_codes(out, L);
    store_le16(out + 108, f.d);
  }

 private:
  static void put_scale(std::uint8_t* sc, int j, int u) noexcept {
    if (j < 8)
      sc[j] = static_cast<std::uint8_t>(u & 0x0f);
    else
      sc[j - 8] = static_cast<std::uint8_t>(sc[j - 8] | ((u & 0x0f) << 4));
    u >>= 4;
    sc[8 + j % 4] = static_cast<std::uint8_t>(sc[8 + j % 4] | (u << (2 * (j / 4))));
  }
  static int get_scale(const std::uint8_t* sc, int j) noexcept {
    const int low = j < 8 ? (sc[j] & 0x0f) : (sc[j - 8] >> 4);
    return low | (((sc[8 + j % 4] >> (2 * (j / 4))) & 3) << 4);
  }
  // Re-round the codes of sub-blocks whose stored scale is non-zero, then pack hmask and qs.
  static void finish(const float* x, std::uint8_t* blk, std::int8_t* L) noexcept {
    const float d_all = load_half(blk + 108);
    for (int j = 0; j < 16; ++j) {
      const auto s = static_cast<std::int8_t>(get_scale(blk + 96, j) - 32);
      const float d = d_all * static_cast<float>(s);
      if (d == 0.0f) continue;
      for (int l = 0; l < 16; ++l) {
        const int q = nearest_int(x[16 * j + l] / d);
        L[16 * j + l] = static_cast<std::int8_t>((q < -4 ? -4 : (q > 3 ? 3 : q)) + 4);
      }
    }
    pack_codes(blk, L);
  }
  // hmask and qs from the levels L[i] = q + 4 in 0..7.
  static void pack_codes(std::uint8_t* blk, const std::int8_t* L) noexcept {
    std::uint8_t low[256];
    std::memset(blk, 0, 32);
    for (int i = 0; i < 256; ++i) {
      int q = L[i];
      if (q > 3) {
        blk[i % 32] = static_cast<std::uint8_t>(blk[i % 32] | (1u << (i / 32)));
        q -= 4;
      }
      low[i] = static_cast<std::uint8_t>(q);
    }
    pack_2bit(blk + 32, low);
  }
};

}  // namespace detail
}  // namespace MIXQ_ISA_NS
}  // namespace mixq::ggml
MIXQ_GGML_EXACT_FP_END
