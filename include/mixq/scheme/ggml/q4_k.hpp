// ggml Q4_K (FORMATS.md 7.10): 256 values in 144 bytes.
#pragma once
#include "block_fields.hpp"

MIXQ_GGML_EXACT_FP_BEGIN
namespace mixq::ggml {

/// Q4_K: 8 sub-blocks of 32. Offset 0 fp16 d, offset 2 fp16 dmin, offset 4, 12 bytes B holding
/// eight 6-bit scales sc_j and mins m_j (j < 4: sc = B[j] & 63, m = B[j+4] & 63; j >= 4:
/// sc = (B[j+4] & 15) | (B[j-4] >> 6) << 4, m = (B[j+4] >> 4) | (B[j] >> 6) << 4); offset 16,
/// 128 bytes of codes (value i: byte 32 (i / 64) + i % 32, low nibble if i % 64 < 32).
/// x = (d * sc_j) * q - (dmin * m_j).
struct q4_k {
  static constexpr std::size_t block_elems = 256;
  static constexpr std::size_t block_bytes = 144;
  static constexpr int type_id = 12;  ///< GGML_TYPE_Q4_K
  static constexpr const char* name = "q4_K";
  static constexpr bool takes_importance = true;
  using scheme = ::mixq::kq4;  ///< the same values as a mixq scheme (to_matrix / from_matrix)
};

inline namespace MIXQ_ISA_NS {
namespace detail {

/// The Q4_K/Q5_K 12-byte scale block: (scale, min) of sub-block j, 6 bits each.
inline void get_scale_min_k4(int j, const std::uint8_t* B, int& sc, int& m) noexcept {
  if (j < 4) {
    sc = B[j] & 63;
    m = B[j + 4] & 63;
  } else {
    sc = (B[j + 4] & 0x0f) | ((B[j - 4] >> 6) << 4);
    m = (B[j + 4] >> 4) | ((B[j] >> 6) << 4);
  }
}
/// Stores (ls, lm) of sub-block j; call for j = 0..7 in order on zeroed bytes.
inline void put_scale_min_k4(int j, std::uint8_t* B, std::uint8_t ls, std::uint8_t lm) noexcept {
  if (j < 4) {
    B[j] = ls;
    B[j + 4] = lm;
  } else {
    B[j + 4] = static_cast<std::uint8_t>((ls & 0x0f) | ((lm & 0x0f) << 4));
    B[j - 4] = static_cast<std::uint8_t>(B[j - 4] | ((ls >> 4) << 6));
    B[j] = static_cast<std::uint8_t>(B[j] | ((lm >> 4) << 6));
  }
}

/// The K-quant affine blocks (Q4_K nmax 15, Q5_K nmax 31): sub-block fits, 6-bit scale/min
/// quantization and final re-rounding. Codes go to L[256]; the caller packs them.
template <int Nmax>
struct kquant_affine {
  // Reference: weights av + |x| (av = rms of the sub-block), make_qkx2_quants with the given
  // (rmin, nstep), rdelta 0.1, squared error; scales and mins rounded against their maxima.
  static void fit_ref(const float* x, std::uint8_t* blk, std::uint8_t* L, float rmin, int nstep) noexcept {
    float w[32], scales[8], mins[8];
    std::uint8_t scratch[32];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; ++j) {
      const float* xs = x + 32 * j;
      float sum_x2 = 0;
      for (int l = 0; l < 32; ++l) sum_x2 += xs[l] * xs[l];
      const float av = std::sqrt(sum_x2 / 32.0f);
      for (int l = 0; l < 32; ++l) w[l] = av + std::fabs(xs[l]);
      scales[j] = make_qkx2_quants(32, Nmax, xs, w, L + 32 * j, &mins[j], scratch, rmin, 0.1f, nstep, false);
      if (scales[j] > max_scale) max_scale = scales[j];
      if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
    const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
    std::uint8_t* B = blk + 4;
    for (int j = 0; j < 8; ++j) {
      const auto ls = static_cast<std::uint8_t>(nearest_int(inv_scale * scales[j]));
      const auto lm = static_cast<std::uint8_t>(nearest_int(inv_min * mins[j]));
      put_scale_min_k4(j, B, std::min<std::uint8_t>(63, ls), std::min<std::uint8_t>(63, lm));
    }
    store_half(blk, max_scale / 63.0f);
    store_half(blk + 2, max_min / 63.0f);
    requantize(x, blk, L);
  }

  // Importance: weights imp * sqrt(sigma^2 + x^2) (sigma^2 = 2 mean x^2 of the super-block),
  // make_qkx3_quants(rmin -0.9, rdelta 0.05, 36 steps); scales and mins by make_qp_quants(63)
  // weighted by the sub-block weight sums. `clamp63` mirrors Q5_K's extra (no-op) clamp.
  static void fit_importance(const float* x, const float* imp, std::uint8_t* blk, std::uint8_t* L,
                             bool clamp63) noexcept {
    float w[32], scales[8], mins[8], sw[8];
    std::uint8_t scratch[32], Ls[8], Lm[8];
    float sum_x2 = 0;
    for (int l = 0; l < 256; ++l) sum_x2 += x[l] * x[l];
    const float sigma2 = 2 * sum_x2 / 256.0f;
    for (int j = 0; j < 8; ++j) {
      const float* xs = x + 32 * j;
      for (int l = 0; l < 32; ++l) w[l] = imp[32 * j + l] * std::sqrt(sigma2 + xs[l] * xs[l]);
      float sumw = 0;
      for (int l = 0; l < 32; ++l) sumw += w[l];
      sw[j] = sumw;
      scales[j] = make_qkx3_quants(32, Nmax, xs, w, L + 32 * j, &mins[j], scratch, -0.9f, 0.05f, 36, false);
    }
    const float d_block = make_qp_quants(8, 63, scales, Ls, sw);
    const float m_block = make_qp_quants(8, 63, mins, Lm, sw);
    std::uint8_t* B = blk + 4;
    for (int j = 0; j < 8; ++j) {
      std::uint8_t ls = Ls[j], lm = Lm[j];
      if (clamp63) ls = std::min<std::uint8_t>(63, ls), lm = std::min<std::uint8_t>(63, lm);
      put_scale_min_k4(j, B, ls, lm);
    }
    store_half(blk, d_block);
    store_half(blk + 2, m_block);
    requantize(x, blk, L);
  }

  static void requantize(const float* x, const std::uint8_t* blk, std::uint8_t* L) noexcept {
    const float d_all = load_half(blk), dmin_all = load_half(blk + 2);
    for (int j = 0; j < 8; ++j) {
      int sc = 0, m = 0;
      get_scale_min_k4(j, blk + 4, sc, m);
      const float d = d_all * static_cast<float>(sc);
      if (d == 0.0f) continue;
      const float dm = dmin_all * static_cast<float>(m);
      for (int l = 0; l < 32; ++l) {
        const int q = nearest_int((x[32 * j + l] + dm) / d);
        L[32 * j + l] = static_cast<std::uint8_t>(q < 0 ? 0 : (q > Nmax ? Nmax : q));
      }
    }
  }

  // d, dmin and the eight (scale, min) codes of a block.
  static void read_scales(const std::uint8_t* blk, block_fields& f) noexcept {
    f.d = load_le16(blk);
    f.dmin = load_le16(blk + 2);
    for (int j = 0; j < 8; ++j) {
      int sc = 0, m = 0;
      get_scale_min_k4(j, blk + 4, sc, m);
      f.sc[j] = static_cast<std::uint8_t>(sc);
      f.mn[j] = static_cast<std::uint8_t>(m);
    }
  }
  static void write_scales(const block_fields& f, std::uint8_t* blk) noexcept {
    store_le16(blk, f.d);
    store_le16(blk + 2, f.dmin);
    std::uint8_t* B = blk + 4;
    for (int k = 0; k < 12; ++k) B[k] = 0;
    for (int j = 0; j < 8; ++j)
      put_scale_min_k4(j, B, static_cast<std::uint8_t>(f.sc[j] & 63), static_cast<std::uint8_t>(f.mn[j] & 63));
  }
};

template <>
struct ggml_codec<q4_k> {
  using fit = kquant_affine<15>;

  static void quantize_ref(const float* x, std::size_t nblocks, std::uint8_t* out) noexcept {
    std::uint8_t L[256];
    for (std::size_t b = 0; b < nblocks; ++b, x += 256, out += 144) {
      fit::fit_ref(x, out, L, -1.0f, 20);
      pack(out, L);
    }
  }
  static void quantize_importance(const float* x, std::size_t n, std::uint8_t* out, const float* imp) noexcept {
    std::uint8_t L[256];
    for (std::size_t b = 0; b < n / 256; ++b, x += 256, imp += 256, out += 144) {
      fit::fit_importance(x, imp, out, L, false);
      pack(out, L);
    }
  }
  static void dequantize(const std::uint8_t* in, std::size_t nblocks, float* y) noexcept {
    scheme_dequantize<q4_k>(in, nblocks, y);
  }
  /// The block as kq4 stores it: uint6 scale and min codes, uint4 codes.
  static void read_fields(const std::uint8_t* in, block_fields& f) noexcept {
    fit::read_scales(in, f);
    const std::uint8_t* qs = in + 16;
    for (int i = 0; i < 256; ++i) f.q[i] = (qs[32 * (i / 64) + i % 32] >> (i % 64 < 32 ? 0 : 4)) & 0x0f;
  }
  static void write_fields(const block_fields& f, std::uint8_t* out) noexcept {
    fit::write_scales(f, out);
    pack(out, f.q);
  }

 private:
  static void pack(std::uint8_t* blk, const std::uint8_t* L) noexcept {
    std::uint8_t* q = blk + 16;
    for (int g = 0; g < 256; g += 64, q += 32)
      for (int l = 0; l < 32; ++l) q[l] = static_cast<std::uint8_t>(L[g + l] | (L[g + l + 32] << 4));
  }
};

}  // namespace detail
}  // namespace MIXQ_ISA_NS
}  // namespace mixq::ggml
MIXQ_GGML_EXACT_FP_END
