// AVX-512 (F+BW+DQ+VL; VNNI and VBMI when enabled) helpers: the operations xsimd 8.1 lacks
// (widening loads, 16/32-entry float table lookups, nibble unpacking, int8 dot products,
// masked tails) and the fused kernels built from them. Compiled only when the TU enables it.
#pragma once
#include "generic.hpp"

#if !defined(MIXQ_KERNEL_FORCE_GENERIC) && !defined(MIXQ_KERNEL_FORCE_AVX2) && defined(__AVX512F__) && \
    defined(__AVX512BW__) && defined(__AVX512DQ__) && defined(__AVX512VL__) && defined(__FMA__)
#define MIXQ_KERNEL_HAS_AVX512 1
#else
#define MIXQ_KERNEL_HAS_AVX512 0
#endif
#if MIXQ_KERNEL_HAS_AVX512 && defined(__AVX512VNNI__)
#define MIXQ_KERNEL_HAS_VNNI512 1
#else
#define MIXQ_KERNEL_HAS_VNNI512 0
#endif

#if MIXQ_KERNEL_HAS_AVX512
#include <immintrin.h>

#include <array>
#include <bit>
#include <cmath>

// GCC PR105593: -Wall warns from inside avx512fintrin.h about its own undefined temporaries.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

MIXQ_BEGIN_NAMESPACE
namespace kernel_detail {
namespace avx512 {

inline __mmask16 tail16(std::size_t n) noexcept {
  return n >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << n) - 1u);
}
inline __mmask64 tail64(std::size_t n) noexcept {
  return n >= 64 ? ~__mmask64{0} : ((__mmask64{1} << n) - 1u);
}
// Horizontal sums in one fixed order: ((c0 + c2) + (c1 + c3)) over the four 128-bit chunks, then
// (e0 + e1) + (e2 + e3) inside the chunk. hsums gives each of four rows the value hsum gives it,
// so a row's result does not depend on whether its row block had four rows (the row split).
inline float hsum(__m512 v) noexcept {
  const __m512 t = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, 0x4e));
  const __m512 u = _mm512_add_ps(t, _mm512_shuffle_f32x4(t, t, 0xb1));
  const __m512 x = _mm512_add_ps(u, _mm512_shuffle_ps(u, u, 0xb1));
  return _mm512_cvtss_f32(_mm512_add_ps(x, _mm512_shuffle_ps(x, x, 0x4e)));
}
/// out[i * V + v] = hsum(a[i][v]); four rows of one vector share the shuffles (14 instructions
/// and one store instead of 36 and four), which matters for small, cache-resident GEMVs.
template <int R, int V>
MIXQ_ALWAYS_INLINE void hsums(const __m512 (&a)[R][V], float* out) noexcept {
  if constexpr (R == 4 && V == 1) {
    auto pair = [](__m512 p, __m512 q) {  // chunks: p(c0 + c2), p(c1 + c3), q(c0 + c2), q(c1 + c3)
      return _mm512_add_ps(_mm512_shuffle_f32x4(p, q, 0x44), _mm512_shuffle_f32x4(p, q, 0xee));
    };
    const __m512 ab = pair(a[0][0], a[1][0]), cd = pair(a[2][0], a[3][0]);
    const __m512 u = _mm512_add_ps(_mm512_shuffle_f32x4(ab, cd, 0x88), _mm512_shuffle_f32x4(ab, cd, 0xdd));
    const __m512 x = _mm512_add_ps(u, _mm512_shuffle_ps(u, u, 0xb1));
    const __m512 y = _mm512_add_ps(x, _mm512_shuffle_ps(x, x, 0x4e));
    _mm_storeu_ps(out, _mm512_castps512_ps128(
                           _mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), y)));
  } else {
    MIXQ_UNROLL for (int i = 0; i < R; ++i) MIXQ_UNROLL for (int v = 0; v < V; ++v) out[i * V + v] = hsum(a[i][v]);
  }
}
/// The same for two accumulator chains per output: hsum(a[i][v][0] + a[i][v][1]).
template <int R, int V>
MIXQ_ALWAYS_INLINE void hsums(const __m512 (&a)[R][V][2], float* out) noexcept {
  __m512 t[R][V];
  MIXQ_UNROLL for (int i = 0; i < R; ++i) MIXQ_UNROLL for (int v = 0; v < V; ++v) t[i][v] = _mm512_add_ps(a[i][v][0], a[i][v][1]);
  hsums(t, out);
}

#if MIXQ_KERNEL_HAS_VNNI512
/// acc += the u8 x s8 dot products of u and s, in place. GCC 12 copies a register-array
/// accumulator to a scratch register and back around every _mm512_dpbusd_epi32 (the
/// instruction's tied operand): two zmm moves per vpdpbusd halved the panel micro-kernel's speed.
MIXQ_ALWAYS_INLINE void dpbusd_into(__m512i& acc, __m512i u, __m512i s) noexcept {
#if defined(__GNUC__)
  __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(s));
#else
  acc = _mm512_dpbusd_epi32(acc, u, s);
#endif
}
#endif

/// Software prefetch for the row-blocked kernels: the byte at offset `off` of each of R rows,
/// `ahead` bytes further on (the next row block, at the column being read now). One core reads
/// R weight streams at once and the hardware prefetchers alone do not keep enough misses in
/// flight to use its DRAM bandwidth. A prefetch never faults, so addresses past the matrix are
/// harmless; they are formed as integers.
template <int R>
MIXQ_ALWAYS_INLINE void prefetch_rows(const std::uint8_t* const* row, std::size_t ahead, std::size_t off) noexcept {
  MIXQ_UNROLL for (int i = 0; i < R; ++i)
    _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<std::uintptr_t>(row[i]) + ahead + off), _MM_HINT_T0);
}

/// The code table padded to 16 / 32 entries, for permutexvar / permutex2var lookups.
template <Scheme S>
struct lut_regs {
  static constexpr std::array<float, 32> make() noexcept {
    std::array<float, 32> t{};
    for (std::size_t i = 0; i < code_lut<S>::size && i < 32; ++i) t[i] = code_lut<S>::values[i];
    return t;
  }
  alignas(64) static constexpr std::array<float, 32> padded = make();
};

/// Code values of 16 codes (int32 lanes, each < 2^b): v(q), before zero and scale.
template <Scheme S>
struct code_decoder {
  using L = code_lut<S>;
  __m512 lo, hi;
  code_decoder() noexcept {
    lo = _mm512_load_ps(lut_regs<S>::padded.data());
    hi = _mm512_load_ps(lut_regs<S>::padded.data() + 16);
  }
  __m512 operator()(__m512i q) const noexcept {
    if constexpr (L::bits <= 4) {
      return _mm512_permutexvar_ps(q, lo);
    } else if constexpr (L::bits == 5) {
      return _mm512_permutex2var_ps(lo, q, hi);
    } else if constexpr (L::integer) {
      if constexpr (L::sign_flip != 0) {
        const __m512i f = _mm512_set1_epi32(L::sign_flip);
        return _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_xor_si512(q, f), f));
      } else {
        return _mm512_cvtepi32_ps(q);
      }
    } else {
      return _mm512_i32gather_ps(q, L::values.data(), 4);
    }
  }
};

}  // namespace avx512

namespace avx512 {
/// Bytes [0, min(n, 64)) of v to p: a plain store for a whole vector. Scratch written here is
/// read back soon, and a load is not forwarded from a masked store (a stall per load).
MIXQ_ALWAYS_INLINE void store_bytes(std::uint8_t* p, __m512i v, std::size_t n) noexcept {
  if (n >= 64) _mm512_storeu_si512(p, v);
  else _mm512_mask_storeu_epi8(p, tail64(n), v);
}
/// Bytes [0, min(n, 64)) from p, zeros above.
MIXQ_ALWAYS_INLINE __m512i load_bytes(const std::uint8_t* p, std::size_t n) noexcept {
  return n >= 64 ? _mm512_loadu_si512(p) : _mm512_maskz_loadu_epi8(tail64(n), p);
}
#if defined(__AVX512VBMI__)
/// 64 B-bit codes (8 B bytes, a byte-aligned start) as bytes: qword j of a vpermb gathers the
/// 8 bytes from byte j B on, and vpmultishiftqb takes byte k from bit k B of that qword (the
/// stream is LSB first: code k of a group of 8 sits at bits k B .. k B + B - 1).
template <int B>
struct unpack64 {
  alignas(64) static constexpr auto tables = [] {
    std::array<std::uint8_t, 128> t{};
    for (std::size_t j = 0; j < 8; ++j)
      for (std::size_t k = 0; k < 8; ++k) {
        t[8 * j + k] = static_cast<std::uint8_t>(j * B + k);  // source byte (< 7 B + 8 <= 64)
        t[64 + 8 * j + k] = static_cast<std::uint8_t>(k * B);  // bit offset in the qword
      }
    return t;
  }();
  const __m512i gather = _mm512_load_si512(tables.data()), shifts = _mm512_load_si512(tables.data() + 64);
  const __m512i mask = _mm512_set1_epi8(static_cast<char>((1u << B) - 1u));
  /// Codes [0, min(n, 64)) from p (reads only their bytes); zeros above.
  __m512i operator()(const std::uint8_t* p, std::size_t n) const noexcept {
    const std::size_t nbytes = (min_sz(n, 64) * B + 7) / 8;
    const __m512i v = _mm512_permutexvar_epi8(gather, _mm512_maskz_loadu_epi8(tail64(nbytes), p));
    return _mm512_and_si512(_mm512_multishift_epi64_epi8(shifts, v), mask);
  }
};
#endif
}  // namespace avx512

inline void copy_bytes(avx512_tag, void* dst, const void* src, std::size_t n) noexcept {
  auto* d = static_cast<std::uint8_t*>(dst);
  const auto* s = static_cast<const std::uint8_t*>(src);
  std::size_t i = 0;
  for (; i + 64 <= n; i += 64) _mm512_storeu_si512(d + i, _mm512_loadu_si512(s + i));
  if (i < n) _mm512_mask_storeu_epi8(d + i, avx512::tail64(n - i), _mm512_maskz_loadu_epi8(avx512::tail64(n - i), s + i));
}

// ---- unpack -----------------------------------------------------------------------------
template <int B>
inline void unpack(avx512_tag, const std::uint8_t* stream, std::size_t c0, std::size_t n, std::uint8_t* out) noexcept {
  if constexpr (B == 4) {
    if (c0 % 2 != 0) return unpack_codes_scalar<4>(stream, c0, n, out);
    const std::uint8_t* p = stream + c0 / 2;
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    const __m512i i0 = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11);
    const __m512i i1 = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15);
    std::size_t i = 0;
    for (; i < n; i += 128) {
      const std::size_t left = n - i;
      const std::size_t nbytes = (left >= 128 ? 128 : left + 1) / 2;
      const __m512i v = left >= 128 ? _mm512_loadu_si512(p + i / 2) : _mm512_maskz_loadu_epi8(avx512::tail64(nbytes), p + i / 2);
      const __m512i lo = _mm512_and_si512(v, m4);
      const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
      const __m512i a = _mm512_unpacklo_epi8(lo, hi), b = _mm512_unpackhi_epi8(lo, hi);
      const __m512i o0 = _mm512_permutex2var_epi64(a, i0, b), o1 = _mm512_permutex2var_epi64(a, i1, b);
      if (left >= 128) {
        _mm512_storeu_si512(out + i, o0);
        _mm512_storeu_si512(out + i + 64, o1);
      } else {
        _mm512_mask_storeu_epi8(out + i, avx512::tail64(left), o0);
        if (left > 64) _mm512_mask_storeu_epi8(out + i + 64, avx512::tail64(left - 64), o1);
      }
    }
  } else if constexpr (B == 8) {
    copy_bytes(avx512_tag{}, out, stream + c0, n);
  } else {
#if defined(__AVX512VBMI__)
    if (c0 % 8 == 0) {
      const avx512::unpack64<B> u;
      const std::uint8_t* p = stream + c0 / 8 * B;
      for (std::size_t i = 0; i < n; i += 64) avx512::store_bytes(out + i, u(p + i / 8 * B, n - i), n - i);
      return;
    }
#endif
    unpack_codes_scalar<B>(stream, c0, n, out);
  }
}

// ---- dequantize a unit segment (bit-identical to the reference expression) ---------------
template <Scheme S>
inline void dequant_unit(avx512_tag, const std::uint8_t* idx, std::size_t n, float s, float z, float* out) noexcept {
  const avx512::code_decoder<S> dec;
  const __m512 vs = _mm512_set1_ps(s), vz = _mm512_set1_ps(z);
  for (std::size_t i = 0; i < n; i += 16) {
    const __mmask16 k = avx512::tail16(n - i);
    const __m512i q = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(k, idx + i));
    __m512 v = dec(q);
    if constexpr (S::has_min) {  // mins after scaling: s * q - m, two roundings
      _mm512_mask_storeu_ps(out + i, k, _mm512_sub_ps(_mm512_mul_ps(vs, v), vz));
      continue;
    } else if constexpr (S::is_asymmetric) {
      v = _mm512_sub_ps(v, vz);
    }
    _mm512_mask_storeu_ps(out + i, k, _mm512_mul_ps(vs, v));
  }
  (void)vz;
}

/// 4-bit codes, columns [c0, c1) of row r (multiples of 32; units of a multiple of 32 columns or
/// whole rows) straight from the code bytes: per unit a table of its 16 weights (the expression
/// of dequant_unit, so bit-identical), then per 32 columns one widening, two lookups (low
/// nibbles: even columns, high: odd) and two interleaving permutes. No unpacked-index pass.
template <Scheme S>
inline bool dequant4_fits(std::size_t ul, std::size_t c0, std::size_t c1) noexcept {
  return S::code_bits == 4 && c0 % 32 == 0 && c1 % 32 == 0 && (ul % 32 == 0 || S::is_per_tensor || S::is_per_channel);
}
template <Scheme S>
inline void dequant4_segment(const quantized_matrix_view<S>& m, std::size_t r, std::size_t c0, std::size_t c1,
                             float* out) noexcept {
  const __m512 base = _mm512_load_ps(avx512::lut_regs<S>::padded.data());
  const __m512i even = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(8));
  const std::uint8_t* codes = m.codes(r);
  const std::size_t ul = unit_len(m.layout);
  for (std::size_t c = c0; c < c1;) {
    const std::size_t ur = c / ul, e = min_sz(c1, (ur + 1) * ul);
    float s = 0, z = 0;
    unit_scale_zero(m, r, ur, s, z);
    const __m512 vs = _mm512_set1_ps(s), vz = _mm512_set1_ps(z);
    __m512 w;
    if constexpr (S::has_min) w = _mm512_sub_ps(_mm512_mul_ps(vs, base), vz);
    else if constexpr (S::is_asymmetric) w = _mm512_mul_ps(vs, _mm512_sub_ps(base, vz));
    else w = _mm512_mul_ps(vs, base);
    (void)vz;
    for (; c < e; c += 32) {
      const __m512i t = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(codes + c / 2)));
      const __m512 lo = _mm512_permutexvar_ps(t, w), hi = _mm512_permutexvar_ps(_mm512_srli_epi32(t, 4), w);
      _mm512_storeu_ps(out + (c - c0), _mm512_permutex2var_ps(lo, even, hi));
      _mm512_storeu_ps(out + (c - c0) + 16, _mm512_permutex2var_ps(lo, odd, hi));
    }
  }
}

// ---- fp32 dot ----------------------------------------------------------------------------
inline float dot(avx512_tag, const float* a, const float* b, std::size_t n) noexcept {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  std::size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    a0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), a0);
    a1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), a1);
    a2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), a2);
    a3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), a3);
  }
  for (; i < n; i += 16) {
    const __mmask16 k = avx512::tail16(n - i);
    a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, a + i), _mm512_maskz_loadu_ps(k, b + i), a0);
  }
  return avx512::hsum(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

// ---- int8 activations -------------------------------------------------------------------
inline float quantize_block_q8(avx512_tag, const float* x, std::size_t n, std::int8_t* q, std::int32_t* sum) noexcept {
  __m512 m = _mm512_setzero_ps();
  const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
  bool nan = false;
  for (std::size_t i = 0; i < n; i += 16) {
    const __m512 v = _mm512_and_ps(_mm512_maskz_loadu_ps(avx512::tail16(n - i), x + i), absmask);
    nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q) != 0;
    m = _mm512_max_ps(m, v);
  }
  const float amax = _mm512_reduce_max_ps(m);
  if (nan || !(amax > 0.0f) || !detail::is_finite(amax)) {
    std::memset(q, 0, n);
    *sum = 0;
    return amax == 0.0f && !nan ? 0.0f : std::bit_cast<float>(0x7fc00000u);
  }
  const __m512 inv = _mm512_set1_ps(127.0f / amax);
  __m512i acc = _mm512_setzero_si512();
  const __m512i lim = _mm512_set1_epi32(127), nlim = _mm512_set1_epi32(-127);
  for (std::size_t i = 0; i < n; i += 16) {
    const __mmask16 k = avx512::tail16(n - i);
    const __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + i), inv);
    __m512i r = _mm512_cvt_roundps_epi32(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    r = _mm512_max_epi32(_mm512_min_epi32(r, lim), nlim);
    acc = _mm512_add_epi32(acc, r);
    _mm_mask_storeu_epi8(q + i, k, _mm512_cvtepi32_epi8(r));
  }
  *sum = _mm512_reduce_add_epi32(acc);
  return amax / 127.0f;
}

inline std::int32_t dot_u8s8(avx512_tag, const std::uint8_t* u, const std::int8_t* q, std::size_t n) noexcept {
  __m512i acc = _mm512_setzero_si512();
  for (std::size_t i = 0; i < n; i += 64) {
    const __mmask64 k = avx512::tail64(n - i);
    const __m512i a = _mm512_maskz_loadu_epi8(k, u + i), b = _mm512_maskz_loadu_epi8(k, q + i);
#if MIXQ_KERNEL_HAS_VNNI512
    acc = _mm512_dpbusd_epi32(acc, a, b);
#else
    // exact widening: u8 and s8 to int16, pairwise products summed into int32
    const __m512i a0 = _mm512_cvtepu8_epi16(_mm512_castsi512_si256(a));
    const __m512i a1 = _mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64(a, 1));
    const __m512i b0 = _mm512_cvtepi8_epi16(_mm512_castsi512_si256(b));
    const __m512i b1 = _mm512_cvtepi8_epi16(_mm512_extracti64x4_epi64(b, 1));
    acc = _mm512_add_epi32(acc, _mm512_add_epi32(_mm512_madd_epi16(a0, b0), _mm512_madd_epi16(a1, b1)));
#endif
  }
  return _mm512_reduce_add_epi32(acc);
}

// ---- fused exact GEMV ----------------------------------------------------------------
namespace avx512 {

/// x of 32-column blocks reordered to [even columns, odd columns]: the order in which the low
/// and high nibbles of 16 code bytes come out, so 4-bit codes need no interleaving.
inline void deinterleave32(const float* x, std::size_t n32, float* xp) noexcept {
  const __m512i ie = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i io = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  for (std::size_t b = 0; b < n32; ++b) {
    const __m512 a = _mm512_loadu_ps(x + 32 * b), c = _mm512_loadu_ps(x + 32 * b + 16);
    _mm512_store_ps(xp + 32 * b, _mm512_permutex2var_ps(a, ie, c));
    _mm512_store_ps(xp + 32 * b + 16, _mm512_permutex2var_ps(a, io, c));
  }
}

/// Whether gemv4_block takes a 4-bit scheme with unit length ul and K columns: codes decoded
/// by one 16-entry table, K a multiple of 32, units of 16 columns or a multiple of 32 (or whole
/// rows).
template <Scheme S>
inline bool gemv4_supported(std::size_t K, std::size_t ul) noexcept {
  if constexpr (S::code_bits != 4) {
    (void)K, (void)ul;
    return false;
  } else {
    return K % 32 == 0 && K > 0 && (ul % 32 == 0 || ul == 16 || S::is_per_tensor || S::is_per_channel);
  }
}

/// R rows x V activation vectors of a 4-bit scheme: out[i * V + v] = sum_c w_c x_v[c], with w_c
/// the reference weight s * (v(q) - z) (mins: s * v(q) - m, z holding m) formed exactly in
/// registers and one FMA per weight. Every 32 columns, 16 code bytes are widened to 16 lanes: the
/// low nibbles are the even columns, the high nibbles the odd ones (xp: deinterleave32 order).
/// Units of >= 32 columns: one vpermps per 16 weights from a table of the unit's 16 weights.
/// 16-column units (two per 16 lanes): the lanes' code values scaled per lane (8 + 8).
/// xp: V vectors with stride ldxp; s, z: per row i, unit u at [i * lds + u].
template <Scheme S, int R, int V, bool Wide = false>
inline void gemv4_block(const quantized_matrix_view<S>& m, std::size_t r, const float* xp, std::size_t ldxp,
                        std::size_t K, std::size_t ul, std::size_t lds, const float* s, const float* z,
                        float* out) noexcept {
  const __m512 base = _mm512_load_ps(lut_regs<S>::padded.data());
  // weights from code values: s * (v - z), or s * v - m; never fused (the reference's roundings)
  auto weights = [](__m512 v, __m512 sv, __m512 zv) {
    if constexpr (S::has_min) return _mm512_sub_ps(_mm512_mul_ps(v, sv), zv);
    else if constexpr (S::is_asymmetric) return _mm512_mul_ps(_mm512_sub_ps(v, zv), sv);
    else return (void)zv, _mm512_mul_ps(v, sv);
  };
  const std::uint8_t* row[R];
  __m512 acc[R][V][2];
  MIXQ_UNROLL for (int i = 0; i < R; ++i) {
    row[i] = m.codes(r + static_cast<std::size_t>(i));
    MIXQ_UNROLL for (int v = 0; v < V; ++v) acc[i][v][0] = acc[i][v][1] = _mm512_setzero_ps();
  }
  const std::size_t ahead = R * m.layout.code_row_bytes;
  auto fma2 = [&](int i, std::size_t c, __m512 lo, __m512 hi) {
    MIXQ_UNROLL for (int v = 0; v < V; ++v) {
      const float* x = xp + static_cast<std::size_t>(v) * ldxp + c;
      acc[i][v][0] = _mm512_fmadd_ps(lo, _mm512_load_ps(x), acc[i][v][0]);
      acc[i][v][1] = _mm512_fmadd_ps(hi, _mm512_load_ps(x + 16), acc[i][v][1]);
    }
  };
  auto lanes = [&](int i, std::size_t c) {
    return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row[i] + c / 2)));
  };
  // group units of 32 / 64 columns: the chunk loop of a unit unrolled
  constexpr std::size_t G = [] {
    if constexpr (S::is_per_tensor || S::is_per_channel) return std::size_t{0};
    else return S::granularity::size <= 64 ? S::granularity::size : std::size_t{0};
  }();
  if constexpr (Wide) {
    // Units of a multiple of 128 columns, K % 128 == 0, xp in permute_x<8> order (lane L of
    // register t is column 8 L + t of the block): one aligned 64-byte load per row and block, and
    // a right shift by 4 t puts code 8 L + t in the low nibble of lane L (vpermps reads only
    // those 4 bits; no widening move per 32 codes). Loads at byte offsets 1..3 instead of the
    // shifts by 8, 16, 24 split cache lines and ran 1.35x slower. The rows are the inner loop so
    // each x register is loaded once per block.
    const std::size_t ulen = ul < K ? ul : K;
    for (std::size_t u = 0, c0 = 0; c0 < K; ++u, c0 += ulen) {
      __m512 w[R];
      MIXQ_UNROLL for (int i = 0; i < R; ++i) {
        const std::size_t k = static_cast<std::size_t>(i) * lds + u;
        w[i] = weights(base, _mm512_set1_ps(s[k]), _mm512_set1_ps(z[k]));
      }
      for (std::size_t c = c0; c < c0 + ulen; c += 128) {
        prefetch_rows<R>(row, ahead, c / 2);
        MIXQ_UNROLL for (int k = 0; k < 4; ++k) {
          MIXQ_UNROLL for (int i = 0; i < R; ++i) {
            const __m512i v = _mm512_loadu_si512(row[i] + c / 2);
            const __m512i t = k == 0 ? v : _mm512_srli_epi32(v, 8 * k);
            fma2(i, c + 32 * static_cast<std::size_t>(k), _mm512_permutexvar_ps(t, w[i]),
                 _mm512_permutexvar_ps(_mm512_srli_epi32(t, 4), w[i]));
          }
        }
      }
    }
  } else if (ul >= 32 || S::is_per_tensor || S::is_per_channel) {
    const std::size_t ulen = ul < K ? ul : K;
    auto chunk = [&](std::size_t c, const __m512* w) {
      MIXQ_UNROLL for (int i = 0; i < R; ++i) {
        const __m512i t = lanes(i, c);
        fma2(i, c, _mm512_permutexvar_ps(t, w[i]), _mm512_permutexvar_ps(_mm512_srli_epi32(t, 4), w[i]));
      }
    };
    for (std::size_t u = 0, c0 = 0; c0 < K; ++u, c0 += ulen) {
      __m512 w[R];
      MIXQ_UNROLL for (int i = 0; i < R; ++i) {
        const std::size_t k = static_cast<std::size_t>(i) * lds + u;
        w[i] = weights(base, _mm512_set1_ps(s[k]), _mm512_set1_ps(z[k]));
      }
      if constexpr (G >= 32 && G % 32 == 0) {
        if (c0 % 128 == 0) prefetch_rows<R>(row, ahead, c0 / 2);
        MIXQ_UNROLL for (std::size_t j = 0; j < G / 32; ++j) chunk(c0 + 32 * j, w);
      } else {
        for (std::size_t c = c0; c < c0 + ulen; c += 32) {
          if (c % 128 == 0) prefetch_rows<R>(row, ahead, c / 2);
          chunk(c, w);
        }
      }
    }
  } else {  // 16-column units: lanes 0-7 are unit 2j, lanes 8-15 unit 2j + 1
    const __m512i half = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    for (std::size_t c = 0; c < K; c += 32) {
      if (c % 128 == 0) prefetch_rows<R>(row, ahead, c / 2);
      MIXQ_UNROLL for (int i = 0; i < R; ++i) {
        const std::size_t k = static_cast<std::size_t>(i) * lds + c / 16;
        // two floats by a plain 8-byte load: a masked load waits for the scale stores to retire
        auto pair = [&](const float* p) {
          return _mm512_permutexvar_ps(half, _mm512_castps128_ps512(_mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)))));
        };
        const __m512 sv = pair(s + k);
        const __m512 zv = S::is_asymmetric ? pair(z + k) : sv;
        const __m512i t = lanes(i, c);
        fma2(i, c, weights(_mm512_permutexvar_ps(t, base), sv, zv),
             weights(_mm512_permutexvar_ps(_mm512_srli_epi32(t, 4), base), sv, zv));
      }
    }
  }
  hsums(acc, out);
}

/// R rows x V vectors of an 8-bit integer scheme, any unit length (masked tails), natural column
/// order; x: V vectors with stride ldx.
template <Scheme S, int R, int V>
inline void gemv8_block(const quantized_matrix_view<S>& m, std::size_t r, const float* x, std::size_t ldx, std::size_t K,
                        std::size_t ul, std::size_t lds, const float* s, const float* z, float* out) noexcept {
  constexpr bool split = R * V <= 4;
  const std::uint8_t* row[R];
  __m512 tot[R][V];
  MIXQ_UNROLL for (int i = 0; i < R; ++i) {
    row[i] = m.codes(r + static_cast<std::size_t>(i));
    MIXQ_UNROLL for (int v = 0; v < V; ++v) tot[i][v] = _mm512_setzero_ps();
  }
  auto load_d = [&](int i, std::size_t c, __mmask16 k, __m512 zv) {
    const __m128i b = _mm_maskz_loadu_epi8(k, row[i] + c);
    if constexpr (S::is_asymmetric) return _mm512_sub_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(b)), zv);
    else return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(b));
  };
  const std::size_t ahead = R * m.layout.code_row_bytes;
  for (std::size_t u = 0, c0 = 0; c0 < K; ++u, c0 += ul) {
    const std::size_t c1 = c0 + ul;
    __m512 zv[R], a0[R][V], a1[R][V];
    MIXQ_UNROLL for (int i = 0; i < R; ++i) {
      zv[i] = _mm512_set1_ps(z[i * lds + u]);
      MIXQ_UNROLL for (int v = 0; v < V; ++v) a0[i][v] = a1[i][v] = _mm512_setzero_ps();
    }
    std::size_t c = c0;
    for (; c + 32 <= c1; c += 32) {
      if (c % 64 == 0) prefetch_rows<R>(row, ahead, c);
      MIXQ_UNROLL for (int i = 0; i < R; ++i) {
        const __m512 d0 = load_d(i, c, 0xffff, zv[i]), d1 = load_d(i, c + 16, 0xffff, zv[i]);
        MIXQ_UNROLL for (int v = 0; v < V; ++v) {
          const float* xv = x + static_cast<std::size_t>(v) * ldx + c;
          a0[i][v] = _mm512_fmadd_ps(d0, _mm512_loadu_ps(xv), a0[i][v]);
          if constexpr (split) a1[i][v] = _mm512_fmadd_ps(d1, _mm512_loadu_ps(xv + 16), a1[i][v]);
          else a0[i][v] = _mm512_fmadd_ps(d1, _mm512_loadu_ps(xv + 16), a0[i][v]);
        }
      }
    }
    for (; c < c1; c += 16) {
      const __mmask16 k = tail16(c1 - c);
      MIXQ_UNROLL for (int i = 0; i < R; ++i) {
        const __m512 d0 = _mm512_maskz_mov_ps(k, load_d(i, c, k, zv[i]));
        MIXQ_UNROLL for (int v = 0; v < V; ++v)
          a0[i][v] = _mm512_fmadd_ps(d0, _mm512_maskz_loadu_ps(k, x + static_cast<std::size_t>(v) * ldx + c), a0[i][v]);
      }
    }
    MIXQ_UNROLL for (int i = 0; i < R; ++i) {
      const __m512 sv = _mm512_set1_ps(s[i * lds + u]);
      MIXQ_UNROLL for (int v = 0; v < V; ++v)
        tot[i][v] = _mm512_fmadd_ps(sv, split ? _mm512_add_ps(a0[i][v], a1[i][v]) : a0[i][v], tot[i][v]);
    }
  }
  hsums(tot, out);
}

}  // namespace avx512
}  // namespace kernel_detail
MIXQ_END_NAMESPACE
#include "avx512_gemv.inc"  // a fragment of this header (not standalone)
MIXQ_BEGIN_NAMESPACE
namespace kernel_detail {
namespace avx512 {

/// Fused exact kernel for N <= 8 activation rows: Y[n * ldy + r] for r in [r0, r1). 4-bit codes
/// with 16- or 32-multiple-column units run gemv4_block, 8-bit integer codes gemv8_block;
/// everything else runs the blocked kernel (avx512_gemv.inc). Returns false when no fused path
/// applies.
template <Scheme S>
inline bool fused_rows(const quantized_matrix_view<S>& m, const float* X, std::size_t N, std::size_t ldx, float* Y,
                       std::size_t ldy, std::size_t r0, std::size_t r1) {
  using L = code_lut<S>;
  const std::size_t K = m.cols(), ul = unit_len(m.layout);
  const std::size_t nu = S::is_per_tensor ? 1 : K / ul, room = block_scales_room(4, nu);
  constexpr bool whole_row = S::is_per_tensor || S::is_per_channel;
  float* sz = scratch_as<float>(4, 2 * room);
  float out[8];
  // R rows x V vectors per block: 4 x 1 for one vector, else 1 x N (N <= 8).
  auto each_row_block = [&](auto kernel) {
    std::size_t r = r0;
    if (N == 1)
      for (; r + 4 <= r1; r += 4) kernel(r, std::integral_constant<int, 4>{}, std::integral_constant<int, 1>{});
    for (; r < r1; ++r) with_count<8>(N, [&](auto Vc) { kernel(r, std::integral_constant<int, 1>{}, Vc); });
  };
  if constexpr (S::code_bits == 4) {
    if (!gemv4_supported<S>(K, ul)) return blocked_rows<S>(m, X, N, ldx, Y, ldy, r0, r1);
    float* xp = scratch_as<float>(3, N * K);
    // The load-offset variant for one vector (GEMV); small-N GEMM keeps the widening loads (half
    // the template instances: compile time).
    const bool wide = N == 1 && K % 128 == 0 && (whole_row || ul % 128 == 0);
    for (std::size_t n = 0; n < N; ++n) {
      if (wide) permute_x<8>(X + n * ldx, K, whole_row ? K : ul, xp + n * K);
      else deinterleave32(X + n * ldx, K / 32, xp + n * K);
    }
    each_row_block([&](std::size_t r, auto Rc, auto Vc) {
      constexpr int R = decltype(Rc)::value, V = decltype(Vc)::value;
      block_scales_fast(m, r, R, sz, sz + room);
      if constexpr (V == 1) {
        if (wide) gemv4_block<S, R, V, true>(m, r, xp, K, K, ul, nu, sz, sz + room, out);
        else gemv4_block<S, R, V>(m, r, xp, K, K, ul, nu, sz, sz + room, out);
      } else {
        gemv4_block<S, R, V>(m, r, xp, K, K, ul, nu, sz, sz + room, out);
      }
      for (int i = 0; i < R; ++i)
        for (int v = 0; v < V; ++v) Y[static_cast<std::size_t>(v) * ldy + r + static_cast<std::size_t>(i)] = out[i * V + v];
    });
    return true;
  } else if constexpr (L::bits == 8 && L::integer && !S::has_min) {
    each_row_block([&](std::size_t r, auto Rc, auto Vc) {
      constexpr int R = decltype(Rc)::value, V = decltype(Vc)::value;
      block_scales_fast(m, r, R, sz, sz + room);
      gemv8_block<S, R, V>(m, r, X, ldx, K, ul, nu, sz, sz + room, out);
      for (int i = 0; i < R; ++i)
        for (int v = 0; v < V; ++v) Y[static_cast<std::size_t>(v) * ldy + r + static_cast<std::size_t>(i)] = out[i * V + v];
    });
    return true;
  } else {
    (void)sz, (void)out, (void)room, (void)each_row_block;
    return blocked_rows<S>(m, X, N, ldx, Y, ldy, r0, r1);
  }
}

}  // namespace avx512

template <Scheme S>
inline bool gemv_fused(avx512_tag, const quantized_matrix_view<S>& m, const float* x, float* y, std::size_t r0,
                       std::size_t r1) {
  return avx512::fused_rows<S>(m, x, 1, m.cols(), y, m.rows(), r0, r1);
}

/// Exact GEMM for few activation rows: the fused kernel, 8 rows of X per pass over W.
template <Scheme S>
inline bool gemm_fused(avx512_tag, const quantized_matrix_view<S>& m, const float* X, std::size_t N, std::size_t ldx,
                       float* Y, std::size_t ldy, std::size_t r0, std::size_t r1) {
  if (N > 16) return false;
  for (std::size_t n0 = 0; n0 < N; n0 += 8)
    if (!avx512::fused_rows<S>(m, X + n0 * ldx, N - n0 < 8 ? N - n0 : 8, ldx, Y + n0 * ldy, ldy, r0, r1)) return false;
  return true;
}

// ---- exact GEMM: panels of 32 weight rows x kc, 12 x 32 FMA micro-kernel -----------------
namespace avx512 {
/// In-register transpose of a 16 x 16 float tile.
inline void transpose16(__m512 r[16]) noexcept {
  __m512 t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {
    r[4 * i + 0] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
    r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
  }
  for (int j = 0; j < 4; ++j) {
    t[j] = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x88);
    t[4 + j] = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xDD);
    t[8 + j] = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x88);
    t[12 + j] = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xDD);
  }
  for (int j = 0; j < 4; ++j) {
    r[j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0x88);
    r[8 + j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0xDD);
    r[4 + j] = _mm512_shuffle_f32x4(t[4 + j], t[12 + j], 0x88);
    r[12 + j] = _mm512_shuffle_f32x4(t[4 + j], t[12 + j], 0xDD);
  }
}

template <int NN>
inline void gemm_micro_n(const float* panel, std::size_t kc, const float* X, std::size_t ldx, float* Y, std::size_t ldy,
                         std::size_t mm, bool accumulate) noexcept {
  __m512 acc[NN][2];
  MIXQ_UNROLL for (int n = 0; n < NN; ++n) acc[n][0] = acc[n][1] = _mm512_setzero_ps();
  for (std::size_t k = 0; k < kc; ++k) {
    const __m512 p0 = _mm512_load_ps(panel + 32 * k), p1 = _mm512_load_ps(panel + 32 * k + 16);
    MIXQ_UNROLL for (int n = 0; n < NN; ++n) {
      const __m512 xb = _mm512_set1_ps(X[static_cast<std::size_t>(n) * ldx + k]);
      acc[n][0] = _mm512_fmadd_ps(p0, xb, acc[n][0]);
      acc[n][1] = _mm512_fmadd_ps(p1, xb, acc[n][1]);
    }
  }
  const __mmask16 m0 = tail16(mm), m1 = mm > 16 ? tail16(mm - 16) : static_cast<__mmask16>(0);
  MIXQ_UNROLL for (int n = 0; n < NN; ++n) {
    float* y = Y + static_cast<std::size_t>(n) * ldy;
    if (accumulate) {
      acc[n][0] = _mm512_add_ps(acc[n][0], _mm512_maskz_loadu_ps(m0, y));
      acc[n][1] = _mm512_add_ps(acc[n][1], _mm512_maskz_loadu_ps(m1, y + 16));
    }
    _mm512_mask_storeu_ps(y, m0, acc[n][0]);
    _mm512_mask_storeu_ps(y + 16, m1, acc[n][1]);
  }
}
}  // namespace avx512

constexpr std::size_t gemm_mr(avx512_tag) noexcept { return 32; }
constexpr std::size_t gemm_nr(avx512_tag) noexcept { return 12; }

inline void gemm_pack(avx512_tag, const float* rows, std::size_t ld, std::size_t mm, std::size_t kc, float* panel) noexcept {
  std::size_t k = 0;
  for (; k + 16 <= kc; k += 16)
    for (std::size_t h = 0; h < 2; ++h) {
      __m512 r[16];
      for (std::size_t i = 0; i < 16; ++i)
        r[i] = h * 16 + i < mm ? _mm512_loadu_ps(rows + (h * 16 + i) * ld + k) : _mm512_setzero_ps();
      avx512::transpose16(r);
      for (std::size_t j = 0; j < 16; ++j) _mm512_store_ps(panel + (k + j) * 32 + h * 16, r[j]);
    }
  for (; k < kc; ++k)
    for (std::size_t i = 0; i < 32; ++i) panel[k * 32 + i] = i < mm ? rows[i * ld + k] : 0.0f;
}

inline void gemm_micro(avx512_tag, const float* panel, std::size_t kc, const float* X, std::size_t ldx, std::size_t nn,
                       float* Y, std::size_t ldy, std::size_t mm, bool accumulate) noexcept {
  with_count<12>(nn, [&](auto Nc) {
    avx512::gemm_micro_n<decltype(Nc)::value>(panel, kc, X, ldx, Y, ldy, mm, accumulate);
  });
}

// ---- int8 activations: weight bytes -------------------------------------------------------
namespace avx512 {
/// Codes (one per byte) to the weight bytes of q8_codes<S>, 64 at a time; `vector` is false
/// when only the portable loop can do it (codebooks of more than 128 codes without VBMI).
template <Scheme S>
struct u8_mapper {
  using Q = q8_codes<S>;
  static constexpr bool identity = S::is_asymmetric;
  static constexpr bool flip = !identity && code_lut<S>::integer && Q::offset == code_lut<S>::sign_flip;
#if defined(__AVX512VBMI__)
  static constexpr bool vector = identity || flip || Q::size <= 128;
#else
  static constexpr bool vector = identity || flip || Q::size <= 16;
#endif
  alignas(64) static constexpr std::array<std::uint8_t, 128> t = [] {
    std::array<std::uint8_t, 128> a{};
    if constexpr (!identity && !flip && Q::size <= 128)
      for (std::size_t q = 0; q < Q::size; ++q) a[q] = Q::u8[q];
    return a;
  }();
  const __m512i lo = Q::size <= 16 ? _mm512_broadcast_i32x4(_mm_load_si128(reinterpret_cast<const __m128i*>(t.data())))
                                   : _mm512_load_si512(t.data());
  const __m512i hi = _mm512_load_si512(t.data() + 64);
  __m512i operator()(__m512i v) const noexcept {
    if constexpr (identity) return v;
    else if constexpr (flip) return _mm512_xor_si512(v, _mm512_set1_epi8(static_cast<char>(Q::offset)));
    else if constexpr (Q::size <= 16) return _mm512_shuffle_epi8(lo, v);
#if defined(__AVX512VBMI__)
    else if constexpr (Q::size <= 64) return _mm512_permutexvar_epi8(v, lo);
    else return _mm512_permutex2var_epi8(lo, v, hi);
#else
    else return v;
#endif
  }
};
}  // namespace avx512

template <Scheme S>
inline void map_u8(avx512_tag, std::uint8_t* idx, std::size_t n) noexcept {
  using M = avx512::u8_mapper<S>;
  if constexpr (M::identity) {
    (void)idx, (void)n;
  } else if constexpr (M::vector) {
    const M map;
    for (std::size_t i = 0; i < n; i += 64) avx512::store_bytes(idx + i, map(avx512::load_bytes(idx + i, n - i)), n - i);
  } else {
    map_u8<S>(generic_tag{}, idx, n);
  }
}

/// Weight bytes of n codes of a row from column 0 (unpack, then map_u8), in one pass when both
/// steps have vector forms.
template <Scheme S>
inline void unpack_u8(avx512_tag t, const std::uint8_t* stream, std::size_t n, std::uint8_t* out) noexcept {
  constexpr int B = S::code_bits;
#if defined(__AVX512VBMI__)
  if constexpr (B != 4 && B != 8 && avx512::u8_mapper<S>::vector) {
    const avx512::unpack64<B> u;
    const avx512::u8_mapper<S> map;
    for (std::size_t i = 0; i < n; i += 64) avx512::store_bytes(out + i, map(u(stream + i / 8 * B, n - i)), n - i);
    return;
  }
#endif
  unpack<B>(t, stream, 0, n, out);
  map_u8<S>(t, out, n);
}

// ---- fused int8-activation GEMV / small-N GEMM (VNNI) -------------------------------------
#if MIXQ_KERNEL_HAS_VNNI512
namespace avx512 {

/// Codes of 2, 3, 5, 6 or 7 bits that q8_block unpacks and maps to weight bytes in registers.
template <Scheme S>
inline constexpr bool q8_unpacks_in_registers =
#if defined(__AVX512VBMI__)
    S::code_bits < 8 && S::code_bits != 4 && u8_mapper<S>::vector;
#else
    false;
#endif

/// Per-row block scales sb[b] = s_u(b) * sx_b * 2^-shift and the zero/offset correction of
/// every block, (offset + z_u(b) 2^shift) * sum_b(q): as exact integers ci[b] when the zero is
/// an integer (then the block's dot product is corrected before it is rounded to fp32, so an
/// all-zero unit gives exactly 0), else (float zeros) summed in fp32 and returned. s, z: nu
/// floats (ul * nu >= B * nb), readable to nu + 15 (block_scales_room: whole-vector loads, as a
/// masked load waits for the stores that wrote them to retire); sb, ci: padded16(nb) entries
/// (full-vector stores).
///
/// 16 blocks at a time (q8_row_prep16) when a row has more than 4 blocks and a unit spans at
/// least 16 blocks (per-channel rows: all of them) or 16 blocks span a power of two of units; the
/// scalar loop with a division per block was a third of a cold 4096 x 11008 int8 per-channel
/// GEMV. Short rows take the scalar loop inline: as a call it was a third of a 256 x 256 int8-path
/// GEMV (prologue and epilogue for two blocks).
template <Scheme S>
inline float q8_row_prep16(const float* s, const float* z, std::size_t per, std::size_t nb, const float* sx,
                           const std::int32_t* sq, float* sb, std::int32_t* ci) noexcept {
  using Q = q8_codes<S>;
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i which = per >= 16 ? _mm512_setzero_si512() : _mm512_srli_epi32(lane, std::countr_zero(per));
  const __m512 inv = _mm512_set1_ps(1.0f / static_cast<float>(1 << Q::shift));
  __m512 corrv = _mm512_setzero_ps();
  for (std::size_t b = 0; b < nb; b += 16) {
    const __mmask16 k = tail16(nb - b);  // lanes past nb may hold other rows' scales
    // v_u(b) per lane; per >= 16: the 16 blocks lie in units u and, from lane `split` on, u + 1
    auto unit_lanes = [&](const float* v) {
      if (per < 16) return _mm512_permutexvar_ps(which, _mm512_loadu_ps(v + b / per));  // 16 readable
      const std::size_t u = b / per, split = (u + 1) * per - b;
      const __mmask16 next = split < 16 ? static_cast<__mmask16>(k & (0xffffu << split)) : __mmask16{0};
      const __m512 cur = _mm512_set1_ps(v[u]);
      return next ? _mm512_mask_blend_ps(next, cur, _mm512_set1_ps(v[u + 1])) : cur;
    };
    const __m512 sxv = _mm512_maskz_loadu_ps(k, sx + b);
    _mm512_storeu_ps(sb + b, _mm512_mul_ps(_mm512_mul_ps(unit_lanes(s), sxv), inv));
    const __m512 zv = unit_lanes(z);
    if constexpr (S::has_min) {  // w = s q - m: the min's share, m_u sx_b sum_b(q), summed in fp32
      _mm512_storeu_si512(ci + b, _mm512_setzero_si512());
      corrv = _mm512_mask3_fmadd_ps(zv, _mm512_mul_ps(sxv, _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(k, sq + b))), corrv, k);
    } else {
      const __m512i off = _mm512_add_epi32(_mm512_set1_epi32(Q::offset), _mm512_slli_epi32(_mm512_cvttps_epi32(zv), Q::shift));
      _mm512_storeu_si512(ci + b, _mm512_mullo_epi32(off, _mm512_maskz_loadu_epi32(k, sq + b)));
    }
  }
  return hsum(corrv);
}

template <Scheme S>
MIXQ_ALWAYS_INLINE float q8_row_prep(const float* s, const float* z, std::size_t ul, std::size_t B, std::size_t nb,
                                     const float* sx, const std::int32_t* sq, float* sb, std::int32_t* ci) noexcept {
  using Q = q8_codes<S>;
  const float inv = 1.0f / static_cast<float>(1 << Q::shift), p2 = static_cast<float>(1 << Q::shift);
  const std::size_t per = ul / B;  // blocks per unit (ul is a multiple of B, or the whole row)
  if constexpr (!S::has_float_zero) {
    if (nb > 4 && per != 0 && (per >= 16 || 16 % per == 0)) return q8_row_prep16<S>(s, z, per, nb, sx, sq, sb, ci);
  }
  float corr = 0.0f;
  for (std::size_t b = 0, u = 0, k = 0; b < nb; ++b) {  // u = b / per (0 when per = 0)
    if (per != 0 && k++ == per) k = 1, ++u;
    sb[b] = s[u] * sx[b] * inv;
    if constexpr (S::has_float_zero) {
      ci[b] = 0;
      corr += sb[b] * ((static_cast<float>(Q::offset) + z[u] * p2) * static_cast<float>(sq[b]));
    } else if constexpr (S::has_min) {
      ci[b] = 0;
      corr = std::fma(z[u], sx[b] * static_cast<float>(sq[b]), corr);
    } else {
      ci[b] = (Q::offset + static_cast<std::int32_t>(z[u]) * (1 << Q::shift)) * sq[b];
    }
  }
  return corr;
}

/// The weight bytes of 128 4-bit codes (64 code bytes) as u8 for dpbusd: low nibbles (even
/// columns) and high nibbles (odd columns).
template <Scheme S>
inline void q8_split4(__m512i v, __m512i& lo, __m512i& hi) noexcept {
  using Q = q8_codes<S>;
  const __m512i m4 = _mm512_set1_epi8(0x0f);
  if constexpr (!S::is_asymmetric && code_lut<S>::integer && Q::offset == code_lut<S>::sign_flip)
    v = _mm512_xor_si512(v, _mm512_set1_epi8(static_cast<char>(0x88)));
  lo = _mm512_and_si512(v, m4);
  hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
  if constexpr (!S::is_asymmetric && !(code_lut<S>::integer && Q::offset == code_lut<S>::sign_flip)) {
    alignas(16) static constexpr auto t = [] {
      std::array<std::uint8_t, 16> a{};
      for (std::size_t q = 0; q < 16; ++q) a[q] = Q::u8[q];
      return a;
    }();
    const __m512i lut = _mm512_broadcast_i32x4(_mm_load_si128(reinterpret_cast<const __m128i*>(t.data())));
    lo = _mm512_shuffle_epi8(lut, lo);
    hi = _mm512_shuffle_epi8(lut, hi);
  }
}

/// Lane scales for one 64-byte chunk: every dpbusd lane covers 4 bytes; B = 128 (4-bit) or 64
/// columns (8-bit) per chunk share one block unless B = 32.
inline __m512 lanes_of_4(const float* sb) noexcept {  // 4 blocks, 4 lanes each
  const __m512i idx = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
  return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(_mm_loadu_ps(sb)));
}
inline __m512 lanes_of_2(const float* sb) noexcept {  // 2 blocks, 8 lanes each
  return _mm512_mask_blend_ps(static_cast<__mmask16>(0xff00), _mm512_set1_ps(sb[0]), _mm512_set1_ps(sb[1]));
}

/// Codes the int8 path reads from the matrix itself (no unpacked copy of the row): 4-bit codes,
/// 8-bit integers, and with VBMI every other width below 8 whose code map has a vector form.
template <Scheme S>
inline constexpr bool q8_in_place = S::code_bits == 4 || (S::code_bits == 8 && code_lut<S>::integer) ||
                                    q8_unpacks_in_registers<S>;

/// R rows x V activation rows. qa: activation codes (4-bit: columns of each 128-chunk as
/// [even, odd]), stride ldq; sbs: block scales per (row i, vector v): sbs + (i * V + v) * ldb.
/// ub: unused when q8_in_place<S> (codes read from the matrix), else the R rows' weight bytes
/// (unpack + map_u8), K apart.
template <Scheme S, int R, int V>
inline void q8_block(const quantized_matrix_view<S>& m, std::size_t r, const std::int8_t* qa, std::size_t ldq,
                     std::size_t K, std::size_t B, std::size_t ldb, const float* sbs, const std::int32_t* cis,
                     const std::uint8_t* ub, float* out) noexcept {
  using Q = q8_codes<S>;
  const std::uint8_t* row[R];
  __m512 acc[R][V];
  MIXQ_UNROLL for (int i = 0; i < R; ++i) {
    row[i] = q8_in_place<S> ? m.codes(r + static_cast<std::size_t>(i)) : ub + static_cast<std::size_t>(i) * K;
    MIXQ_UNROLL for (int v = 0; v < V; ++v) acc[i][v] = _mm512_setzero_ps();
  }
  auto sbp = [&](int i, int v) { return sbs + static_cast<std::size_t>(i * V + v) * ldb; };
  auto cip = [&](int i, int v) { return cis + static_cast<std::size_t>(i * V + v) * ldb; };
  const __m512i lane4 = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
  const __m512i lane8 = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
  const __m512i lane2 = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
  const std::size_t ahead = R * m.layout.code_row_bytes;
  if constexpr (S::code_bits == 4) {
    for (std::size_t j = 0; j < K / 128; ++j) {
      prefetch_rows<R>(row, ahead, 64 * j);
      __m512i qe[V], qo[V];
      MIXQ_UNROLL for (int v = 0; v < V; ++v) {
        qe[v] = _mm512_load_si512(qa + static_cast<std::size_t>(v) * ldq + 128 * j);
        qo[v] = _mm512_load_si512(qa + static_cast<std::size_t>(v) * ldq + 128 * j + 64);
      }
      MIXQ_UNROLL for (int i = 0; i < R; ++i) {
        __m512i lo, hi;
        q8_split4<S>(_mm512_loadu_si512(row[i] + 64 * j), lo, hi);
        MIXQ_UNROLL for (int v = 0; v < V; ++v) {
          __m512i d = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, qe[v]), hi, qo[v]);
          __m512 sc;
          if (B == 128) {
            d = _mm512_mask_sub_epi32(d, 1, d, _mm512_set1_epi32(cip(i, v)[j]));
            sc = _mm512_set1_ps(sbp(i, v)[j]);
          } else if (B == 32) {  // lane l: block l / 4
            d = _mm512_sub_epi32(d, _mm512_maskz_permutexvar_epi32(0x1111, lane4, _mm512_castsi128_si512(_mm_loadu_si128(
                                                                                    reinterpret_cast<const __m128i*>(cip(i, v) + 4 * j)))));
            sc = lanes_of_4(sbp(i, v) + 4 * j);
          } else {  // B == 16 (nvfp4 and other 16-column units): lane l, block l / 2
            d = _mm512_sub_epi32(d, _mm512_maskz_permutexvar_epi32(0x5555, lane2, _mm512_castsi256_si512(_mm256_loadu_si256(
                                                                                    reinterpret_cast<const __m256i*>(cip(i, v) + 8 * j)))));
            sc = _mm512_permutexvar_ps(lane2, _mm512_castps256_ps512(_mm256_loadu_ps(sbp(i, v) + 8 * j)));
          }
          acc[i][v] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), sc, acc[i][v]);
        }
      }
    }
  } else {
    // The 64 weight bytes of row i from column c: unpacked rows (ub), in-place int8 codes
    // (signed -> the offset-128 weight bytes by one xor), or (VBMI) codes of 2, 3, 5, 6, 7 bits
    // unpacked and mapped in registers -- a store and reload of every row cost more than the
    // dot products at small K.
    constexpr int CB = S::code_bits;
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(q8_in_place<S> && Q::offset == 128 && !S::is_asymmetric ? 0x80 : 0));
#if defined(__AVX512VBMI__)
    const unpack64<CB < 8 ? CB : 7> unp;
    const u8_mapper<S> map;
#endif
    auto bytes = [&](int i, std::size_t c) {
      if constexpr (CB == 8) return _mm512_xor_si512(_mm512_loadu_si512(row[i] + c), flip);
#if defined(__AVX512VBMI__)
      else if constexpr (q8_unpacks_in_registers<S>) return map(unp(row[i] + c / 8 * CB, 64));
#endif
      else return _mm512_loadu_si512(row[i] + c);
    };
    // Prefetches: the chunk's code bytes one row block ahead, one per 64 bytes. Written out, not
    // in a helper lambda: with a lambda holding only the prefetches, GCC 12 emitted none of them
    // in the R = 4 kernel (the R = 1 kernels kept theirs), and a cold 4096 x 11008 int8 GEMV ran
    // 20% slower.
    if (B == 128) {
      for (std::size_t j = 0; j < K / 128; ++j) {
        if constexpr (q8_in_place<S>) {  // 16 CB code bytes
          prefetch_rows<R>(row, ahead, 16 * CB * j);
          if constexpr (16 * CB > 64) prefetch_rows<R>(row, ahead, 16 * CB * j + 64);
        }
        __m512i q0[V], q1[V];
        MIXQ_UNROLL for (int v = 0; v < V; ++v) {
          q0[v] = _mm512_load_si512(qa + static_cast<std::size_t>(v) * ldq + 128 * j);
          q1[v] = _mm512_load_si512(qa + static_cast<std::size_t>(v) * ldq + 128 * j + 64);
        }
        MIXQ_UNROLL for (int i = 0; i < R; ++i) {
          const __m512i u0 = bytes(i, 128 * j);
          const __m512i u1 = bytes(i, 128 * j + 64);
          MIXQ_UNROLL for (int v = 0; v < V; ++v) {
            __m512i d = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), u0, q0[v]), u1, q1[v]);
            d = _mm512_mask_sub_epi32(d, 1, d, _mm512_set1_epi32(cip(i, v)[j]));
            acc[i][v] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), _mm512_set1_ps(sbp(i, v)[j]), acc[i][v]);
          }
        }
      }
    } else {  // B == 32: two blocks per 64-byte chunk
      for (std::size_t j = 0; j < K / 64; ++j) {
        if constexpr (q8_in_place<S>) prefetch_rows<R>(row, ahead, 8 * CB * j);  // 8 CB <= 64 code bytes
        __m512i q0[V];
        MIXQ_UNROLL for (int v = 0; v < V; ++v) q0[v] = _mm512_load_si512(qa + static_cast<std::size_t>(v) * ldq + 64 * j);
        MIXQ_UNROLL for (int i = 0; i < R; ++i) {
          const __m512i u0 = bytes(i, 64 * j);
          MIXQ_UNROLL for (int v = 0; v < V; ++v) {
            __m512i d = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u0, q0[v]);
            std::int64_t c2;
            std::memcpy(&c2, cip(i, v) + 2 * j, 8);
            d = _mm512_sub_epi32(d, _mm512_maskz_permutexvar_epi32(0x0101, lane8, _mm512_castsi128_si512(_mm_cvtsi64_si128(c2))));
            acc[i][v] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), lanes_of_2(sbp(i, v) + 2 * j), acc[i][v]);
          }
        }
      }
    }
  }
  hsums(acc, out);
  (void)lane4, (void)lane8, (void)lane2;
}

/// Even columns then odd columns of every 128-column chunk (the nibble order of 4-bit codes).
inline void split_even_odd128(const std::int8_t* q, std::size_t K, std::int8_t* out) noexcept {
  for (std::size_t j = 0; j < K / 128; ++j)
    for (std::size_t i = 0; i < 64; ++i) {
      out[128 * j + i] = q[128 * j + 2 * i];
      out[128 * j + 64 + i] = q[128 * j + 2 * i + 1];
    }
}

}  // namespace avx512

template <Scheme S>
inline bool gemm_q8_fused(avx512_tag t, const quantized_matrix_view<S>& m, const float* X, std::size_t N,
                          std::size_t ldx, float* Y, std::size_t ldy, std::size_t r0, std::size_t r1) {
  if (N > 8) return gemm_q8_panels<S>(t, m, X, N, ldx, Y, ldy, r0, r1);
  // Codes are read in place where q8_in_place says so; others (8-bit codebooks, and without
  // VBMI codes of 2, 3, 5, 6, 7 bits) are unpacked and mapped to weight bytes a row block at a
  // time, then take the 8-bit kernel.
  constexpr bool in_place = avx512::q8_in_place<S>;
  if constexpr (q8_codes<S>::supported) {
    const std::size_t K = m.cols(), ul = unit_len(m.layout), nu = K / ul;
    const std::size_t B = q8_block(m.layout);
    if ((B != 32 && B != 128 && !(B == 16 && S::code_bits == 4)) || K % 128 != 0) return false;
    const std::size_t nb = K / B, room = avx512::block_scales_room(4, nu), nbs = avx512::padded16(nb);
    const q8_rows a = quantize_rows_q8(t, X, N, ldx, K, B, 5);
    const std::int8_t* qa = a.q;
    if constexpr (S::code_bits == 4) {
      std::int8_t* qp = scratch_as<std::int8_t>(6, N * K);
      for (std::size_t n = 0; n < N; ++n) avx512::split_even_odd128(a.q + n * a.ldq, K, qp + n * K);
      qa = qp;
    }
    const std::size_t ldq = S::code_bits == 4 ? K : a.ldq;
    float* sz = scratch_as<float>(4, 2 * room);
    float* sbs = scratch_as<float>(7, 8 * nbs);
    std::int32_t* cis = scratch_as<std::int32_t>(2, 8 * nbs);
    std::uint8_t* ub = in_place ? nullptr : scratch_as<std::uint8_t>(3, 4 * K);
    float out[8], corr[8];
    auto block = [&](std::size_t r, auto Rc, auto Vc) {
      constexpr int R = decltype(Rc)::value, V = decltype(Vc)::value;
      avx512::block_scales_fast(m, r, R, sz, sz + room);
      for (int i = 0; i < R; ++i) {
        if (!in_place) {
          unpack_u8<S>(t, m.codes(r + static_cast<std::size_t>(i)), K, ub + static_cast<std::size_t>(i) * K);
        }
        const float* si = sz + static_cast<std::size_t>(i) * nu;
        for (int v = 0; v < V; ++v)
          corr[i * V + v] = avx512::q8_row_prep<S>(si, si + room, ul, B, nb, a.scale + static_cast<std::size_t>(v) * nb,
                                                   a.sum + static_cast<std::size_t>(v) * nb,
                                                   sbs + static_cast<std::size_t>(i * V + v) * nbs,
                                                   cis + static_cast<std::size_t>(i * V + v) * nbs);
      }
      avx512::q8_block<S, R, V>(m, r, qa, ldq, K, B, nbs, sbs, cis, ub, out);
      for (int i = 0; i < R; ++i)
        for (int v = 0; v < V; ++v)
          Y[static_cast<std::size_t>(v) * ldy + r + static_cast<std::size_t>(i)] = out[i * V + v] - corr[i * V + v];
    };
    std::size_t r = r0;
    if (N == 1)
      for (; r + 4 <= r1; r += 4) block(r, std::integral_constant<int, 4>{}, std::integral_constant<int, 1>{});
    for (; r < r1; ++r) {
      with_count<8>(N, [&](auto Vc) { block(r, std::integral_constant<int, 1>{}, Vc); });
    }
    return true;
  } else {
    (void)t, (void)m, (void)X, (void)N, (void)ldx, (void)Y, (void)ldy, (void)r0, (void)r1;
    return false;
  }
}
// ---- int8-activation GEMM for many activation rows: VNNI panels ---------------------------
// Weights packed per 32 rows as [k/4][32 rows][4 bytes] (one vpdpbusd per 4 columns x 16 rows);
// each activation row's 4 bytes are broadcast. Per block of B columns the int32 sums become
// fp32 with the row's scale (a) and zero/offset correction (c): y += sx (a * I - c * sum q).
// Integer zeros: the block's correction -(offset + z 2^shift) sum(q) is the sums' starting
// value (exact integers; one broadcast when every row has the same offset, symmetric schemes),
// so a block ends with a conversion, a multiply and an FMA per accumulator.
namespace avx512 {
template <int NN, bool FloatZero, bool UniformZero>
inline void q8_micro_n(const std::uint8_t* panel, const float* ac, const std::int32_t* ncz, std::size_t nblk, std::size_t B,
                       const std::int8_t* qa, std::size_t ldq, const float* sx, const std::int32_t* sq, std::size_t ldb,
                       float* Y, std::size_t ldy, std::size_t mm, bool accumulate) noexcept {
  __m512 accf[NN][2];
  MIXQ_UNROLL for (int n = 0; n < NN; ++n) accf[n][0] = accf[n][1] = _mm512_setzero_ps();
  const std::size_t k4b = B / 4;
  for (std::size_t b = 0; b < nblk; ++b) {
    __m512i acci[NN][2];
    if constexpr (FloatZero) {
      MIXQ_UNROLL for (int n = 0; n < NN; ++n) acci[n][0] = acci[n][1] = _mm512_setzero_si512();
    } else if constexpr (UniformZero) {  // sq: -offset * sum(q) per (vector, block)
      MIXQ_UNROLL for (int n = 0; n < NN; ++n) acci[n][0] = acci[n][1] = _mm512_set1_epi32(sq[static_cast<std::size_t>(n) * ldb + b]);
    } else {  // ncz: -(offset + z 2^shift) per row of the block
      const __m512i z0 = _mm512_load_si512(ncz + b * 32), z1 = _mm512_load_si512(ncz + b * 32 + 16);
      MIXQ_UNROLL for (int n = 0; n < NN; ++n) {
        const __m512i sqv = _mm512_set1_epi32(sq[static_cast<std::size_t>(n) * ldb + b]);
        acci[n][0] = _mm512_mullo_epi32(z0, sqv);
        acci[n][1] = _mm512_mullo_epi32(z1, sqv);
      }
    }
    const std::uint8_t* p = panel + b * k4b * 128;
    for (std::size_t k4 = 0; k4 < k4b; ++k4) {
      const __m512i w0 = _mm512_load_si512(p + k4 * 128), w1 = _mm512_load_si512(p + k4 * 128 + 64);
      MIXQ_UNROLL for (int n = 0; n < NN; ++n) {
        std::int32_t xv;
        std::memcpy(&xv, qa + static_cast<std::size_t>(n) * ldq + (b * k4b + k4) * 4, 4);
        const __m512i xb = _mm512_set1_epi32(xv);
        dpbusd_into(acci[n][0], w0, xb);
        dpbusd_into(acci[n][1], w1, xb);
      }
    }
    const float* a = ac + b * 64;  // a[32] then c[32] (float zeros only)
    const __m512 a0 = _mm512_load_ps(a), a1 = _mm512_load_ps(a + 16);
    MIXQ_UNROLL for (int n = 0; n < NN; ++n) {
      const __m512 sxn = _mm512_set1_ps(sx[static_cast<std::size_t>(n) * ldb + b]);
      __m512 t0 = _mm512_mul_ps(_mm512_cvtepi32_ps(acci[n][0]), a0), t1 = _mm512_mul_ps(_mm512_cvtepi32_ps(acci[n][1]), a1);
      if constexpr (FloatZero) {
        const __m512 sqn = _mm512_set1_ps(static_cast<float>(sq[static_cast<std::size_t>(n) * ldb + b]));
        t0 = _mm512_fnmadd_ps(_mm512_load_ps(a + 32), sqn, t0);
        t1 = _mm512_fnmadd_ps(_mm512_load_ps(a + 48), sqn, t1);
      }
      accf[n][0] = _mm512_fmadd_ps(sxn, t0, accf[n][0]);
      accf[n][1] = _mm512_fmadd_ps(sxn, t1, accf[n][1]);
    }
  }
  const __mmask16 m0 = tail16(mm), m1 = mm > 16 ? tail16(mm - 16) : static_cast<__mmask16>(0);
  MIXQ_UNROLL for (int n = 0; n < NN; ++n) {
    float* y = Y + static_cast<std::size_t>(n) * ldy;
    if (accumulate) {
      accf[n][0] = _mm512_add_ps(accf[n][0], _mm512_maskz_loadu_ps(m0, y));
      accf[n][1] = _mm512_add_ps(accf[n][1], _mm512_maskz_loadu_ps(m1, y + 16));
    }
    _mm512_mask_storeu_ps(y, m0, accf[n][0]);
    _mm512_mask_storeu_ps(y + 16, m1, accf[n][1]);
  }
}

/// v[i] *= k for n integers (the activation blocks' sums to their integer corrections).
inline void scale_ints(std::int32_t* v, std::size_t n, std::int32_t k) noexcept {
  for (std::size_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail16(n - i);
    _mm512_mask_storeu_epi32(v + i, m, _mm512_mullo_epi32(_mm512_maskz_loadu_epi32(m, v + i), _mm512_set1_epi32(k)));
  }
}

/// 32 rows of weight bytes (u8, row stride ld, kc columns, kc a multiple of 4) to the
/// [k/4][32][4] panel; missing rows are zero.
inline void q8_pack(const std::uint8_t* u, std::size_t ld, std::size_t mm, std::size_t kc, std::uint8_t* panel) noexcept {
  const std::size_t k4n = kc / 4;
  std::size_t k4 = 0;
  for (; k4 + 16 <= k4n; k4 += 16)
    for (std::size_t h = 0; h < 2; ++h) {
      __m512 r[16];
      for (std::size_t i = 0; i < 16; ++i)
        r[i] = h * 16 + i < mm ? _mm512_castsi512_ps(_mm512_loadu_si512(u + (h * 16 + i) * ld + 4 * k4))
                               : _mm512_setzero_ps();
      transpose16(r);
      for (std::size_t j = 0; j < 16; ++j) _mm512_store_ps(reinterpret_cast<float*>(panel + (k4 + j) * 128 + h * 64), r[j]);
    }
  for (; k4 < k4n; ++k4)
    for (std::size_t i = 0; i < 32; ++i)
      for (std::size_t j = 0; j < 4; ++j) panel[k4 * 128 + i * 4 + j] = i < mm ? u[i * ld + 4 * k4 + j] : 0;
}
}  // namespace avx512

template <Scheme S>
inline bool gemm_q8_panels(avx512_tag t, const quantized_matrix_view<S>& m, const float* X, std::size_t N,
                           std::size_t ldx, float* Y, std::size_t ldy, std::size_t r0, std::size_t r1) {
  using Q = q8_codes<S>;
  if constexpr (S::has_min) return false;  // mins after scaling (K-quants, Q4_1): the generic int8 path
  const std::size_t K = m.cols(), ul = unit_len(m.layout), nu = K / ul;
  const std::size_t B = q8_block(m.layout);
  if (B % 4 != 0 || K % B != 0) return false;
  const std::size_t nbk = K / B;
  const q8_rows a = quantize_rows_q8(t, X, N, ldx, K, B, 5);
  // Symmetric integer codes: every row's offset is Q::offset, so a block's integer correction
  // depends on the activation block only (q8_micro_n's UniformZero).
  constexpr bool uniform = !S::has_float_zero && !S::is_asymmetric;
  if constexpr (uniform) avx512::scale_ints(a.sum, N * nbk, -Q::offset);
  constexpr std::size_t MR = 32, NR = 6;
  const std::size_t KC = B >= 512 ? B : 512 / B * B;  // whole blocks per chunk
  std::uint8_t* u = scratch_as<std::uint8_t>(0, MR * K);
  std::uint8_t* panel = scratch_as<std::uint8_t>(1, MR * KC);
  float* ac = scratch_as<float>(2, (KC / B) * 64);
  float* sz = scratch_as<float>(4, 2 * nu);
  float* rowsc = scratch_as<float>(3, 2 * MR * nu);  // a-scale and correction per (row, unit)
  std::int32_t* rowz = scratch_as<std::int32_t>(6, MR * nu);  // integer offset + zero per (row, unit)
  std::int32_t* ncz = scratch_as<std::int32_t>(7, (KC / B) * 32);  // -(offset + z 2^shift) per block and row
  const float inv = 1.0f / static_cast<float>(1 << Q::shift), p2 = static_cast<float>(1 << Q::shift);
  for (std::size_t m0 = r0; m0 < r1; m0 += MR) {
    const std::size_t mm = min_sz(MR, r1 - m0);
    for (std::size_t i = 0; i < mm; ++i) {
      unpack_u8<S>(t, m.codes(m0 + i), K, u + i * K);
      row_scales(m, m0 + i, sz, sz + nu);
      for (std::size_t v = 0; v < nu; ++v) {
        rowsc[(2 * i) * nu + v] = sz[v] * inv;
        rowsc[(2 * i + 1) * nu + v] = sz[v] * inv * (static_cast<float>(Q::offset) + sz[nu + v] * p2);
        rowz[i * nu + v] = S::has_float_zero ? 0 : Q::offset + static_cast<std::int32_t>(sz[nu + v]) * (1 << Q::shift);
      }
    }
    for (std::size_t kc0 = 0; kc0 < K; kc0 += KC) {
      const std::size_t kc = min_sz(KC, K - kc0), nblk = kc / B;
      avx512::q8_pack(u + kc0, K, mm, kc, panel);
      for (std::size_t b = 0; b < nblk; ++b) {
        const std::size_t unit = S::is_per_tensor || S::is_per_channel ? 0 : (kc0 + b * B) / ul;
        for (std::size_t i = 0; i < MR; ++i) {
          ac[b * 64 + i] = i < mm ? rowsc[(2 * i) * nu + unit] : 0.0f;
          ac[b * 64 + 32 + i] = i < mm ? rowsc[(2 * i + 1) * nu + unit] : 0.0f;
          ncz[b * 32 + i] = i < mm ? -rowz[i * nu + unit] : 0;
        }
      }
      const std::size_t b0 = kc0 / B;
      for (std::size_t n0 = 0; n0 < N; n0 += NR) {
        const std::size_t nn = min_sz(NR, N - n0);
        const std::int8_t* qa = a.q + n0 * a.ldq;
        const float* sx = a.scale + n0 * nbk + b0;
        const std::int32_t* sq = a.sum + n0 * nbk + b0;
        float* y = Y + n0 * ldy + m0;
        const bool acc = kc0 > 0;
        with_count<NR>(nn, [&](auto Nc) {
          avx512::q8_micro_n<decltype(Nc)::value, S::has_float_zero, uniform>(panel, ac, ncz, nblk, B, qa + kc0, a.ldq, sx, sq,
                                                                               nbk, y, ldy, mm, acc);
        });
      }
    }
  }
  return true;
}

#endif  // MIXQ_KERNEL_HAS_VNNI512

}  // namespace kernel_detail
MIXQ_END_NAMESPACE

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif  // MIXQ_KERNEL_HAS_AVX512
