// Portable kernel helpers: plain C++ plus xsimd batches where xsimd has an architecture
// (SSE2, NEON); no intrinsics. Every per-arch helper in avx2.hpp / avx512.hpp overloads one of
// these on a more derived tag, so a missing fast version falls back here.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <xsimd/xsimd.hpp>

#include "../lut.hpp"
#include "../scratch.hpp"
#include "../unpack.hpp"

#if !defined(MIXQ_KERNEL_NO_XSIMD) && (XSIMD_WITH_SSE2 || XSIMD_WITH_NEON || XSIMD_WITH_NEON64)
#define MIXQ_KERNEL_XSIMD 1
#else
#define MIXQ_KERNEL_XSIMD 0
#endif

MIXQ_BEGIN_NAMESPACE
namespace kernel_detail {

/// Arch tags, most derived = best. A helper overloaded on generic_tag is the fallback for all.
struct generic_tag {
  static constexpr const char* name = "generic";
};
struct avx2_tag : generic_tag {
  static constexpr const char* name = "avx2";
};
struct avx512_tag : avx2_tag {
  static constexpr const char* name = "avx512";
};

// ---- copies of a few hundred bytes in the kernels' inner loops --------------------------
/// memcpy here; the SIMD tags use vector loops, because GCC expands a run-time-sized memcpy
/// inline as `rep movsq` under -mtune=generic (the dispatch TUs), which made the exact int8 GEMM
/// 13% slower (4096 x 4096, N = 64, 1 thread, on Zen 5).
inline void copy_bytes(generic_tag, void* dst, const void* src, std::size_t n) noexcept { std::memcpy(dst, src, n); }

/// Asks for the cache lines of [p, p + n) ahead of use (a hint: no effect on results, never
/// faults). For weight rows read a slice at a time: each row is its own page, so the hardware
/// prefetchers, which stop at page boundaries, never run ahead of such a walk.
MIXQ_ALWAYS_INLINE void prefetch_bytes(const void* p, std::size_t n) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  for (std::uintptr_t l = a & ~std::uintptr_t{63}; l < a + n; l += 64) __builtin_prefetch(reinterpret_cast<const void*>(l), 0, 2);
#else
  (void)p, (void)n;
#endif
}

// ---- codes -> one byte per code ---------------------------------------------------------
template <int B>
inline void unpack(generic_tag, const std::uint8_t* stream, std::size_t c0, std::size_t n, std::uint8_t* out) noexcept {
  unpack_codes_scalar<B>(stream, c0, n, out);
}

// ---- dequantize one unit segment: out[i] = s * (v(idx[i]) - z), the reference expression --
// K-quant mins: s * q - m with two roundings; contraction off so that no FMA fuses them.
MIXQ_EXACT_FP_BEGIN
inline void dequant_unit_sub_min(const float* lut, std::size_t mask, const std::uint8_t* idx, std::size_t n, float s,
                                 float m, float* out) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = s * lut[idx[i] & mask] - m;
}
MIXQ_EXACT_FP_END

template <Scheme S>
inline void dequant_unit(generic_tag, const std::uint8_t* idx, std::size_t n, float s, float z, float* out) noexcept {
  const float* lut = code_lut<S>::values.data();
  constexpr std::size_t mask = code_lut<S>::size - 1;
  if constexpr (S::has_min) {
    dequant_unit_sub_min(lut, mask, idx, n, s, z, out);
  } else if constexpr (S::is_asymmetric) {
    for (std::size_t i = 0; i < n; ++i) out[i] = s * (lut[idx[i] & mask] - z);
  } else {
    (void)z;
    for (std::size_t i = 0; i < n; ++i) out[i] = s * lut[idx[i] & mask];
  }
}

// ---- fp32 dot product -------------------------------------------------------------------
inline float dot(generic_tag, const float* a, const float* b, std::size_t n) noexcept {
  std::size_t i = 0;
  float acc = 0.0f;
#if MIXQ_KERNEL_XSIMD
  using batch = xsimd::batch<float>;
  constexpr std::size_t W = batch::size;
  batch a0(0.0f), a1(0.0f);
  for (; i + 2 * W <= n; i += 2 * W) {
    a0 = xsimd::fma(batch::load_unaligned(a + i), batch::load_unaligned(b + i), a0);
    a1 = xsimd::fma(batch::load_unaligned(a + i + W), batch::load_unaligned(b + i + W), a1);
  }
  acc = xsimd::hadd(a0 + a1);
#else
  float p[4] = {0, 0, 0, 0};
  for (; i + 4 <= n; i += 4)
    for (int j = 0; j < 4; ++j) p[j] += a[i + j] * b[i + j];
  acc = (p[0] + p[1]) + (p[2] + p[3]);
#endif
  for (; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

/// R rows of A (stride lda) against C columns of B (stride ldb) over n: out[r * C + c].
template <int R, int C>
inline void dot_block(generic_tag t, const float* a, std::size_t lda, const float* b, std::size_t ldb, std::size_t n,
                      float* out) noexcept {
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c)
      out[r * C + c] = dot(t, a + static_cast<std::size_t>(r) * lda, b + static_cast<std::size_t>(c) * ldb, n);
}

// ---- int8 activations -------------------------------------------------------------------
/// Block quantization of activations: q = rne(x * 127 / amax), scale amax / 127.
/// Returns the block's scale; writes codes and their sum.
inline float quantize_block_q8(generic_tag, const float* x, std::size_t n, std::int8_t* q, std::int32_t* sum) noexcept {
  float amax = 0.0f;
  for (std::size_t i = 0; i < n; ++i) {
    const float a = x[i] < 0 ? -x[i] : x[i];
    amax = a > amax || a != a ? a : amax;  // NaN propagates
  }
  std::int32_t s = 0;
  if (!(amax > 0.0f) || !detail::is_finite(amax)) {
    // all zero: codes 0, scale 0. Non-finite: codes 0, scale NaN so the block's outputs are NaN.
    std::memset(q, 0, n);
    *sum = 0;
    return amax == 0.0f ? 0.0f : amax - amax;
  }
  const float inv = 127.0f / amax;
  for (std::size_t i = 0; i < n; ++i) {
    int v = detail::round_to_int_rne(x[i] * inv);
    v = v > 127 ? 127 : (v < -127 ? -127 : v);
    q[i] = static_cast<std::int8_t>(v);
    s += v;
  }
  *sum = s;
  return amax / 127.0f;
}

/// Sum of u[i] * q[i] (u unsigned weight bytes, q int8 activations).
inline std::int32_t dot_u8s8(generic_tag, const std::uint8_t* u, const std::int8_t* q, std::size_t n) noexcept {
  std::int32_t acc = 0;
  for (std::size_t i = 0; i < n; ++i) acc += static_cast<std::int32_t>(u[i]) * q[i];
  return acc;
}

/// Map codes to the unsigned weight bytes of the int8 path (q8_codes<S>::u8), in place.
template <Scheme S>
inline void map_u8(generic_tag, std::uint8_t* idx, std::size_t n) noexcept {
  using Q = q8_codes<S>;
  if constexpr (S::is_asymmetric) {
    (void)idx, (void)n;  // u = q
  } else if constexpr (code_lut<S>::integer && Q::offset == code_lut<S>::sign_flip) {
    for (std::size_t i = 0; i < n; ++i) idx[i] = static_cast<std::uint8_t>(idx[i] ^ Q::offset);
  } else {
    for (std::size_t i = 0; i < n; ++i) idx[i] = Q::u8[idx[i] & (Q::size - 1)];
  }
}

// ---- int8 activations of N rows, block-quantized (shared by every arch) --------------------
template <Scheme S>
inline std::size_t q8_block(const matrix_layout<S>& l) noexcept {
  const bool whole_row = S::is_per_tensor || S::is_per_channel;
  const std::size_t ul = unit_len(l);
  if (whole_row || ul % 128 == 0) return 128;
  if (ul % 32 == 0) return 32;
  return ul;
}

/// Quantized activations of N rows: q[n * ldq + c], scale[n * nb + b], sum[n * nb + b].
struct q8_rows {
  std::int8_t* q;
  float* scale;
  std::int32_t* sum;
  std::size_t K, block, nb, ldq;
};

template <class Tag>
inline q8_rows quantize_rows_q8(Tag t, const float* X, std::size_t N, std::size_t ldx, std::size_t K, std::size_t block,
                                std::size_t slot) {
  q8_rows a{};
  a.K = K;
  a.block = block;
  a.nb = (K + block - 1) / block;
  a.ldq = (K + 63) / 64 * 64;
  const std::size_t qbytes = N * a.ldq, sbytes = N * a.nb * sizeof(float);
  auto* base = scratch_as<std::uint8_t>(slot, qbytes + 2 * sbytes + 128);
  a.q = reinterpret_cast<std::int8_t*>(base);
  a.scale = reinterpret_cast<float*>(base + (qbytes + 63) / 64 * 64);
  a.sum = reinterpret_cast<std::int32_t*>(base + (qbytes + 63) / 64 * 64 + (sbytes + 63) / 64 * 64);
  for (std::size_t n = 0; n < N; ++n)
    for (std::size_t b = 0; b < a.nb; ++b) {
      const std::size_t c0 = b * block, len = min_sz(block, K - c0);
      a.scale[n * a.nb + b] = quantize_block_q8(t, X + n * ldx + c0, len, a.q + n * a.ldq + c0, a.sum + n * a.nb + b);
    }
  return a;
}

}  // namespace kernel_detail
MIXQ_END_NAMESPACE
