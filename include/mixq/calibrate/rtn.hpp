// Calibration without data: min-max round-to-nearest, MSE-optimal clip search, and the
// importance-weighted least-squares scale search (ggml's idea, for any symmetric scheme).
#pragma once
#include <cmath>
#include <cstddef>
#include <span>
#include <vector>

#include <Eigen/Core>

#include "../layout/quantized_matrix.hpp"
#include "../kernel/threads.hpp"
#include "grid.hpp"
#include "pow_sum.hpp"
#include "kquant.hpp"
#include "rtn_options.hpp"
#include "validate.hpp"

MIXQ_BEGIN_NAMESPACE

namespace detail {

template <Scheme S>
double unit_error(const float* v, const float* wt, std::size_t n, const unit_grid<S>& g, float norm) {
  double e = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double d = std::fabs(static_cast<double>(dequantize_value<S>(quantize_value<S>(v[i], g), g)) - v[i]);
    const double p = norm == 2.0f ? d * d : static_cast<double>(std::pow(static_cast<float>(d), norm));
    e += wt ? wt[i] * p : p;
  }
  return e;
}

// The clip search's candidate errors: residuals in a scalar loop (any format), then
// sum_i wt_i |d_i|^norm vectorized (xsimd's pow was 80% of the search's time as scalar powf).
template <Scheme S>
double unit_error_fast(const float* v, const float* wt, std::size_t n, const unit_grid<S>& g, float norm, float* res) {
  for (std::size_t i = 0; i < n; ++i) res[i] = dequantize_value<S>(quantize_value<S>(v[i], g), g) - v[i];
  return pow_sum(res, wt, n, norm);
}


template <Scheme S>
unit_grid<S> fit_mse_clip(const float* v, const float* wt, std::size_t n, const rtn_options& o, float norm,
                          float tensor_scale = 1.0f) {
  thread_local std::vector<float> res;
  res.resize(n);
  unit_grid<S> best = fit_minmax<S>(v, n, 1.0f, tensor_scale);
  double best_err = unit_error_fast<S>(v, wt, n, best, norm, res.data());
  const int steps = static_cast<int>(std::floor(o.max_shrink * static_cast<float>(o.grid)));
  unit_grid<S> last = best;
  for (int k = 1; k < steps; ++k) {
    const float p = 1.0f - static_cast<float>(k) / static_cast<float>(o.grid);
    const unit_grid<S> g = fit_minmax<S>(v, n, p, tensor_scale);
    // Neighbouring p often store the same grid (always so for MX's power-of-two scales): skip it.
    if (g.scale_code == last.scale_code && g.zero_code == last.zero_code && g.zero_stored == last.zero_stored &&
        g.encode_factor == last.encode_factor)
      continue;
    last = g;
    const double e = unit_error_fast<S>(v, wt, n, g, norm, res.data());
    if (e < best_err * (1 - clip_margin)) best_err = e, best = g;
  }
  return best;
}

// Symmetric weighted least squares: for each candidate scale fix the levels l_i, then the best
// scale for them is S_lx / S_ll with residual sum w x^2 - S_lx^2 / S_ll; keep the largest
// S_lx^2 / S_ll, store its scale, and re-round every weight against the stored scale.
template <Scheme S>
unit_grid<S> fit_weighted_ls(const float* v, const float* wt, std::size_t n) {
  const unit_grid<S> g0 = fit_minmax<S>(v, n, 1.0f);
  if (g0.scale == 0) return g0;
  double best_score = -1, best_d = g0.scale;
  const float base = g0.scale;
  for (int t = 0; t <= 18; ++t) {
    const int step = t == 0 ? 0 : (t <= 9 ? -t : t - 9);  // 0 first, then -1..-9, 1..9
    unit_grid<S> g = g0;
    // scale candidates base * L / (L + 0.1 step), L = the grid's reach: inverse scales step by 0.1 levels
    const float L = detail::grid_constants<S>::both_sides;
    g.scale = base * L / (L + 0.1f * static_cast<float>(step));
    double slx = 0, sll = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double l = code_value<S>(quantize_value<S>(v[i], g));
      const double w = wt ? wt[i] : static_cast<double>(v[i]) * v[i];
      slx += w * v[i] * l;
      sll += w * l * l;
    }
    if (sll > 0 && slx * slx / sll > best_score) best_score = slx * slx / sll, best_d = slx / sll;
  }
  unit_grid<S> g;
  set_scale(g, static_cast<float>(best_d));
  if (g.scale == 0 || !is_finite(g.scale)) return g0;
  // The final re-rounding against the stored scale can only be checked, not assumed, to help.
  std::vector<float> unit_w(n);
  for (std::size_t i = 0; i < n; ++i) unit_w[i] = wt ? wt[i] : v[i] * v[i];
  return unit_error<S>(v, unit_w.data(), n, g, 2.0f) <= unit_error<S>(v, unit_w.data(), n, g0, 2.0f) ? g : g0;
}

template <Scheme S>
quantized_matrix<S> quantize_single_level(const float* w, std::size_t rows, std::size_t cols, const rtn_options& o) {
  quantized_matrix<S> m(rows, cols);
  const auto& L = m.layout();
  float tensor_scale = 1.0f;
  if constexpr (S::has_tensor_scale) {
    float amax = 0;
    for (std::size_t i = 0; i < rows * cols; ++i) amax = std::fabs(w[i]) > amax ? std::fabs(w[i]) : amax;
    tensor_scale = tensor_scale_for<S>(amax);
    m.set_tensor_scale(tensor_scale);
  }
  const bool weighted = !o.importance.empty();
  const bool ls = o.method == rtn_method::weighted_ls && !S::is_asymmetric && !S::is_mx && !S::has_tensor_scale;
  // Fit the grid of the unit of n values starting at v, whose first column is col0.
  auto fit = [&](const float* v, std::size_t n, std::size_t col0, std::vector<float>& wt) {
    if (weighted) {
      wt.resize(n);
      for (std::size_t i = 0; i < n; ++i) wt[i] = o.importance[(col0 + i) % cols];
      if (ls) {  // ggml's imatrix weighting: a_j * sqrt(sigma^2 + w^2), sigma^2 = 2 mean w^2
        double ms = 0;
        for (std::size_t i = 0; i < n; ++i) ms += static_cast<double>(v[i]) * v[i];
        const double sigma2 = 2 * ms / static_cast<double>(n);
        for (std::size_t i = 0; i < n; ++i)
          wt[i] = static_cast<float>(wt[i] * std::sqrt(sigma2 + static_cast<double>(v[i]) * v[i]));
      }
    }
    const float* wp = weighted ? wt.data() : nullptr;
    switch (o.method) {
      case rtn_method::mse_clip: return detail::fit_mse_clip<S>(v, wp, n, o, o.norm, tensor_scale);
      case rtn_method::weighted_ls:
        return ls ? detail::fit_weighted_ls<S>(v, wp, n) : detail::fit_mse_clip<S>(v, wp, n, o, 2.0f, tensor_scale);
      default: return fit_minmax<S>(v, n, 1.0f, tensor_scale);
    }
  };
  unit_grid<S> tensor_grid;
  if constexpr (S::is_per_tensor) {
    std::vector<float> wt;
    tensor_grid = fit(w, rows * cols, 0, wt);
    store_grid(m, 0, tensor_grid);
  }
  // Rows are independent (each writes its own codes, scales and zeros): split them over threads.
  parallel_rows(rows, S::is_per_tensor ? 1u : o.threads, [&](std::size_t r0, std::size_t r1) {
    std::vector<std::uint8_t> qrow(cols);
    std::vector<float> wt;
    for (std::size_t r = r0; r < r1; ++r) {
      const float* wr = w + r * cols;
      if constexpr (S::is_per_tensor) {
        for (std::size_t c = 0; c < cols; ++c) qrow[c] = static_cast<std::uint8_t>(quantize_value<S>(wr[c], tensor_grid));
      } else {
        for (std::size_t g = 0; g < L.units_per_row; ++g) {
          const std::size_t c0 = g * L.unit_cols;
          const unit_grid<S> grid = fit(wr + c0, L.unit_cols, c0, wt);
          store_grid(m, r * L.units_per_row + g, grid);
          for (std::size_t c = c0; c < c0 + L.unit_cols; ++c)
            qrow[c] = static_cast<std::uint8_t>(quantize_value<S>(wr[c], grid));
        }
      }
      detail::pack_codes(m.codes(r), qrow.data(), cols, S::code_bits);
    }
  }, 1);
  return m;
}
}  // namespace detail

/// Quantize a row-major rows x cols matrix with scheme S, without calibration data.
/// Throws mixq::error on empty shapes, group sizes that do not divide cols, non-finite weights
/// or a malformed importance vector.
template <Scheme S>
quantized_matrix<S> quantize(const float* w, std::size_t rows, std::size_t cols, const rtn_options& o = {}) {
  detail::check_weights("mixq::quantize", w, rows, cols);
  detail::check_importance("mixq::quantize", o.importance, cols);
  if (o.grid <= 0 || !(o.max_shrink > 0 && o.max_shrink <= 1) || !(o.norm > 0))
    throw error("mixq::quantize: rtn_options needs grid > 0 (is " + std::to_string(o.grid) +
                "), 0 < max_shrink <= 1 (is " + std::to_string(o.max_shrink) + ") and norm > 0 (is " +
                std::to_string(o.norm) + ")");
  if constexpr (S::has_super_blocks) {
    return detail::quantize_kquant<S>(w, rows, cols, o);
  } else {
    return detail::quantize_single_level<S>(w, rows, cols, o);
  }
}

/// Eigen front end: any row-major float matrix expression (a Map of an engine's buffer too).
template <Scheme S>
quantized_matrix<S> quantize(const Eigen::Ref<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>& w,
                             const rtn_options& o = {}) {
  if (w.outerStride() != w.cols())
    throw error("mixq::quantize: the Eigen matrix must be contiguous (outer stride " +
                std::to_string(w.outerStride()) + ", cols " + std::to_string(w.cols()) + ")");
  return quantize<S>(w.data(), static_cast<std::size_t>(w.rows()), static_cast<std::size_t>(w.cols()), o);
}

MIXQ_END_NAMESPACE
