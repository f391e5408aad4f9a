// AWQ, layer-local variant (ALGORITHMS.md 3.5): per-input-channel scales s = mean|x|^alpha,
// alpha chosen on a grid by the layer's output error tr(dW Sigma dW^T); the layer is quantized
// as Q(W diag(s)) and 1/s is folded into the operation that produces its input.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include "../error.hpp"
#include "../layout/quantized_matrix.hpp"
#include "gptq.hpp"
#include "grid.hpp"
#include "layer_stats.hpp"
#include "rtn.hpp"
#include "validate.hpp"

MIXQ_BEGIN_NAMESPACE

struct awq_options {
  /// alpha = k / n_grid for k = 0 .. n_grid - 1 (llm-awq: 20 points 0, 0.05, .., 0.95). alpha = 0
  /// gives s = 1, plain RTN, so the search is never worse than RTN in its objective.
  int n_grid = 20;
  /// The quantizer of W diag(s) (llm-awq: min-max; the scheme decides the grid convention).
  rtn_options fit = {};
  /// ALGORITHMS.md 3.3 after the scale search: per (row, group) clip max|w| to A0 (1 - k/20),
  /// k = 0..9, keeping the clip with the least group output error d^T Sigma_gg d (Sigma's diagonal
  /// block: the partial dot product's error). Off by default; per-tensor schemes skip it. The
  /// final objective may then differ from the grid's best (cross-group terms are not scored).
  bool clip = false;
  int clip_steps = 10;
  float clip_step = 0.05f;
  /// Precision of the objective evaluation (a triangular product per grid point).
  calib_precision precision = calib_precision::fp32;
};

template <Scheme S>
struct awq_result {
  /// Q(W diag(s)): the layer's weights times the scales, quantized with scheme S.
  quantized_matrix<S> q;
  /// s, one per input column. The layer computes y = dequant(q) (x / s): fold 1/s into the
  /// operation that produces x (fold_awq_scales_into_norm / fold_awq_scales_into_linear).
  std::vector<float> scales;
  float alpha = 0;
  /// tr(dW Sigma dW^T) of the result, dW = W - dequant(q) diag(s)^-1.
  double loss = 0;
  /// The objective at alpha = k / n_grid (before any clipping).
  std::vector<double> grid_losses;
};

namespace detail {

/// tr(dW Sigma dW^T) for many dW through one pivoted LDL^T of Sigma (P Sigma P^T = L D L^T;
/// Sigma only needs to be positive semi-definite): = sum_j D_j ||((dW P^T) L)[:, j]||^2.
template <class T>
struct sigma_objective {
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  Mat L;
  Eigen::VectorXd D;
  std::vector<Eigen::Index> src;  // column of dW at position k of dW P^T

  explicit sigma_objective(const Eigen::MatrixXd& sigma) {
    const Eigen::LDLT<Eigen::MatrixXd> ldlt(sigma);
    const Eigen::Index n = sigma.rows();
    L = Eigen::MatrixXd(ldlt.matrixL()).template cast<T>();
    D = ldlt.vectorD().cwiseMax(0.0);
    Eigen::RowVectorXd idx(n);
    for (Eigen::Index k = 0; k < n; ++k) idx(k) = static_cast<double>(k);
    const Eigen::PermutationMatrix<Eigen::Dynamic> P(ldlt.transpositionsP());
    const Eigen::RowVectorXd moved = idx * P.transpose();
    src.resize(static_cast<std::size_t>(n));
    for (Eigen::Index k = 0; k < n; ++k) src[static_cast<std::size_t>(k)] = static_cast<Eigen::Index>(moved(k));
  }
  double operator()(const Mat& dW) const {
    Mat dWp(dW.rows(), dW.cols());
    for (Eigen::Index k = 0; k < dW.cols(); ++k) dWp.col(k) = dW.col(src[static_cast<std::size_t>(k)]);
    Mat Z(dW.rows(), dW.cols());
    Z.noalias() = dWp * L.template triangularView<Eigen::UnitLower>();
    double s = 0;
    for (Eigen::Index j = 0; j < Z.cols(); ++j) s += D(j) * static_cast<double>(Z.col(j).squaredNorm());
    return s;
  }
};

inline void check_awq_options(const char* fn, const awq_options& o) {
  if (o.n_grid < 1) throw error(std::string(fn) + ": n_grid = " + std::to_string(o.n_grid) + "; expected >= 1");
  if (o.clip && (o.clip_steps < 1 || !(o.clip_step > 0) || !(o.clip_step * static_cast<float>(o.clip_steps - 1) < 1)))
    throw error(std::string(fn) + ": clip_steps = " + std::to_string(o.clip_steps) + ", clip_step = " +
                std::to_string(o.clip_step) + "; expected clip_steps >= 1 and 0 < clip_step * (clip_steps - 1) < 1");
  if (!o.fit.importance.empty())
    throw error(std::string(fn) + ": fit.importance has " + std::to_string(o.fit.importance.size()) +
                " entries; expected none");
}

/// AWQ's scales for one alpha: max(abar^alpha, 1e-4), normalised by sqrt(max * min) (llm-awq).
inline std::vector<float> awq_scales(const Eigen::VectorXd& abar, double alpha) {
  const std::size_t n = static_cast<std::size_t>(abar.size());
  std::vector<double> s(n);
  double mx = 0, mn = INFINITY;
  for (std::size_t j = 0; j < n; ++j) {
    s[j] = std::max(std::pow(abar(static_cast<Eigen::Index>(j)), alpha), 1e-4);
    mx = std::max(mx, s[j]);
    mn = std::min(mn, s[j]);
  }
  const double norm = std::sqrt(mx * mn);
  std::vector<float> f(n);
  for (std::size_t j = 0; j < n; ++j) f[j] = static_cast<float>(s[j] / norm);
  return f;
}

/// Per (row, group) clip search of an already quantized W' = W diag(s) (ALGORITHMS.md 3.3).
template <Scheme S>
void awq_clip(quantized_matrix<S>& q, const float* ws, const std::vector<float>& s, const Eigen::MatrixXd& sigma,
              const awq_options& o) {
  const std::size_t rows = q.rows(), cols = q.cols();
  const std::size_t G = S::unit_cols(cols);
  std::vector<float> vc(G);
  Eigen::VectorXd d(static_cast<Eigen::Index>(G)), best_d;
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c0 = 0; c0 < cols; c0 += G) {
      const float* v = ws + r * cols + c0;
      const auto blk = sigma.block(static_cast<Eigen::Index>(c0), static_cast<Eigen::Index>(c0),
                                   static_cast<Eigen::Index>(G), static_cast<Eigen::Index>(G));
      float a0 = 0;
      for (std::size_t j = 0; j < G; ++j) a0 = std::max(a0, std::fabs(v[j]));
      double best = INFINITY;
      unit_grid<S> best_g;
      std::vector<unsigned> codes(G), best_codes(G);
      for (int k = 0; k < o.clip_steps; ++k) {
        const float c = a0 * (1.0f - o.clip_step * static_cast<float>(k));
        for (std::size_t j = 0; j < G; ++j) vc[j] = std::clamp(v[j], -c, c);
        const unit_grid<S> g = fit_unit<S>(vc.data(), G, o.fit);
        for (std::size_t j = 0; j < G; ++j) {
          codes[j] = quantize_value<S>(vc[j], g);
          d(static_cast<Eigen::Index>(j)) =
              (static_cast<double>(v[j]) - dequantize_value<S>(codes[j], g)) / s[c0 + j];
        }
        const double e = d.dot(blk * d);
        if (e < best) best = e, best_g = g, best_codes = codes;  // k = 0 (no clip) wins ties
      }
      store_grid(q, q.view().unit(r, c0), best_g);
      for (std::size_t j = 0; j < G; ++j) q.set_code(r, c0 + j, best_codes[j]);
    }
}

}  // namespace detail

/// Layer-local AWQ on a row-major rows x cols weight matrix, from the inputs' per-channel mean
/// |x| (abar) and Sigma = X X^T / N. For each alpha of the grid: s = max(abar^alpha, 1e-4),
/// s /= sqrt(max(s) min(s)); quantize W diag(s) with scheme S (fit options); score
/// tr(dW Sigma dW^T) with dW = W - Q diag(s)^-1. Keeps the best alpha (the first on ties).
/// Throws mixq::error on bad shapes, non-finite or negative statistics, or bad options.
template <Scheme S>
awq_result<S> awq(const float* w, std::size_t rows, std::size_t cols, const Eigen::Ref<const Eigen::VectorXd>& mean_abs,
                  const Eigen::Ref<const Eigen::MatrixXd>& sigma, const awq_options& o = {}) {
  constexpr const char* fn = "mixq::awq";
  detail::check_weights(fn, w, rows, cols);
  detail::check_awq_options(fn, o);
  (void)matrix_layout<S>::make(rows, cols);
  if (static_cast<std::size_t>(mean_abs.size()) != cols)
    throw error(std::string(fn) + ": mean_abs has " + std::to_string(mean_abs.size()) +
                " entries; expected one per input column (" + std::to_string(cols) + ")");
  for (std::size_t j = 0; j < cols; ++j) {
    const double a = mean_abs(static_cast<Eigen::Index>(j));
    if (!std::isfinite(a) || a < 0)
      throw error(std::string(fn) + ": mean_abs[" + std::to_string(j) + "] = " + std::to_string(a) +
                  "; expected a finite value >= 0");
  }
  const Eigen::MatrixXd sig = detail::symmetric_hessian(fn, sigma, cols, "sigma");
  const Eigen::VectorXd abar = mean_abs;
  awq_result<S> res;
  res.grid_losses.resize(static_cast<std::size_t>(o.n_grid));
  std::vector<float> ws(rows * cols), dq(rows * cols);
  auto search = [&](auto tag) {
    using T = decltype(tag);
    using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
    const detail::sigma_objective<T> obj(sig);
    Mat dW(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
    auto score = [&](const quantized_matrix<S>& q, const std::vector<float>& s) {
      dequantize_reference(q, dq.data());
      for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < cols; ++c)
          dW(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(c)) =
              static_cast<T>(w[r * cols + c]) - static_cast<T>(dq[r * cols + c]) / static_cast<T>(s[c]);
      return obj(dW);
    };
    double best = INFINITY;
    for (int k = 0; k < o.n_grid; ++k) {
      const double alpha = static_cast<double>(k) / o.n_grid;
      std::vector<float> s = detail::awq_scales(abar, alpha);
      for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < cols; ++c) ws[r * cols + c] = w[r * cols + c] * s[c];
      quantized_matrix<S> q = quantize<S>(ws.data(), rows, cols, o.fit);
      const double e = score(q, s);
      res.grid_losses[static_cast<std::size_t>(k)] = e;
      if (e < best) {
        best = e;
        res.q = std::move(q);
        res.scales = std::move(s);
        res.alpha = static_cast<float>(alpha);
      }
    }
    res.loss = best;
    if constexpr (!S::is_per_tensor) {
      if (o.clip) {
        for (std::size_t r = 0; r < rows; ++r)
          for (std::size_t c = 0; c < cols; ++c) ws[r * cols + c] = w[r * cols + c] * res.scales[c];
        detail::awq_clip<S>(res.q, ws.data(), res.scales, sig, o);
        res.loss = score(res.q, res.scales);
      }
    }
  };
  if (o.precision == calib_precision::fp64) search(double{});
  else search(float{});
  return res;
}

/// AWQ with accumulated statistics (mean_abs() and sigma()).
template <Scheme S>
awq_result<S> awq(const float* w, std::size_t rows, std::size_t cols, const layer_stats& stats, const awq_options& o = {}) {
  if (stats.channels() != cols)
    throw error("mixq::awq: layer_stats has K = " + std::to_string(stats.channels()) + " input channels; the weights have " +
                std::to_string(cols) + " columns (expected equal)");
  return awq<S>(w, rows, cols, stats.mean_abs(), stats.sigma(), o);
}

/// Eigen front end: a contiguous row-major float matrix.
template <Scheme S>
awq_result<S> awq(const Eigen::Ref<const row_matrix_f>& w, const layer_stats& stats, const awq_options& o = {}) {
  detail::check_contiguous("mixq::awq", w);
  return awq<S>(w.data(), static_cast<std::size_t>(w.rows()), static_cast<std::size_t>(w.cols()), stats, o);
}

namespace detail {
inline void check_awq_scales(const char* fn, std::span<const float> s, std::size_t expected, const char* what) {
  if (s.size() != expected)
    throw error(std::string(fn) + ": " + what + " has " + std::to_string(expected) + " entries but scales has " +
                std::to_string(s.size()) + "; expected one scale per entry");
  for (std::size_t j = 0; j < s.size(); ++j)
    if (!std::isfinite(s[j]) || !(s[j] > 0))
      throw error(std::string(fn) + ": scales[" + std::to_string(j) + "] = " + std::to_string(s[j]) +
                  "; expected a finite value > 0");
}
}  // namespace detail

/// Fold AWQ's 1/s into the LayerNorm/RMSNorm that feeds the layer (ALGORITHMS.md 3.4):
/// gamma_j /= s_j, and beta_j /= s_j when a bias is given.
inline void fold_awq_scales_into_norm(std::span<float> gamma, std::span<const float> scales, std::span<float> beta = {}) {
  constexpr const char* fn = "mixq::fold_awq_scales_into_norm";
  detail::check_awq_scales(fn, scales, gamma.size(), "gamma");
  if (!beta.empty()) detail::check_awq_scales(fn, scales, beta.size(), "beta");
  for (std::size_t j = 0; j < gamma.size(); ++j) gamma[j] /= scales[j];
  for (std::size_t j = 0; j < beta.size(); ++j) beta[j] /= scales[j];
}

/// Fold AWQ's 1/s into the previous linear layer whose outputs are this layer's inputs
/// (v_proj -> o_proj, up_proj -> down_proj): its output row j (row-major rows x cols, rows =
/// scales.size()) and bias_j are divided by s_j. Only valid when nothing non-homogeneous sits in
/// between (ReLU is fine, GELU/SiLU are not; ALGORITHMS.md 3.4).
inline void fold_awq_scales_into_linear(float* w_prev, std::size_t rows, std::size_t cols, std::span<const float> scales,
                                        std::span<float> bias = {}) {
  constexpr const char* fn = "mixq::fold_awq_scales_into_linear";
  if (w_prev == nullptr) throw error(std::string(fn) + ": weights pointer is null");
  detail::check_awq_scales(fn, scales, rows, "the previous layer's rows");
  if (!bias.empty()) detail::check_awq_scales(fn, scales, bias.size(), "bias");
  for (std::size_t r = 0; r < rows; ++r) {
    const float s = scales[r];
    for (std::size_t c = 0; c < cols; ++c) w_prev[r * cols + c] /= s;
  }
  for (std::size_t r = 0; r < bias.size(); ++r) bias[r] /= scales[r];
}

MIXQ_END_NAMESPACE
