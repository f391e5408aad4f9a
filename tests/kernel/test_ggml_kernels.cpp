// Kernels on rows of ggml blocks (kernel/ggml_rows.hpp) against the definition: ggml's scalar
// dequantize_row<T> and double-precision dot products of its weights. Every block type, once
// through this TU's compile-time path and once through every per-ISA build the CPU supports;
// ragged M (not a multiple of the 4-row blocks) and N, K of one and several blocks (crossing the
// 1024-column decode chunks, and K % 64 == 32 for the int8 tail), quantized realistic data with
// all-zero blocks and rows at small / large magnitudes, and random block bytes with tiny
// (subnormal fp16, e8m0 < 2) and huge scales. Buffers are exactly sized (ASan sees over-reads).
//
// Bounds (ggml_rows.hpp; u = 2^-24, w_c = a_j q_c - b_j, A_c = |a_j q_c| + |b_j|):
//   dequantize      bit-identical to ggml::dequantize_row
//   gemv            (K/16 + 20) u sum A|x| + (2K + sum|x|) 2^-149
//   gemm (N > 1)    (K + 3) u sum A|x| + (2K + sum|x|) 2^-149   (fp32 panels of exact weights)
//   *_q8            sum_b (sx_b/2 + 4u amax_b) sum_b |a q| + (K/16 + 20) u sum A (|x| + sx_b)
//                   + (2K + sum|x| + 2^14 K) 2^-149
#include <catch2/catch.hpp>

#include <mixq/mixq.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "schemes.hpp"

namespace md = mixq::dispatch;
namespace mg = mixq::ggml;

namespace {

constexpr double u32 = 5.9604644775390625e-08;       // 2^-24
constexpr double tiny_abs = 1.4012984643248171e-45;  // 2^-149

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0 || (a != a && b != b); }

/// Byte offsets of the fp16 scale fields of one block (d, and m / dmin where present).
template <class T>
std::vector<std::size_t> half_fields() {
  if constexpr (std::is_same_v<T, mg::q4_0> || std::is_same_v<T, mg::q5_0> || std::is_same_v<T, mg::q8_0> ||
                std::is_same_v<T, mg::iq4_nl>)
    return {0};
  else if constexpr (std::is_same_v<T, mg::q4_1> || std::is_same_v<T, mg::q5_1> || std::is_same_v<T, mg::q4_k> ||
                     std::is_same_v<T, mg::q5_k>)
    return {0, 2};
  else if constexpr (std::is_same_v<T, mg::q2_k>) return {80, 82};
  else if constexpr (std::is_same_v<T, mg::q3_k>) return {108};
  else if constexpr (std::is_same_v<T, mg::q6_k>) return {208};
  else return {};  // mxfp4: one e8m0 byte at offset 0
}

/// The test matrices of one type: rows x cols, exactly rows * row_size bytes.
template <class T>
struct sample {
  std::size_t M, K;
  std::vector<std::uint8_t> data;
  std::string what;
};

/// Realistic data: ggml's reference quantizer on Gaussian weights with outliers, every 5th block
/// and the middle row zero.
template <class T>
sample<T> quantized(std::size_t M, std::size_t K, float mag, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  std::vector<float> w(M * K);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = nd(rng) * mag * (i % 37 == 5 ? 8.0f : 1.0f);
  for (std::size_t b = 0; b * T::block_elems < w.size(); ++b)
    if (b % 5 == 2) std::fill_n(w.begin() + static_cast<std::ptrdiff_t>(b * T::block_elems), T::block_elems, 0.0f);
  if (M > 2) std::fill_n(w.begin() + static_cast<std::ptrdiff_t>((M / 2) * K), K, 0.0f);
  const std::size_t rb = mg::row_size<T>(K);
  sample<T> s{M, K, std::vector<std::uint8_t>(M * rb), "quantized mag=" + std::to_string(mag)};
  for (std::size_t r = 0; r < M; ++r) mg::quantize_row<T>(w.data() + r * K, K, s.data.data() + r * rb);
  return s;
}

/// Adversarial data: random block bytes (every code pattern, q8_0's -128, all sub-scales), with
/// the scale fields replaced by finite values of binary exponent in [elo, ehi] (fp16: < -14 means
/// subnormal; mxfp4: e8m0 codes 0..1 give fp32 subnormal scales).
template <class T>
sample<T> random_bytes(std::size_t M, std::size_t K, int elo, int ehi, unsigned seed) {
  std::mt19937 rng(seed);
  const std::size_t rb = mg::row_size<T>(K);
  sample<T> s{M, K, std::vector<std::uint8_t>(M * rb),
              "random bytes, scale exponents " + std::to_string(elo) + ".." + std::to_string(ehi)};
  for (auto& b : s.data) b = static_cast<std::uint8_t>(rng());
  std::uniform_int_distribution<int> ex(elo, ehi);
  for (std::size_t blk = 0; blk < M * K / T::block_elems; ++blk) {
    std::uint8_t* p = s.data.data() + blk * T::block_bytes;
    if constexpr (std::is_same_v<T, mg::mxfp4>) {
      p[0] = static_cast<std::uint8_t>(std::clamp(ex(rng) + 128, 0, 254));
    } else {
      for (const std::size_t off : half_fields<T>()) {
        const int e = ex(rng);
        std::uint16_t h = static_cast<std::uint16_t>(rng() & 0x83ffu);  // sign + mantissa
        if (e >= -14) h = static_cast<std::uint16_t>(h | ((e + 15) << 10));  // normal; else subnormal
        std::memcpy(p + off, &h, 2);
      }
    }
  }
  return s;
}

/// Per-column magnitudes for the bounds: A_c = |a q_c| + |b| and |a q_c| (portable decoder; its
/// a q - b is checked bit for bit against dequantize_row through the generic-ISA table).
template <class T>
void parts(const sample<T>& s, std::size_t r, std::vector<double>& A, std::vector<double>& AQ) {
  using D = mixq::kernel_detail::ggml_decoder<T>;
  constexpr std::size_t BE = T::block_elems;
  std::vector<std::int8_t> q(BE);
  std::vector<float> a(BE / 16), b(BE / 16, 0.0f);
  A.assign(s.K, 0);
  AQ.assign(s.K, 0);
  const std::uint8_t* row = s.data.data() + r * mg::row_size<T>(s.K);
  for (std::size_t k = 0; k < s.K / BE; ++k) {
    D::decode(row + k * T::block_bytes, q.data(), a.data(), b.data());
    for (std::size_t c = 0; c < BE; ++c) {
      const double aq = std::fabs(static_cast<double>(a[c / 16]) * q[c]);
      AQ[k * BE + c] = aq;
      A[k * BE + c] = aq + (D::affine ? std::fabs(static_cast<double>(b[c / 16])) : 0.0);
    }
  }
}

struct stats {
  double exact = 0, q8 = 0;  // worst err / bound
};

void check_bound(double got, double ref, double bound, double& worst, const std::string& what) {
  const double err = std::fabs(got - ref);
  if (!(err <= bound)) {
    INFO(what << ": got " << got << " ref " << ref << " err " << err << " bound " << bound);
    CHECK(err <= bound);
  }
  if (bound > 0) worst = std::max(worst, err / bound);
}

/// Exact path: depth = K/16 + 20 (gemv) or K + 3 (gemm panels).
void check_exact(const std::vector<double>& A, const float* w, const float* x, std::size_t K, double depth, float got,
                 stats& st, const std::string& what) {
  double ref = 0, mag = 0, xs = 0;
  for (std::size_t c = 0; c < K; ++c) {
    ref += static_cast<double>(w[c]) * x[c];
    mag += A[c] * std::fabs(x[c]);
    xs += std::fabs(x[c]);
  }
  check_bound(got, ref, depth * u32 * mag + (2.0 * static_cast<double>(K) + xs) * tiny_abs, st.exact, what);
}

void check_q8(const std::vector<double>& A, const std::vector<double>& AQ, const float* w, const float* x,
              std::size_t K, float got, stats& st, const std::string& what) {
  double ref = 0, quant = 0, round = 0, xs = 0;
  for (std::size_t c0 = 0; c0 < K; c0 += 32) {
    double amax = 0, saq = 0;
    for (std::size_t c = c0; c < c0 + 32; ++c) amax = std::max(amax, std::fabs(static_cast<double>(x[c])));
    const double sx = amax / 127;
    for (std::size_t c = c0; c < c0 + 32; ++c) {
      ref += static_cast<double>(w[c]) * x[c];
      saq += AQ[c];
      round += A[c] * (std::fabs(x[c]) + sx);
      xs += std::fabs(x[c]);
    }
    quant += (sx / 2 + 4 * u32 * amax) * saq;
  }
  const double Kd = static_cast<double>(K);
  const double bound = quant + (Kd / 16 + 20) * u32 * round + (2 * Kd + xs + 16384 * Kd) * tiny_abs;
  check_bound(got, ref, bound, st.q8, what);
}

template <class T>
void check_sample(const md::kernels<T>& k, const sample<T>& s, std::mt19937& rng, stats& st) {
  const std::size_t M = s.M, K = s.K;
  std::normal_distribution<float> nd;
  const std::string what = std::string(k.name) + " " + T::name + " M=" + std::to_string(M) + " K=" + std::to_string(K) +
                           " " + s.what;
  INFO(what);
  const std::size_t rb = mg::row_size<T>(K);
  std::vector<float> ref(M * K);
  for (std::size_t r = 0; r < M; ++r) mg::dequantize_row<T>(s.data.data() + r * rb, K, ref.data() + r * K);
  std::vector<std::vector<double>> A(M), AQ(M);
  for (std::size_t r = 0; r < M; ++r) parts(s, r, A[r], AQ[r]);

  // dequantize: all rows and a sub-range, bit-identical
  std::vector<float> dq(M * K);
  k.dequantize(s.data.data(), M, K, dq.data(), 0, M);
  std::size_t bad = 0;
  for (std::size_t i = 0; i < dq.size(); ++i) bad += !same_bits(dq[i], ref[i]);
  CHECK(bad == 0);
  if (M > 2) {
    std::vector<float> part((M - 2) * K);
    k.dequantize(s.data.data(), M, K, part.data(), 1, M - 1);
    bad = 0;
    for (std::size_t i = 0; i < part.size(); ++i) bad += !same_bits(part[i], ref[K + i]);
    CHECK(bad == 0);
  }

  // gemv / gemv_q8 on a row sub-range; rows outside stay untouched
  std::vector<float> x(K);
  for (auto& v : x) v = nd(rng);
  const std::size_t r0 = M > 2 ? 1 : 0;
  std::vector<float> y(M, -7.0f), yq(M, -7.0f);
  k.gemv(s.data.data(), M, K, x.data(), y.data(), r0, M);
  k.gemv_q8(s.data.data(), M, K, x.data(), yq.data(), r0, M);
  for (std::size_t r = 0; r < M; ++r) {
    if (r < r0) {
      CHECK(y[r] == -7.0f);
      CHECK(yq[r] == -7.0f);
      continue;
    }
    check_exact(A[r], ref.data() + r * K, x.data(), K, static_cast<double>(K) / 16 + 20, y[r], st,
                what + " gemv r=" + std::to_string(r));
    check_q8(A[r], AQ[r], ref.data() + r * K, x.data(), K, yq[r], st, what + " gemv_q8 r=" + std::to_string(r));
  }

  // gemm / gemm_q8 with padded strides, X and Y sized to their last element
  for (const std::size_t N : {std::size_t{2}, std::size_t{5}, std::size_t{19}}) {
    const std::size_t ldx = K + 3, ldy = M + 1;
    std::vector<float> X((N - 1) * ldx + K), Y((N - 1) * ldy + M, -7.0f), Yq((N - 1) * ldy + M, -7.0f);
    for (auto& v : X) v = nd(rng);
    k.gemm(s.data.data(), M, K, X.data(), N, ldx, Y.data(), ldy, 0, M);
    k.gemm_q8(s.data.data(), M, K, X.data(), N, ldx, Yq.data(), ldy, 0, M);
    for (std::size_t n = 0; n < N; ++n)
      for (std::size_t r = 0; r < M; ++r) {
        const std::string at = " N=" + std::to_string(N) + " n=" + std::to_string(n) + " r=" + std::to_string(r);
        check_exact(A[r], ref.data() + r * K, X.data() + n * ldx, K, static_cast<double>(K) + 3, Y[n * ldy + r], st,
                    what + " gemm" + at);
        check_q8(A[r], AQ[r], ref.data() + r * K, X.data() + n * ldx, K, Yq[n * ldy + r], st, what + " gemm_q8" + at);
      }
    for (std::size_t n = 0; n + 1 < N; ++n) {
      CHECK(Y[n * ldy + M] == -7.0f);
      CHECK(Yq[n * ldy + M] == -7.0f);
    }
  }
}

template <class T>
void check_table(const md::kernels<T>& k, unsigned seed) {
  REQUIRE(k.gemv_q8 != nullptr);
  std::mt19937 rng(seed);
  stats st;
  constexpr std::size_t BE = T::block_elems;
  // one block; several; and past one 1024-column decode chunk (K % 64 == 32 for 32-blocks)
  const std::size_t Ks[] = {BE, 3 * BE, BE == 32 ? 37 * BE : 5 * BE};
  for (const std::size_t K : Ks)
    for (const std::size_t M : {std::size_t{1}, std::size_t{6}, std::size_t{13}}) {
      const unsigned sd = seed * 1000 + static_cast<unsigned>(K + M);
      if (K == Ks[2] && M == 13) continue;  // keep the run short: the largest K with M = 1 and 6
      for (const float mag : {1.0f, 2e-5f, 1000.0f}) check_sample<T>(k, quantized<T>(M, K, mag, sd), rng, st);
      if constexpr (std::is_same_v<T, mg::mxfp4>) {
        check_sample<T>(k, random_bytes<T>(M, K, -128, -126, sd + 1), rng, st);  // subnormal fp32 scales
        check_sample<T>(k, random_bytes<T>(M, K, -20, 60, sd + 2), rng, st);
      } else {
        check_sample<T>(k, random_bytes<T>(M, K, -24, -15, sd + 1), rng, st);  // subnormal fp16 scales
        check_sample<T>(k, random_bytes<T>(M, K, -8, 15, sd + 2), rng, st);     // up to 65504
      }
    }
  UNSCOPED_INFO(k.name << " " << T::name << ": worst err/bound exact " << st.exact << ", q8 " << st.q8);
  CHECK(st.exact <= 1.0);
  CHECK(st.q8 <= 1.0);
}

template <class T>
void check_all_isas() {
  check_table<T>(mixq::kernel_detail::make_ggml_kernel_table<T>(MIXQ_DISPATCH_THIS_ISA), 1);
#if MIXQ_TEST_DISPATCH
  for (const md::isa i : {md::isa::generic, md::isa::avx2, md::isa::avx512, md::isa::avx512_vnni}) {
    if (!md::cpu_supports(i)) {
      WARN("ISA " << static_cast<int>(i) << " not supported by this CPU: skipped");
      continue;
    }
    md::kernels<T> k;
    switch (i) {
      case md::isa::generic: k = md::get_kernels<T, md::isa::generic>(); break;
      case md::isa::avx2: k = md::get_kernels<T, md::isa::avx2>(); break;
      case md::isa::avx512: k = md::get_kernels<T, md::isa::avx512>(); break;
      case md::isa::avx512_vnni: k = md::get_kernels<T, md::isa::avx512_vnni>(); break;
    }
    CHECK(k.built_for == i);
    check_table<T>(k, 2 + static_cast<unsigned>(i));
  }
#endif
}

}  // namespace

#define MIXQ_GGML_TEST_CASE(T) \
  TEST_CASE("ggml kernels match dequantize_row: " #T, "[kernel][ggml]") { check_all_isas<mg::T>(); }
MIXQ_TEST_GGML_TYPES(MIXQ_GGML_TEST_CASE)

TEST_CASE("ggml kernels: view, argument checks, row ranges", "[kernel][ggml][errors]") {
  using T = mg::q4_k;
  const std::size_t M = 37, K = 512;
  const auto s = quantized<T>(M, K, 1.0f, 11);
  const mixq::ggml_matrix_view<T> m{s.data.data(), M, K};
  CHECK(m.row_bytes() == mg::row_size<T>(K));
  CHECK(m.bytes() == s.data.size());
  STATIC_REQUIRE(mixq::ggml_supports_q8<T>);
  std::vector<float> x(K, 1.0f), y(M), X(2 * K), Y(2 * M);
  CHECK_THROWS_WITH(mixq::gemv(mixq::ggml_matrix_view<T>{nullptr, M, K}, x.data(), y.data()),
                    Catch::Matchers::Contains("data is null"));
  CHECK_THROWS_WITH(mixq::gemv(mixq::ggml_matrix_view<T>{s.data.data(), M, 100}, x.data(), y.data()),
                    Catch::Matchers::Contains("cols = 100 is not a multiple of the block size 256"));
  CHECK_THROWS_WITH(mixq::gemv(m, x.data(), y.data(), 3, 38), Catch::Matchers::Contains("row range [3, 38)"));
  CHECK_THROWS_WITH(mixq::gemv_q8(m, nullptr, y.data()), Catch::Matchers::Contains("x is null"));
  CHECK_THROWS_WITH(mixq::dequantize(m, nullptr, 0, 1), Catch::Matchers::Contains("out is null"));
  CHECK_THROWS_WITH(mixq::gemm(m, X.data(), 2, K - 1, Y.data(), M), Catch::Matchers::Contains("ldx = 511"));
  CHECK_THROWS_WITH(mixq::gemm_q8(m, X.data(), 2, K, Y.data(), M - 1), Catch::Matchers::Contains("ldy = 36"));
  CHECK_THROWS_AS(mixq::gemm(m, nullptr, 2, K, Y.data(), M), mixq::error);
  CHECK_NOTHROW(mixq::gemv(m, x.data(), y.data(), 5, 5));

  // A row's result does not depend on the row range it is computed in (4-row blocks or not).
  std::mt19937 rng(3);
  std::normal_distribution<float> nd;
  for (auto& v : x) v = nd(rng);
  std::vector<float> y1(M), y3(M), q1(M), q3(M);
  mixq::gemv(m, x.data(), y1.data());
  mixq::gemv_q8(m, x.data(), q1.data());
  mixq::parallel_rows(
      M, 3,
      [&](std::size_t r0, std::size_t r1) {
        mixq::gemv(m, x.data(), y3.data(), r0, r1);
        mixq::gemv_q8(m, x.data(), q3.data(), r0, r1);
      },
      3);
  CHECK(y1 == y3);
  CHECK(q1 == q3);
}
