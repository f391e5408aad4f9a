// Sensitivities: Hutchinson, power iteration, exact traces, output error, salience, OWQ columns.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <Eigen/Eigenvalues>

#include "common.hpp"

using namespace mixq;

namespace {
Eigen::MatrixXd random_spd(int n, std::uint64_t seed, double diag_boost = 1.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> nd;
  Eigen::MatrixXd A(n, n);
  for (int i = 0; i < A.size(); ++i) A.data()[i] = nd(rng);
  Eigen::MatrixXd H = A * A.transpose() / n;
  H.diagonal().array() += diag_boost;
  return H;
}
}  // namespace

TEST_CASE("Hutchinson is exact for a diagonal Hessian at any probe count", "[allocate][sensitivity]") {
  Eigen::VectorXd d(50);
  for (int i = 0; i < 50; ++i) d(i) = 0.1 * (i + 1);
  auto hvp = [&](const Eigen::VectorXd& v, Eigen::VectorXd& hv) { hv = d.cwiseProduct(v); };
  for (int probes : {1, 2, 7}) {
    hutchinson_options o;
    o.max_probes = probes;
    o.min_probes = probes;
    o.tol = 0;
    const auto t = hutchinson_trace(hvp, 50, o);
    CHECK(t.trace == Approx(d.sum()).epsilon(1e-14));
    CHECK(t.variance == Approx(0).margin(1e-20));
    CHECK(t.probes == probes);
  }
  const auto t = hutchinson_trace(hvp, 50);  // default rule: converges at the second probe
  CHECK(t.converged);
  CHECK(t.probes == 2);
}

TEST_CASE("Hutchinson on a dense SPD matrix: within 5 sigma, variance as theory", "[allocate][sensitivity]") {
  const Eigen::MatrixXd H = random_spd(60, 9);
  auto hvp = [&](const Eigen::VectorXd& v, Eigen::VectorXd& hv) { hv = H * v; };
  const double off = (H.array().square().sum() - H.diagonal().array().square().sum());
  const double var_theory = 2 * off;
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    hutchinson_options o;
    o.max_probes = 100;
    o.min_probes = 100;
    o.seed = seed;
    const auto t = hutchinson_trace(hvp, 60, o);
    CHECK(t.probes == 100);
    CHECK(std::fabs(t.trace - H.trace()) <= 5 * std::sqrt(var_theory / 100));
    CHECK(t.variance == Approx(var_theory).epsilon(0.35));
    CHECK(t.std_error == Approx(std::sqrt(t.variance / 100)));
  }
  // The default stopping rule reports how many probes it used.
  const auto t = hutchinson_trace(hvp, 60);
  CHECK(t.probes >= 2);
  CHECK(t.probes <= 100);
}

TEST_CASE("power iteration finds the top eigenvalue", "[allocate][sensitivity]") {
  Eigen::MatrixXd H = random_spd(40, 4);
  H += 5 * Eigen::VectorXd::Ones(40) * Eigen::VectorXd::Ones(40).transpose() / 40;  // spectral gap
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(H);
  auto hvp = [&](const Eigen::VectorXd& v, Eigen::VectorXd& hv) { hv = H * v; };
  const auto e = top_eigenvalue(hvp, 40, 1000, 1e-13);
  CHECK(e.converged);
  CHECK(e.value == Approx(es.eigenvalues().maxCoeff()).epsilon(1e-6));
}

TEST_CASE("exact layer trace, Hutchinson over the layer HVP, and HAWQ-V2 sensitivity", "[allocate][sensitivity]") {
  const auto d = alloc_test::make_layer(16, 64, 512, 1);
  // tr(H) / K with H = 2 Sigma equals (2 / (N K)) ||X||_F^2.
  double x2 = 0;
  for (float v : d.x) x2 += static_cast<double>(v) * v;
  const auto hs = hessian_trace_sensitivity::exact(d.sigma);
  CHECK(hs.trace_per_weight == Approx(2 * x2 / (512.0 * 64)).epsilon(1e-12));
  layer_stats st(64);
  st.add_batch(d.x.data(), 512);
  CHECK(hessian_trace_sensitivity::exact(st).trace_per_weight == Approx(hs.trace_per_weight).epsilon(1e-12));
  // Hutchinson over the layer Hessian I_m (x) H acting on vec(V) (row-major m x K): V H.
  const Eigen::MatrixXd H = 2 * d.sigma;
  auto hvp = [&](const Eigen::VectorXd& v, Eigen::VectorXd& hv) {
    Eigen::Map<const Eigen::Matrix<double, -1, -1, Eigen::RowMajor>> V(v.data(), 16, 64);
    hv.resize(v.size());
    Eigen::Map<Eigen::Matrix<double, -1, -1, Eigen::RowMajor>>(hv.data(), 16, 64) = V * H;
  };
  hutchinson_options o;
  o.min_probes = 50;
  const auto t = hutchinson_trace(hvp, 16 * 64, o);
  const auto he = hessian_trace_sensitivity::from_estimate(t, 16 * 64);
  CHECK(std::fabs(t.trace - 16 * H.trace()) <= 5 * t.std_error + 1e-9);
  CHECK(he.trace_per_weight == Approx(hs.trace_per_weight).epsilon(0.2));
}

TEST_CASE("output error sensitivity is (1/N)||dW X||^2; blocks and diagonal", "[allocate][sensitivity]") {
  const auto d = alloc_test::make_layer(8, 128, 256, 2);
  const auto q = quantize<int4_g32_asym>(d.w.data(), 8, 128);
  std::vector<float> dq(8 * 128);
  dequantize_reference(q, dq.data());
  Eigen::MatrixXd D(8, 128), X(128, 256);
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 128; ++c) D(r, c) = static_cast<double>(d.w[r * 128 + c]) - dq[r * 128 + c];
  for (int t = 0; t < 256; ++t)
    for (int c = 0; c < 128; ++c) X(c, t) = d.x[t * 128 + c];
  const double direct = (D * X).squaredNorm() / 256;
  const output_error_sensitivity s(d.sigma);
  const auto whole = weight_delta::whole(d.w.data(), dq.data(), 8, 128);
  CHECK(s.error(whole) == Approx(direct).epsilon(1e-10));
  CHECK(output_error_sensitivity(d.sigma, 3.0).error(whole) == Approx(3 * direct).epsilon(1e-10));
  // A block: tr(dW_B Sigma_BB dW_B^T).
  const weight_delta blk{d.w.data(), dq.data(), 8, 128, 32, 64};
  const Eigen::MatrixXd DB = D.middleCols(32, 32);
  CHECK(s.error(blk) == Approx((DB * d.sigma.block(32, 32, 32, 32)).cwiseProduct(DB).sum()).epsilon(1e-12));
  // Diagonal sensitivity: the same with Sigma's off-diagonal dropped.
  const Eigen::MatrixXd diag = d.sigma.diagonal().asDiagonal();
  CHECK(diagonal_sensitivity::from_sigma(d.sigma).error(whole) ==
        Approx(output_error_sensitivity(diag).error(whole)).epsilon(1e-12));
  CHECK(weight_mse_sensitivity{}.error(whole) == Approx(D.squaredNorm()).epsilon(1e-12));
  CHECK(hessian_trace_sensitivity::exact(d.sigma).error(whole) ==
        Approx(2 * d.sigma.trace() / 128 * D.squaredNorm()).epsilon(1e-12));
  // Mismatched statistics and bad input.
  CHECK_THROWS_WITH(s.error(weight_delta::whole(d.w.data(), dq.data(), 16, 64)), Catch::Contains("K = 128"));
  CHECK_THROWS_WITH(s.error(weight_delta{d.w.data(), dq.data(), 8, 128, 64, 64}), Catch::Contains("empty or out of range"));
  Eigen::MatrixXd bad = d.sigma;
  bad(3, 4) = std::nan("");
  CHECK_THROWS_WITH(output_error_sensitivity(bad), Catch::Contains("non-finite"));
  CHECK_THROWS_WITH(output_error_sensitivity(Eigen::MatrixXd(3, 4)), Catch::Contains("square"));
  CHECK_THROWS_WITH(output_error_sensitivity(d.sigma, std::nan("")), Catch::Contains("gamma"));
  CHECK_THROWS_WITH(diagonal_sensitivity({1.0, -2.0}), Catch::Contains("a[1]"));
}

TEST_CASE("SliM-LLM salience: code form, paper form, |W| x ||X|| proxy", "[allocate][sensitivity][slim]") {
  const auto d = alloc_test::make_layer(4, 16, 200, 3);
  salience_options o;
  o.percdamp = 0;
  // Code form: w^2 / U_jj^2 with U_jj^2 = [(H_{F_j})^-1]_00, F_j = {j .. K-1} (an independent check).
  const auto s = element_salience(d.w.data(), 4, 16, d.sigma, o);
  const Eigen::MatrixXd H = 2 * d.sigma;
  for (int j = 0; j < 16; ++j) {
    const Eigen::MatrixXd sub = H.block(j, j, 16 - j, 16 - j);
    const double ujj2 = sub.inverse()(0, 0);
    for (int r = 0; r < 4; ++r) {
      const double w = d.w[r * 16 + j];
      CHECK(s[r * 16 + j] == Approx(w * w / ujj2).epsilon(1e-8));
    }
  }
  // Paper form: w^2 / ([H^-1]_jj)^2.
  o.form = salience_form::paper;
  const auto sp = element_salience(d.w.data(), 4, 16, d.sigma, o);
  const Eigen::MatrixXd Hi = H.inverse();
  CHECK(sp[5] == Approx(static_cast<double>(d.w[5]) * d.w[5] / (Hi(5, 5) * Hi(5, 5))).epsilon(1e-8));
  // With a diagonal Sigma the code form and the |W| x ||X|| proxy agree exactly.
  const Eigen::MatrixXd diag = d.sigma.diagonal().asDiagonal();
  o.form = salience_form::code;
  const auto sc = element_salience(d.w.data(), 4, 16, diag, o);
  o.form = salience_form::norm_proxy;
  const auto sn = element_salience(d.w.data(), 4, 16, diag, o);
  for (std::size_t i = 0; i < sc.size(); ++i) CHECK(sc[i] == Approx(sn[i]).epsilon(1e-10));
  // The proxy is (2/N)(|w| ||x_j||)^2.
  double xn = 0;
  for (int t = 0; t < 200; ++t) xn += static_cast<double>(d.x[t * 16 + 7]) * d.x[t * 16 + 7];
  CHECK(sn[16 + 7] == Approx(2.0 / 200 * d.w[16 + 7] * d.w[16 + 7] * xn).epsilon(1e-6));
  // Group sums.
  const auto g = group_salience(d.w.data(), 4, 16, 4, d.sigma);
  const auto e = element_salience(d.w.data(), 4, 16, d.sigma);
  double g1 = 0;
  for (int r = 0; r < 4; ++r)
    for (int c = 4; c < 8; ++c) g1 += e[r * 16 + c];
  CHECK(g.size() == 4);
  CHECK(g[1] == Approx(g1).epsilon(1e-12));
  CHECK_THROWS_WITH(group_salience(d.w.data(), 4, 16, 5, d.sigma), Catch::Contains("does not divide"));
  CHECK_THROWS_WITH(element_salience(d.w.data(), 4, 8, d.sigma), Catch::Contains("K = 16"));
}

TEST_CASE("OWQ per-column sensitivity", "[allocate][sensitivity][owq]") {
  const auto d = alloc_test::make_layer(8, 64, 256, 4);
  column_sensitivity_options o;
  o.by_error = false;
  const auto h = column_sensitivity<int3_g128_asym>(d.w.data(), 8, 64, d.sigma, o);
  for (int j = 0; j < 64; ++j) CHECK(h[j] == Approx(2 * d.sigma(j, j)));
  using S = scheme<uint_format<3>, per_channel, fp16, asym::int_zero<true>>;
  const auto s = column_sensitivity<S>(d.w.data(), 8, 64, d.sigma);
  const auto q = quantize<S>(d.w.data(), 8, 64);
  std::vector<float> dq(8 * 64);
  dequantize_reference(q, dq.data());
  double e = 0;
  for (int r = 0; r < 8; ++r) e += std::pow(static_cast<double>(d.w[r * 64 + 9]) - dq[r * 64 + 9], 2);
  CHECK(s[9] == Approx(2 * d.sigma(9, 9) * e).epsilon(1e-12));
  // Outlier channels (x20) dominate the ranking.
  std::size_t top = 0;
  for (std::size_t j = 1; j < 64; ++j)
    if (s[j] > s[top]) top = j;
  CHECK(d.sigma(static_cast<Eigen::Index>(top), static_cast<Eigen::Index>(top)) >= d.sigma.diagonal().mean());
}

TEST_CASE("sensitivity estimators reject bad input", "[allocate][sensitivity][errors]") {
  auto wrong = [](const Eigen::VectorXd& v, Eigen::VectorXd& hv) { hv = Eigen::VectorXd::Zero(v.size() + 1); };
  CHECK_THROWS_WITH(hutchinson_trace(wrong, 10), Catch::Contains("expected dim = 10"));
  auto nan = [](const Eigen::VectorXd& v, Eigen::VectorXd& hv) { hv = v * std::nan(""); };
  CHECK_THROWS_WITH(hutchinson_trace(nan, 10), Catch::Contains("non-finite"));
  auto ok = [](const Eigen::VectorXd& v, Eigen::VectorXd& hv) { hv = v; };
  CHECK_THROWS_WITH(hutchinson_trace(ok, 0), Catch::Contains("dim = 0"));
  hutchinson_options o;
  o.min_probes = 5;
  o.max_probes = 2;
  CHECK_THROWS_WITH(hutchinson_trace(ok, 3, o), Catch::Contains("min_probes"));
  CHECK_THROWS_WITH(top_eigenvalue(wrong, 4), Catch::Contains("wrong-sized"));
  trace_estimate t;
  t.trace = std::nan("");
  CHECK_THROWS_WITH(hessian_trace_sensitivity::from_estimate(t, 10), Catch::Contains("finite trace"));
}
