// Kernels on rows of ggml blocks, as llama.cpp stores a weight tensor: `rows` rows of
// ggml::row_size<T>(cols) bytes each, row-major, no padding (T one of mixq::ggml::q4_0, q4_1,
// q5_0, q5_1, q8_0, q2_k, q3_k, q4_k, q5_k, q6_k, iq4_nl, mxfp4).
//
// API (namespace mixq; m is a ggml_matrix_view<T>{data, rows, cols}):
//   dequantize(m, out, r0, r1)          rows [r0, r1) to fp32 (row r0 first), bit-identical to
//                                       ggml::dequantize_row<T> (the scalar reference)
//   gemv(m, x, y, r0, r1)               y[r] = sum_c W[r][c] x[c], exact path (fp32 activations)
//   gemm(m, X, N, ldx, Y, ldy, r0, r1)  Y[n][r] = sum_c X[n][c] W[r][c], exact path
//   gemv_q8 / gemm_q8 (same arguments)  fast path: activations rounded to int8 per block of 32
//                                       columns (scale amax / 127, ties to even), the ggml q8_0
//                                       way, and multiplied in exact integer arithmetic
//   ggml_supports_q8<T>                 true for every type above (all have integer codes)
// Overloads without r0, r1 do all rows. Row ranges split work over an engine's pool; a row's
// result does not depend on the range it is computed in. Checks at the boundary (mixq::error):
// null data / x / y / X / Y, cols not a multiple of T::block_elems, a row range outside
// [0, rows), ldx < cols, ldy < rows. Nothing is checked inside the loops.
// Runtime dispatch: MIXQ_DEFINE_GGML_KERNELS(mixq::ggml::q4_k) in a per-ISA TU defines
// mixq::dispatch::get_kernels<mixq::ggml::q4_k, isa>(), the usual kernels<T> table whose
// (data, rows, cols) is the ggml tensor (see dispatch.hpp).
//
// How: every block type decodes a span of its blocks into one common form, int8 codes q_c and
// per 16 columns a scale a_j = d * sub-scale and, for the affine types (q4_1, q5_1, q2_k, q4_k,
// q5_k), an offset b_j = -m or dmin * sub-min, with the reference weight w_c = a_j q_c - b_j
// (a_j q_c is exact in fp32, so the SIMD dequantizer's fused a q - b is bit-identical). The
// per-arch helpers (arch/ggml.hpp) then run on that form: R = 4 rows share each activation
// load; the offsets are applied once per row through sum_j b_j sum_{c in j} x_c, with the
// 16-column sums of x computed once per call; the int8 path multiplies |q| by the activation
// codes with q's sign (vpdpbusd with VNNI, vpmaddubsw otherwise). GEMM (exact, N > 1)
// dequantizes tiles and reuses the fp32 panel micro-kernel of gemm.hpp.
// With AVX-512 the commonest types skip the span form and read their blocks in place: the exact
// path (N <= 8) for Q4_0, Q4_1, IQ4_NL, Q8_0, Q4_K, Q5_K, Q6_K forms each reference weight in
// registers with ggml's roundings; the int8 path (VNNI) for Q4_0, Q4_1, IQ4_NL, Q8_0, Q4_K,
// Q6_K and N <= 8 turns each 64 columns of codes into one register of unsigned bytes for one
// vpdpbusd (arch/ggml.hpp), and for N > 8 (every type) packs the span form as q + 128 into the
// int8 panels of the mixq schemes' VNNI GEMM. All stay within the bounds below.
//
// Error bounds (u = 2^-24, A_c = |a_j q_c| + |b_j| the magnitude of the weight's two parts,
// derived from the accumulation depth of the kernels; tested in tests/kernel/test_ggml_kernels):
//   exact  |y - sum_c w_c x_c| <= (K/16 + 20) u sum_c A_c |x_c| + (2K + sum|x|) 2^-149
//   q8     |y - sum_c w_c x_c| <= sum_b (sx_b/2 + 4 u amax_b) sum_{c in b} |a q_c|
//                                 + (K/16 + 20) u sum_c A_c (|x_c| + sx_b) + (2K + sum|x|) 2^-149
// with b the 32-column activation blocks, amax_b = max |x| in b and sx_b = amax_b / 127.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <type_traits>

#include "../scheme/ggml.hpp"
#include "arch/ggml.hpp"
#include "check.hpp"
#include "dispatch.hpp"
#include "gemm.hpp"
#include "isa.hpp"

MIXQ_BEGIN_NAMESPACE

/// A non-owning view of a ggml tensor: rows x cols values of block type T, row r at
/// data + r * ggml::row_size<T>(cols) (cols a multiple of T::block_elems).
template <class T>
struct ggml_matrix_view {
  const void* data = nullptr;
  std::size_t rows = 0;
  std::size_t cols = 0;

  std::size_t row_bytes() const noexcept { return cols / T::block_elems * T::block_bytes; }
  std::size_t bytes() const noexcept { return rows * row_bytes(); }
  const std::uint8_t* row(std::size_t r) const noexcept { return static_cast<const std::uint8_t*>(data) + r * row_bytes(); }
};

namespace kernel_detail {

inline float ggml_half(const std::uint8_t* p) noexcept {
  std::uint16_t h;
  std::memcpy(&h, p, 2);  // little-endian hosts
#if MIXQ_KERNEL_HAS_AVX2 && defined(__F16C__)
  return _cvtsh_ss(h);
#else
  return scale_decoder<fp16>::one(h);
#endif
}

/// Decoders: one block at blk into q[block_elems], a[block_elems / 16] and (affine types)
/// b[block_elems / 16], with w = a q - b equal to ggml::dequantize_row's value, bit for bit.
template <class T>
struct ggml_decoder;

template <>
struct ggml_decoder<ggml::q4_0> {
  static constexpr std::size_t scale_cols = 32;  // columns per scale
  static constexpr bool affine = false;
  static void decode(const std::uint8_t* in, std::int8_t* q, float* a, float*) noexcept {
    a[0] = a[1] = ggml_half(in);
    for (int j = 0; j < 16; ++j) {
      q[j] = static_cast<std::int8_t>((in[2 + j] & 0x0f) - 8);
      q[j + 16] = static_cast<std::int8_t>((in[2 + j] >> 4) - 8);
    }
  }
};

template <>
struct ggml_decoder<ggml::q4_1> {
  static constexpr std::size_t scale_cols = 32;  // columns per scale
  static constexpr bool affine = true;
  static void decode(const std::uint8_t* in, std::int8_t* q, float* a, float* b) noexcept {
    a[0] = a[1] = ggml_half(in);
    b[0] = b[1] = -ggml_half(in + 2);  // q d + m = q d - (-m)
    for (int j = 0; j < 16; ++j) {
      q[j] = static_cast<std::int8_t>(in[4 + j] & 0x0f);
      q[j + 16] = static_cast<std::int8_t>(in[4 + j] >> 4);
    }
  }
};

template <int Off>
inline void ggml_q5_codes(const std::uint8_t* qh4, const std::uint8_t* qs, std::int8_t* q) noexcept {
  std::uint32_t qh;
  std::memcpy(&qh, qh4, 4);
  for (int j = 0; j < 16; ++j) {
    q[j] = static_cast<std::int8_t>(((qs[j] & 0x0f) | (((qh >> j) & 1u) << 4)) - Off);
    q[j + 16] = static_cast<std::int8_t>(((qs[j] >> 4) | (((qh >> (j + 16)) & 1u) << 4)) - Off);
  }
}

template <>
struct ggml_decoder<ggml::q5_0> {
  static constexpr std::size_t scale_cols = 32;  // columns per scale
  static constexpr bool affine = false;
  static void decode(const std::uint8_t* in, std::int8_t* q, float* a, float*) noexcept {
    a[0] = a[1] = ggml_half(in);
    ggml_q5_codes<16>(in + 2, in + 6, q);
  }
};

template <>
struct ggml_decoder<ggml::q5_1> {
  static constexpr std::size_t scale_cols = 32;  // columns per scale
  static constexpr bool affine = true;
  static void decode(const std::uint8_t* in, std::int8_t* q, float* a, float* b) noexcept {
    a[0] = a[1] = ggml_half(in);
    b[0] = b[1] = -ggml_half(in + 2);
    ggml_q5_codes<0>(in + 4, in + 8, q);
  }
};

template <>
struct ggml_decoder<ggml::q8_0> {
  static constexpr std::size_t scale_cols = 32;  // columns per scale
  static constexpr bool affine = false;
  static void decode(const std::uint8_t* in, std::int8_t* q, float* a, float*) noexcept {
    a[0] = a[1] = ggml_half(in);
    std::memcpy(q, in + 2, 32);
  }
};

template <>
struct ggml_decoder<ggml::iq4_nl> {
  static constexpr std::size_t scale_cols = 32;  // columns per scale
  static constexpr bool affine = false;
  static void decode(const std::uint8_t* in, std::int8_t* q, float* a, float*) noexcept {
    a[0] = a[1] = ggml_half(in);
    for (int j = 0; j < 16; ++j) {
      q[j] = ggml::iq4_nl_levels[in[2 + j] & 0x0f];
      q[j + 16] = ggml::iq4_nl_levels[in[2 + j] >> 4];
    }
  }
};

template <>
struct ggml_decoder<ggml::mxfp4> {
  static constexpr std::size_t scale_cols = 32;  // columns per scale
  static constexpr bool affine = false;
  static void decode(const std::uint8_t* in, std::int8_t* q, float* a, float*) noexcept {
    a[0] = a[1] = ggml::detail::e8m0_half(in[0]);
    for (int j = 0; j < 16; ++j) {
      q[j] = ggml::detail::mxfp4_levels[in[1 + j] & 0x0f];
      q[j + 16] = ggml::detail::mxfp4_levels[in[1 + j] >> 4];
    }
  }
};

/// The 2-bit fields of Q2_K / Q3_K: column 128 h + 32 g + l is bits 2g of byte 32 h + l.
inline void ggml_k_2bit(const std::uint8_t* qs, std::int8_t* q) noexcept {
  for (int h = 0; h < 2; ++h)
    for (int g = 0; g < 4; ++g)
      for (int l = 0; l < 32; ++l) q[128 * h + 32 * g + l] = static_cast<std::int8_t>((qs[32 * h + l] >> (2 * g)) & 3);
}

template <>
struct ggml_decoder<ggml::q2_k> {
  static constexpr std::size_t scale_cols = 16;  // columns per scale
  static constexpr bool affine = true;
  static void decode(const std::uint8_t* in, std::int8_t* q, float* a, float* b) noexcept {
    const float d = ggml_half(in + 80), dmin = ggml_half(in + 82);
    for (int j = 0; j < 16; ++j) {
      a[j] = d * static_cast<float>(in[j] & 0x0f);
      b[j] = dmin * static_cast<float>(in[j] >> 4);
    }
    ggml_k_2bit(in + 16, q);
  }
};

template <>
struct ggml_decoder<ggml::q3_k> {
  static constexpr std::size_t scale_cols = 16;  // columns per scale
  static constexpr bool affine = false;
  static void decode(const std::uint8_t* in, std::int8_t* q, float* a, float*) noexcept {
    const float d = ggml_half(in + 108);
    const std::uint8_t* sc = in + 96;
    for (int j = 0; j < 16; ++j) {
      const int low = j < 8 ? (sc[j] & 0x0f) : (sc[j - 8] >> 4);
      a[j] = d * static_cast<float>((low | (((sc[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32);
    }
    ggml_k_2bit(in + 32, q);
    for (int g = 0; g < 8; ++g)  // high bit clear: code - 4
      for (int l = 0; l < 32; ++l)
        q[32 * g + l] = static_cast<std::int8_t>(q[32 * g + l] - (((in[l] >> g) & 1) ? 0 : 4));
  }
};

/// Q4_K / Q5_K: scales and mins of the 8 sub-blocks of 32, each repeated for its two groups of 16.
inline void ggml_k4_scales(const std::uint8_t* in, float* a, float* b) noexcept {
  const float d = ggml_half(in), dmin = ggml_half(in + 2);
  for (int j = 0; j < 8; ++j) {
    int sc = 0, m = 0;
    ggml::detail::get_scale_min_k4(j, in + 4, sc, m);
    a[2 * j] = a[2 * j + 1] = d * static_cast<float>(sc);
    b[2 * j] = b[2 * j + 1] = dmin * static_cast<float>(m);
  }
}

template <>
struct ggml_decoder<ggml::q4_k> {
  static constexpr std::size_t scale_cols = 32;  // columns per scale
  static constexpr bool affine = true;
  static void decode(const std::uint8_t* in, std::int8_t* q, float* a, float* b) noexcept {
    ggml_k4_scales(in, a, b);
    const std::uint8_t* qs = in + 16;
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l) {
        q[64 * c + l] = static_cast<std::int8_t>(qs[32 * c + l] & 0x0f);
        q[64 * c + 32 + l] = static_cast<std::int8_t>(qs[32 * c + l] >> 4);
      }
  }
};

template <>
struct ggml_decoder<ggml::q5_k> {
  static constexpr std::size_t scale_cols = 32;  // columns per scale
  static constexpr bool affine = true;
  static void decode(const std::uint8_t* in, std::int8_t* q, float* a, float* b) noexcept {
    ggml_k4_scales(in, a, b);
    const std::uint8_t* qh = in + 16;
    const std::uint8_t* qs = in + 48;
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l) {
        q[64 * c + l] = static_cast<std::int8_t>((qs[32 * c + l] & 0x0f) | (((qh[l] >> (2 * c)) & 1) << 4));
        q[64 * c + 32 + l] = static_cast<std::int8_t>((qs[32 * c + l] >> 4) | (((qh[l] >> (2 * c + 1)) & 1) << 4));
      }
  }
};

template <>
struct ggml_decoder<ggml::q6_k> {
  static constexpr std::size_t scale_cols = 16;  // columns per scale
  static constexpr bool affine = false;
  static void decode(const std::uint8_t* in, std::int8_t* q, float* a, float*) noexcept {
    const float d = ggml_half(in + 208);
    for (int j = 0; j < 16; ++j) a[j] = d * static_cast<float>(static_cast<std::int8_t>(in[192 + j]));
    for (int h = 0; h < 2; ++h) {
      const std::uint8_t* ql = in + 64 * h;
      const std::uint8_t* qh = in + 128 + 32 * h;
      for (int l = 0; l < 32; ++l) {
        q[128 * h + l] = static_cast<std::int8_t>(((ql[l] & 0x0f) | ((qh[l] & 3) << 4)) - 32);
        q[128 * h + 32 + l] = static_cast<std::int8_t>(((ql[32 + l] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32);
        q[128 * h + 64 + l] = static_cast<std::int8_t>(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
        q[128 * h + 96 + l] = static_cast<std::int8_t>(((ql[32 + l] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
      }
    }
  }
};

template <class T>
concept ggml_block_type = requires(const std::uint8_t* in, std::int8_t* q, float* a) {
  { T::block_elems } -> std::convertible_to<std::size_t>;
  { T::block_bytes } -> std::convertible_to<std::size_t>;
  ggml_decoder<T>::decode(in, q, a, a);
};

/// Columns [c0, c0 + n) of a row (both multiples of the block size) into the common form: the
/// SIMD decoder of arch/ggml.hpp where there is one, else the portable one.
template <class T, class Tag>
inline void ggml_decode_span(Tag, const std::uint8_t* row, std::size_t c0, std::size_t n, std::int8_t* q, float* a,
                             float* b) noexcept {
  constexpr std::size_t BE = T::block_elems, BB = T::block_bytes;
  const std::uint8_t* p = row + c0 / BE * BB;
  const std::size_t nb = n / BE;
#if MIXQ_KERNEL_HAS_AVX2
  if constexpr (std::is_base_of_v<avx2_tag, Tag> && ggml_decoder_avx2<T>::available) {
    for (std::size_t k = 0; k < nb; ++k) ggml_decoder_avx2<T>::decode(p + k * BB, q + k * BE, a + k * BE / 16, b + k * BE / 16);
    return;
  }
#endif
  for (std::size_t k = 0; k < nb; ++k) ggml_decoder<T>::decode(p + k * BB, q + k * BE, a + k * BE / 16, b + k * BE / 16);
}

/// xs[j] = sum of x[16 j .. 16 j + 15] (fp32, in order): the offsets' share of a dot product.
inline void ggml_sums16(const float* x, std::size_t n16, float* xs) noexcept {
  for (std::size_t j = 0; j < n16; ++j) {
    float s = 0.0f;
    for (std::size_t l = 0; l < 16; ++l) s += x[16 * j + l];
    xs[j] = s;
  }
}

inline constexpr std::size_t ggml_chunk = 1024;  // columns decoded at a time (a multiple of 256)

// Scratch slots: 0 codes, 1 scales, 2 offsets, 3 column sums of x, 4 activation scales per 16,
// 5 int8 activations (quantize_rows_q8), 6 dequantized rows / partial sums, 7 GEMM panels.

/// R rows against V activation vectors, chunk by chunk: decodes each chunk of the R rows once,
/// then prod(qp, ap, c0, n, v, part) sets part[i] = row i's product with vector v over the
/// chunk's columns [c0, c0 + n). Writes acc[v * R + i] = sum of the parts - sum_j b_ij xs_vj
/// (xs: 16-column sums of vector v at xs + v * ldxs; affine types only). acc: 2 R V floats.
template <class T, int R, class Tag, class Prod>
inline void ggml_rows_block(Tag t, const ggml_matrix_view<T>& m, std::size_t r, std::size_t V, const float* xs,
                            std::size_t ldxs, float* acc, Prod&& prod) {
  const std::size_t K = m.cols, chunk = min_sz(K, ggml_chunk);
  std::int8_t* q = scratch_as<std::int8_t>(0, R * chunk);
  float* a = scratch_as<float>(1, R * chunk / 16);
  float* b = scratch_as<float>(2, R * chunk / 16);
  float* off = acc + R * V;
  const std::int8_t* qp[R];
  const float* ap[R];
  for (std::size_t i = 0; i < 2 * R * V; ++i) acc[i] = 0.0f;
  for (std::size_t c0 = 0; c0 < K; c0 += chunk) {
    const std::size_t n = min_sz(chunk, K - c0);
    for (int i = 0; i < R; ++i) {
      const std::size_t o = static_cast<std::size_t>(i) * chunk;
      qp[i] = q + o;
      ap[i] = a + o / 16;
      ggml_decode_span<T>(t, m.row(r + static_cast<std::size_t>(i)), c0, n, q + o, a + o / 16, b + o / 16);
    }
    for (std::size_t v = 0; v < V; ++v) {
      float part[R];
      prod(qp, ap, c0, n, v, part);
      for (int i = 0; i < R; ++i) acc[v * R + static_cast<std::size_t>(i)] += part[i];
      if constexpr (ggml_decoder<T>::affine)
        for (int i = 0; i < R; ++i)
          off[v * R + static_cast<std::size_t>(i)] +=
              dot(t, b + static_cast<std::size_t>(i) * chunk / 16, xs + v * ldxs + c0 / 16, n / 16);
    }
  }
  if constexpr (ggml_decoder<T>::affine)
    for (std::size_t i = 0; i < R * V; ++i) acc[i] -= off[i];
  (void)xs, (void)ldxs, (void)t;
}

/// Every row of [r0, r1) through ggml_rows_block, 4 rows at a time; y(v, r) receives the result.
template <class T, class Tag, class Dot, class Out>
inline void ggml_each_rows(Tag t, const ggml_matrix_view<T>& m, std::size_t r0, std::size_t r1, std::size_t V,
                           const float* xs, std::size_t ldxs, Dot&& dotf, Out&& out) {
  float* acc = scratch_as<float>(6, 2 * 4 * V);
  std::size_t r = r0;
  for (; r + 4 <= r1; r += 4) {
    ggml_rows_block<T, 4>(t, m, r, V, xs, ldxs, acc, [&](const std::int8_t* const* qp, const float* const* ap,
                                                        std::size_t c0, std::size_t n, std::size_t v, float* part) {
      dotf(std::integral_constant<int, 4>{}, qp, ap, c0, n, v, part);
    });
    for (std::size_t v = 0; v < V; ++v)
      for (std::size_t i = 0; i < 4; ++i) out(v, r + i, acc[v * 4 + i]);
  }
  for (; r < r1; ++r) {
    ggml_rows_block<T, 1>(t, m, r, V, xs, ldxs, acc, [&](const std::int8_t* const* qp, const float* const* ap,
                                                        std::size_t c0, std::size_t n, std::size_t v, float* part) {
      dotf(std::integral_constant<int, 1>{}, qp, ap, c0, n, v, part);
    });
    for (std::size_t v = 0; v < V; ++v) out(v, r, acc[v]);
  }
}

/// 16-column sums of N vectors (affine types only; else nothing): xs + n * (K / 16).
template <class T>
inline const float* ggml_vector_sums(const float* X, std::size_t N, std::size_t ldx, std::size_t K) {
  if constexpr (!ggml_decoder<T>::affine) {
    (void)X, (void)N, (void)ldx, (void)K;
    return nullptr;
  } else {
    float* xs = scratch_as<float>(3, N * (K / 16));
    for (std::size_t n = 0; n < N; ++n) ggml_sums16(X + n * ldx, K / 16, xs + n * (K / 16));
    return xs;
  }
}

#if MIXQ_KERNEL_HAS_AVX512
template <class T>
inline constexpr bool ggml_has_direct = avx512::ggml_direct<T>::ok || std::is_same_v<T, ggml::q4_k> ||
                                        std::is_same_v<T, ggml::q5_k> || std::is_same_v<T, ggml::q6_k>;

/// Exact path on the blocks in place (AVX-512), 1 <= N <= 8 vectors: 4 rows at a time for one
/// vector, else one row against all N vectors (each weight formed once, N FMAs).
template <class T>
inline void ggml_direct_gemm(const ggml_matrix_view<T>& m, const float* X, std::size_t N, std::size_t ldx, float* Y,
                             std::size_t ldy, std::size_t r0, std::size_t r1) {
  const std::size_t nblk = m.cols / T::block_elems, rb = m.row_bytes();
  if constexpr (avx512::ggml_lanes4<T>) {  // x in the kernel's column order
    float* xp = scratch_as<float>(3, N * m.cols);
    for (std::size_t n = 0; n < N; ++n) avx512::ggml_lanes_permute_x(X + n * ldx, m.cols, xp + n * m.cols);
    X = xp;
    ldx = m.cols;
  }
  auto rows_of = [&](const std::uint8_t* const* rows, auto Rc, auto Vc, float* out) {
    constexpr int R = decltype(Rc)::value, V = decltype(Vc)::value;
    if constexpr (avx512::ggml_lanes4<T>) avx512::ggml_lanes4_rows<T, R, V>(rows, nblk, R * rb, X, ldx, out);
    else if constexpr (std::is_same_v<T, ggml::q4_k> || std::is_same_v<T, ggml::q5_k>)
      avx512::ggml_k45_rows<T, R, V>(rows, nblk, R * rb, X, ldx, out);
    else if constexpr (std::is_same_v<T, ggml::q6_k>) avx512::ggml_q6k_rows<R, V>(rows, nblk, R * rb, X, ldx, out);
    else avx512::ggml_direct_rows<T, R, V>(rows, nblk, R * rb, X, ldx, out);
  };
  std::size_t r = r0;
  if (N == 1) {
    for (; r + 4 <= r1; r += 4) {
      const std::uint8_t* rows[4] = {m.row(r), m.row(r + 1), m.row(r + 2), m.row(r + 3)};
      rows_of(rows, std::integral_constant<int, 4>{}, std::integral_constant<int, 1>{}, Y + r);
    }
    // the last rows by count (GCC 12 warns of overflow in `for (; r < r1; ++r)` when K is constant)
    for (std::size_t i = 0, left = r1 - r; i < left; ++i) {
      const std::uint8_t* rows[1] = {m.row(r + i)};
      rows_of(rows, std::integral_constant<int, 1>{}, std::integral_constant<int, 1>{}, Y + r + i);
    }
    return;
  }
  for (; r < r1; ++r) {
    const std::uint8_t* rows[1] = {m.row(r)};
    float out[8];
    auto one = [&](auto Vc) { rows_of(rows, std::integral_constant<int, 1>{}, Vc, out); };
    with_count<8>(N, one);
    for (std::size_t v = 0; v < N; ++v) Y[v * ldy + r] = out[v];
  }
}
#endif

template <class T, class Tag>
inline void ggml_gemv_rows(Tag t, const ggml_matrix_view<T>& m, const float* x, float* y, std::size_t r0, std::size_t r1) {
  const std::size_t K = m.cols;
#if MIXQ_KERNEL_HAS_AVX512
  if constexpr (std::is_same_v<Tag, avx512_tag> && ggml_has_direct<T>) return ggml_direct_gemm<T>(m, x, 1, K, y, 0, r0, r1);
#endif
  const float* xs = ggml_vector_sums<T>(x, 1, K, K);
  ggml_each_rows<T>(
      t, m, r0, r1, 1, xs, K / 16,
      [&](auto Rc, const std::int8_t* const* qp, const float* const* ap, std::size_t c0, std::size_t n, std::size_t,
          float* part) { ggml_dot16<decltype(Rc)::value>(t, qp, ap, x + c0, n / 16, part); },
      [&](std::size_t, std::size_t r, float v) { y[r] = v; });
}

#if MIXQ_KERNEL_HAS_VNNI512
/// The int8 path on the blocks in place (AVX-512 VNNI; types with avx512::ggml_q8_direct): the
/// activations prepared once per vector; for one vector 4 rows at a time, else one row against
/// 8 vectors at a time (codes formed once per 8 vectors, the row in L1 after the first 8).
template <class T>
inline void ggml_gemm_q8_direct(const ggml_matrix_view<T>& m, const float* X, std::size_t N, std::size_t ldx, float* Y,
                                std::size_t ldy, std::size_t r0, std::size_t r1) {
  using D = avx512::ggml_q8_direct<T>;
  const std::size_t K = m.cols, nb32 = K / 32, nchunk = (nb32 + 1) / 2, rb = m.row_bytes();
  const q8_rows qa = quantize_rows_q8(avx512_tag{}, X, N, ldx, K, 32, 5);
  std::int8_t* qx = scratch_as<std::int8_t>(0, N * nchunk * 64);
  auto* cl = scratch_as<std::int32_t>(1, N * nchunk * 16);
  float* sxl = scratch_as<float>(2, N * nchunk * 16);
  float* xs = scratch_as<float>(3, D::affine ? N * nb32 : 1);
  for (std::size_t n = 0; n < N; ++n) {
    avx512::ggml_q8_acts<D>(qa.q + n * qa.ldq, qa.scale + n * qa.nb, nb32, N, qx + n * 64, cl + n * 16, sxl + n * 16);
    if constexpr (D::affine) avx512::sums32(X + n * ldx, nb32, xs + n * nb32);
  }
  constexpr std::size_t DL = std::is_same_v<T, ggml::q6_k> ? 4 : 2;  // row scales per chunk
  float* dl = scratch_as<float>(4, 4 * DL * nchunk);
  float* mn = scratch_as<float>(6, D::affine ? 4 * nb32 : 1);
  auto block = [&](std::size_t r, auto Rc, auto Vc, std::size_t n0) {
    constexpr int R = decltype(Rc)::value, V = decltype(Vc)::value;
    const std::uint8_t* rows[R];
    const float* dls[R];
    for (int i = 0; i < R; ++i) {
      const auto ii = static_cast<std::size_t>(i);
      rows[i] = m.row(r + ii);
      dls[i] = dl + ii * DL * nchunk;
      if (n0 == 0) avx512::ggml_q8_row_prep<T>(rows[i], nb32, dl + ii * DL * nchunk, mn + ii * nb32);
    }
    float out[R * V];
    avx512::ggml_q8_rows<T, R, V>(rows, nb32, N, R * rb, qx + n0 * 64, cl + n0 * 16, sxl + n0 * 16,
                                  dls, out);
    for (int i = 0; i < R; ++i)
      for (int v = 0; v < V; ++v) {
        const auto ii = static_cast<std::size_t>(i), n = n0 + static_cast<std::size_t>(v);
        float o = out[i * V + v];
        if constexpr (D::affine) o += dot(avx512_tag{}, mn + ii * nb32, xs + n * nb32, nb32);
        Y[n * ldy + r + ii] = o;
      }
  };
  std::size_t r = r0;
  if (N == 1)
    for (; r + 4 <= r1; r += 4) block(r, std::integral_constant<int, 4>{}, std::integral_constant<int, 1>{}, 0);
  for (; r < r1; ++r)
    for (std::size_t n0 = 0; n0 < N; n0 += 8) {  // the row's scales prepared once, 8 vectors at a time
      auto one = [&](auto Vc) { block(r, std::integral_constant<int, 1>{}, Vc, n0); };
      with_count<8>(N - n0, one);
    }
}
#endif

#if MIXQ_KERNEL_HAS_VNNI512
/// The int8 path for many vectors (N > 8) on the VNNI panel micro-kernel of the mixq schemes: 32
/// rows decoded to the span form, their int8 codes stored as q + 128 (unsigned bytes) and packed
/// [k/4][32 rows][4]; blocks of B = 32 columns (B = 16 for the types with 16-column sub-scales,
/// whose activation scale per 32 columns is then repeated); the offsets' share sum_j b_j xs_j
/// (exact fp32 sums of x) subtracted afterwards.
template <class T>
inline void ggml_gemm_q8_panels(const ggml_matrix_view<T>& m, const float* X, std::size_t N, std::size_t ldx, float* Y,
                                std::size_t ldy, std::size_t r0, std::size_t r1) {
  constexpr bool affine = ggml_decoder<T>::affine;
  constexpr std::size_t B = ggml_decoder<T>::scale_cols, MR = 32, NR = 6, KC = 512;
  static_assert(B == 16 || B == 32);
  const avx512_tag t{};
  const std::size_t K = m.cols, n16 = K / 16, nb = K / B;
  const q8_rows qa = quantize_rows_q8(t, X, N, ldx, K, 32, 5);
  const float* sx = qa.scale;
  std::int32_t* sq = qa.sum;
  const float* xs = ggml_vector_sums<T>(X, N, ldx, K);  // slot 3
  std::uint8_t* u = scratch_as<std::uint8_t>(0, MR * K);
  float* a = scratch_as<float>(1, MR * n16);
  float* b = scratch_as<float>(2, MR * n16);
  auto* panel = scratch_as<std::uint8_t>(4, MR * KC + (B == 16 ? N * nb * 8 : 0));
  if constexpr (B == 16) {  // per 16 columns: the 32-column activation scale, and the 16 codes' sum
    auto* sx16 = reinterpret_cast<float*>(panel + MR * KC);
    auto* sq16 = reinterpret_cast<std::int32_t*>(sx16 + N * nb);
    for (std::size_t n = 0; n < N; ++n)
      for (std::size_t j = 0; j < nb; ++j) {
        sx16[n * nb + j] = qa.scale[n * qa.nb + j / 2];
        std::int32_t s = 0;
        for (std::size_t c = 0; c < 16; ++c) s += qa.q[n * qa.ldq + 16 * j + c];
        sq16[n * nb + j] = s;
      }
    sx = sx16;
    sq = sq16;
  }
  // Every row's weight bytes are q + 128: a block's integer correction is -128 sum(q), the
  // sums' starting value in q8_micro_n (UniformZero).
  avx512::scale_ints(sq, N * nb, -128);
  float* ac = scratch_as<float>(6, KC / B * 64);
  for (std::size_t i = 0; i < KC / B; ++i)
    for (std::size_t k = 32; k < 64; ++k) ac[i * 64 + k] = 0.0f;
  for (std::size_t m0 = r0; m0 < r1; m0 += MR) {
    const std::size_t mm = min_sz(MR, r1 - m0);
    for (std::size_t i = 0; i < mm; ++i) {
      auto* q = reinterpret_cast<std::int8_t*>(u + i * K);
      ggml_decode_span<T>(t, m.row(m0 + i), 0, K, q, a + i * n16, b + i * n16);
      avx512::flip_sign_bytes(u + i * K, K);
    }
    for (std::size_t kc0 = 0; kc0 < K; kc0 += KC) {
      const std::size_t kc = min_sz(KC, K - kc0), nblk = kc / B;
      avx512::q8_pack(u + kc0, K, mm, kc, panel);
      for (std::size_t j = 0; j < nblk; ++j)
        for (std::size_t i = 0; i < MR; ++i) ac[j * 64 + i] = i < mm ? a[i * n16 + (kc0 + j * B) / 16] : 0.0f;
      const std::size_t b0 = kc0 / B;
      for (std::size_t n0 = 0; n0 < N; n0 += NR) {
        const std::int8_t* q = qa.q + n0 * qa.ldq + kc0;
        const float* s = sx + n0 * nb + b0;
        const std::int32_t* z = sq + n0 * nb + b0;
        float* y = Y + n0 * ldy + m0;
        const bool acc = kc0 > 0;
        with_count<NR>(N - n0, [&](auto Nc) {
          avx512::q8_micro_n<decltype(Nc)::value, false, true>(panel, ac, nullptr, nblk, B, q, qa.ldq, s, z, nb, y, ldy, mm, acc);
        });
      }
    }
    if constexpr (affine)
      for (std::size_t n = 0; n < N; ++n)
        for (std::size_t i = 0; i < mm; ++i) Y[n * ldy + m0 + i] -= dot(t, b + i * n16, xs + n * n16, n16);
  }
}
#endif

template <class T, class Tag>
inline void ggml_gemm_q8_rows(Tag t, const ggml_matrix_view<T>& m, const float* X, std::size_t N, std::size_t ldx,
                              float* Y, std::size_t ldy, std::size_t r0, std::size_t r1) {
#if MIXQ_KERNEL_HAS_VNNI512
  if constexpr (std::is_same_v<Tag, avx512_tag>) {
    if (N > 8) return ggml_gemm_q8_panels<T>(m, X, N, ldx, Y, ldy, r0, r1);
    if constexpr (avx512::ggml_q8_direct<T>::ok) return ggml_gemm_q8_direct<T>(m, X, N, ldx, Y, ldy, r0, r1);
  }
#endif
  const std::size_t K = m.cols, n16 = K / 16;
  const float* xs = ggml_vector_sums<T>(X, N, ldx, K);
  const q8_rows qa = quantize_rows_q8(t, X, N, ldx, K, 32, 5);
  float* sx = scratch_as<float>(4, N * n16);  // activation scale of each 16 columns
  for (std::size_t n = 0; n < N; ++n)
    for (std::size_t j = 0; j < n16; ++j) sx[n * n16 + j] = qa.scale[n * qa.nb + j / 2];
  ggml_each_rows<T>(
      t, m, r0, r1, N, xs, n16,
      [&](auto Rc, const std::int8_t* const* qp, const float* const* ap, std::size_t c0, std::size_t n, std::size_t v,
          float* part) {
        ggml_dot16_q8<decltype(Rc)::value>(t, qp, ap, sx + v * n16 + c0 / 16, qa.q + v * qa.ldq + c0, n / 16, part);
      },
      [&](std::size_t v, std::size_t r, float val) { Y[v * ldy + r] = val; });
}

template <class T, class Tag>
inline void ggml_dequantize_rows(Tag t, const ggml_matrix_view<T>& m, float* out, std::size_t r0, std::size_t r1) {
  const std::size_t K = m.cols, chunk = min_sz(K, ggml_chunk);
  std::int8_t* q = scratch_as<std::int8_t>(0, chunk);
  float* a = scratch_as<float>(1, chunk / 16);
  float* b = scratch_as<float>(2, chunk / 16);
  for (std::size_t r = r0; r < r1; ++r)
    for (std::size_t c0 = 0; c0 < K; c0 += chunk) {
      const std::size_t n = min_sz(chunk, K - c0);
      ggml_decode_span<T>(t, m.row(r), c0, n, q, a, b);
      ggml_dequant16(t, q, a, ggml_decoder<T>::affine ? b : nullptr, n / 16, out + (r - r0) * K + c0);
    }
}

/// Exact GEMM, N > 1: kc-slices of gemm_mc rows dequantized (exact weights), packed into MR-row
/// panels and multiplied by the fp32 micro-kernel of gemm.hpp with every activation row.
template <class T, class Tag>
inline void ggml_gemm_rows(Tag t, const ggml_matrix_view<T>& m, const float* X, std::size_t N, std::size_t ldx, float* Y,
                           std::size_t ldy, std::size_t r0, std::size_t r1) {
  if (N == 1) return ggml_gemv_rows<T>(t, m, X, Y, r0, r1);
#if MIXQ_KERNEL_HAS_AVX512
  if constexpr (std::is_same_v<Tag, avx512_tag> && ggml_has_direct<T>)
    if (N <= 8) return ggml_direct_gemm<T>(m, X, N, ldx, Y, ldy, r0, r1);
#endif
  constexpr std::size_t MR = gemm_mr(Tag{}), NR = gemm_nr(Tag{});
  constexpr std::size_t KC = gemm_kc;  // a multiple of every block size
  static_assert(KC % T::block_elems == 0);
  const std::size_t K = m.cols;
  std::int8_t* q = scratch_as<std::int8_t>(0, KC);
  float* a = scratch_as<float>(1, KC / 16);
  float* b = scratch_as<float>(2, KC / 16);
  float* rows = scratch_as<float>(6, MR * KC);
  float* panels = scratch_as<float>(7, gemm_mc * KC);
  for (std::size_t kc0 = 0; kc0 < K; kc0 += KC) {
    const std::size_t kc = min_sz(KC, K - kc0);
    std::size_t ldp;
    const float* xp = gemm_copy_x(t, X, N, ldx, kc0, kc, 4, ldp);
    for (std::size_t mc0 = r0; mc0 < r1; mc0 += gemm_mc) {
      const std::size_t mc = min_sz(gemm_mc, r1 - mc0), np = (mc + MR - 1) / MR;
      for (std::size_t p = 0; p < np; ++p) {
        const std::size_t mm = min_sz(MR, mc - p * MR);
        for (std::size_t i = 0; i < mm; ++i) {
          // The same blocks of the next panel's rows: this walk is page-strided (prefetch_bytes).
          if (const std::size_t rn = mc0 + p * MR + i + MR; rn < r1)
            prefetch_bytes(m.row(rn) + kc0 / T::block_elems * T::block_bytes, kc / T::block_elems * T::block_bytes);
          ggml_decode_span<T>(t, m.row(mc0 + p * MR + i), kc0, kc, q, a, b);
          ggml_dequant16(t, q, a, ggml_decoder<T>::affine ? b : nullptr, kc / 16, rows + i * KC);
        }
        gemm_pack(t, rows, KC, mm, kc, panels + p * KC * MR);
      }
      for (std::size_t n0 = 0; n0 < N; n0 += NR)
        for (std::size_t p = 0; p < np; ++p)
          gemm_micro(t, panels + p * KC * MR, kc, xp + n0 * ldp, ldp, min_sz(NR, N - n0), Y + n0 * ldy + mc0 + p * MR,
                     ldy, min_sz(MR, mc - p * MR), kc0 > 0);
    }
  }
}

template <class T>
inline void ggml_check(const char* fn, const ggml_matrix_view<T>& m, std::size_t r0, std::size_t r1) {
  char msg[256];
  if (m.data == nullptr) {
    std::snprintf(msg, sizeof msg, "%s<%s>: the ggml matrix view is empty (data is null)", fn, T::name);
    throw error(msg);
  }
  if (m.cols % T::block_elems != 0) {
    std::snprintf(msg, sizeof msg, "%s<%s>: cols = %zu is not a multiple of the block size %zu", fn, T::name, m.cols,
                  T::block_elems);
    throw error(msg);
  }
  if (r0 > r1 || r1 > m.rows) {
    std::snprintf(msg, sizeof msg, "%s<%s>: row range [%zu, %zu) is not inside [0, %zu)", fn, T::name, r0, r1, m.rows);
    throw error(msg);
  }
}

}  // namespace kernel_detail

/// True when T has the int8-activation path (every ggml block type: all have integer codes).
template <class T>
inline constexpr bool ggml_supports_q8 = kernel_detail::ggml_block_type<T>;

/// Rows [r0, r1) of m as fp32 into out (row-major, cols floats per row, row r0 first),
/// bit-identical to ggml::dequantize_row<T>.
template <kernel_detail::ggml_block_type T>
void dequantize(const ggml_matrix_view<T>& m, float* out, std::size_t r0, std::size_t r1) {
  kernel_detail::ggml_check("mixq::dequantize", m, r0, r1);
  if (r0 == r1 || m.cols == 0) return;
  kernel_detail::check_ptr("mixq::dequantize", "out", out);
  kernel_detail::ggml_dequantize_rows<T>(kernel_detail::best_tag{}, m, out, r0, r1);
}
template <kernel_detail::ggml_block_type T>
void dequantize(const ggml_matrix_view<T>& m, float* out) {
  dequantize(m, out, 0, m.rows);
}

/// y[r] = sum_c W[r][c] x[c] for rows r in [r0, r1) (y indexed by absolute row; x has cols
/// floats). Exact path: fp32 activations.
template <kernel_detail::ggml_block_type T>
void gemv(const ggml_matrix_view<T>& m, const float* x, float* y, std::size_t r0, std::size_t r1) {
  kernel_detail::ggml_check("mixq::gemv", m, r0, r1);
  if (r0 == r1) return;
  kernel_detail::check_ptr("mixq::gemv", "x", x);
  kernel_detail::check_ptr("mixq::gemv", "y", y);
  kernel_detail::ggml_gemv_rows<T>(kernel_detail::best_tag{}, m, x, y, r0, r1);
}
template <kernel_detail::ggml_block_type T>
void gemv(const ggml_matrix_view<T>& m, const float* x, float* y) {
  gemv(m, x, y, 0, m.rows);
}

/// Y[n][r] = sum_c X[n][c] W[r][c] for n < N and rows r in [r0, r1). X: N x cols row-major with
/// row stride ldx >= cols; Y: N x rows row-major with row stride ldy >= rows; only columns
/// [r0, r1) of Y are written. Exact path.
template <kernel_detail::ggml_block_type T>
void gemm(const ggml_matrix_view<T>& m, const float* X, std::size_t N, std::size_t ldx, float* Y, std::size_t ldy,
          std::size_t r0, std::size_t r1) {
  kernel_detail::ggml_check("mixq::gemm", m, r0, r1);
  if (r0 == r1 || N == 0) return;
  kernel_detail::check_ptr("mixq::gemm", "X", X);
  kernel_detail::check_ptr("mixq::gemm", "Y", Y);
  kernel_detail::check_ld("mixq::gemm", "ldx", ldx, m.cols);
  kernel_detail::check_ld("mixq::gemm", "ldy", ldy, m.rows);
  if (m.cols == 0) {
    for (std::size_t n = 0; n < N; ++n)
      for (std::size_t r = r0; r < r1; ++r) Y[n * ldy + r] = 0.0f;
    return;
  }
  kernel_detail::ggml_gemm_rows<T>(kernel_detail::best_tag{}, m, X, N, ldx, Y, ldy, r0, r1);
}
template <kernel_detail::ggml_block_type T>
void gemm(const ggml_matrix_view<T>& m, const float* X, std::size_t N, std::size_t ldx, float* Y, std::size_t ldy) {
  gemm(m, X, N, ldx, Y, ldy, 0, m.rows);
}

/// gemv with activations rounded to int8 per block of 32 columns (the fast path; error bound above).
template <kernel_detail::ggml_block_type T>
void gemv_q8(const ggml_matrix_view<T>& m, const float* x, float* y, std::size_t r0, std::size_t r1) {
  kernel_detail::ggml_check("mixq::gemv_q8", m, r0, r1);
  if (r0 == r1) return;
  kernel_detail::check_ptr("mixq::gemv_q8", "x", x);
  kernel_detail::check_ptr("mixq::gemv_q8", "y", y);
  kernel_detail::ggml_gemm_q8_rows<T>(kernel_detail::best_tag{}, m, x, 1, m.cols, y, m.rows, r0, r1);
}
template <kernel_detail::ggml_block_type T>
void gemv_q8(const ggml_matrix_view<T>& m, const float* x, float* y) {
  gemv_q8(m, x, y, 0, m.rows);
}

/// gemm with each row of X rounded to int8 per block of 32 columns.
template <kernel_detail::ggml_block_type T>
void gemm_q8(const ggml_matrix_view<T>& m, const float* X, std::size_t N, std::size_t ldx, float* Y, std::size_t ldy,
             std::size_t r0, std::size_t r1) {
  kernel_detail::ggml_check("mixq::gemm_q8", m, r0, r1);
  if (r0 == r1 || N == 0) return;
  kernel_detail::check_ptr("mixq::gemm_q8", "X", X);
  kernel_detail::check_ptr("mixq::gemm_q8", "Y", Y);
  kernel_detail::check_ld("mixq::gemm_q8", "ldx", ldx, m.cols);
  kernel_detail::check_ld("mixq::gemm_q8", "ldy", ldy, m.rows);
  kernel_detail::ggml_gemm_q8_rows<T>(kernel_detail::best_tag{}, m, X, N, ldx, Y, ldy, r0, r1);
}
template <kernel_detail::ggml_block_type T>
void gemm_q8(const ggml_matrix_view<T>& m, const float* X, std::size_t N, std::size_t ldx, float* Y, std::size_t ldy) {
  gemm_q8(m, X, N, ldx, Y, ldy, 0, m.rows);
}

// ---- runtime dispatch: the kernels<T> table over (data, rows, cols) ------------------------
namespace kernel_detail {
template <ggml_block_type T>
struct ggml_dispatch_entry {
  static ggml_matrix_view<T> view(const void* d, std::size_t rows, std::size_t cols) { return {d, rows, cols}; }
  static void dequantize(const void* d, std::size_t rows, std::size_t cols, float* out, std::size_t r0, std::size_t r1) {
    ::mixq::dequantize(view(d, rows, cols), out, r0, r1);
  }
  static void gemv(const void* d, std::size_t rows, std::size_t cols, const float* x, float* y, std::size_t r0,
                   std::size_t r1) {
    ::mixq::gemv(view(d, rows, cols), x, y, r0, r1);
  }
  static void gemm(const void* d, std::size_t rows, std::size_t cols, const float* X, std::size_t N, std::size_t ldx,
                   float* Y, std::size_t ldy, std::size_t r0, std::size_t r1) {
    ::mixq::gemm(view(d, rows, cols), X, N, ldx, Y, ldy, r0, r1);
  }
  static void gemv_q8(const void* d, std::size_t rows, std::size_t cols, const float* x, float* y, std::size_t r0,
                      std::size_t r1) {
    ::mixq::gemv_q8(view(d, rows, cols), x, y, r0, r1);
  }
  static void gemm_q8(const void* d, std::size_t rows, std::size_t cols, const float* X, std::size_t N, std::size_t ldx,
                      float* Y, std::size_t ldy, std::size_t r0, std::size_t r1) {
    ::mixq::gemm_q8(view(d, rows, cols), X, N, ldx, Y, ldy, r0, r1);
  }
};

template <ggml_block_type T>
::mixq::dispatch::kernels<T> make_ggml_kernel_table(::mixq::dispatch::isa i) {
  ::mixq::dispatch::kernels<T> k;
  k.dequantize = &ggml_dispatch_entry<T>::dequantize;
  k.gemv = &ggml_dispatch_entry<T>::gemv;
  k.gemm = &ggml_dispatch_entry<T>::gemm;
  k.gemv_q8 = &ggml_dispatch_entry<T>::gemv_q8;
  k.gemm_q8 = &ggml_dispatch_entry<T>::gemm_q8;
  k.built_for = i;
  k.name = kernel_isa();
  return k;
}
}  // namespace kernel_detail
MIXQ_END_NAMESPACE

/// In a per-ISA TU: defines mixq::dispatch::get_kernels<T, this ISA>() for the ggml block type T
/// (the table's (data, rows, cols) is a ggml tensor of rows x cols values).
#define MIXQ_DEFINE_GGML_KERNELS(...)                                                                                \
  template <>                                                                                                        \
  auto ::mixq::dispatch::get_kernels<__VA_ARGS__, MIXQ_DISPATCH_THIS_ISA>()->::mixq::dispatch::kernels<__VA_ARGS__> { \
    return ::mixq::kernel_detail::make_ggml_kernel_table<__VA_ARGS__>(MIXQ_DISPATCH_THIS_ISA);                       \
  }
