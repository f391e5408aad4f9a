// Per-arch helpers of the ggml block kernels (kernel/ggml_rows.hpp). Those kernels decode a
// span of blocks into a common form: int8 codes q_c, and per 16 columns a scale a_j and (affine
// types) an offset b_j, so that the reference weight is w_c = a_j q_c - b_j. The helpers here
// work on that form only, so they are shared by all twelve block types:
//   ggml_dot16<R>     exact path: out_i = sum_j a_ij sum_{c in j} q_ic x_c          (fp32 x)
//   ggml_dot16_q8<R>  int8 path:  out_i = sum_j a_ij sx_j sum_{c in j} q_ic qx_c   (int8 x)
//   ggml_dequant16    w_c = a_j q_c - b_j, one rounding: bit-identical to ggml's dequantize_row
// R rows share the activation loads. n16 (the number of 16-column groups) is even.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "../../scheme/ggml.hpp"
#include "avx2.hpp"
#include "avx512.hpp"
#include "generic.hpp"

MIXQ_BEGIN_NAMESPACE
namespace kernel_detail {

// ---- portable ---------------------------------------------------------------------------
template <int R>
inline void ggml_dot16(generic_tag, const std::int8_t* const* q, const float* const* a, const float* x, std::size_t n16,
                       float* out) noexcept {
  for (int i = 0; i < R; ++i) {
    float acc = 0.0f;
    for (std::size_t j = 0; j < n16; ++j) {
      float s = 0.0f;
      for (std::size_t l = 0; l < 16; ++l) s += static_cast<float>(q[i][16 * j + l]) * x[16 * j + l];
      acc += a[i][j] * s;
    }
    out[i] = acc;
  }
}

template <int R>
inline void ggml_dot16_q8(generic_tag, const std::int8_t* const* q, const float* const* a, const float* sx,
                          const std::int8_t* qx, std::size_t n16, float* out) noexcept {
  for (int i = 0; i < R; ++i) {
    float acc = 0.0f;
    for (std::size_t j = 0; j < n16; ++j) {
      std::int32_t s = 0;
      for (std::size_t l = 0; l < 16; ++l) s += static_cast<std::int32_t>(q[i][16 * j + l]) * qx[16 * j + l];
      acc += (a[i][j] * sx[j]) * static_cast<float>(s);
    }
    out[i] = acc;
  }
}

/// b == nullptr: w = a q (symmetric types).
inline void ggml_dequant16(generic_tag, const std::int8_t* q, const float* a, const float* b, std::size_t n16,
                           float* out) noexcept {
  for (std::size_t j = 0; j < n16; ++j) {
    const float aj = a[j];
    if (b != nullptr) {
      const float bj = b[j];
      for (std::size_t l = 0; l < 16; ++l) out[16 * j + l] = aj * static_cast<float>(q[16 * j + l]) - bj;
    } else {
      for (std::size_t l = 0; l < 16; ++l) out[16 * j + l] = aj * static_cast<float>(q[16 * j + l]);
    }
  }
}

// ---- AVX2 + FMA ---------------------------------------------------------------------------
#if MIXQ_KERNEL_HAS_AVX2
namespace avx2 {
inline __m256 load8_i8_ps(const std::int8_t* p) noexcept {
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}
}  // namespace avx2

template <int R>
inline void ggml_dot16(avx2_tag, const std::int8_t* const* q, const float* const* a, const float* x, std::size_t n16,
                       float* out) noexcept {
  __m256 acc[R][2];
  MIXQ_UNROLL for (int i = 0; i < R; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
  for (std::size_t j = 0; j < n16; ++j) {
    const __m256 x0 = _mm256_loadu_ps(x + 16 * j), x1 = _mm256_loadu_ps(x + 16 * j + 8);
    MIXQ_UNROLL for (int i = 0; i < R; ++i) {
      const __m256 s = _mm256_broadcast_ss(a[i] + j);  // a q is exact: the products are the reference weights
      acc[i][0] = _mm256_fmadd_ps(_mm256_mul_ps(avx2::load8_i8_ps(q[i] + 16 * j), s), x0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(_mm256_mul_ps(avx2::load8_i8_ps(q[i] + 16 * j + 8), s), x1, acc[i][1]);
    }
  }
  MIXQ_UNROLL for (int i = 0; i < R; ++i) out[i] = avx2::hsum(_mm256_add_ps(acc[i][0], acc[i][1]));
}

/// |q| * sign(qx, q) with maddubs: pairs are at most 2 * 128 * 127 < 2^15, so nothing saturates.
template <int R>
inline void ggml_dot16_q8(avx2_tag, const std::int8_t* const* q, const float* const* a, const float* sx,
                          const std::int8_t* qx, std::size_t n16, float* out) noexcept {
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i lane2 = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
  __m256 acc[R];
  MIXQ_UNROLL for (int i = 0; i < R; ++i) acc[i] = _mm256_setzero_ps();
  for (std::size_t j = 0; j < n16; j += 2) {
    const __m256i xq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qx + 16 * j));
    const __m128 s2 = _mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(sx + j)));
    MIXQ_UNROLL for (int i = 0; i < R; ++i) {
      const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q[i] + 16 * j));
      const __m256i d = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(xq, w)), ones);
      const __m128 c = _mm_mul_ps(_mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(a[i] + j))), s2);
      const __m256 sc = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(c), lane2);
      acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d), sc, acc[i]);
    }
  }
  MIXQ_UNROLL for (int i = 0; i < R; ++i) out[i] = avx2::hsum(acc[i]);
}

inline void ggml_dequant16(avx2_tag, const std::int8_t* q, const float* a, const float* b, std::size_t n16,
                           float* out) noexcept {
  for (std::size_t j = 0; j < n16; ++j) {
    const __m256 s = _mm256_set1_ps(a[j]);
    const __m256 q0 = avx2::load8_i8_ps(q + 16 * j), q1 = avx2::load8_i8_ps(q + 16 * j + 8);
    if (b != nullptr) {  // a q is exact, so the fused a q - b rounds once, like the reference
      const __m256 o = _mm256_set1_ps(b[j]);
      _mm256_storeu_ps(out + 16 * j, _mm256_fmsub_ps(q0, s, o));
      _mm256_storeu_ps(out + 16 * j + 8, _mm256_fmsub_ps(q1, s, o));
    } else {
      _mm256_storeu_ps(out + 16 * j, _mm256_mul_ps(q0, s));
      _mm256_storeu_ps(out + 16 * j + 8, _mm256_mul_ps(q1, s));
    }
  }
}

// Block decoders with 128/256-bit integer ops (used by the AVX2 and the AVX-512 paths): a block
// into the common form (q, a, b) of ggml_rows.hpp, identical to the portable decoders there.
// `available` is false for types without one (the portable decoder runs).
namespace avx2 {
inline float half(const std::uint8_t* p) noexcept {
  std::uint16_t h;
  std::memcpy(&h, p, 2);
#if defined(__F16C__)
  return _cvtsh_ss(h);
#else
  return scale_decoder<fp16>::one(h);
#endif
}
/// out[j] = d * float(byte j) for 16 bytes (unsigned or signed), the reference's one product.
template <bool Signed>
inline void scaled16(__m128i v, float d, float* out) noexcept {
  const __m256 dv = _mm256_set1_ps(d);
  const __m128i v1 = _mm_unpackhi_epi64(v, v);
  const __m256i i0 = Signed ? _mm256_cvtepi8_epi32(v) : _mm256_cvtepu8_epi32(v);
  const __m256i i1 = Signed ? _mm256_cvtepi8_epi32(v1) : _mm256_cvtepu8_epi32(v1);
  _mm256_storeu_ps(out, _mm256_mul_ps(dv, _mm256_cvtepi32_ps(i0)));
  _mm256_storeu_ps(out + 8, _mm256_mul_ps(dv, _mm256_cvtepi32_ps(i1)));
}
/// 16 bytes -> low nibbles (values 0..15) and high nibbles (16..31 of a 32-value block).
inline void nibbles16(const std::uint8_t* p, __m128i& lo, __m128i& hi) noexcept {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), m4 = _mm_set1_epi8(0x0f);
  lo = _mm_and_si128(v, m4);
  hi = _mm_and_si128(_mm_srli_epi16(v, 4), m4);
}
/// Bit j of m (j < 16) -> 0x10 in byte j.
inline __m128i bits16_to_0x10(std::uint32_t m) noexcept {
  const __m128i sel = _mm_setr_epi8(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
  const __m128i b = _mm_shuffle_epi8(_mm_cvtsi32_si128(static_cast<int>(m)),
                                     _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
  return _mm_and_si128(_mm_cmpeq_epi8(_mm_and_si128(b, sel), sel), _mm_set1_epi8(0x10));
}
/// Bit k of every byte moved to bit 4 (0x10), other bits cleared.
inline __m256i bit_to_0x10(__m256i v, int k) noexcept {
  const __m256i t = k <= 4 ? _mm256_sll_epi16(v, _mm_cvtsi32_si128(4 - k)) : _mm256_srl_epi16(v, _mm_cvtsi32_si128(k - 4));
  return _mm256_and_si256(t, _mm256_set1_epi8(0x10));
}
inline void store32(std::int8_t* q, __m256i v) noexcept { _mm256_storeu_si256(reinterpret_cast<__m256i*>(q), v); }
inline void store16(std::int8_t* q, __m128i v) noexcept { _mm_storeu_si128(reinterpret_cast<__m128i*>(q), v); }
inline __m256i load32(const std::uint8_t* p) noexcept { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
/// The 2-bit fields of Q2_K / Q3_K (64 bytes): column 128 h + 32 g + l is bits 2g of byte 32 h + l.
inline void k_2bit(const std::uint8_t* qs, std::int8_t* q) noexcept {
  const __m256i m3 = _mm256_set1_epi8(3);
  for (int h = 0; h < 2; ++h) {
    const __m256i v = load32(qs + 32 * h);
    store32(q + 128 * h, _mm256_and_si256(v, m3));
    store32(q + 128 * h + 32, _mm256_and_si256(_mm256_srli_epi16(v, 2), m3));
    store32(q + 128 * h + 64, _mm256_and_si256(_mm256_srli_epi16(v, 4), m3));
    store32(q + 128 * h + 96, _mm256_and_si256(_mm256_srli_epi16(v, 6), m3));
  }
}
/// Q4_K / Q5_K: the 8 six-bit scales and mins, each repeated for its two 16-column groups.
inline void k4_scales(const std::uint8_t* in, float* a, float* b) noexcept {
  std::uint32_t u[3];
  std::memcpy(u, in + 4, 12);
  const std::uint32_t m6 = 0x3f3f3f3fu, m4 = 0x0f0f0f0fu, m2 = 0x03030303u;
  const std::uint64_t sc = (u[0] & m6) | (static_cast<std::uint64_t>((u[2] & m4) | (((u[0] >> 6) & m2) << 4)) << 32);
  const std::uint64_t mn = (u[1] & m6) | (static_cast<std::uint64_t>(((u[2] >> 4) & m4) | (((u[1] >> 6) & m2) << 4)) << 32);
  const __m128i dup = _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
  scaled16<false>(_mm_shuffle_epi8(_mm_cvtsi64_si128(static_cast<long long>(sc)), dup), half(in), a);
  scaled16<false>(_mm_shuffle_epi8(_mm_cvtsi64_si128(static_cast<long long>(mn)), dup), half(in + 2), b);
}
}  // namespace avx2

template <class T>
struct ggml_decoder_avx2 {
  static constexpr bool available = false;
};

template <>
struct ggml_decoder_avx2<ggml::q4_0> {
  static constexpr bool available = true;
  static void decode(const std::uint8_t* in, std::int8_t* q, float* a, float*) noexcept {
    a[0] = a[1] = avx2::half(in);
    __m128i lo, hi;
    avx2::nibbles16(in + 2, lo, hi);
    const __m128i e = _mm_set1_epi8(8);
    avx2::store16(q, _mm_sub_epi8(lo, e));
    avx2::store16(q + 16, _mm_sub_epi8(hi, e));
  }
};
template <>
struct ggml_decoder_avx2<ggml::q4_1> {
  static constexpr bool available = true;
  static void decode(const std::uint8_t* in, std::int8_t* q, float* a, float* b) noexcept {
    a[0] = a[1] = avx2::half(in);
    b[0] = b[1] = -avx2::half(in + 2);
    __m128i lo, hi;
    avx2::nibbles16(in + 4, lo, hi);
    avx2::store16(q, lo);
    avx2::store16(q + 16, hi);
  }
};
template <int Off>
struct ggml_decoder_avx2_q5 {
  static void codes(const std::uint8_t* qh4, const std::uint8_t* qs, std::int8_t* q) noexcept {
    std::uint32_t qh;
    std::memcpy(&qh, qh4, 4);
    __m128i lo, hi;
    avx2::nibbles16(qs, lo, hi);
    const __m128i e = _mm_set1_epi8(Off);
    avx2::store16(q, _mm_sub_epi8(_mm_or_si128(lo, avx2::bits16_to_0x10(qh & 0xffffu)), e));
    avx2::store16(q + 16, _mm_sub_epi8(_mm_or_si128(hi, avx2::bits16_to_0x10(qh >> 16)), e));
  }
};
template <>
struct ggml_decoder_avx2<ggml::q5_0> {
  static constexpr bool available = true;
  static void decode(const std::uint8_t* in, std::int8_t* q, float* a, float*) noexcept {
    a[0] = a[1] = avx2::half(in);
    ggml_decoder_avx2_q5<16>::codes(in + 2, in + 6, q);
  }
};
template <>
struct ggml_decoder_avx2<ggml::q5_1> {
  static constexpr bool available = true;
  static void decode(const std::uint8_t* in, std::int8_t* q, float* a, float* b) noexcept {
    a[0] = a[1] = avx2::half(in);
    b[0] = b[1] = -avx2::half(in + 2);
    ggml_decoder_avx2_q5<0>::codes(in + 4, in + 8, q);
  }
};
template <>
struct ggml_decoder_avx2<ggml::q8_0> {
  static constexpr bool available = true;
  static void decode(const std::uint8_t* in, std::int8_t* q, float* a, float*) noexcept {
    a[0] = a[1] = avx2::half(in);
    avx2::store32(q, avx2::load32(in + 2));
  }
};
/// 16-entry int8 codebooks (iq4_nl, mxfp4) through pshufb.
template <class T>
struct ggml_decoder_avx2_lut {
  static void codes(const std::uint8_t* qs, const std::int8_t* levels, std::int8_t* q) noexcept {
    const __m128i lut = _mm_loadu_si128(reinterpret_cast<const __m128i*>(levels));
    __m128i lo, hi;
    avx2::nibbles16(qs, lo, hi);
    avx2::store16(q, _mm_shuffle_epi8(lut, lo));
    avx2::store16(q + 16, _mm_shuffle_epi8(lut, hi));
  }
};
template <>
struct ggml_decoder_avx2<ggml::iq4_nl> {
  static constexpr bool available = true;
  static void decode(const std::uint8_t* in, std::int8_t* q, float* a, float*) noexcept {
    a[0] = a[1] = avx2::half(in);
    ggml_decoder_avx2_lut<ggml::iq4_nl>::codes(in + 2, ggml::iq4_nl_levels.data(), q);
  }
};
template <>
struct ggml_decoder_avx2<ggml::mxfp4> {
  static constexpr bool available = true;
  static void decode(const std::uint8_t* in, std::int8_t* q, float* a, float*) noexcept {
    a[0] = a[1] = ggml::detail::e8m0_half(in[0]);
    ggml_decoder_avx2_lut<ggml::mxfp4>::codes(in + 1, ggml::detail::mxfp4_levels, q);
  }
};
template <>
struct ggml_decoder_avx2<ggml::q2_k> {
  static constexpr bool available = true;
  static void decode(const std::uint8_t* in, std::int8_t* q, float* a, float* b) noexcept {
    const __m128i sc = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in)), m4 = _mm_set1_epi8(0x0f);
    avx2::scaled16<false>(_mm_and_si128(sc, m4), avx2::half(in + 80), a);
    avx2::scaled16<false>(_mm_and_si128(_mm_srli_epi16(sc, 4), m4), avx2::half(in + 82), b);
    avx2::k_2bit(in + 16, q);
  }
};
template <>
struct ggml_decoder_avx2<ggml::q3_k> {
  static constexpr bool available = true;
  static void decode(const std::uint8_t* in, std::int8_t* q, float* a, float*) noexcept {
    // 6-bit sub-scales: low nibbles from bytes 96..103, two high bits from bytes 104..107
    const std::uint8_t* sc = in + 96;
    const __m128i s8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(sc)), m4 = _mm_set1_epi8(0x0f);
    const __m128i low = _mm_unpacklo_epi64(_mm_and_si128(s8, m4), _mm_and_si128(_mm_srli_epi16(s8, 4), m4));
    std::uint32_t h;
    std::memcpy(&h, sc + 8, 4);
    const std::uint32_t m2 = 0x03030303u;
    const __m128i high = _mm_setr_epi32(static_cast<int>(h & m2), static_cast<int>((h >> 2) & m2),
                                        static_cast<int>((h >> 4) & m2), static_cast<int>((h >> 6) & m2));
    const __m128i s = _mm_sub_epi8(_mm_or_si128(low, _mm_slli_epi16(high, 4)), _mm_set1_epi8(32));
    avx2::scaled16<true>(s, avx2::half(in + 108), a);
    avx2::k_2bit(in + 32, q);
    const __m256i hm = avx2::load32(in), four = _mm256_set1_epi8(4), zero = _mm256_setzero_si256();
    for (int g = 0; g < 8; ++g) {  // high bit clear: code - 4
      const __m256i bit = _mm256_set1_epi8(static_cast<char>(1 << g));
      const __m256i clear = _mm256_cmpeq_epi8(_mm256_and_si256(hm, bit), zero);
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 32 * g));
      avx2::store32(q + 32 * g, _mm256_sub_epi8(v, _mm256_and_si256(clear, four)));
    }
  }
};
template <>
struct ggml_decoder_avx2<ggml::q4_k> {
  static constexpr bool available = true;
  static void decode(const std::uint8_t* in, std::int8_t* q, float* a, float* b) noexcept {
    avx2::k4_scales(in, a, b);
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    for (int c = 0; c < 4; ++c) {
      const __m256i v = avx2::load32(in + 16 + 32 * c);
      avx2::store32(q + 64 * c, _mm256_and_si256(v, m4));
      avx2::store32(q + 64 * c + 32, _mm256_and_si256(_mm256_srli_epi16(v, 4), m4));
    }
  }
};
template <>
struct ggml_decoder_avx2<ggml::q5_k> {
  static constexpr bool available = true;
  static void decode(const std::uint8_t* in, std::int8_t* q, float* a, float* b) noexcept {
    avx2::k4_scales(in, a, b);
    const __m256i m4 = _mm256_set1_epi8(0x0f), qh = avx2::load32(in + 16);
    for (int c = 0; c < 4; ++c) {
      const __m256i v = avx2::load32(in + 48 + 32 * c);
      avx2::store32(q + 64 * c, _mm256_or_si256(_mm256_and_si256(v, m4), avx2::bit_to_0x10(qh, 2 * c)));
      avx2::store32(q + 64 * c + 32,
                    _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v, 4), m4), avx2::bit_to_0x10(qh, 2 * c + 1)));
    }
  }
};
template <>
struct ggml_decoder_avx2<ggml::q6_k> {
  static constexpr bool available = true;
  static void decode(const std::uint8_t* in, std::int8_t* q, float* a, float*) noexcept {
    avx2::scaled16<true>(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 192)), avx2::half(in + 208), a);
    const __m256i m4 = _mm256_set1_epi8(0x0f), m3 = _mm256_set1_epi8(0x30), e = _mm256_set1_epi8(32);
    for (int h = 0; h < 2; ++h) {
      const __m256i l0 = avx2::load32(in + 64 * h), l1 = avx2::load32(in + 64 * h + 32);
      const __m256i qh = avx2::load32(in + 128 + 32 * h);
      std::int8_t* o = q + 128 * h;
      avx2::store32(o, _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m3)), e));
      avx2::store32(o + 32, _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m3)), e));
      avx2::store32(o + 64, _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(qh, m3)), e));
      avx2::store32(o + 96, _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), _mm256_and_si256(_mm256_srli_epi16(qh, 2), m3)), e));
    }
  }
};
#endif  // MIXQ_KERNEL_HAS_AVX2

// ---- AVX-512 --------------------------------------------------------------------------------
#if MIXQ_KERNEL_HAS_AVX512
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
namespace avx512 {
inline __m512 load16_i8_ps(const std::int8_t* p) noexcept {
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
}
/// Sum of |w| * (qx with the sign of w) over each 4 bytes: the int8 dot product w . qx per lane.
inline __m512i dot_s8s8(__m512i w, __m512i xq) noexcept {
  const __m512i aw = _mm512_abs_epi8(w);
  const __m512i sx = _mm512_mask_sub_epi8(xq, _mm512_movepi8_mask(w), _mm512_setzero_si512(), xq);
#if MIXQ_KERNEL_HAS_VNNI512
  return _mm512_dpbusd_epi32(_mm512_setzero_si512(), aw, sx);
#else
  return _mm512_madd_epi16(_mm512_maddubs_epi16(aw, sx), _mm512_set1_epi16(1));  // |pair| <= 32512: exact
#endif
}
}  // namespace avx512

template <int R>
inline void ggml_dot16(avx512_tag, const std::int8_t* const* q, const float* const* a, const float* x, std::size_t n16,
                       float* out) noexcept {
  __m512 acc[R][2];
  MIXQ_UNROLL for (int i = 0; i < R; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (std::size_t j = 0; j < n16; j += 2) {
    const __m512 x0 = _mm512_loadu_ps(x + 16 * j), x1 = _mm512_loadu_ps(x + 16 * j + 16);
    MIXQ_UNROLL for (int i = 0; i < R; ++i) {
      // a q is exact: the products are the reference weights
      const __m512 w0 = _mm512_mul_ps(avx512::load16_i8_ps(q[i] + 16 * j), _mm512_set1_ps(a[i][j]));
      const __m512 w1 = _mm512_mul_ps(avx512::load16_i8_ps(q[i] + 16 * j + 16), _mm512_set1_ps(a[i][j + 1]));
      acc[i][0] = _mm512_fmadd_ps(w0, x0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(w1, x1, acc[i][1]);
    }
  }
  MIXQ_UNROLL for (int i = 0; i < R; ++i) out[i] = avx512::hsum(_mm512_add_ps(acc[i][0], acc[i][1]));
}

template <int R>
inline void ggml_dot16_q8(avx512_tag, const std::int8_t* const* q, const float* const* a, const float* sx,
                          const std::int8_t* qx, std::size_t n16, float* out) noexcept {
  const __m512i lane4 = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
  __m512 acc[R];
  MIXQ_UNROLL for (int i = 0; i < R; ++i) acc[i] = _mm512_setzero_ps();
  std::size_t j = 0;
  for (; j + 4 <= n16; j += 4) {
    const __m512i xq = _mm512_loadu_si512(qx + 16 * j);
    const __m128 s4 = _mm_loadu_ps(sx + j);
    MIXQ_UNROLL for (int i = 0; i < R; ++i) {
      const __m512i d = avx512::dot_s8s8(_mm512_loadu_si512(q[i] + 16 * j), xq);
      const __m512 sc = _mm512_permutexvar_ps(lane4, _mm512_castps128_ps512(_mm_mul_ps(_mm_loadu_ps(a[i] + j), s4)));
      acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), sc, acc[i]);
    }
  }
  if (j < n16) {  // two groups (32 columns) left
    const __mmask64 kb = avx512::tail64(32);
    const __m512i xq = _mm512_maskz_loadu_epi8(kb, qx + 16 * j);
    const __m128 s4 = _mm_maskz_loadu_ps(0x3, sx + j);
    MIXQ_UNROLL for (int i = 0; i < R; ++i) {
      const __m512i d = avx512::dot_s8s8(_mm512_maskz_loadu_epi8(kb, q[i] + 16 * j), xq);
      const __m512 sc =
          _mm512_permutexvar_ps(lane4, _mm512_castps128_ps512(_mm_mul_ps(_mm_maskz_loadu_ps(0x3, a[i] + j), s4)));
      acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), sc, acc[i]);
    }
  }
  MIXQ_UNROLL for (int i = 0; i < R; ++i) out[i] = avx512::hsum(acc[i]);
}

inline void ggml_dequant16(avx512_tag, const std::int8_t* q, const float* a, const float* b, std::size_t n16,
                           float* out) noexcept {
  if (b != nullptr) {  // a q is exact, so the fused a q - b rounds once, like the reference
    for (std::size_t j = 0; j < n16; ++j)
      _mm512_storeu_ps(out + 16 * j,
                       _mm512_fmsub_ps(avx512::load16_i8_ps(q + 16 * j), _mm512_set1_ps(a[j]), _mm512_set1_ps(b[j])));
  } else {
    for (std::size_t j = 0; j < n16; ++j)
      _mm512_storeu_ps(out + 16 * j, _mm512_mul_ps(avx512::load16_i8_ps(q + 16 * j), _mm512_set1_ps(a[j])));
  }
}
// ---- direct exact GEMV on the block bytes (the commonest types) -------------------------
// The span decoder above goes through memory (int8 codes, per-16 scales); for ggml's 32-value
// blocks with one fp16 scale these kernels read the blocks in place and form every reference
// weight in registers: a 16-entry table of the block's weights per block for 4-bit codes
// (v(q) d; Q4_1: q d + m, two roundings as in ggml), q d for Q8_0, then one FMA per weight.
// The low nibbles are columns 0-15 of a block and the high nibbles 16-31, so x is read in place.
namespace avx512 {
template <class T>
struct ggml_direct {
  static constexpr bool ok = false;
};
template <>
struct ggml_direct<ggml::q4_0> {
  static constexpr bool ok = true, nibbles = true, has_min = false;
  static constexpr std::size_t qs = 2;
  alignas(64) static constexpr std::array<float, 16> values = [] {
    std::array<float, 16> v{};
    for (int q = 0; q < 16; ++q) v[static_cast<std::size_t>(q)] = static_cast<float>(q - 8);
    return v;
  }();
};
template <>
struct ggml_direct<ggml::iq4_nl> {
  static constexpr bool ok = true, nibbles = true, has_min = false;
  static constexpr std::size_t qs = 2;
  alignas(64) static constexpr std::array<float, 16> values = [] {
    std::array<float, 16> v{};
    for (std::size_t q = 0; q < 16; ++q) v[q] = static_cast<float>(ggml::iq4_nl_levels[q]);
    return v;
  }();
};
template <>
struct ggml_direct<ggml::q4_1> {
  static constexpr bool ok = true, nibbles = true, has_min = true;
  static constexpr std::size_t qs = 4;
  alignas(64) static constexpr std::array<float, 16> values = [] {
    std::array<float, 16> v{};
    for (int q = 0; q < 16; ++q) v[static_cast<std::size_t>(q)] = static_cast<float>(q);
    return v;
  }();
};
template <>
struct ggml_direct<ggml::q8_0> {
  static constexpr bool ok = true, nibbles = false, has_min = false;
  static constexpr std::size_t qs = 2;
};

inline __m512 ggml_half16(const std::uint8_t* p) noexcept {  // an fp16 field, broadcast
  std::uint16_t h;
  std::memcpy(&h, p, 2);
  return _mm512_set1_ps(_cvtsh_ss(h));
}

/// The 32 weights of a 4-bit block at blk, columns 0-15 (lo) and 16-31 (hi): a 16-entry table of
/// the block's weights v(q) d (Q4_1: q d + m, two roundings as in ggml), one vpermps per 16.
template <class T>
MIXQ_ALWAYS_INLINE void ggml_table_block(const std::uint8_t* blk, __m512& lo, __m512& hi) noexcept {
  using D = ggml_direct<T>;
  __m512 w = _mm512_mul_ps(_mm512_load_ps(D::values.data()), ggml_half16(blk));
  if constexpr (D::has_min) w = _mm512_add_ps(w, ggml_half16(blk + 2));
  const __m512i t = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + D::qs)));
  lo = _mm512_permutexvar_ps(t, w);
  hi = _mm512_permutexvar_ps(_mm512_srli_epi32(t, 4), w);
}

/// out[i * V + v] = sum_c w_ic x_vc for R rows of nblk blocks and V vectors (x_v at x + v ldx);
/// `ahead`: bytes to the next row block. One row (R = 1) when V > 1: the weights formed once
/// meet every vector.
template <class T, int R, int V = 1>
inline void ggml_direct_rows(const std::uint8_t* const* row, std::size_t nblk, std::size_t ahead, const float* x,
                             std::size_t ldx, float* out) noexcept {
  using D = ggml_direct<T>;
  constexpr std::size_t BB = T::block_bytes;
  __m512 acc[R][V][2];
  MIXQ_UNROLL for (int i = 0; i < R; ++i) MIXQ_UNROLL for (int v = 0; v < V; ++v) acc[i][v][0] = acc[i][v][1] = _mm512_setzero_ps();
  for (std::size_t b = 0; b < nblk; ++b) {
    const std::size_t off = b * BB;
    if (off % 64 < BB) prefetch_rows<R>(row, ahead, off);  // once a line
    MIXQ_UNROLL for (int i = 0; i < R; ++i) {
      const std::uint8_t* blk = row[i] + off;
      __m512 lo, hi;
      if constexpr (D::nibbles) {
        ggml_table_block<T>(blk, lo, hi);
      } else {
        const __m512 d = ggml_half16(blk);
        const auto* q = reinterpret_cast<const std::int8_t*>(blk + D::qs);
        lo = _mm512_mul_ps(load16_i8_ps(q), d);
        hi = _mm512_mul_ps(load16_i8_ps(q + 16), d);
      }
      MIXQ_UNROLL for (int v = 0; v < V; ++v) {
        const float* xv = x + static_cast<std::size_t>(v) * ldx + 32 * b;
        acc[i][v][0] = _mm512_fmadd_ps(lo, _mm512_loadu_ps(xv), acc[i][v][0]);
        acc[i][v][1] = _mm512_fmadd_ps(hi, _mm512_loadu_ps(xv + 16), acc[i][v][1]);
      }
    }
  }
  hsums(acc, out);
}

/// Symmetric 4-bit types with 18-byte blocks (Q4_0, IQ4_NL), four blocks (128 columns) per
/// step: the 4 x 16 code bytes gathered into one register by a word permute (block j in 128-bit
/// lane j; the blocks start on even bytes), the four fp16 scales by a second one and one
/// conversion. Nibble t of 32-bit lane l is column 32 (l / 4) + 4 (l % 4) + t / 2 + 16 (t % 2)
/// of the step, so 8 shifts give 8 vectors of 16 codes, each one vpermps from the type's
/// values and one FMA with x in that order (ggml_lanes_permute_x); the lanes are scaled by
/// their block's d after the 8 FMAs. Per 128 columns: 2 permutes and a conversion instead of 4
/// scalar scale loads, conversions, broadcasts and table products, and 4 widening loads.
/// Weights are d v(q) as in ggml; the sum is taken as sum_b d_b sum_c v(q_c) x_c, the order the
/// exact-path bound covers.
template <class T>
inline constexpr bool ggml_lanes4 = std::is_same_v<T, ggml::q4_0> || std::is_same_v<T, ggml::iq4_nl>;

/// x of the whole 128-column steps in ggml_lanes4 order (the columns past them in place): output
/// t = 2 k + h, lane 4 a + m is x[32 a + 16 h + 4 m + k], i.e. element 4 m + k of input vector
/// (a, h) -- per h a 4 x 4 transpose of 4-float groups, two rounds of vpermt2ps (gathers were
/// a microsecond per 4096 columns, as much as a 7-row GEMV).
inline void ggml_lanes_permute_x(const float* x, std::size_t K, float* xp) noexcept {
  struct idx {
    alignas(64) std::array<std::int32_t, 16> lo{}, hi{}, o0{}, o1{};
  };
  static constexpr idx ix = [] {
    idx r;
    for (int k = 0; k < 2; ++k)
      for (int a = 0; a < 2; ++a)
        for (int m = 0; m < 4; ++m) {
          r.lo[static_cast<std::size_t>(8 * k + 4 * a + m)] = 16 * a + 4 * m + k;      // k = 0, 1
          r.hi[static_cast<std::size_t>(8 * k + 4 * a + m)] = 16 * a + 4 * m + k + 2;  // k = 2, 3
        }
    for (int a = 0; a < 4; ++a)
      for (int m = 0; m < 4; ++m) {
        const int src = a < 2 ? 4 * a + m : 16 + 4 * (a - 2) + m;
        r.o0[static_cast<std::size_t>(4 * a + m)] = src;
        r.o1[static_cast<std::size_t>(4 * a + m)] = src + 8;
      }
    return r;
  }();
  const __m512i lo = _mm512_load_si512(ix.lo.data()), hi = _mm512_load_si512(ix.hi.data());
  const __m512i o0 = _mm512_load_si512(ix.o0.data()), o1 = _mm512_load_si512(ix.o1.data());
  const std::size_t main = K / 128 * 128;
  for (std::size_t g = 0; g < main; g += 128)
    for (std::size_t h = 0; h < 2; ++h) {
      const float* p = x + g + 16 * h;
      const __m512 a0 = _mm512_loadu_ps(p), a1 = _mm512_loadu_ps(p + 32), a2 = _mm512_loadu_ps(p + 64),
                   a3 = _mm512_loadu_ps(p + 96);
      const __m512 b01l = _mm512_permutex2var_ps(a0, lo, a1), b01h = _mm512_permutex2var_ps(a0, hi, a1);
      const __m512 b23l = _mm512_permutex2var_ps(a2, lo, a3), b23h = _mm512_permutex2var_ps(a2, hi, a3);
      float* q = xp + g + 16 * h;  // output t = 2 k + h at q + 32 k
      _mm512_storeu_ps(q, _mm512_permutex2var_ps(b01l, o0, b23l));
      _mm512_storeu_ps(q + 32, _mm512_permutex2var_ps(b01l, o1, b23l));
      _mm512_storeu_ps(q + 64, _mm512_permutex2var_ps(b01h, o0, b23h));
      _mm512_storeu_ps(q + 96, _mm512_permutex2var_ps(b01h, o1, b23h));
    }
  for (std::size_t c = main; c < K; c += 16) _mm512_storeu_ps(xp + c, _mm512_loadu_ps(x + c));  // K % 32 == 0
}

/// out[i * V + v] = sum_c w_ic x_vc for R rows of nblk blocks and V vectors; xp: the vectors in
/// ggml_lanes_permute_x order (stride ldx). The last nblk % 4 blocks as ggml_direct_rows does.
template <class T, int R, int V>
inline void ggml_lanes4_rows(const std::uint8_t* const* row, std::size_t nblk, std::size_t ahead, const float* xp,
                             std::size_t ldx, float* out) noexcept {
  using D = ggml_direct<T>;
  static_assert(T::block_bytes == 18 && D::qs == 2, "an fp16 scale, then 16 code bytes");
  const std::size_t nsteps = nblk / 4;
  __m512 tot[R][V];
  MIXQ_UNROLL for (int i = 0; i < R; ++i) MIXQ_UNROLL for (int v = 0; v < V; ++v) tot[i][v] = _mm512_setzero_ps();
  // words of the 72-byte step: block j's 8 code words from word 9 j + 1, its scale at word 9 j
  const __m512i codes = _mm512_setr_epi32(0x00020001, 0x00040003, 0x00060005, 0x00080007, 0x000b000a, 0x000d000c,
                                          0x000f000e, 0x00110010, 0x00140013, 0x00160015, 0x00180017, 0x001a0019,
                                          0x001d001c, 0x001f001e, 0x00210020, 0x00230022);
  // words 0-15: the scale word of block w / 4 (word 9 (w / 4))
  const __m512i scales = _mm512_setr_epi32(0, 0, 0x00090009, 0x00090009, 0x00120012, 0x00120012, 0x001b001b, 0x001b001b,
                                           0, 0, 0, 0, 0, 0, 0, 0);
  const __m512 values = _mm512_load_ps(D::values.data());
  for (std::size_t g = 0; g < nsteps; ++g) {
    const std::size_t off = 72 * g;
    prefetch_rows<R>(row, ahead, off);
    prefetch_rows<R>(row, ahead, off + 64);
    __m512i q[R];
    __m512 d[R], acc[R][V];
    MIXQ_UNROLL for (int i = 0; i < R; ++i) {
      const __m512i lo = _mm512_loadu_si512(row[i] + off);
      const __m512i hi = _mm512_maskz_loadu_epi16(0xf, row[i] + off + 64);  // words 32-35
      q[i] = _mm512_permutex2var_epi16(lo, codes, hi);
      // lane l: the fp16 scale of block l / 4 (low word), widened
      d[i] = _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutexvar_epi16(scales, lo)));
      MIXQ_UNROLL for (int v = 0; v < V; ++v) acc[i][v] = _mm512_setzero_ps();
    }
    MIXQ_UNROLL for (int t = 0; t < 8; ++t) {
      MIXQ_UNROLL for (int v = 0; v < V; ++v) {
        const __m512 xv = _mm512_loadu_ps(xp + static_cast<std::size_t>(v) * ldx + 128 * g + 16 * t);
        MIXQ_UNROLL for (int i = 0; i < R; ++i) {
          const __m512i qt = t == 0 ? q[i] : _mm512_srli_epi32(q[i], 4 * t);
          acc[i][v] = _mm512_fmadd_ps(_mm512_permutexvar_ps(qt, values), xv, acc[i][v]);
        }
      }
    }
    MIXQ_UNROLL for (int i = 0; i < R; ++i) MIXQ_UNROLL for (int v = 0; v < V; ++v) tot[i][v] = _mm512_fmadd_ps(d[i], acc[i][v], tot[i][v]);
  }
  for (std::size_t b = 4 * nsteps; b < nblk; ++b) {  // columns in place
    MIXQ_UNROLL for (int i = 0; i < R; ++i) {
      __m512 lo, hi;
      ggml_table_block<T>(row[i] + 18 * b, lo, hi);
      MIXQ_UNROLL for (int v = 0; v < V; ++v) {
        const float* xv = xp + static_cast<std::size_t>(v) * ldx + 32 * b;
        tot[i][v] = _mm512_fmadd_ps(lo, _mm512_loadu_ps(xv), tot[i][v]);
        tot[i][v] = _mm512_fmadd_ps(hi, _mm512_loadu_ps(xv + 16), tot[i][v]);
      }
    }
  }
  hsums(tot, out);
}

/// Q4_K / Q5_K super-block scales: d sc_j in lanes 0-7 and dmin m_j in lanes 8-15 (ggml's
/// roundings: one product each). The 6-bit values come from the 12 scale bytes in registers:
/// j < 4: sc = q[j] & 63, m = q[j + 4] & 63; j >= 4: sc = (q[j + 4] & 15) | (q[j - 4] >> 6) << 4,
/// m = (q[j + 4] >> 4) | (q[j] >> 6) << 4 (ggml's get_scale_min_k4).
inline __m512 k4_scales_mins(const std::uint8_t* blk) noexcept {
  const __m512i ia = _mm512_setr_epi32(0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11);
  const __m512i sa = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4);
  const __m512i ma = _mm512_setr_epi32(63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 15, 15, 15, 15);
  const __m512i ib = _mm512_setr_epi32(0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 0, 0, 4, 5, 6, 7);
  const __m512i mb = _mm512_setr_epi32(0, 0, 0, 0, 48, 48, 48, 48, 0, 0, 0, 0, 48, 48, 48, 48);
  const __m512i q = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(0x0fff, blk + 4));
  const __m512i v = _mm512_or_si512(
      _mm512_and_si512(_mm512_srlv_epi32(_mm512_permutexvar_epi32(ia, q), sa), ma),
      _mm512_and_si512(_mm512_slli_epi32(_mm512_srli_epi32(_mm512_permutexvar_epi32(ib, q), 6), 4), mb));
  return _mm512_mul_ps(_mm512_mask_blend_ps(0xff00, ggml_half16(blk), ggml_half16(blk + 2)), _mm512_cvtepi32_ps(v));
}

/// Q4_K / Q5_K in place: per 32-value sub-block a table of its weights (d sc) q - (dmin m)
/// (ggml's roundings: two products, then the difference; Q5_K: 32 entries, vpermt2ps). Bytes
/// 32 j .. 32 j + 31 of qs hold columns 64 j .. 64 j + 31 (low nibbles, sub-block 2 j) and
/// 64 j + 32 .. 64 j + 63 (high nibbles); Q5_K's fifth bit of sub-block s is bit s of qh[l].
template <class T, int R, int V = 1>
inline void ggml_k45_rows(const std::uint8_t* const* row, std::size_t nblk, std::size_t ahead, const float* x,
                          std::size_t ldx, float* out) noexcept {
  constexpr bool five = std::is_same_v<T, ggml::q5_k>;
  constexpr std::size_t BB = T::block_bytes, QS = five ? 48 : 16;
  alignas(64) static constexpr std::array<float, 32> base = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                                             11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                                                             22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
  const __m512 tab = _mm512_load_ps(base.data()), tab_hi = _mm512_load_ps(base.data() + 16);
  const __m512i m15 = _mm512_set1_epi32(15);
  // Q5_K code index: the nibble (bits 0-3, kept by m15) and the qh bit moved to bit 4; bits
  // above 4 are ignored by vpermt2ps.
  auto with_bit = [&](__m512i nib, __m512i qh, int s) {
    const __m512i hb = s <= 4 ? _mm512_slli_epi32(qh, static_cast<unsigned>(4 - s)) : _mm512_srli_epi32(qh, static_cast<unsigned>(s - 4));
    return _mm512_ternarylogic_epi32(nib, hb, m15, 0xE4);  // m15 ? nib : hb, bit by bit
  };
  __m512 acc[R][V][2];
  MIXQ_UNROLL for (int i = 0; i < R; ++i) MIXQ_UNROLL for (int v = 0; v < V; ++v) acc[i][v][0] = acc[i][v][1] = _mm512_setzero_ps();
  for (std::size_t b = 0; b < nblk; ++b) {
    const std::size_t off = b * BB;
    alignas(64) float dm[R][16];  // d sc (0-7), dmin m (8-15)
    MIXQ_UNROLL for (int i = 0; i < R; ++i) {
      const std::uint8_t* blk = row[i] + off;
      MIXQ_UNROLL for (std::size_t k = 0; k < BB; k += 64) prefetch_rows<1>(&row[i], ahead, off + k);
      _mm512_store_ps(dm[i], k4_scales_mins(blk));
    }
    MIXQ_UNROLL for (int j = 0; j < 4; ++j) {
      MIXQ_UNROLL for (int i = 0; i < R; ++i) {
        const std::uint8_t* blk = row[i] + off;
        const std::uint8_t* qs = blk + QS + 32 * j;
        const __m512 da = _mm512_set1_ps(dm[i][2 * j]), ma_ = _mm512_set1_ps(dm[i][8 + 2 * j]);
        const __m512 db = _mm512_set1_ps(dm[i][2 * j + 1]), mb_ = _mm512_set1_ps(dm[i][9 + 2 * j]);
        const __m512i t0 = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs)));
        const __m512i t1 = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs + 16)));
        const __m512i u0 = _mm512_srli_epi32(t0, 4), u1 = _mm512_srli_epi32(t1, 4);
        __m512 w00, w10, w20, w30;
        if constexpr (five) {
          const __m512i h0 = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 16)));
          const __m512i h1 = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 32)));
          const __m512 ta0 = _mm512_sub_ps(_mm512_mul_ps(tab, da), ma_), ta1 = _mm512_sub_ps(_mm512_mul_ps(tab_hi, da), ma_);
          const __m512 tb0 = _mm512_sub_ps(_mm512_mul_ps(tab, db), mb_), tb1 = _mm512_sub_ps(_mm512_mul_ps(tab_hi, db), mb_);
          w00 = _mm512_permutex2var_ps(ta0, with_bit(t0, h0, 2 * j), ta1);
          w10 = _mm512_permutex2var_ps(ta0, with_bit(t1, h1, 2 * j), ta1);
          w20 = _mm512_permutex2var_ps(tb0, with_bit(u0, h0, 2 * j + 1), tb1);
          w30 = _mm512_permutex2var_ps(tb0, with_bit(u1, h1, 2 * j + 1), tb1);
        } else {
          const __m512 ta = _mm512_sub_ps(_mm512_mul_ps(tab, da), ma_);
          const __m512 tb = _mm512_sub_ps(_mm512_mul_ps(tab, db), mb_);
          w00 = _mm512_permutexvar_ps(t0, ta);
          w10 = _mm512_permutexvar_ps(t1, ta);
          w20 = _mm512_permutexvar_ps(u0, tb);
          w30 = _mm512_permutexvar_ps(u1, tb);
        }
        MIXQ_UNROLL for (int v = 0; v < V; ++v) {
          const float* xj = x + static_cast<std::size_t>(v) * ldx + 256 * b + 64 * static_cast<std::size_t>(j);
          acc[i][v][0] = _mm512_fmadd_ps(w00, _mm512_loadu_ps(xj), acc[i][v][0]);
          acc[i][v][1] = _mm512_fmadd_ps(w10, _mm512_loadu_ps(xj + 16), acc[i][v][1]);
          acc[i][v][0] = _mm512_fmadd_ps(w20, _mm512_loadu_ps(xj + 32), acc[i][v][0]);
          acc[i][v][1] = _mm512_fmadd_ps(w30, _mm512_loadu_ps(xj + 48), acc[i][v][1]);
        }
      }
    }
  }
  hsums(acc, out);
}

/// Q6_K in place: 16-value group g of half h (outputs 128 h + 16 g ..) has the 6-bit codes
/// (ql nibble) | (2 qh bits) << 4, minus 32, and the weight (d sc) q (ggml's two roundings):
/// ql bytes 32 (g / 2 % 2) + 16 (g % 2) of the half, low nibble for g < 4, high for g >= 4;
/// qh bytes 16 (g % 2), bits 2 (g / 2) and up.
template <int R, int V = 1>
inline void ggml_q6k_rows(const std::uint8_t* const* row, std::size_t nblk, std::size_t ahead, const float* x,
                          std::size_t ldx, float* out) noexcept {
  constexpr std::size_t BB = ggml::q6_k::block_bytes;
  __m512 acc[R][V][2];
  MIXQ_UNROLL for (int i = 0; i < R; ++i) MIXQ_UNROLL for (int v = 0; v < V; ++v) acc[i][v][0] = acc[i][v][1] = _mm512_setzero_ps();
  auto bytes16 = [](const std::uint8_t* p) {
    return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  };
  for (std::size_t b = 0; b < nblk; ++b) {
    const std::size_t off = b * BB;
    alignas(64) float ds[R][16];  // d * sc of the 16 groups
    MIXQ_UNROLL for (int i = 0; i < R; ++i) {
      const std::uint8_t* blk = row[i] + off;
      MIXQ_UNROLL for (std::size_t k = 0; k < BB; k += 64) prefetch_rows<1>(&row[i], ahead, off + k);
      const __m512 sc = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 192))));
      _mm512_store_ps(ds[i], _mm512_mul_ps(ggml_half16(blk + 208), sc));
    }
    MIXQ_UNROLL for (int h = 0; h < 2; ++h) {
      MIXQ_UNROLL for (int i = 0; i < R; ++i) {
        const std::uint8_t* ql = row[i] + off + 64 * h;
        const std::uint8_t* qh = row[i] + off + 128 + 32 * h;
        const __m512i a[4] = {bytes16(ql), bytes16(ql + 16), bytes16(ql + 32), bytes16(ql + 48)};
        const __m512i hb[2] = {bytes16(qh), bytes16(qh + 16)};
        MIXQ_UNROLL for (int g = 0; g < 8; ++g) {
          const __m512i lo = _mm512_and_si512(g >= 4 ? _mm512_srli_epi32(a[g % 4], 4) : a[g % 4], _mm512_set1_epi32(15));
          const int hs = 2 * (g / 2);  // 0, 2, 4, 6: the two bits to 4..5
          const __m512i hi = _mm512_and_si512(hs <= 4 ? _mm512_slli_epi32(hb[g % 2], 4 - hs) : _mm512_srli_epi32(hb[g % 2], hs - 4),
                                              _mm512_set1_epi32(0x30));
          const __m512 v = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_or_si512(lo, hi), _mm512_set1_epi32(32)));
          const __m512 w = _mm512_mul_ps(_mm512_set1_ps(ds[i][8 * h + g]), v);
          MIXQ_UNROLL for (int v = 0; v < V; ++v) {
            const float* xh = x + static_cast<std::size_t>(v) * ldx + 256 * b + 128 * static_cast<std::size_t>(h);
            acc[i][v][g % 2] = _mm512_fmadd_ps(w, _mm512_loadu_ps(xh + 16 * g), acc[i][v][g % 2]);
          }
        }
      }
    }
  }
  hsums(acc, out);
}

#if MIXQ_KERNEL_HAS_VNNI512
// ---- int8-activation GEMV on the block bytes (VNNI) --------------------------------------
// Activations are rounded to int8 per 32 columns (quantize_rows_q8). Each 64-column chunk of a
// row becomes 64 weight bytes u = code + O (unsigned) in one register and meets the chunk's
// activation codes in one vpdpbusd, which starts from -O * (the lane's 4 activation codes
// summed): each lane then holds the exact integer sum of code * qx over its 4 columns. In fp32
// the lane is scaled by d * sx and accumulated per lane. Blocks of 16 code bytes (Q4_0, IQ4_NL,
// Q4_1) put the chunk's two blocks A, B as [A | B] and [A | B] >> 4, i.e. columns [A 0-15, B
// 0-15, A 16-31, B 16-31] ("split": the activations are reordered once to match, lanes 0-3 and
// 8-11 are A's); Q8_0, Q4_K and Q6_K chunks are in column order (lanes 0-7 A, 8-15 B; Q6_K's
// scales are per 16 columns, lanes 4 g .. 4 g + 3). Affine types add sum_b m_b xs_b with the
// fp32 sums xs_b of x over each 32 columns, as the span path does.
template <class T>
struct ggml_q8_direct {
  static constexpr bool ok = false;
};
template <>
struct ggml_q8_direct<ggml::q4_0> {
  static constexpr bool ok = true, split = true, table = false, affine = false;
  static constexpr int offset = 8;
  static constexpr std::size_t qs = 2;
};
template <>
struct ggml_q8_direct<ggml::iq4_nl> {
  static constexpr bool ok = true, split = true, table = true, affine = false;
  static constexpr int offset = 128;
  static constexpr std::size_t qs = 2;
  alignas(16) static constexpr std::array<std::uint8_t, 16> u8 = [] {  // level + 128, in [1, 241]
    std::array<std::uint8_t, 16> v{};
    for (std::size_t q = 0; q < 16; ++q) v[q] = static_cast<std::uint8_t>(ggml::iq4_nl_levels[q] + 128);
    return v;
  }();
};
template <>
struct ggml_q8_direct<ggml::q4_1> {
  static constexpr bool ok = true, split = true, table = false, affine = true;
  static constexpr int offset = 0;
  static constexpr std::size_t qs = 4;
};
template <>
struct ggml_q8_direct<ggml::q8_0> {
  static constexpr bool ok = true, split = false, table = false, affine = false;
  static constexpr int offset = 128;
  static constexpr std::size_t qs = 2;
};
template <>
struct ggml_q8_direct<ggml::q4_k> {  // 8 sub-blocks of 32 per 256-column super-block
  static constexpr bool ok = true, split = false, table = false, affine = true;
  static constexpr int offset = 0;
};
template <>
struct ggml_q8_direct<ggml::q6_k> {  // codes q + 32 in [0, 63]; a scale per 16 columns
  static constexpr bool ok = true, split = false, table = false, affine = false;
  static constexpr int offset = 32;
};

/// One vector's activation codes in the kernel's order, chunk by chunk (64 bytes; a missing
/// second block is zero): qx; the lanes' offset corrections -O * sum of 4 codes: cl (O != 0);
/// the lane scales sx: sxl. q, sx: quantize_rows_q8's codes and 32-column scales (nb32 blocks).
/// Chunk c of this vector goes to slot c N of the N vectors' arrays (the vectors of one chunk
/// adjacent: separate arrays per vector, 4 KiB apart, evicted each other from L1).
template <class D>
inline void ggml_q8_acts(const std::int8_t* q, const float* sx, std::size_t nb32, std::size_t N, std::int8_t* qx,
                         std::int32_t* cl, float* sxl) noexcept {
  const std::size_t nchunk = (nb32 + 1) / 2;
  const __m512i pat = D::split ? _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1)
                               : _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
  for (std::size_t c = 0; c < nchunk; ++c) {
    const bool two = 2 * c + 1 < nb32;
    __m512i v = _mm512_maskz_loadu_epi8(two ? ~__mmask64{0} : __mmask64{0xffffffff}, q + 64 * c);
    if constexpr (D::split) v = _mm512_shuffle_i64x2(v, v, _MM_SHUFFLE(3, 1, 2, 0));  // [A lo, B lo, A hi, B hi]
    _mm512_store_si512(qx + 64 * N * c, v);
    if constexpr (D::offset != 0)
      _mm512_store_si512(cl + 16 * N * c, _mm512_mullo_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(1), v),
                                                         _mm512_set1_epi32(-D::offset)));
    const __m512 s2 = _mm512_castps128_ps512(_mm_maskz_loadu_ps(two ? 3 : 1, sx + 2 * c));
    _mm512_store_ps(sxl + 16 * N * c, _mm512_permutexvar_ps(pat, s2));
  }
}

/// Every byte xor 0x80: int8 q to the unsigned byte q + 128 (n a multiple of 16).
inline void flip_sign_bytes(std::uint8_t* p, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; i += 64) {
    const __mmask64 k = tail64(n - i);
    _mm512_mask_storeu_epi8(p + i, k, _mm512_xor_si512(_mm512_maskz_loadu_epi8(k, p + i), _mm512_set1_epi8(static_cast<char>(0x80))));
  }
}

/// xs[b] = sum of x over columns 32 b .. 32 b + 31 (fp32): the affine offsets' share.
inline void sums32(const float* x, std::size_t nb32, float* xs) noexcept {
  for (std::size_t b = 0; b < nb32; ++b) xs[b] = hsum(_mm512_add_ps(_mm512_loadu_ps(x + 32 * b), _mm512_loadu_ps(x + 32 * b + 16)));
}

/// One row's scales, one per 32 columns (Q6_K: per 16): d (Q4_K: d sc_j) and, for affine types, the offsets
/// mn (Q4_1: +m; Q4_K: -dmin m_j), so that y = sum of the lanes + sum_b mn_b xs_b. The fp16
/// fields are read by scalar loads (a gather's latency cost as much as the chunk loop).
template <class T>
inline void ggml_q8_row_prep(const std::uint8_t* row, std::size_t nb32, float* d, float* mn) noexcept {
  using D = ggml_q8_direct<T>;
  constexpr std::size_t BB = T::block_bytes;
  if constexpr (std::is_same_v<T, ggml::q6_k>) {  // d * sc of the 16 groups of 16 columns
    for (std::size_t b = 0; b < nb32 / 8; ++b) {
      const std::uint8_t* blk = row + b * BB;
      const __m512 sc = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 192))));
      _mm512_storeu_ps(d + 16 * b, _mm512_mul_ps(ggml_half16(blk + 208), sc));
    }
    (void)mn;
    return;
  } else if constexpr (std::is_same_v<T, ggml::q4_k>) {
    for (std::size_t b = 0; b < nb32 / 8; ++b) {
      const __m512 dm = k4_scales_mins(row + b * BB);
      _mm256_storeu_ps(d + 8 * b, _mm512_castps512_ps256(dm));
      _mm256_storeu_ps(mn + 8 * b, _mm256_sub_ps(_mm256_setzero_ps(), _mm512_extractf32x8_ps(dm, 1)));
    }
  } else {
    // 16 fp16 fields packed into four 64-bit integers in registers (16 narrow stores and one
    // wide load would stall on store forwarding)
    auto halves16 = [&](std::size_t b, std::size_t at) {
      std::uint64_t w[4] = {};
      MIXQ_UNROLL for (std::size_t k = 0; k < 16; ++k) {
        std::uint16_t h;
        std::memcpy(&h, row + (b + k) * BB + at, 2);
        w[k / 4] |= static_cast<std::uint64_t>(h) << (16 * (k % 4));
      }
      return _mm512_cvtph_ps(_mm256_setr_epi64x(static_cast<long long>(w[0]), static_cast<long long>(w[1]),
                                                static_cast<long long>(w[2]), static_cast<long long>(w[3])));
    };
    auto half = [&](std::size_t b, std::size_t at) {
      std::uint16_t h;
      std::memcpy(&h, row + b * BB + at, 2);
      return _cvtsh_ss(h);
    };
    std::size_t b = 0;
    for (; b + 16 <= nb32; b += 16) {
      _mm512_storeu_ps(d + b, halves16(b, 0));
      if constexpr (D::affine) _mm512_storeu_ps(mn + b, halves16(b, 2));
    }
    for (; b < nb32; ++b) {
      d[b] = half(b, 0);
      if constexpr (D::affine) mn[b] = half(b, 2);
    }
  }
  if (nb32 % 2) d[nb32] = 0.0f;  // the missing second block of the last chunk
}

/// out[i * V + v] = sum over row i's chunks of d * sx_v * (exact integer code . qx_v sums), per
/// lane; dl[i]: row i's scales per 32 columns (ggml_q8_row_prep), 8-byte aligned pairs; vector
/// v's chunk c of qx, cl, sxl (ggml_q8_acts) at slot c N + v. One row (R = 1) when V > 1.
template <class T, int R, int V = 1>
inline void ggml_q8_rows(const std::uint8_t* const* row, std::size_t nb32, std::size_t N, std::size_t ahead, const std::int8_t* qx,
                         const std::int32_t* cl, const float* sxl, const float* const* dl, float* out) noexcept {
  using D = ggml_q8_direct<T>;
  constexpr std::size_t BB = T::block_bytes;
  constexpr bool k4 = std::is_same_v<T, ggml::q4_k>, k6 = std::is_same_v<T, ggml::q6_k>;
  const std::size_t nchunk = (nb32 + 1) / 2;
  const __m512i pat4 = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);  // Q6_K: 16-column groups
  const __m512i m3 = _mm512_set1_epi8(3);
  const __m512i m4 = _mm512_set1_epi8(0x0f);
  const __m512i pat = D::split ? _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1)
                               : _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
  __m512i lut = _mm512_setzero_si512();
  if constexpr (D::table) lut = _mm512_broadcast_i32x4(_mm_load_si128(reinterpret_cast<const __m128i*>(D::u8.data())));
  __m512 acc[R][V];
  MIXQ_UNROLL for (int i = 0; i < R; ++i) MIXQ_UNROLL for (int v = 0; v < V; ++v) acc[i][v] = _mm512_setzero_ps();
  for (std::size_t c = 0; c < nchunk; ++c) {
    // where the chunk's code bytes are: block A at a, block B at a + bo (bo = 0: no block B)
    std::size_t a, bo;
    if constexpr (k6) {  // a: the half's 64 ql bytes; bo: from there to its 32 qh bytes
      a = c / 4 * BB + 64 * (c % 4 / 2);
      bo = 128 - 64 * (c % 4 / 2) + 32 * (c % 4 / 2);
    } else if constexpr (k4) {
      a = c / 4 * BB + 16 + 32 * (c % 4);
      bo = 0;
    } else {
      a = 2 * c * BB + D::qs;
      bo = 2 * c + 1 < nb32 ? BB : 0;
    }
    if constexpr (k4 || k6) {
      // offsets 0, 64, 128 (and 192 for Q6_K's 210 bytes) of the super-block, one per chunk:
      // every line of it, scales included (the next block's first line holds its last bytes).
      // Prefetching at the code offsets only left some lines of the scales to the row
      // preparation's misses: Q6_K a quarter slower cold.
      if (64 * (c % 4) < BB) prefetch_rows<R>(row, ahead, c / 4 * BB + 64 * (c % 4));
    } else {
      // every line of the chunk once: a chunk spans 36 to 68 bytes (up to three lines), and the
      // lines up to the previous chunk's last byte are already asked for
      const std::size_t first = 2 * c * BB, last = first + 2 * BB - 1;
      for (std::size_t l = c == 0 ? 0 : (first - 1) / 64 + 1; l <= last / 64; ++l) prefetch_rows<R>(row, ahead, 64 * l);
    }
    MIXQ_UNROLL for (int i = 0; i < R; ++i) {
      const std::uint8_t* p = row[i] + a;
      __m512i u;
      if constexpr (k6) {
        // columns 0-63 of the half: low nibbles of ql, qh bits 0-1 (columns 0-31) and 2-3
        // (32-63); columns 64-127: high nibbles, qh bits 4-5 and 6-7
        const int j = static_cast<int>(c % 2);
        const __m512i ql = _mm512_loadu_si512(p);
        const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + bo));
        const __m512i lo = _mm512_and_si512(j ? _mm512_srli_epi16(ql, 4) : ql, m4);
        const __m256i h0 = j ? _mm256_srli_epi16(qh, 4) : qh;
        const __m512i hh = _mm512_inserti64x4(_mm512_castsi256_si512(h0), _mm256_srli_epi16(h0, 2), 1);
        u = _mm512_or_si512(lo, _mm512_slli_epi16(_mm512_and_si512(hh, m3), 4));
      } else if constexpr (std::is_same_v<T, ggml::q8_0>) {
        u = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))),
                               _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + bo)), 1);
        u = _mm512_xor_si512(u, _mm512_set1_epi8(static_cast<char>(0x80)));
      } else {
        __m256i n;
        if constexpr (k4) n = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
        else n = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))),
                                         _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + bo)), 1);
        u = _mm512_and_si512(_mm512_inserti64x4(_mm512_castsi256_si512(n), _mm256_srli_epi16(n, 4), 1), m4);
        if constexpr (D::table) u = _mm512_shuffle_epi8(lut, u);
      }
      __m512 dv;
      if constexpr (k6) {
        dv = _mm512_permutexvar_ps(pat4, _mm512_castps128_ps512(_mm_loadu_ps(dl[i] + 4 * c)));
      } else {
        const __m512 d2 = _mm512_castpd_ps(_mm512_castpd128_pd512(_mm_load_sd(reinterpret_cast<const double*>(dl[i] + 2 * c))));
        dv = _mm512_permutexvar_ps(pat, d2);
      }
      MIXQ_UNROLL for (int v = 0; v < V; ++v) {
        const std::size_t o = c * N + static_cast<std::size_t>(v);
        const __m512i c0 = D::offset != 0 ? _mm512_load_si512(cl + 16 * o) : _mm512_setzero_si512();
        const __m512i s = _mm512_dpbusd_epi32(c0, u, _mm512_load_si512(qx + 64 * o));
        acc[i][v] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dv, _mm512_load_ps(sxl + 16 * o)), acc[i][v]);
      }
    }
  }
  hsums(acc, out);
  (void)lut, (void)pat4, (void)m3;
}
#endif  // MIXQ_KERNEL_HAS_VNNI512
}  // namespace avx512
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif  // MIXQ_KERNEL_HAS_AVX512

}  // namespace kernel_detail
MIXQ_END_NAMESPACE
