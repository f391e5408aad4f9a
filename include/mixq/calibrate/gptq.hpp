// GPTQ (ALGORITHMS.md 2): columns quantized one by one, each column's rounding error fed back
// into the columns not yet quantized through the Cholesky factor of the layer Hessian.
// Works for every scheme of the library (integer, minifloat, codebook, MX; any granularity).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include "../error.hpp"
#include "../layout/quantized_matrix.hpp"
#include "grid.hpp"
#include "layer_stats.hpp"
#include "rtn.hpp"
#include "validate.hpp"

MIXQ_BEGIN_NAMESPACE

/// Column order of GPTQ (ALGORITHMS.md 2.3 step 3).
enum class act_order {
  /// Original column order. Groups are fitted when they start, on the error-updated weights.
  none,
  /// Columns by decreasing H_jj ("desc_act"); groups stay the original runs of G columns and are
  /// fitted up front on the original weights. Codes, scales and zeros are stored in the plain
  /// layout, so every kernel runs the result unchanged (the kernels of include/mixq/kernel/ handle
  /// this variant).
  static_groups,
  /// Columns by decreasing H_jj; group k is the k-th run of G columns *in that order*, fitted
  /// when it starts. Column j then uses scale/zero unit g_idx[j] of its row, so the matrix is only
  /// meaningful together with gptq_result::g_idx (dequantize_reference(m, g_idx, out)). The SIMD
  /// kernels of include/mixq/kernel/ do not read g_idx: use static_groups for them.
  g_idx,
};

/// Working precision of the calibrators' inner loops (GPTQ's column loop; AWQ's objective).
/// Hessian factorisations are always done in double.
enum class calib_precision {
  fp32,  ///< like the reference implementations; fastest
  fp64,  ///< slower; results depend on summation order only at the level of 1e-16
};

struct gptq_options {
  /// Damping lambda = percdamp * mean(diag H), added to the diagonal of H (after dead columns).
  double percdamp = 0.01;
  /// Columns per lazy batch update. The result does not depend on it (up to rounding).
  std::size_t block_size = 128;
  act_order order = act_order::none;
  calib_precision precision = calib_precision::fp32;
  /// When the Cholesky factorisation of the damped H fails (a non-positive pivot, or a pivot
  /// below K * 2^-52 of its diagonal entry: numerically singular), retry with
  /// percdamp <- max(10 * percdamp, 0.001), at most this many times; then throw mixq::error.
  int damp_retries = 3;
  /// How each unit's grid (scale, zero) is fitted: min-max (default, as the reference), MSE clip
  /// search or weighted least squares. `importance` must be empty (H already weights columns).
  rtn_options fit = {};
};

template <Scheme S>
struct gptq_result {
  /// Codes in the original column order; scales and zeros per (row, group).
  quantized_matrix<S> q;
  /// act_order::g_idx with a group scheme: the scale unit of column j within its row; empty
  /// otherwise (the unit of column j is then j / G as usual).
  std::vector<std::uint32_t> g_idx;
  /// Quantization order: perm[i] is the original column quantized i-th.
  std::vector<std::uint32_t> perm;
  /// Sum over columns of 0.5 ||e_i||^2 = 0.5 tr(dW H_damped dW^T), dW = W - What in quantization
  /// order, H_damped as used (dead columns set to 1, damping added). For H = 2 Sigma this is
  /// tr(dW Sigma dW^T) + lambda/2 ||dW||^2: the output error summed over output channels.
  double loss = 0;
  double percdamp = 0;       ///< relative damping used (larger than requested after retries)
  double damp = 0;           ///< the absolute lambda added to diag H
  int damp_retries = 0;      ///< factorisation retries (0: the first attempt succeeded)
  std::size_t dead_columns = 0;  ///< columns with H_jj == 0 (their weights are set to 0 first)
};

/// Reference dequantization honouring a group index: w[r][c] = s_u * (v(q) - z_u) with
/// u = r * units_per_row + g_idx[c]. An empty g_idx means the plain layout (u = unit(r, c));
/// per-channel and per-tensor schemes have one unit per row or tensor and ignore g_idx.
/// Writes rows [row_begin, row_end) into out (cols floats per row).
template <Scheme S>
void dequantize_reference(const quantized_matrix_view<S>& m, std::span<const std::uint32_t> g_idx, float* out,
                          std::size_t row_begin, std::size_t row_end) {
  if (g_idx.empty() || S::is_per_tensor || S::is_per_channel) {
    dequantize_reference(m, out, row_begin, row_end);
    return;
  }
  const std::size_t K = m.cols(), upr = m.layout.units_per_row;
  if (g_idx.size() != K)
    throw error("mixq::dequantize_reference: g_idx has " + std::to_string(g_idx.size()) + " entries; expected one per column (" +
                std::to_string(K) + ")");
  for (std::size_t c = 0; c < K; ++c)
    if (g_idx[c] >= upr)
      throw error("mixq::dequantize_reference: g_idx[" + std::to_string(c) + "] = " + std::to_string(g_idx[c]) +
                  "; expected < " + std::to_string(upr) + " groups per row");
  for (std::size_t r = row_begin; r < row_end; ++r)
    for (std::size_t c = 0; c < K; ++c) {
      const std::size_t u = r * upr + g_idx[c];
      out[(r - row_begin) * K + c] = m.scale(u) * (code_value<S>(m.code(r, c)) - m.zero(u));
    }
}
template <Scheme S>
void dequantize_reference(const quantized_matrix<S>& m, std::span<const std::uint32_t> g_idx, float* out) {
  dequantize_reference(m.view(), g_idx, out, 0, m.rows());
}

namespace detail {

/// One unit's grid with the method of `o` (the switch of mixq::quantize, without importance).
template <Scheme S>
unit_grid<S> fit_unit(const float* v, std::size_t n, const rtn_options& o) {
  switch (o.method) {
    case rtn_method::mse_clip: return fit_mse_clip<S>(v, nullptr, n, o, o.norm);
    case rtn_method::weighted_ls:
      if constexpr (!S::is_asymmetric && !S::is_mx) return fit_weighted_ls<S>(v, nullptr, n);
      else return fit_mse_clip<S>(v, nullptr, n, o, 2.0f);
    case rtn_method::minmax: break;
  }
  return fit_minmax<S>(v, n);
}

inline void check_fit_options(const char* fn, const rtn_options& o) {
  if (o.grid <= 0 || !(o.max_shrink > 0 && o.max_shrink <= 1) || !(o.norm > 0))
    throw error(std::string(fn) + ": fit options need grid > 0 (is " + std::to_string(o.grid) +
                "), 0 < max_shrink <= 1 (is " + std::to_string(o.max_shrink) + ") and norm > 0 (is " +
                std::to_string(o.norm) + ")");
  if (!o.importance.empty())
    throw error(std::string(fn) + ": fit.importance has " + std::to_string(o.importance.size()) +
                " entries; expected none (the Hessian already weights the columns)");
}

inline void check_gptq_options(const char* fn, const gptq_options& o) {
  if (!(o.percdamp >= 0) || !std::isfinite(o.percdamp))
    throw error(std::string(fn) + ": percdamp = " + std::to_string(o.percdamp) + "; expected a finite value >= 0");
  if (o.block_size == 0) throw error(std::string(fn) + ": block_size = 0; expected >= 1");
  if (o.damp_retries < 0)
    throw error(std::string(fn) + ": damp_retries = " + std::to_string(o.damp_retries) + "; expected >= 0");
  check_fit_options(fn, o.fit);
}

/// A symmetric K x K Hessian from the lower triangle of H; checks shape, finiteness and diagonal.
inline Eigen::MatrixXd symmetric_hessian(const char* fn, const Eigen::Ref<const Eigen::MatrixXd>& H, std::size_t cols,
                                         const char* name = "H") {
  const std::string nm(name);
  if (static_cast<std::size_t>(H.rows()) != cols || static_cast<std::size_t>(H.cols()) != cols)
    throw error(std::string(fn) + ": " + nm + " is " + std::to_string(H.rows()) + " x " + std::to_string(H.cols()) +
                "; expected cols x cols = " + std::to_string(cols) + " x " + std::to_string(cols) +
                " (one row and column per input feature)");
  const Eigen::Index n = H.rows();
  for (Eigen::Index j = 0; j < n; ++j)
    for (Eigen::Index i = j; i < n; ++i)
      if (!std::isfinite(H(i, j)))
        throw error(std::string(fn) + ": " + nm + "[" + std::to_string(i) + "][" + std::to_string(j) + "] is " +
                    std::to_string(H(i, j)) + "; expected finite values");
  for (Eigen::Index j = 0; j < n; ++j)
    if (H(j, j) < 0)
      throw error(std::string(fn) + ": " + nm + "[" + std::to_string(j) + "][" + std::to_string(j) + "] = " +
                  std::to_string(H(j, j)) + "; expected a diagonal >= 0 (X X^T is positive semi-definite)");
  Eigen::MatrixXd s = H.selfadjointView<Eigen::Lower>();
  return s;
}

/// Upper triangular R with Hd = R R^T, R = J L J where J Hd J = L L^T (J reverses indices). Then
/// U = R^-1 is the upper Cholesky factor of Hd^-1 (ALGORITHMS.md 2.2), and GPTQ can run on R
/// without ever forming an inverse. Hd is overwritten by R. Returns false if the factorisation
/// fails or a pivot is below n * 2^-52 of its diagonal entry (numerically singular).
inline bool reversed_cholesky(Eigen::MatrixXd& Hd) {
  const Eigen::Index n = Hd.rows();
  Hd.reverseInPlace();  // J Hd J
  const Eigen::VectorXd diag = Hd.diagonal();
  Eigen::LLT<Eigen::Ref<Eigen::MatrixXd>, Eigen::Lower> llt(Hd);  // in place: L in the lower triangle
  if (llt.info() != Eigen::Success) return false;
  const double tol = static_cast<double>(n) * std::numeric_limits<double>::epsilon();
  for (Eigen::Index k = 0; k < n; ++k) {
    const double p = Hd(k, k) * Hd(k, k);
    if (!(p > tol * diag(k)) || !std::isfinite(p)) return false;
  }
  Hd.reverseInPlace();  // J L J: upper
  Hd.triangularView<Eigen::StrictlyLower>().setZero();
  return true;
}

/// The damped, permuted Hessian's factor R (Hp + lambda I = R R^T), with the retry policy.
struct hessian_factor {
  Eigen::MatrixXd R;
  double percdamp = 0, damp = 0;
  int retries = 0;
};

inline hessian_factor factor_hessian(const char* fn, const Eigen::MatrixXd& Hp, double percdamp, int max_retries) {
  hessian_factor f;
  const double mean_diag = Hp.diagonal().mean();
  double pd = percdamp, last = percdamp;
  for (int attempt = 0; attempt <= max_retries; ++attempt) {
    last = pd;
    f.R = Hp;
    const double lambda = pd * mean_diag;
    f.R.diagonal().array() += lambda;
    if (reversed_cholesky(f.R)) {
      f.percdamp = pd;
      f.damp = lambda;
      f.retries = attempt;
      return f;
    }
    pd = std::max(10 * pd, 0.001);
  }
  throw error(std::string(fn) + ": the Cholesky factorisation of the damped Hessian failed with percdamp = " +
              std::to_string(percdamp) + " and after " + std::to_string(max_retries) +
              " retries (last percdamp " + std::to_string(last) +
              "); expected a positive semi-definite H, or allow more damping (gptq_options::damp_retries)");
}

/// A fp16 value kept next to the dense codes (SpQR-style outlier): row, position in the
/// quantization order, and the fp16 correction added to the dense value at that place.
struct outlier_entry {
  std::uint32_t row, pos;
  std::uint16_t value;
};

/// What the GPTQ core needs besides W and H: the column order, how many leading positions are
/// quantized (the rest are kept in high precision: OWQ), and the scale units.
struct gptq_plan {
  std::vector<std::uint32_t> perm;  ///< position -> original column
  std::size_t nq = 0;               ///< positions [0, nq) are quantized
  std::size_t units_per_row = 1;    ///< groups per row (1 for per-channel and per-tensor)
  std::vector<std::uint32_t> gid;   ///< position (< nq) -> group within the row
  bool dynamic = false;             ///< fit a group at its first position, on error-updated weights
  /// group -> positions (ascending). Groups fitted dynamically always have contiguous positions
  /// starting at the group's first position (fit_dynamic relies on it).
  std::vector<std::vector<std::uint32_t>> members;
  double tau = std::numeric_limits<double>::infinity();  ///< SpQR relative outlier threshold
  bool leave_one_out = true;
};

template <Scheme S>
struct gptq_raw {
  gptq_plan plan;
  std::vector<std::uint8_t> codes;        ///< nq x rows, position-major
  std::vector<unit_grid<S>> grids;        ///< per storage unit (quantized_matrix_view::unit numbering)
  std::vector<outlier_entry> outliers;
  Eigen::MatrixXf kept;                   ///< rows x (n - nq): final (error-updated) kept columns
  double loss = 0, percdamp = 0, damp = 0, tau_abs = 0;
  int retries = 0;
  std::size_t dead = 0;
};

/// SpQR's leave-one-out pre-pass on one unit (ALGORITHMS.md 6.2): v[k] are the current values,
/// s[k] = R_kk of their positions (so ((v - fq(v)) s)^2 is the GPTQ loss increment). A value whose
/// removal (refitting the min-max grid without it) lowers the unit's loss by more than tau is a
/// likely outlier; likely outliers are replaced by the mean of the other values before fitting.
template <Scheme S>
void loo_replace(float* v, const double* s, std::size_t c, double tau, std::vector<float>& tmp, std::vector<double>& eb) {
  if (c < 2) return;
  auto err = [&](const unit_grid<S>& g, std::size_t k) {
    const double d = (static_cast<double>(v[k]) - dequantize_value<S>(quantize_value<S>(v[k], g), g)) * s[k];
    return d * d;
  };
  const unit_grid<S> g0 = fit_minmax<S>(v, c);
  eb.resize(c);
  double total = 0;
  float lo = v[0], hi = v[0];
  for (std::size_t k = 0; k < c; ++k) {
    eb[k] = err(g0, k);
    total += eb[k];
    lo = std::min(lo, v[k]);
    hi = std::max(hi, v[k]);
  }
  std::size_t nlo = 0, nhi = 0;
  for (std::size_t k = 0; k < c; ++k) nlo += v[k] == lo, nhi += v[k] == hi;
  std::vector<char> flag(c, 0);
  std::size_t nflag = 0;
  tmp.resize(c);
  for (std::size_t k = 0; k < c; ++k) {
    double gain = eb[k];  // min-max grids depend only on the extremes: others leave the grid as is
    if ((v[k] == lo && nlo == 1) || (v[k] == hi && nhi == 1)) {
      std::size_t t = 0;
      for (std::size_t j = 0; j < c; ++j)
        if (j != k) tmp[t++] = v[j];
      const unit_grid<S> g = fit_minmax<S>(tmp.data(), c - 1);
      double rest = 0;
      for (std::size_t j = 0; j < c; ++j)
        if (j != k) rest += err(g, j);
      gain = total - rest;
    }
    if (gain > tau) flag[k] = 1, ++nflag;
  }
  if (nflag == 0 || nflag == c) return;
  double mean = 0;
  for (std::size_t k = 0; k < c; ++k)
    if (!flag[k]) mean += v[k];
  mean /= static_cast<double>(c - nflag);
  for (std::size_t k = 0; k < c; ++k)
    if (flag[k]) v[k] = static_cast<float>(mean);
}

/// GPTQ's column loop, run on R (Hd = R R^T, R upper) rather than on U = R^-1, the upper Cholesky
/// factor of Hd^-1 the reference uses (ALGORITHMS.md 2.2). The reference's updates
/// w_j -= e_i U_ij add up to e = dW R with dW = W - Q (original minus quantized), so when column
/// j's turn comes its value is W_j + sum_{k<j} dW_k R_kj / R_jj, and its error term is
/// e_j = (value_j - Q_j) R_jj (U_jj = 1 / R_jj). Each block of B columns is brought up to date by
/// one product dW[:, :b0] Rs[:b0, block] (Rs: R with column j divided by R_jj) and then updated
/// eagerly inside the block. In exact arithmetic this is the reference's result; it needs one
/// Cholesky factorisation and no inverse. W holds dW for the columns already quantized.
template <Scheme S, class T>
struct gptq_engine {
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;

  std::size_t m = 0, n = 0, B = 128;
  Mat W;   // m x n in quantization order: original weights, then dW once a column is quantized
  Mat Rs;  // R(k, j) / R(j, j)
  Vec rd;  // R(j, j)
  Eigen::VectorXd rdd;
  gptq_raw<S>* out = nullptr;
  const rtn_options* fit = nullptr;

  std::size_t grid_index(std::size_t r, std::size_t i) const noexcept {
    if constexpr (S::is_per_tensor) return 0;
    else return r * out->plan.units_per_row + out->plan.gid[i];
  }

  // Fit one row's unit from values buf[0..c) at positions pos[0..c).
  unit_grid<S> fit_row(float* buf, const std::uint32_t* pos, std::size_t c, std::vector<float>& tmp,
                       std::vector<double>& eb, std::vector<double>& sv) {
    if (c == 0) {
      const float zero = 0;
      return fit_minmax<S>(&zero, 1);
    }
    if (std::isfinite(out->plan.tau) && out->plan.leave_one_out) {
      sv.resize(c);
      for (std::size_t k = 0; k < c; ++k) sv[k] = rdd(pos[k]);
      loo_replace<S>(buf, sv.data(), c, out->tau_abs, tmp, eb);
    }
    return fit_unit<S>(buf, c, *fit);
  }

  // Grids fitted before the loop on the original weights (per-tensor, per-channel, static groups).
  void fit_upfront() {
    const gptq_plan& p = out->plan;
    std::vector<float> buf, tmp;
    std::vector<double> eb, sv;
    std::vector<std::uint32_t> pos;
    if constexpr (S::is_per_tensor) {
      buf.resize(m * p.nq);
      for (std::size_t i = 0; i < p.nq; ++i)
        for (std::size_t r = 0; r < m; ++r) buf[i * m + r] = static_cast<float>(W(r, i));
      if (p.nq == 0) buf.assign(1, 0.0f);
      out->grids[0] = fit_unit<S>(buf.data(), buf.size(), *fit);
    } else {
      for (std::size_t t = 0; t < p.units_per_row; ++t) {
        if constexpr (S::is_per_channel) {
          pos.resize(p.nq);
          std::iota(pos.begin(), pos.end(), 0u);
        } else {
          pos = p.members[t];
        }
        buf.resize(pos.size());
        for (std::size_t r = 0; r < m; ++r) {
          for (std::size_t k = 0; k < pos.size(); ++k) buf[k] = static_cast<float>(W(r, pos[k]));
          out->grids[r * p.units_per_row + t] = fit_row(buf.data(), pos.data(), pos.size(), tmp, eb, sv);
        }
      }
    }
  }

  // Fit group t at position i (block [b0, b1)) on the current, error-updated values of its
  // members, which are the positions [i, i + c). "Current" is the reference's value after the
  // columns before i: the OBS optimum of the free columns, W_F + dW[:, :i] R[:i, F] R[F, F]^-1.
  // Its first c columns need only the leading c x c block of R[F, F] (upper triangular):
  //   values = W_orig + Y Rs[M, M]^-1,  Y[:, a] = sum_{k<i} dW_k Rs[k, a],
  // with Rs[M, M] unit upper triangular. Y is what the block-start product and the in-block
  // updates have added to the block's columns; members past the block get it from one product.
  void fit_dynamic(std::size_t t, std::size_t i, std::size_t b0, std::size_t b1, const Mat& Wo) {
    const std::vector<std::uint32_t>& pos = out->plan.members[t];
    const std::size_t c = pos.size();
    const auto ei = static_cast<Eigen::Index>(i), ec = static_cast<Eigen::Index>(c);
    const std::size_t in_block = std::min(c, b1 - i);  // members i .. b1-1 are in the block
    Mat orig(static_cast<Eigen::Index>(m), ec), Y(static_cast<Eigen::Index>(m), ec);
    for (std::size_t k = 0; k < in_block; ++k) {
      const auto ek = static_cast<Eigen::Index>(k), col = static_cast<Eigen::Index>(i + k - b0);
      orig.col(ek) = Wo.col(col);
      Y.col(ek) = W.col(ei + ek) - Wo.col(col);
    }
    if (in_block < c) {
      const auto rest = static_cast<Eigen::Index>(c - in_block);
      const auto e1 = static_cast<Eigen::Index>(b1);
      orig.rightCols(rest) = W.middleCols(e1, rest);
      if (i > 0) Y.rightCols(rest).noalias() = W.leftCols(ei) * Rs.block(0, e1, ei, rest);
      else Y.rightCols(rest).setZero();
    }
    if (i > 0 && c > 1) Rs.block(ei, ei, ec, ec).template triangularView<Eigen::UnitUpper>().template solveInPlace<Eigen::OnTheRight>(Y);
    std::vector<float> buf(c), tmp;
    std::vector<double> eb, sv;
    for (std::size_t r = 0; r < m; ++r) {
      const auto er = static_cast<Eigen::Index>(r);
      for (std::size_t k = 0; k < c; ++k) {
        const auto ek = static_cast<Eigen::Index>(k);
        buf[k] = static_cast<float>(orig(er, ek) + Y(er, ek));
      }
      out->grids[r * out->plan.units_per_row + t] = fit_row(buf.data(), pos.data(), c, tmp, eb, sv);
    }
  }

  void run() {
    gptq_plan& p = out->plan;
    const std::size_t nq = p.nq;
    out->codes.assign(nq * m, 0);
    const bool outliers = std::isfinite(p.tau);
    const double tau_abs = out->tau_abs;
    if (!p.dynamic) fit_upfront();
    std::vector<char> fitted(p.units_per_row, 0);
    Mat Wo;
    double loss = 0;
    for (std::size_t b0 = 0; b0 < nq; b0 += B) {
      const std::size_t b1 = std::min(b0 + B, nq), bw = b1 - b0;
      const auto eb0 = static_cast<Eigen::Index>(b0), ebw = static_cast<Eigen::Index>(bw);
      Wo = W.middleCols(eb0, ebw);  // originals of the block
      if (b0 > 0) W.middleCols(eb0, ebw).noalias() += W.leftCols(eb0) * Rs.block(0, eb0, eb0, ebw);
      for (std::size_t i = b0; i < b1; ++i) {
        if constexpr (!S::is_per_tensor && !S::is_per_channel) {
          if (p.dynamic && !fitted[p.gid[i]]) {
            fit_dynamic(p.gid[i], i, b0, b1, Wo);
            fitted[p.gid[i]] = 1;
          }
        }
        const auto ei = static_cast<Eigen::Index>(i);
        const T d = rd(ei);
        std::uint8_t* codes = out->codes.data() + i * m;
        for (std::size_t r = 0; r < m; ++r) {
          const auto er = static_cast<Eigen::Index>(r);
          const T w = W(er, ei);
          const unit_grid<S>& g = out->grids[grid_index(r, i)];
          unsigned q = quantize_value<S>(static_cast<float>(w), g);
          T v = static_cast<T>(dequantize_value<S>(q, g));
          if (outliers) {
            const double e0 = static_cast<double>((w - v) * d);
            if (e0 * e0 > tau_abs) {  // keep this weight: dense value + fp16 correction
              q = quantize_value<S>(0.0f, g);
              const float v0 = dequantize_value<S>(q, g);
              const auto c = encode<fp16>(static_cast<float>(w - static_cast<T>(v0)), overflow::saturate);
              v = static_cast<T>(v0) + static_cast<T>(decode<fp16>(c));
              out->outliers.push_back({static_cast<std::uint32_t>(r), static_cast<std::uint32_t>(i), c});
            }
          }
          const T e = (w - v) * d;
          loss += 0.5 * static_cast<double>(e) * static_cast<double>(e);
          codes[r] = static_cast<std::uint8_t>(q);
          W(er, ei) = Wo(er, ei - eb0) - v;  // dW of this column
        }
        if (i + 1 < b1) {
          const auto len = static_cast<Eigen::Index>(b1 - i - 1);
          W.middleCols(ei + 1, len).noalias() += W.col(ei) * Rs.row(ei).segment(ei + 1, len);
        }
      }
    }
    if (nq < n) {  // kept columns end at their constrained optimum: W_j + sum_k dW_k R_kj / R_jj
      const auto enq = static_cast<Eigen::Index>(nq), ek = static_cast<Eigen::Index>(n - nq);
      if (nq > 0) W.rightCols(ek).noalias() += W.leftCols(enq) * Rs.block(0, enq, enq, ek);
      out->kept = W.rightCols(ek).template cast<float>();
    }
    // Groups without members (all their columns kept) still need a grid.
    if constexpr (!S::is_per_tensor && !S::is_per_channel) {
      if (p.dynamic) {
        const float zero = 0;
        for (std::size_t t = 0; t < p.units_per_row; ++t)
          if (!fitted[t])
            for (std::size_t r = 0; r < m; ++r) out->grids[r * p.units_per_row + t] = fit_minmax<S>(&zero, 1);
      }
    }
    out->loss = loss;
  }
};

/// Everything GPTQ-like in this library goes through here: GPTQ, OWQ weak columns and SpQR-style
/// outliers. `weak` lists original columns kept in high precision (quantized last, never rounded).
template <Scheme S>
gptq_raw<S> gptq_run(const char* fn, const float* w, std::size_t rows, std::size_t cols,
                     const Eigen::Ref<const Eigen::MatrixXd>& H, const gptq_options& o,
                     const std::vector<std::uint32_t>& weak, double tau, bool leave_one_out) {
  check_weights(fn, w, rows, cols);
  check_gptq_options(fn, o);
  (void)matrix_layout<S>::make(rows, cols);  // shape and group divisibility, before any work
  Eigen::MatrixXd Hs = symmetric_hessian(fn, H, cols);
  gptq_raw<S> res;
  gptq_plan& p = res.plan;
  const std::size_t n = cols;
  // 1. dead columns: H_jj = 0 -> H_jj = 1, W[:, j] = 0
  std::vector<char> dead(n, 0);
  for (std::size_t j = 0; j < n; ++j)
    if (Hs(static_cast<Eigen::Index>(j), static_cast<Eigen::Index>(j)) == 0) {
      dead[j] = 1;
      Hs(static_cast<Eigen::Index>(j), static_cast<Eigen::Index>(j)) = 1;
      ++res.dead;
    }
  // 2. order: (act-order: stable, by decreasing H_jj) non-kept columns, then kept ones
  std::vector<char> is_weak(n, 0);
  for (std::uint32_t j : weak) is_weak[j] = 1;
  std::vector<std::uint32_t> order;
  for (std::uint32_t j = 0; j < n; ++j)
    if (!is_weak[j]) order.push_back(j);
  if (o.order != act_order::none)
    std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
      return Hs(a, a) > Hs(b, b);
    });
  p.nq = order.size();
  for (std::uint32_t j = 0; j < n; ++j)
    if (is_weak[j]) order.push_back(j);
  p.perm = std::move(order);
  // 3. scale units
  if constexpr (!S::is_per_tensor && !S::is_per_channel) {
    constexpr std::size_t G = S::granularity::size;
    p.units_per_row = n / G;
    p.gid.resize(p.nq);
    for (std::size_t i = 0; i < p.nq; ++i)
      p.gid[i] = static_cast<std::uint32_t>(o.order == act_order::g_idx ? i / G : p.perm[i] / G);
    p.dynamic = o.order != act_order::static_groups;
    p.members.assign(p.units_per_row, {});
    for (std::size_t i = 0; i < p.nq; ++i) p.members[p.gid[i]].push_back(static_cast<std::uint32_t>(i));
  } else {
    p.units_per_row = 1;
    p.gid.assign(p.nq, 0);
  }
  p.tau = tau;
  p.leave_one_out = leave_one_out;
  res.grids.resize(matrix_layout<S>::make(rows, cols).units);
  // 4. permuted H, damping, factor
  Eigen::MatrixXd Hp(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(n));
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t i = 0; i < n; ++i)
      Hp(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = Hs(p.perm[i], p.perm[j]);
  Hs.resize(0, 0);
  hessian_factor f = factor_hessian(fn, Hp, o.percdamp, o.damp_retries);
  Hp.resize(0, 0);
  res.percdamp = f.percdamp;
  res.damp = f.damp;
  res.retries = f.retries;
  auto run = [&](auto tag) {
    using T = decltype(tag);
    gptq_engine<S, T> e;
    e.m = rows;
    e.n = n;
    e.B = o.block_size;
    e.out = &res;
    e.fit = &o.fit;
    e.rdd = f.R.diagonal();
    e.rd = e.rdd.template cast<T>();
    e.Rs = f.R.template cast<T>();
    f.R.resize(0, 0);
    for (Eigen::Index j = 0; j < static_cast<Eigen::Index>(n); ++j) e.Rs.col(j).head(j + 1) /= e.rd(j);
    e.W.resize(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(n));
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t c = p.perm[i];
      for (std::size_t r = 0; r < rows; ++r)
        e.W(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(i)) = dead[c] ? T(0) : static_cast<T>(w[r * cols + c]);
    }
    if (std::isfinite(tau)) {  // SpQR: tau_abs = tau * mean_j var(W[:, j]) / U_jj^2, U_jj = 1 / R_jj
      double acc = 0;
      for (std::size_t i = 0; i < p.nq; ++i) {
        const auto col = e.W.col(static_cast<Eigen::Index>(i)).template cast<double>();
        const double mu = col.mean();
        const double var = (col.array() - mu).square().sum() / static_cast<double>(rows);
        acc += var * e.rdd(static_cast<Eigen::Index>(i)) * e.rdd(static_cast<Eigen::Index>(i));
      }
      res.tau_abs = tau * acc / static_cast<double>(p.nq > 0 ? p.nq : 1);
    }
    e.run();
  };
  if (o.precision == calib_precision::fp64) run(double{});
  else run(float{});
  return res;
}

/// Write the codes of positions [0, nq) (in original column order) and all grids into q.
template <Scheme S>
void store_gptq_codes(quantized_matrix<S>& q, const gptq_raw<S>& raw) {
  const std::size_t m = q.rows(), nq = raw.plan.nq;
  constexpr std::size_t tile = 64;  // rows per pass: keeps the rows' code lines in cache
  for (std::size_t r0 = 0; r0 < m; r0 += tile) {
    const std::size_t r1 = std::min(r0 + tile, m);
    for (std::size_t i = 0; i < nq; ++i) {
      const std::uint8_t* c = raw.codes.data() + i * m;
      const std::size_t col = raw.plan.perm[i];
      for (std::size_t r = r0; r < r1; ++r) q.set_code(r, col, c[r]);
    }
  }
  for (std::size_t u = 0; u < raw.grids.size(); ++u) store_grid(q, u, raw.grids[u]);
}

}  // namespace detail

/// GPTQ on a row-major rows x cols weight matrix (rows = output channels) with the K x K Hessian
/// H = 2 X X^T / N of its inputs (only the lower triangle is read; its scale does not matter
/// except for the reported loss). ALGORITHMS.md 2.3: dead columns (H_jj == 0) are zeroed,
/// damping is relative to the mean diagonal, groups are fitted on the error-updated weights when
/// they start (the exact rule, so the result does not depend on block_size), and the grids are
/// those of scheme S against the *stored* scales (the error fed back is the one of the stored
/// model). Too few tokens (N < K, rank-deficient H) need no special handling: damping makes the
/// factorisation succeed; if it still fails, damping grows as gptq_options::damp_retries says.
/// Throws mixq::error on bad shapes, non-finite weights or Hessian, a negative H_jj, bad options,
/// or a factorisation that fails after all retries.
template <Scheme S>
gptq_result<S> gptq(const float* w, std::size_t rows, std::size_t cols, const Eigen::Ref<const Eigen::MatrixXd>& H,
                    const gptq_options& o = {}) {
  detail::gptq_raw<S> raw =
      detail::gptq_run<S>("mixq::gptq", w, rows, cols, H, o, {}, std::numeric_limits<double>::infinity(), false);
  gptq_result<S> res;
  res.q = quantized_matrix<S>(rows, cols);
  detail::store_gptq_codes(res.q, raw);
  if constexpr (!S::is_per_tensor && !S::is_per_channel) {
    if (o.order == act_order::g_idx) {
      res.g_idx.resize(cols);
      for (std::size_t i = 0; i < cols; ++i) res.g_idx[raw.plan.perm[i]] = raw.plan.gid[i];
    }
  }
  res.perm = std::move(raw.plan.perm);
  res.loss = raw.loss;
  res.percdamp = raw.percdamp;
  res.damp = raw.damp;
  res.damp_retries = raw.retries;
  res.dead_columns = raw.dead;
  return res;
}

/// GPTQ with the Hessian of accumulated statistics (H = stats.hessian() = 2 Sigma).
template <Scheme S>
gptq_result<S> gptq(const float* w, std::size_t rows, std::size_t cols, const layer_stats& stats,
                    const gptq_options& o = {}) {
  if (stats.channels() != cols)
    throw error("mixq::gptq: layer_stats has K = " + std::to_string(stats.channels()) +
                " input channels; the weights have " + std::to_string(cols) + " columns (expected equal)");
  return gptq<S>(w, rows, cols, stats.hessian(), o);
}

/// Eigen front ends: a contiguous row-major float matrix.
template <Scheme S>
gptq_result<S> gptq(const Eigen::Ref<const row_matrix_f>& w, const Eigen::Ref<const Eigen::MatrixXd>& H,
                    const gptq_options& o = {}) {
  detail::check_contiguous("mixq::gptq", w);
  return gptq<S>(w.data(), static_cast<std::size_t>(w.rows()), static_cast<std::size_t>(w.cols()), H, o);
}
template <Scheme S>
gptq_result<S> gptq(const Eigen::Ref<const row_matrix_f>& w, const layer_stats& stats, const gptq_options& o = {}) {
  detail::check_contiguous("mixq::gptq", w);
  return gptq<S>(w.data(), static_cast<std::size_t>(w.rows()), static_cast<std::size_t>(w.cols()), stats, o);
}

MIXQ_END_NAMESPACE
