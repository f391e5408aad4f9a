// Shared helpers of the calibrate tests: the synthetic layer of ALGORITHMS.md Appendix A,
// output-error measures, and an independent slow GPTQ written straight from the equations.
#pragma once
#include <mixq/calibrate.hpp>

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <tuple>
#include <vector>

namespace caltest {

using RowMatF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// A layer and its calibration statistics (ALGORITHMS.md Appendix A generator):
/// W_ij ~ N(0, 0.02^2); x = diag(sigma) (sqrt(0.9) A z / sqrt(k) + sqrt(0.1) e), A n x k, k = n/8,
/// sigma_j ~ LogNormal(0, 0.5) with 1% of the channels (at least one) multiplied by 20.
struct layer {
  std::size_t m = 0, n = 0, tokens = 0;
  std::vector<float> w;  // m x n row-major
  std::vector<float> x;  // tokens x n row-major
  mixq::layer_stats stats;
  Eigen::MatrixXd sigma;  // stats.sigma()
  double output_energy = 0;  // tr(W Sigma W^T) = ||W X||^2 / N
};

inline std::unique_ptr<layer> make_layer(std::size_t m, std::size_t n, std::size_t tokens, unsigned seed,
                                         bool outliers = true) {
  auto L = std::make_unique<layer>();
  L->m = m, L->n = n, L->tokens = tokens;
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  L->w.resize(m * n);
  for (auto& v : L->w) v = 0.02f * nd(rng);
  const std::size_t k = std::max<std::size_t>(1, n / 8);
  Eigen::MatrixXf A(n, k);
  for (Eigen::Index i = 0; i < A.size(); ++i) A.data()[i] = nd(rng);
  std::lognormal_distribution<float> ln(0.0f, 0.5f);
  std::vector<float> sigma(n);
  for (auto& s : sigma) s = ln(rng);
  if (outliers) {
    const std::size_t n_out = std::max<std::size_t>(1, n / 100);
    std::vector<std::size_t> idx(n);
    std::iota(idx.begin(), idx.end(), 0);
    std::shuffle(idx.begin(), idx.end(), rng);
    for (std::size_t i = 0; i < n_out; ++i) sigma[idx[i]] *= 20;
  }
  L->x.resize(tokens * n);
  Eigen::VectorXf z(static_cast<Eigen::Index>(k)), xa(static_cast<Eigen::Index>(n));
  const float a = std::sqrt(0.9f / static_cast<float>(k)), b = std::sqrt(0.1f);
  for (std::size_t t = 0; t < tokens; ++t) {
    for (auto& v : z) v = nd(rng);
    xa.noalias() = A * z;
    for (std::size_t j = 0; j < n; ++j) L->x[t * n + j] = sigma[j] * (a * xa(static_cast<Eigen::Index>(j)) + b * nd(rng));
  }
  L->stats = mixq::layer_stats(n);
  L->stats.add_batch(L->x.data(), tokens);
  L->sigma = L->stats.sigma();
  Eigen::MatrixXd W(m, n);
  for (std::size_t r = 0; r < m; ++r)
    for (std::size_t c = 0; c < n; ++c) W(r, c) = L->w[r * n + c];
  L->output_energy = (W * L->sigma).cwiseProduct(W).sum();
  return L;
}

/// Cached layers (tests reuse the same seeded layers).
inline const layer& cached_layer(std::size_t m, std::size_t n, std::size_t tokens, unsigned seed, bool outliers = true) {
  static std::map<std::tuple<std::size_t, std::size_t, std::size_t, unsigned, bool>, std::unique_ptr<layer>> cache;
  auto& p = cache[{m, n, tokens, seed, outliers}];
  if (!p) p = make_layer(m, n, tokens, seed, outliers);
  return *p;
}

/// tr(dW M dW^T) in double with dW = W - What, both row-major m x n floats (differences exact).
inline double quad_error(const std::vector<float>& w, const std::vector<float>& wh, std::size_t m, std::size_t n,
                         const Eigen::MatrixXd& M) {
  Eigen::MatrixXd dW(m, n);
  for (std::size_t r = 0; r < m; ++r)
    for (std::size_t c = 0; c < n; ++c) dW(r, c) = static_cast<double>(w[r * n + c]) - static_cast<double>(wh[r * n + c]);
  return (dW * M).cwiseProduct(dW).sum();
}

/// Relative layer output error ||dW X||^2 / ||W X||^2 = tr(dW S dW^T) / tr(W S W^T).
inline double rel_output_error(const layer& L, const std::vector<float>& wh) {
  return quad_error(L.w, wh, L.m, L.n, L.sigma) / L.output_energy;
}

template <class S>
std::vector<float> dequant(const mixq::quantized_matrix<S>& q, std::span<const std::uint32_t> g_idx = {}) {
  std::vector<float> out(q.rows() * q.cols());
  mixq::dequantize_reference(q, g_idx, out.data());
  return out;
}

/// The slow reference: GPTQ of ALGORITHMS.md 2.3 in double, unblocked (every update applied to all
/// later columns at once), U from two factorisations (llt(H).solve(I), then llt(H^-1).matrixU()),
/// groups fitted on the current weights when they start. Grids and rounding are the library's
/// (fit_minmax / quantize_value against the stored scale). Returns the quantized matrix in the
/// plain layout (static groups / no act-order) or with g_idx, and the accumulated loss.
template <class S>
struct ref_result {
  mixq::quantized_matrix<S> q;
  std::vector<std::uint32_t> g_idx;
  double loss = 0;
};

template <class S>
ref_result<S> slow_gptq(const std::vector<float>& w, std::size_t m, std::size_t n, Eigen::MatrixXd H, double percdamp,
                        mixq::act_order order) {
  using namespace mixq;
  Eigen::MatrixXd W(m, n);
  for (std::size_t r = 0; r < m; ++r)
    for (std::size_t c = 0; c < n; ++c) W(r, c) = w[r * n + c];
  // 1. dead columns
  for (std::size_t j = 0; j < n; ++j)
    if (H(j, j) == 0) H(j, j) = 1, W.col(j).setZero();
  const std::size_t G = S::unit_cols(n) == 0 ? n : S::unit_cols(n);
  const bool grouped = !S::is_per_tensor && !S::is_per_channel;
  const std::size_t upr = grouped ? n / G : 1;
  auto fit_cols = [&](const Eigen::MatrixXd& M, std::size_t r, const std::vector<std::size_t>& cols) {
    std::vector<float> v(cols.size());
    for (std::size_t k = 0; k < cols.size(); ++k) v[k] = static_cast<float>(M(r, cols[k]));
    return fit_minmax<S>(v.data(), v.size());
  };
  // 2. static groups on the original order (also: per-channel and per-tensor grids up front)
  std::vector<unit_grid<S>> grids(S::is_per_tensor ? 1 : m * upr);
  if (S::is_per_tensor) {
    std::vector<float> v(m * n);
    for (std::size_t r = 0; r < m; ++r)
      for (std::size_t c = 0; c < n; ++c) v[r * n + c] = static_cast<float>(W(r, c));
    grids[0] = fit_minmax<S>(v.data(), v.size());
  } else if (!grouped || order == act_order::static_groups) {
    for (std::size_t r = 0; r < m; ++r)
      for (std::size_t t = 0; t < upr; ++t) {
        std::vector<std::size_t> cols(G);
        std::iota(cols.begin(), cols.end(), t * G);
        grids[r * upr + t] = fit_cols(W, r, cols);
      }
  }
  // 3. act-order
  std::vector<std::size_t> perm(n);
  std::iota(perm.begin(), perm.end(), 0);
  if (order != act_order::none)
    std::stable_sort(perm.begin(), perm.end(), [&](std::size_t a, std::size_t b) { return H(a, a) > H(b, b); });
  Eigen::MatrixXd Wp(m, n), Hp(n, n);
  for (std::size_t i = 0; i < n; ++i) {
    Wp.col(i) = W.col(perm[i]);
    for (std::size_t j = 0; j < n; ++j) Hp(i, j) = H(perm[i], perm[j]);
  }
  // 4. damping, 5. U
  Hp.diagonal().array() += percdamp * Hp.diagonal().mean();
  const Eigen::MatrixXd Hinv = Hp.llt().solve(Eigen::MatrixXd::Identity(n, n));
  const Eigen::MatrixXd U = Hinv.llt().matrixU();
  // 6. the column loop
  Eigen::Matrix<unsigned, Eigen::Dynamic, Eigen::Dynamic> codes(m, n);
  std::vector<std::size_t> grid_of(n);  // position -> group within the row
  ref_result<S> res;
  for (std::size_t i = 0; i < n; ++i) {
    if (grouped) {
      if (order == act_order::static_groups) {
        grid_of[i] = perm[i] / G;
      } else {
        grid_of[i] = i / G;
        if (i % G == 0) {
          std::vector<std::size_t> cols(G);
          std::iota(cols.begin(), cols.end(), i);
          for (std::size_t r = 0; r < m; ++r) grids[r * upr + i / G] = fit_cols(Wp, r, cols);
        }
      }
    }
    for (std::size_t r = 0; r < m; ++r) {
      const unit_grid<S>& g = grids[S::is_per_tensor ? 0 : r * upr + grid_of[i]];
      const unsigned q = quantize_value<S>(static_cast<float>(Wp(r, i)), g);
      const double e = (Wp(r, i) - dequantize_value<S>(q, g)) / U(i, i);
      res.loss += 0.5 * e * e;
      codes(r, i) = q;
      for (std::size_t j = i + 1; j < n; ++j) Wp(r, j) -= e * U(i, j);
    }
  }
  // 7. undo the permutation
  res.q = quantized_matrix<S>(m, n);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t r = 0; r < m; ++r) res.q.set_code(r, perm[i], codes(r, i));
  for (std::size_t u = 0; u < grids.size(); ++u) store_grid(res.q, u, grids[u]);
  if (grouped && order == act_order::g_idx) {
    res.g_idx.resize(n);
    for (std::size_t i = 0; i < n; ++i) res.g_idx[perm[i]] = static_cast<std::uint32_t>(i / G);
  }
  return res;
}

template <class S>
bool same_bytes(const mixq::quantized_matrix<S>& a, const mixq::quantized_matrix<S>& b) {
  return a.raw().size() == b.raw().size() && std::equal(a.raw().begin(), a.raw().end(), b.raw().begin());
}

/// Fraction of equal codes.
template <class S>
double code_agreement(const mixq::quantized_matrix<S>& a, const mixq::quantized_matrix<S>& b) {
  std::size_t same = 0;
  for (std::size_t r = 0; r < a.rows(); ++r)
    for (std::size_t c = 0; c < a.cols(); ++c) same += a.view().code(r, c) == b.view().code(r, c);
  return static_cast<double>(same) / static_cast<double>(a.rows() * a.cols());
}

}  // namespace caltest
