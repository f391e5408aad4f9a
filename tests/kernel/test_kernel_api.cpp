// Kernel API: argument checks, row ranges with parallel_rows, dispatch selection.
#include <catch2/catch.hpp>

#include <mixq/mixq.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "schemes.hpp"

using namespace mixq;

namespace {
quantized_matrix<int4_g128_sym> sample(std::size_t M, std::size_t K) {
  std::mt19937 rng(5);
  std::normal_distribution<float> nd;
  std::vector<float> w(M * K);
  for (auto& v : w) v = nd(rng);
  return quantize<int4_g128_sym>(w.data(), M, K);
}
}  // namespace

TEST_CASE("kernels reject bad arguments with a clear message", "[kernel][errors]") {
  const auto m = sample(8, 256);
  std::vector<float> x(256), y(8), X(2 * 256), Y(2 * 8);
  CHECK_THROWS_WITH(gemv(m.view(), x.data(), y.data(), 3, 9), Catch::Matchers::Contains("row range [3, 9)"));
  CHECK_THROWS_WITH(gemv(m.view(), nullptr, y.data()), Catch::Matchers::Contains("x is null"));
  CHECK_THROWS_WITH(gemm(m.view(), X.data(), 2, 255, Y.data(), 8), Catch::Matchers::Contains("ldx = 255"));
  CHECK_THROWS_WITH(gemm_q8(m.view(), X.data(), 2, 256, Y.data(), 7), Catch::Matchers::Contains("ldy = 7"));
  CHECK_THROWS_AS(dequantize(quantized_matrix_view<int4_g128_sym>{}, y.data(), 0, 0), error);
  CHECK_NOTHROW(gemv(m.view(), x.data(), y.data(), 4, 4));  // empty range: nothing to do
}

TEST_CASE("parallel_rows splits rows into aligned disjoint ranges and matches one thread", "[kernel][threads]") {
  const std::size_t M = 203, K = 384;
  const auto m = sample(M, K);
  std::vector<float> x(K), y1(M), y3(M), yq1(M), yq3(M);
  std::mt19937 rng(1);
  std::normal_distribution<float> nd;
  for (auto& v : x) v = nd(rng);
  gemv(m.view(), x.data(), y1.data());
  gemv_q8(m.view(), x.data(), yq1.data());
  std::vector<int> hits(M, 0);
  parallel_rows(M, 3, [&](std::size_t r0, std::size_t r1) {
    CHECK(r0 % 16 == 0);
    for (std::size_t r = r0; r < r1; ++r) ++hits[r];  // disjoint ranges: no race
    gemv(m.view(), x.data(), y3.data(), r0, r1);
    gemv_q8(m.view(), x.data(), yq3.data(), r0, r1);
  });
  for (std::size_t r = 0; r < M; ++r) CHECK(hits[r] == 1);
  CHECK(y1 == y3);  // the result of a row does not depend on the range it was computed in
  CHECK(yq1 == yq3);
  // ranges starting off a multiple of 4: every row lands in another 4-row block (or the 1-row
  // tail) than in the whole-matrix call, and must come out bit for bit the same
  for (const std::size_t r0 : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{201}}) {
    std::vector<float> y(M, -7.0f), yq(M, -7.0f);
    gemv(m.view(), x.data(), y.data(), r0, M);
    gemv_q8(m.view(), x.data(), yq.data(), r0, M);
    for (std::size_t r = r0; r < M; ++r) {
      CHECK(y[r] == y1[r]);
      CHECK(yq[r] == yq1[r]);
    }
  }
  CHECK_THROWS_AS(parallel_rows(M, 2, [](std::size_t, std::size_t) { throw error("boom"); }), error);
}

TEST_CASE("dispatch picks the best supported build and reports the CPU's ISAs", "[kernel][dispatch]") {
  namespace md = mixq::dispatch;
  CHECK(md::cpu_supports(md::isa::generic));
  if (md::cpu_supports(md::isa::avx512_vnni)) CHECK(md::cpu_supports(md::isa::avx512));
  if (md::cpu_supports(md::isa::avx512)) CHECK(md::cpu_supports(md::isa::avx2));
  WARN("this TU's kernel path: " << kernel_isa() << "; CPU: avx2=" << md::cpu_supports(md::isa::avx2)
                                 << " avx512=" << md::cpu_supports(md::isa::avx512)
                                 << " avx512_vnni=" << md::cpu_supports(md::isa::avx512_vnni));
#if MIXQ_TEST_DISPATCH
  const auto k = md::select<mixq_test::s_int4_g128_sym, md::isa::avx512_vnni, md::isa::avx512, md::isa::avx2,
                            md::isa::generic>();
  md::isa best = md::isa::generic;
  for (const md::isa i : {md::isa::avx2, md::isa::avx512, md::isa::avx512_vnni})
    if (md::cpu_supports(i)) best = i;
  CHECK(k.built_for == best);
#endif
}

#if MIXQ_KERNEL_HAS_AVX512
// The AVX-512 bit-move decoders of 8-bit scale formats against decode_scale, every code.
template <class SF>
void check_byte_scale_decoder() {
  for (int c = 0; c < (1 << SF::bits); ++c) {
    std::uint8_t b[16];
    for (auto& v : b) v = static_cast<std::uint8_t>(c);
    float out[16];
    _mm512_storeu_ps(out, kernel_detail::avx512::decode_byte_scales<SF>(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b))));
    const float ref = decode_scale<SF>(static_cast<scale_code_t<SF>>(c));
    INFO(format_name<SF>() << " code " << c << ": " << out[0] << " vs " << ref);
    CHECK((std::memcmp(&out[0], &ref, sizeof ref) == 0 || (out[0] != out[0] && ref != ref)));
  }
}
TEST_CASE("AVX-512 scale decoders equal decode_scale for every code", "[kernel][avx512]") {
  check_byte_scale_decoder<fp8_e4m3fn>();
  check_byte_scale_decoder<fp8_e5m2>();
  check_byte_scale_decoder<e8m0fnu>();
}
#endif

#if MIXQ_KERNEL_HAS_VNNI512
// q8_row_prep against the per-block formula of its contract, written out here: the vector path
// (16 blocks at a time, units of 1..33 blocks, a 16-block window across two units) and the
// scalar loop (rows of at most 4 blocks, units of 3 or 5 blocks, float zeros).
template <class S>
void check_q8_row_prep() {
  using Q = kernel_detail::q8_codes<S>;
  constexpr std::size_t B = 128;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> ud(0.5f, 2.0f);
  std::uniform_int_distribution<int> zd(0, (1 << S::code_bits) - 1), qd(-20000, 20000);
  const float inv = 1.0f / static_cast<float>(1 << Q::shift);
  for (const std::size_t per : {1, 2, 3, 4, 5, 16, 17, 21, 32, 33})
    for (const std::size_t nb : {1, 2, 3, 4, 5, 16, 17, 21, 34, 50, 70}) {
      const std::size_t nu = (nb + per - 1) / per;
      // s and z are read 16 floats past their nu entries (the kernels' scratch rows have room):
      // NaN there must not reach any result
      std::vector<float> s(nu + 16, std::nanf("")), z(nu + 16, std::nanf("")), sx(nb);
      std::vector<std::int32_t> sq(nb);
      for (std::size_t u = 0; u < nu; ++u) s[u] = ud(rng);
      for (std::size_t u = 0; u < nu; ++u)
        z[u] = S::has_min || S::has_float_zero ? ud(rng) : static_cast<float>(S::is_asymmetric ? zd(rng) : 0);
      for (auto& v : sx) v = ud(rng);
      for (auto& v : sq) v = qd(rng);
      std::vector<float> sb(kernel_detail::avx512::padded16(nb));
      std::vector<std::int32_t> ci(sb.size());
      const float corr = kernel_detail::avx512::q8_row_prep<S>(s.data(), z.data(), per * B, B, nb, sx.data(), sq.data(),
                                                               sb.data(), ci.data());
      double want_corr = 0, corr_mag = 0;
      std::size_t bad = 0;
      for (std::size_t b = 0; b < nb; ++b) {
        const std::size_t u = b / per;
        const float want_sb = s[u] * sx[b] * inv;
        bad += std::memcmp(&want_sb, &sb[b], sizeof want_sb) != 0;
        if constexpr (S::has_float_zero) {  // (offset + z 2^shift) sum(q), in fp32 with the block scale
          bad += ci[b] != 0;
          const double t = static_cast<double>(want_sb) * ((Q::offset + static_cast<double>(z[u]) * (1 << Q::shift)) * sq[b]);
          want_corr += t;
          corr_mag += std::fabs(t);
        } else if constexpr (S::has_min) {
          bad += ci[b] != 0;
          want_corr += static_cast<double>(z[u]) * sx[b] * sq[b];
          corr_mag += std::fabs(static_cast<double>(z[u]) * sx[b] * sq[b]);
        } else {
          bad += ci[b] != (Q::offset + static_cast<std::int32_t>(z[u]) * (1 << Q::shift)) * sq[b];
        }
      }
      INFO(scheme_name<S>() << " blocks per unit " << per << ", " << nb << " blocks");
      CHECK(bad == 0);
      CHECK(std::fabs(corr - want_corr) <= 2 * static_cast<double>(nb + 4) * 6e-8 * corr_mag);
    }
}
TEST_CASE("int8-path row preparation: block scales and corrections for any unit length", "[kernel][avx512]") {
  check_q8_row_prep<mixq_test::s_int8_channel>();
  check_q8_row_prep<mixq_test::s_uint8_g128_asym>();
  check_q8_row_prep<mixq_test::s_uint4_g32_fmin>();
  check_q8_row_prep<mixq_test::s_uint4_g64_hqq>();
}
#endif
