// Shared helpers of the allocate tests: seeded synthetic layers (ALGORITHMS.md Appendix A's
// correlated generator, optionally with group-level activation scales as in 5.5) and a brute
// force for the multiple-choice knapsack.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <Eigen/Core>

#include <mixq/mixq.hpp>

namespace alloc_test {

struct layer_data {
  std::size_t rows = 0, cols = 0, tokens = 0;
  std::vector<float> w;  // rows x cols
  std::vector<float> x;  // tokens x cols (one token per row)
  Eigen::MatrixXd sigma;
};

/// W ~ N(0, wscale^2); x = diag(s) (sqrt(0.9) A z / sqrt(k) + sqrt(0.1) e), k = cols / 8,
/// s_j ~ LogNormal(0, 0.5) with 1% of channels x20, times a per-group LogNormal(0, group_sigma)
/// factor when group_cols > 0.
inline layer_data make_layer(std::size_t rows, std::size_t cols, std::size_t tokens, std::uint64_t seed,
                             std::size_t group_cols = 0, double group_sigma = 0.8, float wscale = 0.02f) {
  layer_data d;
  d.rows = rows, d.cols = cols, d.tokens = tokens;
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> nd;
  d.w.resize(rows * cols);
  for (auto& v : d.w) v = static_cast<float>(wscale * nd(rng));
  const std::size_t k = cols / 8 > 0 ? cols / 8 : 1;
  Eigen::MatrixXd A(static_cast<Eigen::Index>(cols), static_cast<Eigen::Index>(k));
  for (Eigen::Index i = 0; i < A.size(); ++i) A.data()[i] = nd(rng);
  std::vector<double> s(cols);
  for (auto& v : s) v = std::exp(0.5 * nd(rng));
  for (std::size_t j = 0; j < cols; ++j)
    if (rng() % 100 == 0) s[j] *= 20;
  if (group_cols > 0)
    for (std::size_t g0 = 0; g0 < cols; g0 += group_cols) {
      const double f = std::exp(group_sigma * nd(rng));
      for (std::size_t j = g0; j < g0 + group_cols && j < cols; ++j) s[j] *= f;
    }
  d.x.resize(tokens * cols);
  Eigen::VectorXd z(static_cast<Eigen::Index>(k));
  for (std::size_t t = 0; t < tokens; ++t) {
    for (Eigen::Index i = 0; i < z.size(); ++i) z(i) = nd(rng);
    const Eigen::VectorXd az = A * z / std::sqrt(static_cast<double>(k));
    for (std::size_t j = 0; j < cols; ++j)
      d.x[t * cols + j] =
          static_cast<float>(s[j] * (std::sqrt(0.9) * az(static_cast<Eigen::Index>(j)) + std::sqrt(0.1) * nd(rng)));
  }
  mixq::layer_stats st(cols);
  st.add_batch(d.x.data(), tokens);
  d.sigma = st.sigma();
  return d;
}

/// tr(dW Sigma dW^T) of a dequantized approximation (the full layer-output error).
inline double output_error(const layer_data& d, const float* wq) {
  Eigen::MatrixXd D(static_cast<Eigen::Index>(d.rows), static_cast<Eigen::Index>(d.cols));
  for (std::size_t r = 0; r < d.rows; ++r)
    for (std::size_t c = 0; c < d.cols; ++c)
      D(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(c)) =
          static_cast<double>(d.w[r * d.cols + c]) - wq[r * d.cols + c];
  return (D * d.sigma).cwiseProduct(D).sum();
}

struct brute_result {
  double error = std::numeric_limits<double>::infinity();
  std::uint64_t bits = 0;
  std::vector<std::size_t> choice;
  bool exact_reachable = false;  // some allocation has bits == budget
};

/// Least error with bits <= budget over all combinations satisfying the constraints.
inline brute_result brute_force(const std::vector<mixq::item>& items, std::uint64_t budget,
                                const std::vector<std::vector<std::size_t>>& ties = {},
                                const std::vector<std::pair<std::size_t, double>>& min_bpw = {}) {
  brute_result best;
  std::vector<std::size_t> c(items.size(), 0);
  for (;;) {
    bool ok = true;
    for (const auto& t : ties)
      for (std::size_t j = 1; j < t.size(); ++j) ok = ok && c[t[j]] == c[t[0]];
    for (const auto& [i, b] : min_bpw)
      ok = ok && static_cast<double>(items[i].options[c[i]].bits) >= b * static_cast<double>(items[i].weights) * (1 - 1e-12);
    if (ok) {
      std::uint64_t bits = 0;
      double e = 0;
      for (std::size_t i = 0; i < items.size(); ++i) bits += items[i].options[c[i]].bits, e += items[i].options[c[i]].error;
      if (bits == budget) best.exact_reachable = true;
      if (bits <= budget && (e < best.error || (e == best.error && bits < best.bits))) best.error = e, best.bits = bits, best.choice = c;
    }
    std::size_t i = 0;
    while (i < items.size() && ++c[i] == items[i].options.size()) c[i++] = 0;
    if (i == items.size()) break;
  }
  return best;
}

}  // namespace alloc_test
