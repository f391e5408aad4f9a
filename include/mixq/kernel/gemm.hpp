// gemm: Y = X W^T for N activation rows, exact path. X is N x K row-major (stride ldx), Y is
// N x M row-major (stride ldy). Tiles of W are dequantized (bit-identical to the reference),
// packed into panels of MR rows ([k][MR], in L2) and multiplied by an fp32 FMA micro-kernel;
// the dequantization is paid once per tile and shared by all N rows.
//
// Error bound (tested): |Y_nr - sum_c w_rc X_nc| <= (K + 2) u sum_c |w_rc X_nc| + (2K) 2^-149,
// u = 2^-24 (the weights are exact; only the fp32 sum rounds).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "check.hpp"
#include "dequantize.hpp"
#include "gemv.hpp"
#include "isa.hpp"

MIXQ_BEGIN_NAMESPACE
namespace kernel_detail {

// ---- portable micro-kernel: MR = 8 weight rows, NR = 4 activation rows -------------------
constexpr std::size_t gemm_mr(generic_tag) noexcept { return 8; }
constexpr std::size_t gemm_nr(generic_tag) noexcept { return 4; }

/// panel[k * MR + i] = rows[i * ld + k] for i < mm, 0 for mm <= i < MR.
inline void gemm_pack(generic_tag, const float* rows, std::size_t ld, std::size_t mm, std::size_t kc, float* panel) noexcept {
  constexpr std::size_t MR = 8;
  for (std::size_t k = 0; k < kc; ++k)
    for (std::size_t i = 0; i < MR; ++i) panel[k * MR + i] = i < mm ? rows[i * ld + k] : 0.0f;
}

/// Y[n][i] (+)= sum_k X[n][k] panel[k][i] for n < nn, i < mm.
inline void gemm_micro(generic_tag, const float* panel, std::size_t kc, const float* X, std::size_t ldx, std::size_t nn,
                       float* Y, std::size_t ldy, std::size_t mm, bool accumulate) noexcept {
  constexpr std::size_t MR = 8, NR = 4;
  float acc[NR][MR] = {};
  for (std::size_t k = 0; k < kc; ++k)
    for (std::size_t n = 0; n < nn; ++n) {
      const float xv = X[n * ldx + k];
      for (std::size_t i = 0; i < MR; ++i) acc[n][i] += xv * panel[k * MR + i];
    }
  for (std::size_t n = 0; n < nn; ++n)
    for (std::size_t i = 0; i < mm; ++i) Y[n * ldy + i] = (accumulate ? Y[n * ldy + i] : 0.0f) + acc[n][i];
}

// kc x mc: the packed panels (256 KiB) stay in L2. Each kc-slice re-reads and re-writes the
// output block, so a longer slice means fewer passes over Y: 512 against 256 columns measured
// +6% at N = 512 (4096 x 4096, 2 threads) and no change at N = 64.
inline constexpr std::size_t gemm_kc = 512;
inline constexpr std::size_t gemm_mc = 128;
inline constexpr std::size_t gemm_small_n = 32;

/// Columns [c0, c0 + kc) of N activation rows copied to rows of stride kc + 16 (scratch slot):
/// engines' rows are often a multiple of 4 KiB apart, and then the micro-kernel's NR activation
/// rows all map to one L1 set and evict each other and the weight panel (measured on Zen 5: a
/// 12 x 32 kernel over four panels at 153 GFLOP/s with rows 16 KiB apart, 196 with rows 16 KiB
/// + 64 B apart). The copy costs N kc floats per slice, against N kc M FMAs.
template <class Tag>
inline const float* gemm_copy_x(Tag t, const float* X, std::size_t N, std::size_t ldx, std::size_t c0, std::size_t kc,
                                std::size_t slot, std::size_t& ldp) {
  ldp = kc + 16;
  float* xp = scratch_as<float>(slot, N * ldp);
  for (std::size_t n = 0; n < N; ++n) copy_bytes(t, xp + n * ldp, X + n * ldx + c0, kc * sizeof(float));
  return xp;
}

/// Fused small-N paths: false when there is none for this scheme / shape / arch.
template <Scheme S>
inline bool gemm_fused(generic_tag, const quantized_matrix_view<S>&, const float*, std::size_t, std::size_t, float*,
                       std::size_t, std::size_t, std::size_t) {
  return false;
}

template <Scheme S, class Tag>
inline void gemm_rows(Tag t, const quantized_matrix_view<S>& m, const float* X, std::size_t N, std::size_t ldx, float* Y,
                      std::size_t ldy, std::size_t r0, std::size_t r1) {
  if (N == 1) return gemv_rows<S>(t, m, X, Y, r0, r1);
  if (gemm_fused<S>(t, m, X, N, ldx, Y, ldy, r0, r1)) return;
  constexpr std::size_t MR = gemm_mr(Tag{}), NR = gemm_nr(Tag{});
  const std::size_t K = m.cols();
  std::uint8_t* idx = scratch_as<std::uint8_t>(0, gemm_kc);
  float* rows = scratch_as<float>(1, MR * gemm_kc);
  float* panels = scratch_as<float>(2, gemm_mc * gemm_kc);
  constexpr std::size_t B = S::code_bits;
  auto pack = [&](std::size_t m0, std::size_t mm, std::size_t kc0, std::size_t kc, float* panel) {
    for (std::size_t i = 0; i < mm; ++i) {
      // The same columns of the next panel's rows: this walk is page-strided (see prefetch_bytes).
      if (m0 + i + MR < r1) prefetch_bytes(m.codes(m0 + i + MR) + kc0 * B / 8, (kc * B + 7) / 8);
      dequant_segment(t, m, m0 + i, kc0, kc0 + kc, idx, rows + i * gemm_kc);
    }
    gemm_pack(t, rows, gemm_kc, mm, kc, panel);
  };
  if (N <= gemm_small_n) {
    // Few activation rows: X stays in L2; walk MR weight rows at a time along K so each code
    // row is read as one sequential stream.
    std::uint8_t* codes = scratch_as<std::uint8_t>(3, MR * K);
    std::size_t ldp;
    const float* xp = gemm_copy_x(t, X, N, ldx, 0, K, 4, ldp);
    for (std::size_t m0 = r0; m0 < r1; m0 += MR) {
      const std::size_t mm = min_sz(MR, r1 - m0);
      for (std::size_t i = 0; i < mm; ++i) unpack<S::code_bits>(t, m.codes(m0 + i), 0, K, codes + i * K);
      for (std::size_t kc0 = 0; kc0 < K; kc0 += gemm_kc) {
        const std::size_t kc = min_sz(gemm_kc, K - kc0);
        for (std::size_t i = 0; i < mm; ++i)
          dequant_from_idx(t, m, m0 + i, kc0, kc0 + kc, codes + i * K + kc0, rows + i * gemm_kc);
        gemm_pack(t, rows, gemm_kc, mm, kc, panels);
        for (std::size_t n0 = 0; n0 < N; n0 += NR)
          gemm_micro(t, panels, kc, xp + n0 * ldp + kc0, ldp, min_sz(NR, N - n0), Y + n0 * ldy + m0, ldy, mm, kc0 > 0);
      }
    }
    return;
  }
  // Many activation rows: a kc-slice of X stays in L2 while gemm_mc weight rows are packed once
  // and multiplied with every activation row.
  for (std::size_t kc0 = 0; kc0 < K; kc0 += gemm_kc) {
    const std::size_t kc = min_sz(gemm_kc, K - kc0);
    std::size_t ldp;
    const float* xp = gemm_copy_x(t, X, N, ldx, kc0, kc, 4, ldp);
    for (std::size_t mc0 = r0; mc0 < r1; mc0 += gemm_mc) {
      const std::size_t mc = min_sz(gemm_mc, r1 - mc0);
      const std::size_t np = (mc + MR - 1) / MR;
      for (std::size_t p = 0; p < np; ++p) pack(mc0 + p * MR, min_sz(MR, mc - p * MR), kc0, kc, panels + p * kc * MR);
      for (std::size_t n0 = 0; n0 < N; n0 += NR) {
        const std::size_t nn = min_sz(NR, N - n0);
        for (std::size_t p = 0; p < np; ++p)
          gemm_micro(t, panels + p * kc * MR, kc, xp + n0 * ldp, ldp, nn, Y + n0 * ldy + mc0 + p * MR, ldy,
                     min_sz(MR, mc - p * MR), kc0 > 0);
      }
    }
  }
}

}  // namespace kernel_detail

/// Y[n][r] = sum_c X[n][c] W[r][c] for n < N and rows r in [r0, r1). X: N x cols() row-major
/// with row stride ldx >= cols(); Y: N x rows() row-major with row stride ldy >= rows(); only
/// columns [r0, r1) of Y are written. Exact path (fp32 activations).
template <Scheme S>
void gemm(const quantized_matrix_view<S>& m, const float* X, std::size_t N, std::size_t ldx, float* Y, std::size_t ldy,
          std::size_t r0, std::size_t r1) {
  kernel_detail::check_rows("mixq::gemm", m, r0, r1);
  if (r0 == r1 || N == 0) return;
  kernel_detail::check_ptr("mixq::gemm", "X", X);
  kernel_detail::check_ptr("mixq::gemm", "Y", Y);
  kernel_detail::check_ld("mixq::gemm", "ldx", ldx, m.cols());
  kernel_detail::check_ld("mixq::gemm", "ldy", ldy, m.rows());
  kernel_detail::gemm_rows<S>(kernel_detail::best_tag{}, m, X, N, ldx, Y, ldy, r0, r1);
}
template <Scheme S>
void gemm(const quantized_matrix_view<S>& m, const float* X, std::size_t N, std::size_t ldx, float* Y, std::size_t ldy) {
  gemm(m, X, N, ldx, Y, ldy, 0, m.rows());
}

MIXQ_END_NAMESPACE
