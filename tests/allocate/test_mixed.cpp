// Per-group mixed matrices: layout, every bit counted, kernels against the scalar reference,
// INT-vs-FP per group, SliM-LLM SBA and the exact per-group DP against uniform 3-bit.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "common.hpp"

using namespace mixq;

namespace {
using g2 = int2_g64_asym;
using g3 = scheme<uint_format<3>, group<64>, fp16, asym::int_zero<true>>;
using g4 = scheme<uint4, group<64>, fp16, asym::int_zero<true>>;
using g4s32 = scheme<int4, group<32>, bf16, sym::restricted>;
using fp4_32 = scheme<fp4_e2m1fn, group<32>, fp16, sym::restricted>;
using int4_32 = scheme<int4, group<32>, fp16, sym::restricted>;
using mm = mixed_matrix<g2, g3, g4, g4s32>;

std::vector<float> randn(std::size_t n, std::uint64_t seed, float s = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.0f, s);
  std::vector<float> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}

/// |y - ref| <= (K + 3) u sum |w x| + tiny, u = 2^-24 (fp32 sums of exact weights, per slab).
void check_close(const std::vector<float>& y, const std::vector<float>& ref, const std::vector<float>& bound) {
  for (std::size_t i = 0; i < y.size(); ++i) {
    INFO("output " << i);
    CHECK(std::fabs(static_cast<double>(y[i]) - ref[i]) <= bound[i] + 1e-30);
  }
}
}  // namespace

TEST_CASE("mixed matrix: slabs hold each group's RTN codes exactly", "[allocate][mixed]") {
  const std::size_t R = 37, K = 512, g = 64, G = K / g;
  const auto w = randn(R * K, 1, 0.02f);
  for (int variant = 0; variant < 3; ++variant) {
    std::vector<std::uint8_t> gs(G);
    if (variant == 0) gs = {0, 0, 1, 1, 2, 2, 3, 3};  // sorted: no permutation
    if (variant == 1) gs = {3, 1, 0, 2, 1, 0, 3, 1};  // permuted
    if (variant == 2) gs = {2, 2, 2, 2, 2, 2, 2, 2};  // a single slab
    const auto m = mm::quantize(w.data(), R, K, g, gs);
    CHECK(m.permuted() == (variant == 1));
    CHECK(m.rows() == R);
    CHECK(m.groups() == G);
    std::vector<float> ref(R * K), fast(R * K);
    dequantize_reference(m, ref.data());
    dequantize(m, fast.data());
    CHECK(ref == fast);
    // Group t equals the same group of a uniform quantization with its scheme.
    std::vector<float> u(R * K);
    for (std::size_t k = 0; k < 4; ++k) {
      mm::visit_index(k, [&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
        dequantize_reference(quantize<typename mm::template candidate<I>>(w.data(), R, K), u.data());
      });
      for (std::size_t t = 0; t < G; ++t)
        if (gs[t] == k)
          for (std::size_t r = 0; r < R; ++r)
            for (std::size_t c = t * g; c < (t + 1) * g; ++c) REQUIRE(ref[r * K + c] == u[r * K + c]);
    }
    // Every bit counted: stored bits = sum of the per-group costs; the buffer holds at least that.
    std::uint64_t bits = 0;
    for (auto s : gs) bits += mm::group_bits(s, R, g);
    CHECK(m.stored_bits() == bits);
    CHECK(m.bytes() * 8 >= m.stored_bits());
    CHECK(mm::index_bits == 2);
    // Row-range dequantization.
    std::vector<float> part(5 * K);
    dequantize(m, part.data(), 10, 15);
    CHECK(std::equal(part.begin(), part.end(), ref.begin() + 10 * K));
    // Reassembly from stored parts.
    std::vector<mm::slab_matrix> slabs;
    for (const auto& s : m.slabs()) slabs.push_back(s.m);
    const auto m2 = mm::from_slabs(R, K, g, std::vector<std::uint8_t>(gs.begin(), gs.end()), slabs);
    std::vector<float> ref2(R * K);
    dequantize_reference(m2, ref2.data());
    CHECK(ref2 == ref);
  }
}

TEST_CASE("mixed matrix kernels match the scalar reference", "[allocate][mixed][kernel]") {
  const std::size_t R = 45, K = 384, g = 64;
  const auto w = randn(R * K, 2, 0.05f);
  const std::vector<std::uint8_t> gs = {1, 3, 0, 2, 3, 1};
  const auto m = mm::quantize(w.data(), R, K, g, gs);
  std::vector<float> W(R * K);
  dequantize_reference(m, W.data());
  for (std::size_t N : {1, 2, 5}) {
    const std::size_t ldx = K + 3, ldy = R + 2;
    const auto X = randn(N * ldx, 10 + N);
    std::vector<float> Y(N * ldy, -7.0f), ref(N * R), bound(N * R);
    for (std::size_t n = 0; n < N; ++n)
      for (std::size_t r = 0; r < R; ++r) {
        double s = 0, a = 0;
        for (std::size_t c = 0; c < K; ++c) s += static_cast<double>(W[r * K + c]) * X[n * ldx + c], a += std::fabs(W[r * K + c] * X[n * ldx + c]);
        ref[n * R + r] = static_cast<float>(s);
        bound[n * R + r] = static_cast<float>((K + 8) * std::ldexp(1.0, -24) * a) + 1e-30f;
      }
    if (N == 1) {
      std::vector<float> y(R), yr(R);
      gemv(m, X.data(), y.data());
      gemv_reference(m, X.data(), yr.data(), 0, R);
      check_close(y, ref, bound);
      check_close(yr, ref, bound);
      // Row range: only [r0, r1) written.
      std::vector<float> y2(R, 123.0f);
      gemv(m, X.data(), y2.data(), 7, 30);
      for (std::size_t r = 0; r < R; ++r) {
        if (r >= 7 && r < 30) CHECK(y2[r] == y[r]);
        else CHECK(y2[r] == 123.0f);
      }
    }
    gemm(m, X.data(), N, ldx, Y.data(), ldy);
    std::vector<float> got(N * R);
    for (std::size_t n = 0; n < N; ++n)
      for (std::size_t r = 0; r < R; ++r) got[n * R + r] = Y[n * ldy + r];
    check_close(got, ref, bound);
    for (std::size_t n = 0; n < N; ++n) CHECK(Y[n * ldy + R] == -7.0f);  // padding untouched
    // Row range of gemm.
    std::vector<float> Y2(N * ldy, 5.0f);
    gemm(m, X.data(), N, ldx, Y2.data(), ldy, 3, 20);
    for (std::size_t n = 0; n < N; ++n)
      for (std::size_t r = 0; r < R; ++r) {
        if (r >= 3 && r < 20) CHECK(Y2[n * ldy + r] == Y[n * ldy + r]);
        else CHECK(Y2[n * ldy + r] == 5.0f);
      }
  }
  std::vector<float> x(K), y(R);
  CHECK_THROWS_WITH(gemv(m, x.data(), y.data(), 3, R + 1), Catch::Contains("row range"));
  CHECK_THROWS_WITH(gemv(m, nullptr, y.data()), Catch::Contains("x is null"));
  CHECK_THROWS_WITH(gemm(m, x.data(), 1, K - 1, y.data(), R), Catch::Contains("ldx"));
  CHECK_THROWS_WITH(gemv(mm{}, x.data(), y.data(), 0, 0), Catch::Contains("empty"));
}

TEST_CASE("mixed matrix rejects bad input", "[allocate][mixed][errors]") {
  const auto w = randn(4 * 256, 3);
  const std::vector<std::uint8_t> gs = {0, 1, 2, 3};
  CHECK_THROWS_WITH(mm::quantize(w.data(), 4, 256, 64, std::vector<std::uint8_t>{0, 1}), Catch::Contains("group map has 2"));
  CHECK_THROWS_WITH(mm::quantize(w.data(), 4, 256, 64, std::vector<std::uint8_t>{0, 1, 9, 0}), Catch::Contains("scheme index 9"));
  CHECK_THROWS_WITH(mm::quantize(w.data(), 4, 256, 100, gs), Catch::Contains("divide cols"));
  CHECK_THROWS_WITH((mixed_matrix<g2, g3>::quantize(w.data(), 4, 256, 32, std::vector<std::uint8_t>(8, 0))),
                    Catch::Contains("scale group 64"));
  const auto m = mm::quantize(w.data(), 4, 256, 64, gs);
  std::vector<mm::slab_matrix> slabs;
  for (const auto& s : m.slabs()) slabs.push_back(s.m);
  CHECK_THROWS_WITH(mm::from_slabs(4, 256, 64, {0, 1, 3, 3}, slabs), Catch::Contains("holds scheme 2; expected scheme 3"));
  slabs.pop_back();
  CHECK_THROWS_WITH(mm::from_slabs(4, 256, 64, {0, 1, 2, 3}, slabs), Catch::Contains("missing the slab"));
}

TEST_CASE("INT vs FP per group: never worse than either format, at the cost of a flag", "[allocate][mixed][intfp]") {
  // Student-t(2.5) weights (heavy tails favour FP4) mixed with uniform rows (favour INT4).
  const std::size_t R = 16, K = 1024, g = 32;
  std::mt19937_64 rng(5);
  std::student_t_distribution<float> st(2.5f);
  std::uniform_real_distribution<float> un(-1.0f, 1.0f);
  std::vector<float> w(R * K);
  for (std::size_t c = 0; c < K; ++c)
    for (std::size_t r = 0; r < R; ++r) w[r * K + c] = (c / g) % 2 ? st(rng) : un(rng);
  const std::uint64_t budget = uniform_group_bits<int4_32, fp4_32>(0, R, K, g);
  const auto ga = allocate_groups<int4_32, fp4_32>(w.data(), R, K, g, weight_mse_sensitivity{}, budget);
  using M2 = mixed_matrix<int4_32, fp4_32>;
  CHECK(M2::index_bits == 1);
  CHECK(M2::group_bits(0, R, g) == R * g * 4 + R * 16 + 1);  // codes, fp16 scales, the flag
  CHECK(ga.plan.total_bits() == ga.matrix.stored_bits());
  CHECK(ga.plan.total_bits() == budget);  // equal costs: every group pays exactly the same
  // Per group the lower error, so the total is below both uniform formats.
  double e_int = 0, e_fp = 0;
  std::size_t fp_groups = 0;
  for (std::size_t t = 0; t < ga.items.size(); ++t) {
    const auto& o = ga.items[t].options;
    e_int += o[0].error, e_fp += o[1].error;
    CHECK(ga.plan.entries[t].error == std::min(o[0].error, o[1].error));
    fp_groups += ga.alloc.choice[t] == 1;
  }
  CHECK(ga.alloc.error <= std::min(e_int, e_fp));
  CHECK(ga.alloc.error < std::min(e_int, e_fp));
  CHECK(fp_groups > ga.items.size() / 4);
  CHECK(fp_groups < 3 * ga.items.size() / 4);
  // The matrix is what was planned: its per-group error equals the plan's.
  std::vector<float> dq(R * K);
  dequantize(ga.matrix, dq.data());
  double tot = 0;
  for (std::size_t i = 0; i < R * K; ++i) tot += std::pow(static_cast<double>(w[i]) - dq[i], 2);
  CHECK(tot == Approx(ga.alloc.error).epsilon(1e-9));
}

TEST_CASE("salience allocation at 3 bits beats uniform 3-bit on correlated layers", "[allocate][mixed][slim]") {
  const std::size_t R = 64, K = 512, g = 64, G = K / g;
  for (std::uint64_t seed : {1, 2, 3}) {
    INFO("seed " << seed);
    const auto d = alloc_test::make_layer(R, K, 1024, seed, g);
    // Uniform 3-bit with the same quantizer (RTN, same grid convention and group size).
    const auto u = quantize<g3>(d.w.data(), R, K);
    std::vector<float> dq(R * K);
    dequantize_reference(u, dq.data());
    const double e_uniform = alloc_test::output_error(d, dq.data());
    for (salience_form form : {salience_form::code, salience_form::paper, salience_form::norm_proxy}) {
      slim_options o;
      o.salience.form = form;
      const auto s = slim_allocate<g2, g3, g4>(d.w.data(), R, K, g, d.sigma, o);
      CHECK(s.search_error.size() == G / 2 + 1);
      CHECK(s.search_error[0] == Approx(e_uniform).epsilon(1e-9));  // i = 0 is uniform
      // Average exactly 3 bits: as many 2-bit as 4-bit groups; the same stored bits as uniform.
      const auto n0 = std::count(s.group_scheme.begin(), s.group_scheme.end(), 0);
      const auto n2 = std::count(s.group_scheme.begin(), s.group_scheme.end(), 2);
      CHECK(n0 == n2);
      CHECK(static_cast<std::size_t>(n0) == s.pairs);
      CHECK(s.matrix.stored_bits() == u.layout().stored_bits() + G * 2);  // + the 2-bit group index
      dequantize_reference(s.matrix, dq.data());
      const double e = alloc_test::output_error(d, dq.data());
      CHECK(e == Approx(s.error).epsilon(1e-9));
      CHECK(e <= e_uniform);
      if (form == salience_form::code) CHECK(e < 0.8 * e_uniform);
    }
    // The exact per-group DP at the same budget (block-diagonal output error as the objective).
    const std::uint64_t budget = uniform_group_bits<g2, g3, g4>(1, R, K, g);
    const auto ga = allocate_groups<g2, g3, g4>(d.w.data(), R, K, g, output_error_sensitivity(d.sigma), budget);
    CHECK(ga.plan.total_bits() <= budget);
    CHECK(ga.plan.total_bits() == ga.matrix.stored_bits());
    const auto uni = uniform_allocation(ga.items, 1);
    CHECK(uni.bits == budget);
    CHECK(ga.alloc.error <= uni.error);
    dequantize_reference(ga.matrix, dq.data());
    CHECK(alloc_test::output_error(d, dq.data()) < e_uniform);
  }
}
