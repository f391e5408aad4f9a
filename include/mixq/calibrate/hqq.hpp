// HQQ (ALGORITHMS.md 1.4): data-free half-quadratic optimisation of each unit's zero point under
// a heavy-tailed l_p (p < 1) error model, scale fixed at its min-max value.
#pragma once
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "../error.hpp"
#include "../layout/quantized_matrix.hpp"
#include "grid.hpp"
#include "layer_stats.hpp"
#include "validate.hpp"

MIXQ_BEGIN_NAMESPACE

/// The solver of ALGORITHMS.md 1.4. Defaults are HQQ's default ("legacy") solver: 20 iterations,
/// early stop on the global mean |error|, beta = 10 kept fixed, p = 0.7.
struct hqq_options {
  int iters = 20;         ///< zero updates at most
  float lp_norm = 0.7f;   ///< p of the l_p error model (0 < p <= 1)
  float beta = 10.0f;     ///< half-quadratic penalty weight
  float kappa = 1.0f;     ///< beta *= kappa after every update (1: legacy solver; 1.01: "slow" solver)
  bool early_stop = true; ///< stop at the first update that does not lower the global mean |error|

  /// HQQ's "slow" solver: 100 iterations, beta *= 1.01, no early stop.
  static hqq_options slow() noexcept {
    hqq_options o;
    o.iters = 100;
    o.kappa = 1.01f;
    o.early_stop = false;
    return o;
  }
};

template <Scheme S>
struct hqq_result {
  quantized_matrix<S> q;
  double init_error = 0;  ///< mean |W - What| over the whole matrix at the min-max start
  double error = 0;       ///< mean |W - What| of the result (never above init_error)
  int iterations = 0;     ///< zero updates behind the returned zeros (0: the min-max start was best)
};

namespace detail {
template <Scheme S>
void set_zero(unit_grid<S>& g, double z) noexcept {
  if constexpr (S::has_int_zero) {
    const double zc = z < 0 ? 0 : (z > grid_constants<S>::qmax ? grid_constants<S>::qmax : z);
    g.zero_code = static_cast<unsigned>(round_to_int_rne(static_cast<float>(zc)));
    g.zero = static_cast<float>(g.zero_code);
  } else {
    g.zero_stored = encode_scale<typename S::scale_format>(static_cast<float>(z));
    g.zero = decode_scale<typename S::scale_format>(g.zero_stored);
  }
}
}  // namespace detail

/// HQQ on a row-major rows x cols matrix, for asymmetric schemes. Units are the scheme's
/// (groups of G consecutive input columns of one row, HQQ's axis=1; rows; or the tensor); HQQ's
/// axis=0 layout (groups strided along the output dimension) is not reproduced.
///
/// Start: the scheme's min-max grid (sigma = 1/s with s the *stored* scale, kept fixed; zero
/// z = -lo * sigma). Each update, per unit, with q = clamp(rnd(w/s + z)) and w_r = (q - z) s:
///   W_e = sign(U) max(|U| - |U|^(p-1) / beta, 0),  U = W - w_r   (0 where U = 0)
///   z   = mean over the unit of (q - (W - W_e) / s)
/// then beta *= kappa. Every zero is stored before it is used: asym::float_zero rounds it to
/// the scale format; asym::int_zero rounds it to the nearest integer in [0, 2^b - 1] (HQQ itself
/// has no integer zero: this is the documented substitute, with correspondingly less freedom).
/// The global mean |W - w_r| of every stored iterate is tracked and the best one is returned,
/// so the result's error never exceeds the min-max start (ALGORITHMS.md 1.5 test 4).
/// Throws mixq::error on bad shapes, non-finite weights or bad options.
template <Scheme S>
  requires(S::has_int_zero || S::has_float_zero)
hqq_result<S> hqq(const float* w, std::size_t rows, std::size_t cols, const hqq_options& o = {}) {
  constexpr const char* fn = "mixq::hqq";
  detail::check_weights(fn, w, rows, cols);
  if (o.iters < 0 || !(o.lp_norm > 0 && o.lp_norm <= 1) || !(o.beta > 0) || !(o.kappa >= 1) || !std::isfinite(o.beta) ||
      !std::isfinite(o.kappa))
    throw error(std::string(fn) + ": options need iters >= 0 (is " + std::to_string(o.iters) + "), 0 < lp_norm <= 1 (is " +
                std::to_string(o.lp_norm) + "), finite beta > 0 (is " + std::to_string(o.beta) +
                ") and finite kappa >= 1 (is " + std::to_string(o.kappa) + ")");
  hqq_result<S> res;
  res.q = quantized_matrix<S>(rows, cols);
  const auto& L = res.q.layout();
  const std::size_t len = S::is_per_tensor ? rows * cols : L.unit_cols, units = L.units;
  std::vector<unit_grid<S>> grids(units), best_grids;
  for (std::size_t u = 0; u < units; ++u) grids[u] = fit_minmax<S>(w + u * len, len);
  std::vector<double> znext(units);
  const double p1 = static_cast<double>(o.lp_norm) - 1.0;
  double beta = o.beta, best = INFINITY;
  const double total = static_cast<double>(rows) * static_cast<double>(cols);
  for (int k = 0; k <= o.iters; ++k) {
    const bool update = k < o.iters;
    double err = 0;
    for (std::size_t u = 0; u < units; ++u) {
      const float* v = w + u * len;
      const unit_grid<S>& g = grids[u];
      double acc = 0;
      const double inv_s = g.scale != 0 ? 1.0 / g.scale : 0.0;
      for (std::size_t i = 0; i < len; ++i) {
        const unsigned q = quantize_value<S>(v[i], g);
        const double d = static_cast<double>(v[i]) - dequantize_value<S>(q, g);
        const double a = std::fabs(d);
        err += a;
        if (update) {
          double we = 0;  // generalised soft threshold; |U| = 0 gives 0 (pow(0, p - 1) is inf)
          if (a > 0) {
            const double t = a - std::pow(a, p1) / beta;
            we = t > 0 ? (d < 0 ? -t : t) : 0.0;
          }
          acc += static_cast<double>(q) - (static_cast<double>(v[i]) - we) * inv_s;
        }
      }
      znext[u] = acc / static_cast<double>(len);
    }
    err /= total;
    if (k == 0) res.init_error = err;
    if (err < best) {
      best = err;
      best_grids = grids;
      res.iterations = k;
    } else if (o.early_stop) {
      break;
    }
    if (!update) break;
    for (std::size_t u = 0; u < units; ++u)
      if (grids[u].scale != 0) detail::set_zero(grids[u], znext[u]);
    beta *= o.kappa;
  }
  res.error = best;
  for (std::size_t u = 0; u < units; ++u) {
    store_grid(res.q, u, best_grids[u]);
    for (std::size_t i = 0; i < len; ++i) {
      const std::size_t idx = u * len + i;
      res.q.set_code(idx / cols, idx % cols, quantize_value<S>(w[idx], best_grids[u]));
    }
  }
  return res;
}

/// Eigen front end: a contiguous row-major float matrix.
template <Scheme S>
  requires(S::has_int_zero || S::has_float_zero)
hqq_result<S> hqq(const Eigen::Ref<const row_matrix_f>& w, const hqq_options& o = {}) {
  detail::check_contiguous("mixq::hqq", w);
  return hqq<S>(w.data(), static_cast<std::size_t>(w.rows()), static_cast<std::size_t>(w.cols()), o);
}

MIXQ_END_NAMESPACE
