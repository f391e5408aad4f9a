// GPTQ: the exact identities of ALGORITHMS.md 2.4, the bookkeeping of 2.9, an independent slow
// reference, seeded quality against RTN, and bad input.
#include <catch2/catch.hpp>

#include "common.hpp"

using namespace mixq;
using caltest::cached_layer;
using caltest::dequant;

namespace {
using asym3_g32 = scheme<uint_format<3>, group<32>, fp16, asym::int_zero<true>>;
using asym4_g32_float = scheme<uint4, group<32>, fp16, asym::float_zero<false>>;
using sym4_gptq_channel = scheme<int4, per_channel, fp16, sym::gptq>;
using nf4_g32 = scheme<nf4, group<32>, fp32, sym::restricted>;
using fp8_channel = scheme<fp8_e4m3fn, per_channel, fp32, sym::restricted>;
using int3_tensor = scheme<int_sym<3>, per_tensor, fp32, sym::restricted>;
using asym2_g64 = scheme<uint_format<2>, group<64>, bf16, asym::int_zero<true>>;

constexpr act_order all_orders[] = {act_order::none, act_order::static_groups, act_order::g_idx};

template <class S>
double loss_identity_rhs(const caltest::layer& L, const gptq_result<S>& r) {
  // 0.5 tr(dW H_damped dW^T), H_damped = H with dead columns set to 1 plus lambda I (any order:
  // the trace is invariant under the simultaneous permutation).
  Eigen::MatrixXd H = L.stats.hessian();
  for (Eigen::Index j = 0; j < H.rows(); ++j)
    if (H(j, j) == 0) H(j, j) = 1;
  H.diagonal().array() += r.damp;
  return 0.5 * caltest::quad_error(L.w, dequant(r.q, r.g_idx), L.m, L.n, H);
}
}  // namespace

TEMPLATE_TEST_CASE("GPTQ loss equals 0.5 tr(dW H_damped dW^T)", "[gptq]", asym3_g32, asym4_g32_float, sym4_gptq_channel,
                   nf4_g32, fp8_channel, int3_tensor, mxfp4) {
  const auto& L = cached_layer(48, 256, 1024, 7);
  for (act_order ao : all_orders)
    for (calib_precision p : {calib_precision::fp64, calib_precision::fp32}) {
      gptq_options o;
      o.order = ao;
      o.precision = p;
      const auto r = gptq<TestType>(L.w.data(), L.m, L.n, L.stats, o);
      const double rhs = loss_identity_rhs(L, r);
      INFO("act_order " << int(ao) << " precision " << int(p) << " loss " << r.loss << " rhs " << rhs);
      CHECK(r.damp_retries == 0);
      CHECK(r.damp == Approx(0.01 * L.stats.hessian().diagonal().mean()).epsilon(1e-12));
      // fp64: theorem to rounding (ALGORITHMS.md 2.9.1); fp32: the same sum of float error terms
      CHECK(std::fabs(r.loss - rhs) <= (p == calib_precision::fp64 ? 1e-9 : 2e-5) * rhs);
    }
}

TEST_CASE("GPTQ without damping: the loss is the calibration output error (1/N)||dW X||^2", "[gptq]") {
  const auto& L = cached_layer(32, 128, 1024, 8);
  gptq_options o;
  o.percdamp = 0;
  o.precision = calib_precision::fp64;
  const auto r = gptq<asym3_g32>(L.w.data(), L.m, L.n, L.stats, o);
  const std::vector<float> wh = dequant(r.q);
  double direct = 0;  // straight from the activations
  for (std::size_t t = 0; t < L.tokens; ++t)
    for (std::size_t i = 0; i < L.m; ++i) {
      double y = 0;
      for (std::size_t j = 0; j < L.n; ++j)
        y += (static_cast<double>(L.w[i * L.n + j]) - wh[i * L.n + j]) * L.x[t * L.n + j];
      direct += y * y;
    }
  direct /= static_cast<double>(L.tokens);
  CHECK(r.damp == 0);
  CHECK(std::fabs(r.loss - direct) <= 1e-9 * direct);
}

TEMPLATE_TEST_CASE("GPTQ does not depend on the block size", "[gptq]", asym3_g32, sym4_gptq_channel, nf4_g32, asym2_g64,
                   mxfp4) {
  const auto& L = cached_layer(40, 256, 1024, 9);
  for (act_order ao : all_orders) {
    gptq_options o;
    o.order = ao;
    o.precision = calib_precision::fp64;
    o.block_size = 128;
    const auto base = gptq<TestType>(L.w.data(), L.m, L.n, L.stats, o);
    for (std::size_t B : {1, 7, 37, 64, 100, 1000}) {
      o.block_size = B;
      const auto r = gptq<TestType>(L.w.data(), L.m, L.n, L.stats, o);
      INFO("act_order " << int(ao) << " block " << B);
      CHECK(caltest::same_bytes(r.q, base.q));  // codes, scales and zeros
      CHECK(r.g_idx == base.g_idx);
      CHECK(std::fabs(r.loss - base.loss) <= 1e-12 * base.loss);
    }
    // fp32: the blocks only reorder float sums; the loss agrees to float accuracy
    o.precision = calib_precision::fp32;
    o.block_size = 128;
    const auto f128 = gptq<TestType>(L.w.data(), L.m, L.n, L.stats, o);
    o.block_size = 37;
    const auto f37 = gptq<TestType>(L.w.data(), L.m, L.n, L.stats, o);
    CHECK(f37.loss == Approx(f128.loss).epsilon(1e-4));
  }
}

TEMPLATE_TEST_CASE("GPTQ equals RTN bit for bit when H = c I", "[gptq]", asym3_g32, asym4_g32_float, sym4_gptq_channel,
                   nf4_g32, fp8_channel, int3_tensor, mxfp4, (scheme<int4, group<32>, fp16, sym::signed_extreme>)) {
  const auto& L = cached_layer(24, 128, 16, 10);
  const Eigen::MatrixXd H = 3.5 * Eigen::MatrixXd::Identity(128, 128);
  const auto rtn = quantize<TestType>(L.w.data(), L.m, L.n);
  for (act_order ao : all_orders)
    for (calib_precision p : {calib_precision::fp32, calib_precision::fp64}) {
      gptq_options o;
      o.order = ao;  // equal diagonal: the stable sort keeps the original order
      o.precision = p;
      o.block_size = 50;
      const auto r = gptq<TestType>(L.w.data(), L.m, L.n, H, o);
      INFO("act_order " << int(ao) << " precision " << int(p));
      CHECK(caltest::same_bytes(r.q, rtn));
      for (std::size_t j = 0; j < r.perm.size(); ++j) CHECK(r.perm[j] == j);
    }
}

TEMPLATE_TEST_CASE("GPTQ matches the slow double-precision reference code for code", "[gptq][reference]", asym3_g32,
                   asym4_g32_float, sym4_gptq_channel, nf4_g32, fp8_channel, int3_tensor, mxfp4, asym2_g64) {
  for (unsigned seed : {11u, 12u}) {
    const auto& L = cached_layer(32, 128, 512, seed);
    const Eigen::MatrixXd H = L.stats.hessian();
    for (act_order ao : all_orders) {
      gptq_options o;
      o.order = ao;
      o.precision = calib_precision::fp64;
      o.block_size = 48;  // groups of 32 straddle blocks: exercises the pending-update fit
      const auto fast = gptq<TestType>(L.w.data(), L.m, L.n, H, o);
      const auto slow = caltest::slow_gptq<TestType>(L.w, L.m, L.n, H, 0.01, ao);
      INFO("seed " << seed << " act_order " << int(ao));
      CHECK(caltest::same_bytes(fast.q, slow.q));
      CHECK(fast.g_idx == slow.g_idx);
      CHECK(std::fabs(fast.loss - slow.loss) <= 1e-9 * slow.loss);
      // The default fp32 loop: the same algorithm at float precision. A code can differ only where
      // a value sits within float rounding of a decision boundary; on these layers none does (all
      // codes equal when this was written), but that is not a theorem, so only near-equality is
      // required here. The exact, code-for-code statement is the fp64 one above.
      o.precision = calib_precision::fp32;
      const auto f32 = gptq<TestType>(L.w.data(), L.m, L.n, H, o);
      CHECK(caltest::code_agreement(f32.q, slow.q) >= 0.99);
      CHECK(f32.loss == Approx(slow.loss).epsilon(0.01));
    }
  }
}

TEST_CASE("GPTQ act-order bookkeeping: static groups and g_idx", "[gptq]") {
  const auto& L = cached_layer(32, 256, 1024, 13);
  const Eigen::VectorXd d = L.stats.hessian().diagonal();
  gptq_options o;
  o.order = act_order::static_groups;
  const auto st = gptq<asym3_g32>(L.w.data(), L.m, L.n, L.stats, o);
  // perm is the stable argsort of diag(H), descending
  for (std::size_t i = 1; i < st.perm.size(); ++i) {
    CHECK(d(st.perm[i - 1]) >= d(st.perm[i]));
    if (d(st.perm[i - 1]) == d(st.perm[i])) CHECK(st.perm[i - 1] < st.perm[i]);
  }
  CHECK(st.g_idx.empty());
  // static groups: scales and zeros are those fitted on the original W, i.e. RTN's
  const auto rtn = quantize<asym3_g32>(L.w.data(), L.m, L.n);
  const std::size_t off = st.q.layout().scales_offset;
  CHECK(std::equal(st.q.raw().begin() + static_cast<std::ptrdiff_t>(off), st.q.raw().end(),
                   rtn.raw().begin() + static_cast<std::ptrdiff_t>(off)));
  CHECK(!std::is_sorted(st.perm.begin(), st.perm.end()));  // an actual reordering happened
  // g_idx: column j uses the group of its position in the quantization order
  o.order = act_order::g_idx;
  const auto gi = gptq<asym3_g32>(L.w.data(), L.m, L.n, L.stats, o);
  REQUIRE(gi.g_idx.size() == L.n);
  std::vector<std::uint32_t> inv(L.n);
  for (std::size_t i = 0; i < L.n; ++i) inv[gi.perm[i]] = static_cast<std::uint32_t>(i);
  for (std::size_t j = 0; j < L.n; ++j) CHECK(gi.g_idx[j] == inv[j] / 32);
  // dequantizing through g_idx reproduces the reference that works in permuted order, and
  // ignoring g_idx does not
  const auto slow = caltest::slow_gptq<asym3_g32>(L.w, L.m, L.n, L.stats.hessian(), 0.01, act_order::g_idx);
  const auto a = dequant(gi.q, gi.g_idx), b = dequant(slow.q, slow.g_idx), c = dequant(gi.q);
  double diff_ab = 0, diff_ac = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff_ab += std::fabs(a[i] - b[i]), diff_ac += std::fabs(a[i] - c[i]);
  CHECK(caltest::code_agreement(gi.q, slow.q) >= 0.99);
  CHECK(diff_ab < 0.01 * diff_ac);
  // act-order lowers the objective on this outlier layer
  o.order = act_order::none;
  const auto plain = gptq<asym3_g32>(L.w.data(), L.m, L.n, L.stats, o);
  CHECK(st.loss < plain.loss);
  CHECK(gi.loss < plain.loss);
}

TEMPLATE_TEST_CASE("GPTQ dead columns: zero weights, finite, valid g_idx", "[gptq]", asym3_g32, sym4_gptq_channel, nf4_g32) {
  const std::size_t m = 16, n = 128, N = 512;
  auto L = caltest::make_layer(m, n, N, 14);
  const std::size_t dead[] = {5, 17, 64, 127};
  for (std::size_t t = 0; t < N; ++t)
    for (std::size_t j : dead) L->x[t * n + j] = 0;
  layer_stats st(n);
  st.add_batch(L->x.data(), N);
  for (act_order ao : all_orders) {
    gptq_options o;
    o.order = ao;
    const auto r = gptq<TestType>(L->w.data(), m, n, st, o);
    CHECK(r.dead_columns == 4);
    const auto wh = dequant(r.q, r.g_idx);
    for (float v : wh) CHECK(std::isfinite(v));
    for (std::size_t j : dead)
      for (std::size_t i = 0; i < m; ++i) CHECK(wh[i * n + j] == 0.0f);
    if (!r.g_idx.empty())
      for (std::uint32_t g : r.g_idx) CHECK(g < n / 32);
    CHECK(std::isfinite(r.loss));
  }
}

TEST_CASE("GPTQ beats RTN on correlated inputs and act-order beats GPTQ (seeded)", "[gptq][seeded]") {
  // ALGORITHMS.md 2.9.6: 512 columns, 4096 tokens, asymmetric min-max grid with 0 in range.
  using S4c = scheme<uint4, per_channel, fp16, asym::int_zero<true>>;
  using S3c = scheme<uint_format<3>, per_channel, fp16, asym::int_zero<true>>;
  using S2c = scheme<uint_format<2>, per_channel, fp16, asym::int_zero<true>>;
  using S3g = scheme<uint_format<3>, group<128>, fp16, asym::int_zero<true>>;
  auto run = [](auto tag, const caltest::layer& L, double& e_rtn, double& e_gptq, double& e_act) {
    using S = decltype(tag);
    e_rtn = caltest::rel_output_error(L, dequant(quantize<S>(L.w.data(), L.m, L.n)));
    gptq_options o;
    e_gptq = caltest::rel_output_error(L, dequant(gptq<S>(L.w.data(), L.m, L.n, L.stats, o).q));
    o.order = act_order::static_groups;
    e_act = caltest::rel_output_error(L, dequant(gptq<S>(L.w.data(), L.m, L.n, L.stats, o).q));
  };
  for (unsigned seed : {1u, 2u, 3u}) {
    const auto& L = cached_layer(128, 512, 4096, seed);
    double r, g, a;
    auto check = [&](const char* name) {
      INFO("seed " << seed << " " << name << " RTN " << r << " GPTQ " << g << " GPTQ+act " << a);
      CHECK(g <= 0.8 * r);
      CHECK(a <= g);
    };
    run(S4c{}, L, r, g, a);
    check("w4 per-channel");
    run(S3c{}, L, r, g, a);
    check("w3 per-channel");
    run(S2c{}, L, r, g, a);
    check("w2 per-channel");
    run(S3g{}, L, r, g, a);
    check("w3 g128");
  }
}

TEST_CASE("GPTQ with too few tokens: damping is the fallback, undamped factorisation fails", "[gptq][errors]") {
  // ALGORITHMS.md 2.9.7: 64 tokens, 256 columns: H has rank 64.
  const auto& L = cached_layer(16, 256, 64, 15);
  gptq_options o;
  const auto damped = gptq<asym3_g32>(L.w.data(), L.m, L.n, L.stats, o);
  CHECK(damped.damp_retries == 0);
  CHECK(std::isfinite(damped.loss));
  o.percdamp = 0;
  o.damp_retries = 0;
  CHECK_THROWS_WITH(gptq<asym3_g32>(L.w.data(), L.m, L.n, L.stats, o),
                    Catch::Matchers::Contains("Cholesky factorisation of the damped Hessian failed"));
  o.damp_retries = 3;  // 0 -> 0.001 -> ...
  const auto retried = gptq<asym3_g32>(L.w.data(), L.m, L.n, L.stats, o);
  CHECK(retried.damp_retries >= 1);
  CHECK(retried.percdamp >= 0.001);
  for (float v : dequant(retried.q)) CHECK(std::isfinite(v));
  // an indefinite H that damping within the retries cannot fix
  Eigen::MatrixXd Hbad = Eigen::MatrixXd::Identity(32, 32);
  Hbad(1, 0) = Hbad(0, 1) = 50;
  std::vector<float> w(4 * 32, 0.1f);
  CHECK_THROWS_WITH(gptq<asym3_g32>(w.data(), 4, 32, Hbad), Catch::Matchers::Contains("retries"));
}

TEST_CASE("GPTQ bad input: shapes, non-finite Hessian, mismatched statistics, options", "[gptq][errors]") {
  const auto& L = cached_layer(8, 64, 128, 16);
  const Eigen::MatrixXd H = L.stats.hessian();
  Eigen::MatrixXd Hn = H;
  Hn(5, 3) = NAN;
  CHECK_THROWS_WITH(gptq<asym3_g32>(L.w.data(), 8, 64, Hn), Catch::Matchers::Contains("H[5][3] is nan"));
  Hn = H;
  Hn(7, 7) = -1;
  CHECK_THROWS_WITH(gptq<asym3_g32>(L.w.data(), 8, 64, Hn), Catch::Matchers::Contains("expected a diagonal >= 0"));
  CHECK_THROWS_WITH(gptq<asym3_g32>(L.w.data(), 8, 64, Eigen::MatrixXd(H.topLeftCorner(32, 32))),
                    Catch::Matchers::Contains("H is 32 x 32; expected cols x cols = 64 x 64"));
  layer_stats other(32);
  other.add_batch(std::vector<float>(32 * 4, 1.0f).data(), 4);
  CHECK_THROWS_WITH(gptq<asym3_g32>(L.w.data(), 8, 64, other), Catch::Matchers::Contains("K = 32 input channels"));
  CHECK_THROWS_WITH(gptq<asym3_g32>(L.w.data(), 8, 64, layer_stats(64)), Catch::Matchers::Contains("N = 0"));
  std::vector<float> wn = L.w;
  wn[70] = INFINITY;
  CHECK_THROWS_WITH(gptq<asym3_g32>(wn.data(), 8, 64, H), Catch::Matchers::Contains("weight [1][6]"));
  CHECK_THROWS_AS(gptq<asym3_g32>(L.w.data(), 8, 48, Eigen::MatrixXd::Identity(48, 48)), error);  // 48 % 32
  gptq_options o;
  o.block_size = 0;
  CHECK_THROWS_WITH(gptq<asym3_g32>(L.w.data(), 8, 64, H, o), Catch::Matchers::Contains("block_size = 0"));
  o = {};
  o.percdamp = NAN;
  CHECK_THROWS_WITH(gptq<asym3_g32>(L.w.data(), 8, 64, H, o), Catch::Matchers::Contains("percdamp"));
  o = {};
  const std::vector<float> imp(64, 1.0f);
  o.fit.importance = imp;
  CHECK_THROWS_WITH(gptq<asym3_g32>(L.w.data(), 8, 64, H, o), Catch::Matchers::Contains("fit.importance"));
  // g_idx reference dequantize validates its index
  const auto r = gptq<asym3_g32>(L.w.data(), 8, 64, H);
  std::vector<std::uint32_t> bad(64, 0);
  bad[3] = 2;
  std::vector<float> out(8 * 64);
  CHECK_THROWS_WITH(dequantize_reference(r.q, bad, out.data()), Catch::Matchers::Contains("g_idx[3] = 2"));
}

TEST_CASE("GPTQ fit options and front ends", "[gptq]") {
  const auto& L = cached_layer(32, 256, 1024, 17);
  gptq_options o;
  const auto mm = gptq<asym3_g32>(L.w.data(), L.m, L.n, L.stats, o);
  o.fit.method = rtn_method::mse_clip;
  o.fit.norm = 2.0f;
  const auto clip = gptq<asym3_g32>(L.w.data(), L.m, L.n, L.stats, o);
  CHECK(!caltest::same_bytes(mm.q, clip.q));
  CHECK(std::isfinite(clip.loss));
  const Eigen::Map<const caltest::RowMatF> W(L.w.data(), 32, 256);
  const auto e1 = gptq<asym3_g32>(W, L.stats);
  const auto e2 = gptq<asym3_g32>(W, L.stats.hessian());
  CHECK(caltest::same_bytes(e1.q, mm.q));
  CHECK(caltest::same_bytes(e2.q, mm.q));
}

TEST_CASE("GPTQ on tiny and odd shapes matches the slow reference", "[gptq][reference]") {
  std::mt19937 rng(18);
  std::normal_distribution<float> nd;
  auto check = [&](auto tag, std::size_t m, std::size_t n) {
    using S = decltype(tag);
    std::vector<float> w(m * n), x(64 * n);
    for (auto& v : w) v = nd(rng);
    for (auto& v : x) v = nd(rng);
    layer_stats st(n);
    st.add_batch(x.data(), 64);
    for (act_order ao : all_orders) {
      gptq_options o;
      o.order = ao;
      o.precision = calib_precision::fp64;
      o.block_size = 3;
      const auto fast = gptq<S>(w.data(), m, n, st, o);
      const auto slow = caltest::slow_gptq<S>(w, m, n, st.hessian(), 0.01, ao);
      INFO(m << " x " << n << " act_order " << int(ao));
      CHECK(caltest::same_bytes(fast.q, slow.q));
      CHECK(fast.g_idx == slow.g_idx);
    }
  };
  check(int3_tensor{}, 1, 1);
  check(int3_tensor{}, 5, 9);
  check(sym4_gptq_channel{}, 3, 7);
  check(sym4_gptq_channel{}, 1, 13);
  check(scheme<uint_format<2>, group<4>, fp16, asym::int_zero<true>>{}, 2, 12);
  check(scheme<uint_format<2>, group<4>, fp16, asym::int_zero<true>>{}, 1, 4);
}
