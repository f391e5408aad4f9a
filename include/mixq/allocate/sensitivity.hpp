// Sensitivities: how much a weight perturbation dW = W - What of a layer (or of a column block
// of it) costs. ALGORITHMS.md 4.2, 4.3, 5.1, 6.1.
//
// The concept. A Sensitivity `s` has `double s.error(const weight_delta& d)`: the modelled error
// of the perturbation restricted to columns [d.col_begin, d.col_end) of a rows x cols layer.
// Implementations here:
//   hessian_trace_sensitivity   HAWQ-V2: Omega = Tr(H)/n_params * ||dW||^2, with Tr(H) exact from
//                               the layer statistics (tr(H)/K = 2 mean_j Sigma_jj) or estimated by
//                               Hutchinson over a caller-supplied Hessian-vector product
//   output_error_sensitivity    the layer-output error tr(dW Sigma dW^T) = (1/N)||dW X||_F^2
//                               (on a column block: the block-diagonal term dW_B Sigma_BB dW_B^T)
//   diagonal_sensitivity        sum_j Sigma_jj ||dW_:,j||^2 (imatrix-weighted weight error)
//   weight_mse_sensitivity      ||dW||^2 (data-free)
// plus per-element / per-group salience (SliM-LLM) and per-column sensitivity (OWQ), and the
// Hutchinson trace and power-iteration eigenvalue estimators.
//
// Statistics convention: Sigma = X X^T / N, normalised per token (layer_stats::sigma()); the
// GPTQ Hessian is H = 2 Sigma. Normalise every layer the same way, or cross-layer comparisons
// are silently rescaled (ALGORITHMS.md 4.3 caveat). Every proxy here is layer-local; an optional
// per-layer multiplier `gamma` lets callers fold in end-to-end measurements.
#pragma once
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include "../calibrate/layer_stats.hpp"
#include "../calibrate/rtn.hpp"
#include "../error.hpp"
#include "../layout/quantized_matrix.hpp"

MIXQ_BEGIN_NAMESPACE

/// dW = W - What of a row-major rows x cols layer, restricted to columns [col_begin, col_end).
struct weight_delta {
  const float* w = nullptr;   ///< original weights, rows x cols row-major
  const float* wq = nullptr;  ///< quantized (dequantized) weights, same layout
  std::size_t rows = 0, cols = 0;
  std::size_t col_begin = 0, col_end = 0;

  double at(std::size_t r, std::size_t c) const noexcept {
    return static_cast<double>(w[r * cols + c]) - static_cast<double>(wq[r * cols + c]);
  }
  std::size_t block_cols() const noexcept { return col_end - col_begin; }
  /// ||dW_block||_F^2
  double squared_norm() const noexcept {
    double s = 0;
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t c = col_begin; c < col_end; ++c) {
        const double d = at(r, c);
        s += d * d;
      }
    return s;
  }
  /// The whole layer.
  static weight_delta whole(const float* w, const float* wq, std::size_t rows, std::size_t cols) noexcept {
    return {w, wq, rows, cols, 0, cols};
  }
};

/// A sensitivity model: the error a perturbation of (a column block of) a layer causes.
template <class T>
concept Sensitivity = requires(const T& s, const weight_delta& d) {
  { s.error(d) } -> std::convertible_to<double>;
};

namespace alloc_detail {

inline void check_delta(const char* fn, const weight_delta& d) {
  if (d.w == nullptr || d.wq == nullptr) throw ::mixq::error(std::string(fn) + ": weight_delta has a null weights pointer");
  if (d.rows == 0 || d.cols == 0 || d.col_begin >= d.col_end || d.col_end > d.cols)
    throw ::mixq::error(std::string(fn) + ": weight_delta block [" + std::to_string(d.col_begin) + ", " +
                std::to_string(d.col_end) + ") of a " + std::to_string(d.rows) + " x " + std::to_string(d.cols) +
                " layer is empty or out of range");
}

inline void check_sigma(const char* fn, const Eigen::MatrixXd& s) {
  if (s.rows() == 0 || s.rows() != s.cols())
    throw ::mixq::error(std::string(fn) + ": Sigma is " + std::to_string(s.rows()) + " x " + std::to_string(s.cols()) +
                "; expected a non-empty square K x K matrix (K = input columns)");
  if (!s.allFinite()) throw ::mixq::error(std::string(fn) + ": Sigma has a non-finite entry; expected finite statistics");
  for (Eigen::Index j = 0; j < s.rows(); ++j)
    if (s(j, j) < 0)
      throw ::mixq::error(std::string(fn) + ": Sigma(" + std::to_string(j) + ", " + std::to_string(j) + ") = " +
                  std::to_string(s(j, j)) + " is negative; expected a second-moment matrix X X^T / N");
}

inline void check_gamma(const char* fn, double gamma) {
  if (!std::isfinite(gamma) || gamma < 0)
    throw ::mixq::error(std::string(fn) + ": gamma = " + std::to_string(gamma) + "; expected a finite multiplier >= 0");
}

inline void check_cols(const char* fn, std::size_t have, std::size_t cols) {
  if (have != cols)
    throw ::mixq::error(std::string(fn) + ": the statistics have K = " + std::to_string(have) +
                " input channels; the layer has " + std::to_string(cols) + " columns (expected equal)");
}

}  // namespace alloc_detail

// ---------------------------------------------------------------------------------------------
// Hessian traces: exact from the statistics, Hutchinson, power iteration.

/// Result of a stochastic trace estimate.
struct trace_estimate {
  double trace = 0;      ///< mean of v^T H v over the probes
  double variance = 0;   ///< sample variance of one probe v^T H v (0 with one probe)
  double std_error = 0;  ///< sqrt(variance / probes): the standard error of `trace`
  int probes = 0;        ///< Hessian-vector products used
  bool converged = false;  ///< stopped by the tolerance (not by max_probes)
};

struct hutchinson_options {
  int max_probes = 100;   ///< PyHessian's maxIter
  int min_probes = 2;     ///< at least this many (the stopping rule compares consecutive means)
  double tol = 1e-3;      ///< stop when |mean_k - mean_{k-1}| <= tol * |mean_{k-1}|
  std::uint64_t seed = 0; ///< Rademacher probes from std::mt19937_64(seed)
};

/// Hutchinson's estimator Tr(H) = E[v^T H v], v i.i.d. Rademacher (ALGORITHMS.md 4.2, PyHessian's
/// stopping rule). `hvp(v, hv)` must set hv = H v for a VectorXd v of size dim (for example from
/// the caller's autograd, or finite differences of a gradient). One probe's variance is
/// 2 sum_{i != j} H_ij^2, so a diagonal H is estimated exactly by every probe.
/// Throws mixq::error on dim = 0, bad options, or an hv of the wrong size or non-finite.
template <class Hvp>
trace_estimate hutchinson_trace(Hvp&& hvp, std::size_t dim, const hutchinson_options& o = {}) {
  constexpr const char* fn = "mixq::hutchinson_trace";
  if (dim == 0) throw ::mixq::error(std::string(fn) + ": dim = 0; expected the number of parameters H acts on");
  if (o.max_probes < 1 || o.min_probes < 1 || o.min_probes > o.max_probes || !(o.tol >= 0))
    throw ::mixq::error(std::string(fn) + ": options need 1 <= min_probes (" + std::to_string(o.min_probes) +
                ") <= max_probes (" + std::to_string(o.max_probes) + ") and tol >= 0");
  std::mt19937_64 rng(o.seed);
  Eigen::VectorXd v(static_cast<Eigen::Index>(dim)), hv;
  trace_estimate t;
  double mean = 0, m2 = 0;
  for (int k = 1; k <= o.max_probes; ++k) {
    for (Eigen::Index i = 0; i < v.size(); ++i) v(i) = (rng() >> 63) ? 1.0 : -1.0;
    hv.resize(0);
    hvp(static_cast<const Eigen::VectorXd&>(v), hv);
    if (hv.size() != v.size())
      throw ::mixq::error(std::string(fn) + ": the Hessian-vector product returned " + std::to_string(hv.size()) +
                  " values; expected dim = " + std::to_string(dim));
    if (!hv.allFinite()) throw ::mixq::error(std::string(fn) + ": the Hessian-vector product returned a non-finite value");
    const double x = v.dot(hv);
    const double prev = mean;
    const double delta = x - mean;
    mean += delta / k;
    m2 += delta * (x - mean);
    t.probes = k;
    if (k >= o.min_probes && k >= 2 && std::fabs(mean - prev) <= o.tol * std::fabs(prev)) {
      t.converged = true;
      break;
    }
  }
  t.trace = mean;
  t.variance = t.probes > 1 ? m2 / (t.probes - 1) : 0.0;
  t.std_error = std::sqrt(t.variance / t.probes);
  return t;
}

/// Result of power iteration.
struct eigen_estimate {
  double value = 0;     ///< top eigenvalue estimate v^T H v, ||v|| = 1
  int iterations = 0;   ///< Hessian-vector products used
  bool converged = false;
};

/// HAWQ-V1's top Hessian eigenvalue by power iteration on Hessian-vector products (PyHessian's
/// defaults: stop when the relative change is below tol, at most max_iter products).
template <class Hvp>
eigen_estimate top_eigenvalue(Hvp&& hvp, std::size_t dim, int max_iter = 100, double tol = 1e-3,
                              std::uint64_t seed = 0) {
  constexpr const char* fn = "mixq::top_eigenvalue";
  if (dim == 0) throw ::mixq::error(std::string(fn) + ": dim = 0; expected the number of parameters H acts on");
  if (max_iter < 1 || !(tol >= 0)) throw ::mixq::error(std::string(fn) + ": needs max_iter >= 1 and tol >= 0");
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> nd;
  Eigen::VectorXd v(static_cast<Eigen::Index>(dim)), hv;
  for (Eigen::Index i = 0; i < v.size(); ++i) v(i) = nd(rng);
  v.normalize();
  eigen_estimate e;
  double prev = 0;
  for (int k = 1; k <= max_iter; ++k) {
    hv.resize(0);
    hvp(static_cast<const Eigen::VectorXd&>(v), hv);
    if (hv.size() != v.size() || !hv.allFinite())
      throw ::mixq::error(std::string(fn) + ": the Hessian-vector product returned a wrong-sized or non-finite vector");
    e.value = v.dot(hv);
    e.iterations = k;
    const double n = hv.norm();
    if (n == 0) {
      e.converged = true;
      break;
    }
    v = hv / n;
    if (k > 1 && std::fabs(e.value - prev) <= tol * (std::fabs(prev) + 1e-300)) {
      e.converged = true;
      break;
    }
    prev = e.value;
  }
  return e;
}

/// HAWQ-V2: Omega(dW) = gamma * Tr(H)/n_params * ||dW||^2 (ALGORITHMS.md 4.2).
struct hessian_trace_sensitivity {
  double trace_per_weight = 0;  ///< Tr(H) / number of parameters (HAWQ stores it this way)
  double gamma = 1;             ///< optional per-layer multiplier

  double error(const weight_delta& d) const {
    alloc_detail::check_delta("mixq::hessian_trace_sensitivity::error", d);
    return gamma * trace_per_weight * d.squared_norm();
  }

  /// Exact, layer-local: the reconstruction Hessian is I_m (x) H with H = 2 Sigma, so
  /// Tr/(m K) = tr(H)/K = 2 mean_j Sigma_jj (ALGORITHMS.md 4.3 (A)).
  static hessian_trace_sensitivity exact(const Eigen::MatrixXd& sigma, double gamma = 1) {
    alloc_detail::check_sigma("mixq::hessian_trace_sensitivity::exact", sigma);
    alloc_detail::check_gamma("mixq::hessian_trace_sensitivity::exact", gamma);
    return {2.0 * sigma.trace() / static_cast<double>(sigma.rows()), gamma};
  }
  static hessian_trace_sensitivity exact(const layer_stats& stats, double gamma = 1) {
    const Eigen::VectorXd a = stats.mean_sq();
    alloc_detail::check_gamma("mixq::hessian_trace_sensitivity::exact", gamma);
    return {2.0 * a.sum() / static_cast<double>(a.size()), gamma};
  }
  /// From a Hutchinson estimate over the layer's `params` parameters.
  static hessian_trace_sensitivity from_estimate(const trace_estimate& t, std::size_t params, double gamma = 1) {
    if (params == 0 || !std::isfinite(t.trace) || t.trace < 0)
      throw ::mixq::error("mixq::hessian_trace_sensitivity::from_estimate: trace " + std::to_string(t.trace) + " over " +
                  std::to_string(params) + " parameters; expected a finite trace >= 0 and params > 0");
    alloc_detail::check_gamma("mixq::hessian_trace_sensitivity::from_estimate", gamma);
    return {t.trace / static_cast<double>(params), gamma};
  }
};

/// The layer-output error gamma * tr(dW Sigma dW^T) = gamma * (1/N) ||dW X||_F^2, exact for the
/// layer (ALGORITHMS.md 4.3, "better, and equally cheap"). On a column block B it is the
/// block-diagonal term tr(dW_B Sigma_BB dW_B^T): cross terms between blocks are left out, which
/// is what makes per-group errors additive (ALGORITHMS.md 5.2, the exact variant).
class output_error_sensitivity {
 public:
  explicit output_error_sensitivity(Eigen::MatrixXd sigma, double gamma = 1) : sigma_(std::move(sigma)), gamma_(gamma) {
    alloc_detail::check_sigma("mixq::output_error_sensitivity", sigma_);
    alloc_detail::check_gamma("mixq::output_error_sensitivity", gamma_);
  }
  explicit output_error_sensitivity(const layer_stats& stats, double gamma = 1)
      : output_error_sensitivity(stats.sigma(), gamma) {}

  double error(const weight_delta& d) const {
    alloc_detail::check_delta("mixq::output_error_sensitivity::error", d);
    alloc_detail::check_cols("mixq::output_error_sensitivity::error", static_cast<std::size_t>(sigma_.rows()), d.cols);
    const auto k = static_cast<Eigen::Index>(d.block_cols());
    const auto c0 = static_cast<Eigen::Index>(d.col_begin);
    Eigen::MatrixXd D(static_cast<Eigen::Index>(d.rows), k);
    for (std::size_t r = 0; r < d.rows; ++r)
      for (Eigen::Index c = 0; c < k; ++c) D(static_cast<Eigen::Index>(r), c) = d.at(r, d.col_begin + static_cast<std::size_t>(c));
    const Eigen::MatrixXd DS = D * sigma_.block(c0, c0, k, k);
    return gamma_ * DS.cwiseProduct(D).sum();
  }
  const Eigen::MatrixXd& sigma() const noexcept { return sigma_; }
  double gamma() const noexcept { return gamma_; }

 private:
  Eigen::MatrixXd sigma_;
  double gamma_ = 1;
};

/// gamma * sum_j a_j ||dW_:,j||^2 with a_j = Sigma_jj (the imatrix): the output error when Sigma
/// is treated as diagonal. Cheap (O(rows x cols)).
class diagonal_sensitivity {
 public:
  explicit diagonal_sensitivity(std::vector<double> a, double gamma = 1) : a_(std::move(a)), gamma_(gamma) {
    if (a_.empty()) throw ::mixq::error("mixq::diagonal_sensitivity: the per-column weights are empty");
    for (std::size_t j = 0; j < a_.size(); ++j)
      if (!std::isfinite(a_[j]) || a_[j] < 0)
        throw ::mixq::error("mixq::diagonal_sensitivity: a[" + std::to_string(j) + "] = " + std::to_string(a_[j]) +
                    "; expected finite values >= 0");
    alloc_detail::check_gamma("mixq::diagonal_sensitivity", gamma_);
  }
  static diagonal_sensitivity from_sigma(const Eigen::MatrixXd& sigma, double gamma = 1) {
    alloc_detail::check_sigma("mixq::diagonal_sensitivity::from_sigma", sigma);
    std::vector<double> a(static_cast<std::size_t>(sigma.rows()));
    for (std::size_t j = 0; j < a.size(); ++j) a[j] = sigma(static_cast<Eigen::Index>(j), static_cast<Eigen::Index>(j));
    return diagonal_sensitivity(std::move(a), gamma);
  }
  static diagonal_sensitivity from_stats(const layer_stats& stats, double gamma = 1) {
    const Eigen::VectorXd m = stats.mean_sq();
    return diagonal_sensitivity(std::vector<double>(m.data(), m.data() + m.size()), gamma);
  }
  double error(const weight_delta& d) const {
    alloc_detail::check_delta("mixq::diagonal_sensitivity::error", d);
    alloc_detail::check_cols("mixq::diagonal_sensitivity::error", a_.size(), d.cols);
    double s = 0;
    for (std::size_t r = 0; r < d.rows; ++r)
      for (std::size_t c = d.col_begin; c < d.col_end; ++c) {
        const double x = d.at(r, c);
        s += a_[c] * x * x;
      }
    return gamma_ * s;
  }

 private:
  std::vector<double> a_;
  double gamma_ = 1;
};

/// ||dW||^2: data-free (for example the INT-vs-FP choice per group, ALGORITHMS.md 8).
struct weight_mse_sensitivity {
  double gamma = 1;
  double error(const weight_delta& d) const {
    alloc_detail::check_delta("mixq::weight_mse_sensitivity::error", d);
    return gamma * d.squared_norm();
  }
};

static_assert(Sensitivity<hessian_trace_sensitivity>);
static_assert(Sensitivity<output_error_sensitivity>);
static_assert(Sensitivity<diagonal_sensitivity>);
static_assert(Sensitivity<weight_mse_sensitivity>);

// ---------------------------------------------------------------------------------------------
// SliM-LLM salience (ALGORITHMS.md 5.1).

enum class salience_form {
  /// The released code: delta_ij = w_ij^2 / U_jj^2, U the upper Cholesky factor of
  /// (H + lambda I)^-1 (GPTQ's d = U_jj): twice GPTQ's loss increment of zeroing w_ij at its turn.
  /// This is the default: it is consistent with GPTQ's loss.
  code,
  /// The paper: delta_ij = w_ij^2 / ([H + lambda I]^-1_jj)^2 (squared denominator).
  paper,
  /// The |W| x ||X|| proxy: H treated as diagonal, delta_ij = w_ij^2 H_jj = (2/N)(|w_ij| ||x_j||)^2,
  /// rank-equivalent to Wanda's |W| x ||X||. O(rows x cols), no factorisation.
  norm_proxy,
};

struct salience_options {
  salience_form form = salience_form::code;
  /// Damping lambda = percdamp * mean(diag H) + absolute_damp on H = 2 Sigma (dead columns,
  /// H_jj = 0, get H_jj = 1 first, as GPTQ). SliM-LLM's allocation pre-pass uses an absolute 0.01,
  /// its final pass the relative 1%; the default here is GPTQ's relative 1%.
  double percdamp = 0.01;
  double absolute_damp = 0;
};

/// Element salience delta_ij (rows x cols, row-major) of a row-major weight matrix under the
/// statistics Sigma (H = 2 Sigma). Throws mixq::error on bad shapes, non-finite input, or a
/// damped H that is not positive definite.
inline std::vector<double> element_salience(const float* w, std::size_t rows, std::size_t cols, const Eigen::MatrixXd& sigma,
                                            const salience_options& o = {}) {
  constexpr const char* fn = "mixq::element_salience";
  detail::check_weights(fn, w, rows, cols);
  alloc_detail::check_sigma(fn, sigma);
  alloc_detail::check_cols(fn, static_cast<std::size_t>(sigma.rows()), cols);
  if (!(o.percdamp >= 0) || !(o.absolute_damp >= 0) || !std::isfinite(o.percdamp) || !std::isfinite(o.absolute_damp))
    throw ::mixq::error(std::string(fn) + ": percdamp and absolute_damp must be finite and >= 0");
  const auto K = static_cast<Eigen::Index>(cols);
  Eigen::MatrixXd H = 2.0 * sigma;
  for (Eigen::Index j = 0; j < K; ++j)
    if (H(j, j) == 0) H(j, j) = 1;
  std::vector<double> denom(cols);
  if (o.form == salience_form::norm_proxy) {
    for (Eigen::Index j = 0; j < K; ++j) denom[static_cast<std::size_t>(j)] = 1.0 / H(j, j);
  } else {
    const double lambda = o.percdamp * H.diagonal().mean() + o.absolute_damp;
    H.diagonal().array() += lambda;
    Eigen::LLT<Eigen::MatrixXd> llt(H);
    if (llt.info() != Eigen::Success)
      throw ::mixq::error(std::string(fn) + ": the damped Hessian 2 Sigma + lambda I is not positive definite; raise percdamp");
    const Eigen::MatrixXd Hinv = llt.solve(Eigen::MatrixXd::Identity(K, K));
    if (o.form == salience_form::paper) {
      for (Eigen::Index j = 0; j < K; ++j) denom[static_cast<std::size_t>(j)] = Hinv(j, j) * Hinv(j, j);
    } else {
      Eigen::LLT<Eigen::MatrixXd> u(Hinv);  // Hinv = L L^T = U^T U with U = L^T: U_jj = L_jj
      if (u.info() != Eigen::Success)
        throw ::mixq::error(std::string(fn) + ": the inverse Hessian is not numerically positive definite; raise percdamp");
      const Eigen::MatrixXd L = u.matrixL();
      for (Eigen::Index j = 0; j < K; ++j) denom[static_cast<std::size_t>(j)] = L(j, j) * L(j, j);
    }
  }
  std::vector<double> s(rows * cols);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) {
      const double x = w[r * cols + c];
      s[r * cols + c] = x * x / denom[c];
    }
  return s;
}

/// Group salience S_t = sum of delta_ij over column group t (group_cols consecutive columns,
/// all rows), as SliM-LLM's SBA orders groups.
inline std::vector<double> group_salience(const float* w, std::size_t rows, std::size_t cols, std::size_t group_cols,
                                          const Eigen::MatrixXd& sigma, const salience_options& o = {}) {
  if (group_cols == 0 || cols % group_cols != 0)
    throw ::mixq::error("mixq::group_salience: group_cols = " + std::to_string(group_cols) + " does not divide cols = " +
                std::to_string(cols));
  const std::vector<double> s = element_salience(w, rows, cols, sigma, o);
  std::vector<double> g(cols / group_cols, 0.0);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) g[c / group_cols] += s[r * cols + c];
  return g;
}

// ---------------------------------------------------------------------------------------------
// OWQ per-column sensitivity (ALGORITHMS.md 6.1).

struct column_sensitivity_options {
  /// true: sens_j = H_jj ||W_:,j - Q(W)_:,j||^2 with Q = RTN of scheme S (OWQ's default);
  /// false: sens_j = H_jj (OWQ's --no_frob_norm).
  bool by_error = true;
  rtn_options rtn = {};  ///< the RTN used for Q (OWQ: an MSE range search; set method = mse_clip)
};

/// Per-input-column sensitivity sens_j = H_jj * ||dW_:,j||^2, H = 2 Sigma, for choosing OWQ's
/// weak (fp16) columns: the largest sens_j are the columns to keep.
template <Scheme S>
std::vector<double> column_sensitivity(const float* w, std::size_t rows, std::size_t cols, const Eigen::MatrixXd& sigma,
                                       const column_sensitivity_options& o = {}) {
  constexpr const char* fn = "mixq::column_sensitivity";
  detail::check_weights(fn, w, rows, cols);
  alloc_detail::check_sigma(fn, sigma);
  alloc_detail::check_cols(fn, static_cast<std::size_t>(sigma.rows()), cols);
  std::vector<double> sens(cols);
  for (std::size_t j = 0; j < cols; ++j) sens[j] = 2.0 * sigma(static_cast<Eigen::Index>(j), static_cast<Eigen::Index>(j));
  if (o.by_error) {
    const quantized_matrix<S> q = quantize<S>(w, rows, cols, o.rtn);
    std::vector<float> dq(rows * cols);
    dequantize_reference(q, dq.data());
    for (std::size_t j = 0; j < cols; ++j) {
      double e = 0;
      for (std::size_t r = 0; r < rows; ++r) {
        const double d = static_cast<double>(w[r * cols + j]) - dq[r * cols + j];
        e += d * d;
      }
      sens[j] *= e;
    }
  }
  return sens;
}

MIXQ_END_NAMESPACE
