// Every kernel on every scheme family against the definition (dequantize_reference and a
// double-precision product of the reference weights), for ragged shapes, tiny and huge scales
// and all-zero groups; once through this TU's compile-time path and once through every per-ISA
// build the CPU supports (runtime dispatch). Buffers are exactly sized (ASan catches over-reads).
//
// Error bounds (derived in gemv.hpp / gemm.hpp / activation_q8.hpp, not tuned), u = 2^-24:
//   dequantize      bit-identical to dequantize_reference
//   gemv, gemm      |y - y_ref| <= (K + 3) u sum|w x| + (K + 1 + sum|x|) 2^-149
//   *_q8            |y - y_ref| <= sum_b (sx_b / 2 + 4 u amax_b) sum_b |w|
//                                  + (nblocks + 6) u sum (|w| + 2 |s| (V + |z|)) (|x| + sx_b) + (K + 1) 2^-149
//                   (V = largest |code value| of the format, s and z the unit's scale and zero)
#include <catch2/catch.hpp>

#include <mixq/mixq.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "schemes.hpp"

using namespace mixq;
using namespace mixq_test;
namespace md = mixq::dispatch;

namespace {

constexpr double u32 = 5.9604644775390625e-08;     // 2^-24
constexpr double tiny_abs = 1.4012984643248171e-45;  // 2^-149

template <class S>
std::vector<std::size_t> test_cols() {
  // 128: whole 32- and 128-column blocks (the 4-bit fused and int8 VNNI kernels); the others ragged
  // 2688: 21 int8-path blocks, so a vector of 16 blocks is not a whole unit
  if constexpr (S::is_per_tensor || S::is_per_channel) return {1, 7, 33, 128, 257, 1030, 2688};
  else if constexpr (S::has_super_blocks) {
    constexpr std::size_t SB = S::tensor_scale::size;  // rows are whole super-blocks
    return {SB, 3 * SB, 9 * SB};
  } else {
    constexpr std::size_t G = S::granularity::size;
    std::vector<std::size_t> k{G, 4 * G};  // 4G: a multiple of 32 and 128 for G = 16 .. 32
    if (G * 9 <= 2400) k.push_back(9 * G);
    return k;
  }
}

// Scale of the weights handed to the quantizer, so that stored scales land near the low and
// high ends of the scale format (subnormal fp16 scales, 1e-30 / 1e30 fp32 scales, ...).
template <class S>
std::vector<float> magnitudes() {
  using SF = typename S::scale_format;
  if constexpr (S::has_super_blocks) return {1.0f, 2e-5f, 3000.0f};  // the fp16 / bf16 super-scale's ends
  else if constexpr (std::is_same_v<SF, fp32>) return {1.0f, 1e-30f, 1e28f};
  else if constexpr (std::is_same_v<SF, fp16>) return {1.0f, 2e-5f, 3000.0f};
  else if constexpr (std::is_same_v<SF, bf16> || std::is_same_v<SF, e8m0fnu>) return {1.0f, 1e-30f, 1e28f};
  else return {1.0f, 0.02f, 100.0f};  // fp8 scales
}

// Weights with outliers, a few all-zero scale units, and one all-zero row.
template <class S>
std::vector<float> make_weights(std::size_t M, std::size_t K, float mag, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  std::vector<float> w(M * K);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = nd(rng) * mag * (i % 37 == 5 ? 8.0f : 1.0f);
  const std::size_t ul = S::is_per_tensor ? M * K : S::unit_cols(K);
  for (std::size_t u = 0; u * ul < w.size(); ++u)
    if (u % 5 == 2)
      for (std::size_t i = 0; i < ul && u * ul + i < w.size(); ++i) w[u * ul + i] = 0.0f;
  if (M > 2)
    for (std::size_t c = 0; c < K; ++c) w[(M / 2) * K + c] = 0.0f;
  return w;
}

template <class S>
quantized_matrix<S> make_matrix(std::size_t M, std::size_t K, float mag, unsigned seed) {
  const auto w = make_weights<S>(M, K, mag, seed);
  return quantize<S>(w.data(), M, K);
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0 || (a != a && b != b); }

struct bound_stats {
  double worst = 0;  // largest |err| / bound seen
};

// The reference product and the exact-path bound for one (row, activation row).
void check_exact(const float* w, const float* x, std::size_t K, float got, bound_stats& st, const std::string& what) {
  double ref = 0, mag = 0, xs = 0;
  for (std::size_t c = 0; c < K; ++c) {
    ref += static_cast<double>(w[c]) * x[c];
    mag += std::fabs(static_cast<double>(w[c]) * x[c]);
    xs += std::fabs(x[c]);
  }
  const double bound = (static_cast<double>(K) + 3) * u32 * mag + (static_cast<double>(K) + 1 + xs) * tiny_abs +
                       static_cast<double>(K) * 2.3e-16 * mag;
  const double err = std::fabs(static_cast<double>(got) - ref);
  if (!(err <= bound)) {
    INFO(what << ": got " << got << " ref " << ref << " err " << err << " bound " << bound);
    CHECK(err <= bound);
  }
  if (bound > 0) st.worst = std::max(st.worst, err / bound);
}

// q8 bound, with the documented block rule.
template <class S>
std::size_t q8_block_rule(std::size_t K) {
  const std::size_t ul = S::is_per_tensor || S::is_per_channel ? K : S::unit_cols(K);
  if (S::is_per_tensor || S::is_per_channel || ul % 128 == 0) return 128;
  if (ul % 32 == 0) return 32;
  return ul;
}

template <class S>
double max_code_magnitude() {
  double v = 0;
  for (unsigned q = 0; q < (1u << S::code_bits); ++q) v = std::max(v, std::fabs(static_cast<double>(code_value<S>(q))));
  return v;
}

// The kernel table without its scheme type (the function pointers do not depend on it), so the
// Catch-heavy checks below are compiled once, not once per scheme.
struct erased_kernels {
  md::kernels<int4_g128_sym>::dequantize_fn dequantize;
  md::kernels<int4_g128_sym>::gemv_fn gemv, gemv_q8;
  md::kernels<int4_g128_sym>::gemm_fn gemm, gemm_q8;
  const char* name;
};
template <class S>
erased_kernels erase(const md::kernels<S>& k) {
  return {k.dequantize, k.gemv, k.gemv_q8, k.gemm, k.gemm_q8, k.name};
}

// One quantized matrix and what the checks need from its scheme.
struct test_case {
  const void* base = nullptr;
  std::size_t M = 0, K = 0;
  std::vector<float> ref;    // dequantize_reference
  std::vector<double> offs;  // per weight: 2 (|s| (V + |z|) + |m|), the largest |term| the int8 path rounds
  std::size_t q8_block = 0;  // the documented activation block rule
  bool q8 = false;           // supports_q8<S>
  std::string what;
};

template <class S>
test_case make_case(const quantized_matrix<S>& qm, const char* isa, float mag) {
  const auto m = qm.view();
  test_case c;
  c.base = m.base;
  c.M = m.rows();
  c.K = m.cols();
  c.what = std::string(isa) + " " + scheme_name<S>() + " M=" + std::to_string(c.M) + " K=" + std::to_string(c.K) +
           " mag=" + std::to_string(mag);
  c.ref.resize(c.M * c.K);
  dequantize_reference(m, c.ref.data(), 0, c.M);
  c.q8 = supports_q8<S>;
  c.q8_block = q8_block_rule<S>(c.K);
  const double vmax = max_code_magnitude<S>();
  c.offs.resize(c.M * c.K);
  for (std::size_t r = 0; r < c.M; ++r)
    for (std::size_t k = 0; k < c.K; ++k) {
      const std::size_t u = m.unit(r, k);
      c.offs[r * c.K + k] = 2 * (std::fabs(static_cast<double>(m.scale(u))) * (vmax + std::fabs(static_cast<double>(m.zero(u)))) +
                                 std::fabs(static_cast<double>(m.min(u))));
    }
  return c;
}

void check_q8(const test_case& tc, std::size_t r, const float* x, float got, bound_stats& st, const std::string& what) {
  const std::size_t K = tc.K, B = tc.q8_block, nb = (K + B - 1) / B;
  const float* w = tc.ref.data() + r * K;
  double ref = 0, quant = 0, round = 0;
  for (std::size_t b = 0; b < nb; ++b) {
    const std::size_t c0 = b * B, c1 = std::min(K, c0 + B);
    double amax = 0, sw = 0;
    for (std::size_t c = c0; c < c1; ++c) amax = std::max(amax, std::fabs(static_cast<double>(x[c])));
    const double sx = amax / 127;
    for (std::size_t c = c0; c < c1; ++c) {
      ref += static_cast<double>(w[c]) * x[c];
      sw += std::fabs(static_cast<double>(w[c]));
      round += (std::fabs(static_cast<double>(w[c])) + tc.offs[r * K + c]) * (std::fabs(static_cast<double>(x[c])) + sx);
    }
    quant += (sx / 2 + 4 * u32 * amax) * sw;
  }
  const double bound = quant + (static_cast<double>(nb) + 6) * u32 * round + (static_cast<double>(K) + 1) * tiny_abs;
  const double err = std::fabs(static_cast<double>(got) - ref);
  if (!(err <= bound)) {
    INFO(what << ": got " << got << " ref " << ref << " err " << err << " bound " << bound);
    CHECK(err <= bound);
  }
  if (bound > 0) st.worst = std::max(st.worst, err / bound);
}

void report_bounds(const char* isa, const std::string& scheme, const bound_stats& exact_st, const bound_stats& q8_st) {
  UNSCOPED_INFO(isa << " " << scheme << ": worst err/bound exact " << exact_st.worst << ", q8 " << q8_st.worst);
  CHECK(exact_st.worst <= 1.0);
}

// All kernels of one table on one matrix.
void check_case(const erased_kernels& k, const test_case& tc, std::mt19937& rng, bound_stats& exact_st,
                bound_stats& q8_st) {
  std::normal_distribution<float> nd;
  const std::size_t M = tc.M, K = tc.K;
  const std::string& what = tc.what;
  const std::vector<float>& ref = tc.ref;

  // dequantize: whole matrix and a row range, bit-identical
  std::vector<float> dq(M * K);
  k.dequantize(tc.base, M, K, dq.data(), 0, M);
  std::size_t bad = 0;
  for (std::size_t i = 0; i < dq.size(); ++i) bad += !same_bits(dq[i], ref[i]);
  INFO(what);
  CHECK(bad == 0);
  if (M > 2) {
    std::vector<float> part((M - 2) * K);
    k.dequantize(tc.base, M, K, part.data(), 1, M - 1);
    bad = 0;
    for (std::size_t i = 0; i < part.size(); ++i) bad += !same_bits(part[i], ref[K + i]);
    CHECK(bad == 0);
  }

  // gemv (row subrange leaves the rest of y alone)
  std::vector<float> x(K);
  for (auto& v : x) v = nd(rng);
  std::vector<float> y(M, -7.0f);
  const std::size_t r0 = M > 2 ? 1 : 0, r1 = M;
  k.gemv(tc.base, M, K, x.data(), y.data(), r0, r1);
  for (std::size_t r = 0; r < M; ++r) {
    if (r < r0) CHECK(y[r] == -7.0f);
    else check_exact(ref.data() + r * K, x.data(), K, y[r], exact_st, what + " gemv r=" + std::to_string(r));
  }

  // gemm with padded strides; X and Y sized exactly to the last element used
  for (const std::size_t N : {std::size_t{2}, std::size_t{5}, std::size_t{19}}) {
    const std::size_t ldx = K + 3, ldy = M + 1;
    std::vector<float> X((N - 1) * ldx + K), Y((N - 1) * ldy + M, -7.0f);
    for (auto& v : X) v = nd(rng);
    k.gemm(tc.base, M, K, X.data(), N, ldx, Y.data(), ldy, 0, M);
    for (std::size_t n = 0; n < N; ++n)
      for (std::size_t r = 0; r < M; ++r)
        check_exact(ref.data() + r * K, X.data() + n * ldx, K, Y[n * ldy + r], exact_st,
                    what + " gemm N=" + std::to_string(N) + " n=" + std::to_string(n) + " r=" + std::to_string(r));
    for (std::size_t n = 0; n + 1 < N; ++n) CHECK(Y[n * ldy + M] == -7.0f);

    if (tc.q8) {
      std::vector<float> Yq((N - 1) * ldy + M, -7.0f);
      k.gemm_q8(tc.base, M, K, X.data(), N, ldx, Yq.data(), ldy, 0, M);
      for (std::size_t n = 0; n < N; ++n)
        for (std::size_t r = 0; r < M; ++r)
          check_q8(tc, r, X.data() + n * ldx, Yq[n * ldy + r], q8_st,
                   what + " gemm_q8 N=" + std::to_string(N) + " n=" + std::to_string(n));
    }
  }
  if (tc.q8) {
    REQUIRE(k.gemv_q8 != nullptr);
    std::vector<float> yq(M, -7.0f);
    k.gemv_q8(tc.base, M, K, x.data(), yq.data(), r0, r1);
    for (std::size_t r = 0; r < M; ++r) {
      if (r < r0) CHECK(yq[r] == -7.0f);
      else check_q8(tc, r, x.data(), yq[r], q8_st, what + " gemv_q8 r=" + std::to_string(r));
    }
  } else {
    CHECK(k.gemv_q8 == nullptr);
  }
}

// All kernels of one table on one scheme.
template <class S>
void check_table(const erased_kernels& k, unsigned seed) {
  std::mt19937 rng(seed);
  bound_stats exact_st, q8_st;
  for (const float mag : magnitudes<S>()) {
    for (const std::size_t K : test_cols<S>()) {
      for (const std::size_t M : {std::size_t{1}, std::size_t{5}, std::size_t{37}}) {
        const auto qm = make_matrix<S>(M, K, mag, seed + static_cast<unsigned>(K * 7 + M));
        check_case(k, make_case(qm, k.name, mag), rng, exact_st, q8_st);
      }
    }
  }
  // How tight the bounds are (printed with -s); each must stay <= 1.
  report_bounds(k.name, scheme_name<S>(), exact_st, q8_st);
}

template <class S>
void check_all_isas() {
  // This TU's compile-time path.
  check_table<S>(erase(kernel_detail::make_kernel_table<S>(MIXQ_DISPATCH_THIS_ISA)), 1);
#if MIXQ_TEST_DISPATCH
  // Every per-ISA build this CPU can run.
  for (const md::isa i : {md::isa::generic, md::isa::avx2, md::isa::avx512, md::isa::avx512_vnni}) {
    if (!md::cpu_supports(i)) {
      WARN("ISA " << static_cast<int>(i) << " not supported by this CPU: skipped");
      continue;
    }
    md::kernels<S> k;
    switch (i) {
      case md::isa::generic: k = md::get_kernels<S, md::isa::generic>(); break;
      case md::isa::avx2: k = md::get_kernels<S, md::isa::avx2>(); break;
      case md::isa::avx512: k = md::get_kernels<S, md::isa::avx512>(); break;
      case md::isa::avx512_vnni: k = md::get_kernels<S, md::isa::avx512_vnni>(); break;
    }
    CHECK(k.built_for == i);
    check_table<S>(erase(k), 2 + static_cast<unsigned>(i));
  }
#endif
}

}  // namespace

#define MIXQ_TEST_CASE(S) \
  TEST_CASE("kernels match the reference: " #S, "[kernel]") { check_all_isas<S>(); }
MIXQ_TEST_SCHEMES(MIXQ_TEST_CASE)
