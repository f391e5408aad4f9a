// layer_stats: the streaming moments equal their definitions, shards merge exactly, bad input.
#include <catch2/catch.hpp>

#include "common.hpp"

using namespace mixq;

namespace {
std::vector<float> activations(std::size_t N, std::size_t K, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  std::vector<float> x(N * K);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = nd(rng) * static_cast<float>(1 + i % K);
  return x;
}
}  // namespace

TEST_CASE("layer_stats equals Sigma = X X^T / N, mean |x| and mean x^2", "[layer_stats]") {
  const std::size_t N = 300, K = 37;  // N not a multiple of the internal chunk
  const auto x = activations(N, K, 1);
  layer_stats st(K);
  st.add_batch(x.data(), N);
  REQUIRE(st.tokens() == N);
  REQUIRE(st.channels() == K);
  Eigen::MatrixXd X(N, K);  // tokens x K
  for (std::size_t t = 0; t < N; ++t)
    for (std::size_t j = 0; j < K; ++j) X(t, j) = x[t * K + j];
  const Eigen::MatrixXd S = X.transpose() * X / static_cast<double>(N);
  CHECK((st.sigma() - S).cwiseAbs().maxCoeff() <= 1e-12 * S.cwiseAbs().maxCoeff());
  CHECK((st.hessian() - 2 * st.sigma()).cwiseAbs().maxCoeff() == 0);
  CHECK(st.sigma().isApprox(st.sigma().transpose(), 0));
  const Eigen::VectorXd ma = X.cwiseAbs().colwise().mean().transpose();
  CHECK((st.mean_abs() - ma).cwiseAbs().maxCoeff() <= 1e-12 * ma.maxCoeff());
  CHECK((st.mean_sq() - S.diagonal()).cwiseAbs().maxCoeff() <= 1e-12 * S.diagonal().maxCoeff());
  const auto imp = st.importance();
  for (std::size_t j = 0; j < K; ++j) CHECK(imp[j] == static_cast<float>(st.mean_sq()(j)));
  // the H trace proxy of ALGORITHMS.md 4.6.7: tr(H) = (2/N) ||X||_F^2
  CHECK(st.hessian().trace() == Approx(2.0 * X.squaredNorm() / N).epsilon(1e-12));
}

TEST_CASE("layer_stats: shards and batch splits merge to the single pass", "[layer_stats]") {
  const std::size_t N = 1000, K = 24;
  const auto x = activations(N, K, 2);
  layer_stats all(K), a(K), b(K), c(K);
  all.add_batch(x.data(), N);
  a.add_batch(x.data(), 100);
  a.add_batch(x.data() + 100 * K, 250);  // two batches into one shard
  b.add_batch(x.data() + 350 * K, 650);
  a.merge(b).merge(c);  // merging an empty shard is a no-op
  CHECK(a.tokens() == N);
  CHECK((a.sigma() - all.sigma()).cwiseAbs().maxCoeff() <= 1e-12 * all.sigma().cwiseAbs().maxCoeff());
  CHECK((a.mean_abs() - all.mean_abs()).cwiseAbs().maxCoeff() <= 1e-12 * all.mean_abs().maxCoeff());
  // Eigen front end
  layer_stats e(K);
  e.add_batch(Eigen::Map<const caltest::RowMatF>(x.data(), N, K));
  CHECK((e.sigma() - all.sigma()).cwiseAbs().maxCoeff() == 0);
}

TEST_CASE("layer_stats bad input", "[layer_stats][errors]") {
  CHECK_THROWS_WITH(layer_stats(0), Catch::Matchers::Contains("channels = 0"));
  layer_stats st(8);
  CHECK_THROWS_WITH(st.sigma(), Catch::Matchers::Contains("no calibration tokens (N = 0)"));
  CHECK_THROWS_WITH(st.mean_abs(), Catch::Matchers::Contains("N = 0"));
  std::vector<float> x(3 * 8, 1.0f);
  x[2 * 8 + 5] = NAN;
  CHECK_THROWS_WITH(st.add_batch(x.data(), 3), Catch::Matchers::Contains("activation [2][5] is nan"));
  CHECK(st.tokens() == 0);  // unchanged
  x[2 * 8 + 5] = 1;
  st.add_batch(x.data(), 3);
  CHECK_THROWS_WITH(st.add_batch(nullptr, 2), Catch::Matchers::Contains("null"));
  CHECK_THROWS_WITH(st.merge(layer_stats(9)), Catch::Matchers::Contains("K = 9 channels; expected 8"));
  const caltest::RowMatF wrong = caltest::RowMatF::Ones(2, 9);
  CHECK_THROWS_WITH(st.add_batch(wrong), Catch::Matchers::Contains("expected K = 8"));
  // fewer tokens than channels is allowed (GPTQ damps, AWQ needs only a PSD Sigma)
  CHECK(st.tokens() == 3);
  CHECK(st.sigma().rows() == 8);
}
