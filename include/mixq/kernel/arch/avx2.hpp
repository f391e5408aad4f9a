// AVX2 + FMA helpers: widening loads, 8/16-entry float table lookups (permutevar8x32 + blend),
// int8 dot products (AVX-VNNI when enabled, exact int16 widening otherwise), masked tails done
// with a scalar remainder. Compiled only when the TU enables AVX2 and FMA.
#pragma once
#include "generic.hpp"

#if !defined(MIXQ_KERNEL_FORCE_GENERIC) && defined(__AVX2__) && defined(__FMA__)
#define MIXQ_KERNEL_HAS_AVX2 1
#else
#define MIXQ_KERNEL_HAS_AVX2 0
#endif

#if MIXQ_KERNEL_HAS_AVX2
#include <immintrin.h>

#include <cmath>

MIXQ_BEGIN_NAMESPACE
namespace kernel_detail {
namespace avx2 {

inline float hsum(__m256 v) noexcept {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}
inline std::int32_t hsum_i32(__m256i v) noexcept {
  const __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  const __m128i t = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  return _mm_cvtsi128_si32(_mm_add_epi32(t, _mm_shuffle_epi32(t, 0xb1)));
}
/// 8 bytes -> 8 int32 lanes (zero-extended).
inline __m256i load8_u8(const std::uint8_t* p) noexcept {
  std::int64_t v;
  std::memcpy(&v, p, 8);
  return _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(v));
}

template <Scheme S>
struct lut_regs {
  static constexpr std::array<float, 16> make() noexcept {
    std::array<float, 16> t{};
    for (std::size_t i = 0; i < code_lut<S>::size && i < 16; ++i) t[i] = code_lut<S>::values[i];
    return t;
  }
  alignas(32) static constexpr std::array<float, 16> padded = make();
};

/// Code values of 8 codes (int32 lanes < 2^b).
template <Scheme S>
struct code_decoder {
  using L = code_lut<S>;
  __m256 lo, hi;
  code_decoder() noexcept {
    lo = _mm256_load_ps(lut_regs<S>::padded.data());
    hi = _mm256_load_ps(lut_regs<S>::padded.data() + 8);
  }
  __m256 operator()(__m256i q) const noexcept {
    if constexpr (L::bits <= 3) {
      return _mm256_permutevar8x32_ps(lo, q);
    } else if constexpr (L::bits == 4 && !L::integer) {
      const __m256 a = _mm256_permutevar8x32_ps(lo, q), b = _mm256_permutevar8x32_ps(hi, q);
      return _mm256_blendv_ps(a, b, _mm256_castsi256_ps(_mm256_slli_epi32(q, 28)));
    } else if constexpr (L::integer) {
      if constexpr (L::sign_flip != 0) {
        const __m256i f = _mm256_set1_epi32(L::sign_flip);
        return _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_xor_si256(q, f), f));
      } else {
        return _mm256_cvtepi32_ps(q);
      }
    } else {
      return _mm256_i32gather_ps(L::values.data(), q, 4);
    }
  }
};

}  // namespace avx2

inline void copy_bytes(avx2_tag, void* dst, const void* src, std::size_t n) noexcept {
  auto* d = static_cast<std::uint8_t*>(dst);
  const auto* s = static_cast<const std::uint8_t*>(src);
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + i), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i)));
  for (; i < n; ++i) d[i] = s[i];
}

template <int B>
inline void unpack(avx2_tag, const std::uint8_t* stream, std::size_t c0, std::size_t n, std::uint8_t* out) noexcept {
  if constexpr (B == 8) {
    copy_bytes(avx2_tag{}, out, stream + c0, n);
  } else if constexpr (B == 4) {
    if (c0 % 2 != 0) return unpack_codes_scalar<4>(stream, c0, n, out);
    const std::uint8_t* p = stream + c0 / 2;
    const __m128i m4 = _mm_set1_epi8(0x0f);
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i / 2));
      const __m128i lo = _mm_and_si128(v, m4), hi = _mm_and_si128(_mm_srli_epi16(v, 4), m4);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm_unpacklo_epi8(lo, hi));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i + 16), _mm_unpackhi_epi8(lo, hi));
    }
    if (i < n) unpack_codes_scalar<4>(stream, c0 + i, n - i, out + i);
  } else {
    unpack_codes_scalar<B>(stream, c0, n, out);
  }
}

template <Scheme S>
inline void dequant_unit(avx2_tag, const std::uint8_t* idx, std::size_t n, float s, float z, float* out) noexcept {
  const avx2::code_decoder<S> dec;
  const __m256 vs = _mm256_set1_ps(s), vz = _mm256_set1_ps(z);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = dec(avx2::load8_u8(idx + i));
    if constexpr (S::has_min) {  // mins after scaling: s * q - m, two roundings
      _mm256_storeu_ps(out + i, _mm256_sub_ps(_mm256_mul_ps(vs, v), vz));
      continue;
    } else if constexpr (S::is_asymmetric) {
      v = _mm256_sub_ps(v, vz);
    }
    _mm256_storeu_ps(out + i, _mm256_mul_ps(vs, v));
  }
  (void)vz;
  if (i < n) dequant_unit<S>(generic_tag{}, idx + i, n - i, s, z, out + i);
}

inline float dot(avx2_tag, const float* a, const float* b, std::size_t n) noexcept {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), a1);
    a2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), a2);
    a3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), a3);
  }
  for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), a0);
  float acc = avx2::hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  for (; i < n; ++i) acc = std::fma(a[i], b[i], acc);
  return acc;
}

inline std::int32_t dot_u8s8(avx2_tag, const std::uint8_t* u, const std::int8_t* q, std::size_t n) noexcept {
  __m256i acc = _mm256_setzero_si256();
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i a = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(u + i)));
    const __m256i b = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + i)));
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(a, b));
  }
  std::int32_t r = avx2::hsum_i32(acc);
  for (; i < n; ++i) r += static_cast<std::int32_t>(u[i]) * q[i];
  return r;
}

template <Scheme S>
inline void map_u8(avx2_tag, std::uint8_t* idx, std::size_t n) noexcept {
  using Q = q8_codes<S>;
  if constexpr (S::is_asymmetric) {
    (void)idx, (void)n;
  } else if constexpr ((code_lut<S>::integer && Q::offset == code_lut<S>::sign_flip) || Q::size <= 16) {
    alignas(16) std::uint8_t t[16] = {};
    for (std::size_t q = 0; q < Q::size && q < 16; ++q) t[q] = Q::u8[q];
    const __m256i lut = _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(t)));
    const __m256i f = _mm256_set1_epi8(static_cast<char>(Q::offset));
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(idx + i));
      const __m256i r = Q::size <= 16 ? _mm256_shuffle_epi8(lut, v) : _mm256_xor_si256(v, f);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(idx + i), r);
    }
    map_u8<S>(generic_tag{}, idx + i, n - i);
  } else {
    map_u8<S>(generic_tag{}, idx, n);
  }
}

// ---- fused exact GEMV for 4-bit codes ----------------------------------------------------
namespace avx2 {
/// The 16 reference weights of a unit, s (v - z) or (mins) s v - m, as two 8-entry halves.
template <Scheme S>
inline void unit_weights(float s, float z, __m256& lo, __m256& hi) noexcept {
  const __m256 sv = _mm256_set1_ps(s), zv = _mm256_set1_ps(z);
  __m256 a = _mm256_load_ps(lut_regs<S>::padded.data()), b = _mm256_load_ps(lut_regs<S>::padded.data() + 8);
  if constexpr (S::has_min) {  // never fused: the reference's two roundings
    a = _mm256_sub_ps(_mm256_mul_ps(a, sv), zv), b = _mm256_sub_ps(_mm256_mul_ps(b, sv), zv);
  } else if constexpr (S::is_asymmetric) {
    a = _mm256_mul_ps(_mm256_sub_ps(a, zv), sv), b = _mm256_mul_ps(_mm256_sub_ps(b, zv), sv);
  } else {
    (void)zv;
    a = _mm256_mul_ps(a, sv), b = _mm256_mul_ps(b, sv);
  }
  lo = a, hi = b;
}
/// Table lookup of 8 codes (bits 0-3 of each lane; bits above are ignored except bit 3's sign trick).
inline __m256 lookup16(__m256 lo, __m256 hi, __m256i q) noexcept {
  return _mm256_blendv_ps(_mm256_permutevar8x32_ps(lo, q), _mm256_permutevar8x32_ps(hi, q),
                          _mm256_castsi256_ps(_mm256_slli_epi32(q, 28)));
}

/// R rows of a 4-bit scheme with units of a multiple of 32 columns (or whole rows), K % 32 == 0:
/// every weight is the reference weight from the unit's table, one FMA each. xp: x with each
/// 32 columns as [even, odd] (byte L of a chunk holds columns 2L and 2L + 1).
template <Scheme S, int R>
inline void gemv4_rows(const quantized_matrix_view<S>& m, std::size_t r, const float* xp, std::size_t K,
                       std::size_t ul, std::size_t nu, const float* s, const float* z, float* out) noexcept {
  const std::uint8_t* row[R];
  __m256 acc[R][2];
  MIXQ_UNROLL for (int i = 0; i < R; ++i) {
    row[i] = m.codes(r + static_cast<std::size_t>(i));
    acc[i][0] = acc[i][1] = _mm256_setzero_ps();
  }
  const std::size_t ahead = R * m.layout.code_row_bytes;
  const std::size_t ulen = ul < K ? ul : K;
  for (std::size_t u = 0, c0 = 0; c0 < K; ++u, c0 += ulen) {
    __m256 tlo[R], thi[R];
    MIXQ_UNROLL for (int i = 0; i < R; ++i)
      unit_weights<S>(s[static_cast<std::size_t>(i) * nu + u], z[static_cast<std::size_t>(i) * nu + u], tlo[i], thi[i]);
    for (std::size_t c = c0; c < c0 + ulen; c += 32) {
      if (c % 128 == 0) {  // the next row block, at this column (as the AVX-512 kernels do)
        MIXQ_UNROLL for (int i = 0; i < R; ++i)
          _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<std::uintptr_t>(row[i]) + ahead + c / 2), _MM_HINT_T0);
      }
      MIXQ_UNROLL for (int i = 0; i < R; ++i) {
        MIXQ_UNROLL for (int h = 0; h < 2; ++h) {  // bytes 8h .. 8h + 7: columns 16h + 2L (+1)
          const __m256i t = load8_u8(row[i] + c / 2 + 8 * static_cast<std::size_t>(h));
          const float* xe = xp + c + 8 * static_cast<std::size_t>(h);
          acc[i][0] = _mm256_fmadd_ps(lookup16(tlo[i], thi[i], t), _mm256_loadu_ps(xe), acc[i][0]);
          acc[i][1] = _mm256_fmadd_ps(lookup16(tlo[i], thi[i], _mm256_srli_epi32(t, 4)), _mm256_loadu_ps(xe + 16), acc[i][1]);
        }
      }
    }
  }
  MIXQ_UNROLL for (int i = 0; i < R; ++i) out[i] = hsum(_mm256_add_ps(acc[i][0], acc[i][1]));
}
}  // namespace avx2

/// AVX2 fused GEMV: 4-bit codes with units of a multiple of 32 columns (or whole rows) and
/// K % 32 == 0; false otherwise (the portable path runs).
template <Scheme S>
inline bool gemv_fused(avx2_tag, const quantized_matrix_view<S>& m, const float* x, float* y, std::size_t r0,
                       std::size_t r1) {
  if constexpr (S::code_bits != 4) {
    (void)m, (void)x, (void)y, (void)r0, (void)r1;
    return false;
  } else {
    constexpr bool whole_row = S::is_per_tensor || S::is_per_channel;
    const std::size_t K = m.cols(), ul = unit_len(m.layout), nu = S::is_per_tensor ? 1 : K / ul;
    if (K == 0 || K % 32 != 0 || (!whole_row && ul % 32 != 0)) return false;
    float* xp = scratch_as<float>(3, K);
    for (std::size_t c = 0; c < K; c += 32)
      for (std::size_t l = 0; l < 16; ++l) xp[c + l] = x[c + 2 * l], xp[c + 16 + l] = x[c + 2 * l + 1];
    float* sz = scratch_as<float>(4, 8 * nu);
    float out[4];
    std::size_t r = r0;
    for (; r + 4 <= r1; r += 4) {
      for (std::size_t i = 0; i < 4; ++i) row_scales(m, r + i, sz + i * nu, sz + (4 + i) * nu);
      avx2::gemv4_rows<S, 4>(m, r, xp, K, ul, nu, sz, sz + 4 * nu, out);
      for (std::size_t i = 0; i < 4; ++i) y[r + i] = out[i];
    }
    for (; r < r1; ++r) {
      row_scales(m, r, sz, sz + nu);
      avx2::gemv4_rows<S, 1>(m, r, xp, K, ul, nu, sz, sz + nu, out);
      y[r] = out[0];
    }
    return true;
  }
}

}  // namespace kernel_detail
MIXQ_END_NAMESPACE
#endif  // MIXQ_KERNEL_HAS_AVX2
