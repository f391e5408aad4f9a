// layer_stats: streaming second moments of one layer's calibration inputs (ALGORITHMS.md 0.1,
// 2.1, 3.5): Sigma = X X^T / N (GPTQ's H = 2 Sigma), the imatrix a_j = Sigma_jj and AWQ's mean |x_j|.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "../error.hpp"
#include "../format/detail/float_bits.hpp"

MIXQ_BEGIN_NAMESPACE

/// Row-major float matrix: weights (rows = output channels) and activation batches (rows = tokens).
using row_matrix_f = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

namespace detail {
/// The Eigen front ends need contiguous rows (a plain matrix or a Map of an engine's buffer).
inline void check_contiguous(const char* fn, const Eigen::Ref<const row_matrix_f>& w) {
  if (w.rows() > 1 && w.outerStride() != w.cols())
    throw error(std::string(fn) + ": the Eigen matrix must be contiguous (outer stride " +
                std::to_string(w.outerStride()) + ", cols " + std::to_string(w.cols()) + ")");
}
}  // namespace detail

/// Streaming accumulator of a linear layer's input statistics over calibration batches.
///
/// A batch is N x K, row-major, one token per row (K = input features = weight columns), the way
/// engines hold activations. Everything is accumulated in double: S = sum_t x_t x_t^T, sum_t |x_t|
/// and the token count N. From them:
///   `sigma()`    Sigma = S / N (K x K), normalised per token;
///   `hessian()`  H = 2 Sigma, the GPTQ Hessian of (1/N) ||(W - What) X||_F^2;
///   `mean_sq()`  a_j = Sigma_jj, llama.cpp's imatrix (also `importance()` as floats for rtn_options);
///   `mean_abs()` mean_t |x_jt|, AWQ's first absolute moment (Sigma cannot provide it).
/// Statistics of disjoint token sets merge exactly (the sums add), so each thread or shard can keep
/// its own accumulator and `merge()` them; the result does not depend on how tokens were split up
/// to floating-point summation order.
///
/// Too few tokens: at least one token is needed (reading statistics of an empty accumulator
/// throws). With fewer tokens than channels (N < K), Sigma is rank-deficient; that is not an
/// error: GPTQ's relative damping (default 1% of the mean diagonal) makes it positive definite,
/// and AWQ's objective only needs Sigma to be positive semi-definite.
class layer_stats {
 public:
  layer_stats() = default;
  /// An empty accumulator for K input channels (K >= 1).
  explicit layer_stats(std::size_t channels) : k_(channels) {
    if (channels == 0) throw error("mixq::layer_stats: channels = 0; expected K >= 1 input channels");
    xtx_ = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(k_), static_cast<Eigen::Index>(k_));
    abs_sum_ = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(k_));
  }

  /// Add `tokens` rows of K activations (row-major, x[t * K + j]). Throws mixq::error, and leaves
  /// the statistics unchanged, on a null pointer or a non-finite activation.
  void add_batch(const float* x, std::size_t tokens) {
    if (k_ == 0) throw error("mixq::layer_stats::add_batch: the accumulator has no channels; construct it with K");
    if (tokens == 0) return;
    if (x == nullptr) throw error("mixq::layer_stats::add_batch: activations pointer is null");
    for (std::size_t i = 0; i < tokens * k_; ++i)
      if (!detail::is_finite(x[i]))
        throw error("mixq::layer_stats::add_batch: activation [" + std::to_string(i / k_) + "][" +
                    std::to_string(i % k_) + "] is " + std::to_string(x[i]) + "; activations must be finite");
    constexpr std::size_t chunk = 256;  // tokens converted to double at a time
    const auto K = static_cast<Eigen::Index>(k_);
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> xd;
    for (std::size_t t0 = 0; t0 < tokens; t0 += chunk) {
      const std::size_t nt = tokens - t0 < chunk ? tokens - t0 : chunk;
      const Eigen::Map<const row_matrix_f> xb(x + t0 * k_, static_cast<Eigen::Index>(nt), K);
      xd = xb.cast<double>();
      xtx_.selfadjointView<Eigen::Lower>().rankUpdate(xd.transpose());  // S += X_b^T X_b (lower half)
      abs_sum_ += xd.cwiseAbs().colwise().sum().transpose();
    }
    n_ += tokens;
  }
  /// Eigen front end: an N x K row-major batch (contiguous rows).
  void add_batch(const Eigen::Ref<const row_matrix_f>& x) {
    if (static_cast<std::size_t>(x.cols()) != k_)
      throw error("mixq::layer_stats::add_batch: batch has " + std::to_string(x.cols()) +
                  " columns; expected K = " + std::to_string(k_) + " (one token per row)");
    if (x.rows() > 0 && x.outerStride() != x.cols())
      throw error("mixq::layer_stats::add_batch: the batch must be contiguous (outer stride " +
                  std::to_string(x.outerStride()) + ", cols " + std::to_string(x.cols()) + ")");
    add_batch(x.data(), static_cast<std::size_t>(x.rows()));
  }

  /// Add the statistics of another accumulator over the same K channels (disjoint tokens).
  layer_stats& merge(const layer_stats& o) {
    if (o.k_ != k_)
      throw error("mixq::layer_stats::merge: other has K = " + std::to_string(o.k_) + " channels; expected " +
                  std::to_string(k_));
    if (o.n_ == 0) return *this;
    xtx_ += o.xtx_;  // both hold only their lower triangles
    abs_sum_ += o.abs_sum_;
    n_ += o.n_;
    return *this;
  }

  std::size_t channels() const noexcept { return k_; }
  std::uint64_t tokens() const noexcept { return n_; }

  /// Sigma = X X^T / N, K x K, symmetric.
  Eigen::MatrixXd sigma() const {
    require_tokens("sigma");
    Eigen::MatrixXd s = xtx_.selfadjointView<Eigen::Lower>();
    s /= static_cast<double>(n_);
    return s;
  }
  /// The GPTQ Hessian H = 2 Sigma.
  Eigen::MatrixXd hessian() const {
    Eigen::MatrixXd h = sigma();
    h *= 2.0;
    return h;
  }
  /// a_j = Sigma_jj = mean_t x_jt^2 (llama.cpp's imatrix entry).
  Eigen::VectorXd mean_sq() const {
    require_tokens("mean_sq");
    return xtx_.diagonal() / static_cast<double>(n_);
  }
  /// mean_t |x_jt| (AWQ's abar_j).
  Eigen::VectorXd mean_abs() const {
    require_tokens("mean_abs");
    return abs_sum_ / static_cast<double>(n_);
  }
  /// mean_sq() as floats, for rtn_options::importance.
  std::vector<float> importance() const {
    const Eigen::VectorXd a = mean_sq();
    std::vector<float> v(k_);
    for (std::size_t j = 0; j < k_; ++j) v[j] = static_cast<float>(a(static_cast<Eigen::Index>(j)));
    return v;
  }

 private:
  void require_tokens(const char* what) const {
    if (n_ == 0)
      throw error(std::string("mixq::layer_stats::") + what +
                  ": no calibration tokens (N = 0); expected N >= 1 tokens added with add_batch");
  }

  std::size_t k_ = 0;
  std::uint64_t n_ = 0;
  Eigen::MatrixXd xtx_;      // sum_t x_t x_t^T, lower triangle
  Eigen::VectorXd abs_sum_;  // sum_t |x_t|
};

MIXQ_END_NAMESPACE
