// Outlier-aware GPTQ (ALGORITHMS.md 6.1, 6.2): OWQ weak columns kept in fp16 and SpQR-style
// unstructured fp16 outliers, stored as a dense low-bit quantized_matrix plus a small sparse
// fp16 part that a kernel adds: W_hat = dequant(dense) + sparse.
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

#include <Eigen/Core>

#include "../error.hpp"
#include "../format/codec.hpp"
#include "../format/minifloat.hpp"
#include "../layout/quantized_matrix.hpp"
#include "gptq.hpp"
#include "grid.hpp"
#include "layer_stats.hpp"
#include "rtn.hpp"

MIXQ_BEGIN_NAMESPACE

/// The sparse part of a dense-and-sparse matrix: fp16 values added to the dense dequantized
/// weights. Two forms, both optional:
///  - whole columns (OWQ weak columns): column `column_index[t]` adds `column_values[t * rows + r]`
///    to row r (column-major per weak column; indices ascending);
///  - scattered entries (SpQR outliers), CSR by row: row r adds `values[k]` at column
///    `col_idx[k]` for k in [row_ptr[r], row_ptr[r + 1]) (columns ascending within a row).
///    `row_ptr` is empty when there are no scattered entries, else it has rows + 1 entries.
/// Values are fp16 codes (mixq::fp16). Where the dense grid represents 0 exactly (every
/// zero-including scheme: symmetric, asym int zero with the range widened to 0), the dense code
/// there is the code of 0 and the stored value is the weight itself; otherwise it is the fp16
/// difference between the weight and the dense value nearest 0.
struct fp16_outliers {
  std::size_t rows = 0, cols = 0;
  std::vector<std::uint32_t> column_index;
  std::vector<std::uint16_t> column_values;
  std::vector<std::uint32_t> row_ptr;
  std::vector<std::uint32_t> col_idx;
  std::vector<std::uint16_t> values;

  /// Number of stored fp16 values (whole columns and scattered entries).
  std::size_t nnz() const noexcept { return column_values.size() + values.size(); }
  /// Storage in bits: 16 per value, 32 per index (column indices, CSR column indices and row_ptr).
  double storage_bits() const noexcept {
    return 16.0 * static_cast<double>(nnz()) +
           32.0 * static_cast<double>(column_index.size() + col_idx.size() + row_ptr.size());
  }
};

/// out[(r - row_begin) * cols + c] += sparse(r, c) for rows [row_begin, row_end): the sparse add
/// after a dense dequantize (same out layout as dequantize_reference).
inline void sparse_add_reference(const fp16_outliers& s, float* out, std::size_t row_begin, std::size_t row_end) {
  const std::size_t K = s.cols;
  for (std::size_t t = 0; t < s.column_index.size(); ++t) {
    const std::size_t c = s.column_index[t];
    for (std::size_t r = row_begin; r < row_end; ++r)
      out[(r - row_begin) * K + c] += decode<fp16>(s.column_values[t * s.rows + r]);
  }
  if (s.row_ptr.empty()) return;
  for (std::size_t r = row_begin; r < row_end; ++r)
    for (std::size_t k = s.row_ptr[r]; k < s.row_ptr[r + 1]; ++k)
      out[(r - row_begin) * K + s.col_idx[k]] += decode<fp16>(s.values[k]);
}

/// y[r] += sum_c sparse(r, c) x[c] for rows [row_begin, row_end), y indexed by absolute row
/// (the convention of mixq::gemv): run it after the dense gemv of the same rows.
inline void sparse_gemv_add_reference(const fp16_outliers& s, const float* x, float* y, std::size_t row_begin,
                                      std::size_t row_end) {
  for (std::size_t t = 0; t < s.column_index.size(); ++t) {
    const float xc = x[s.column_index[t]];
    const std::uint16_t* v = s.column_values.data() + t * s.rows;
    for (std::size_t r = row_begin; r < row_end; ++r) y[r] += decode<fp16>(v[r]) * xc;
  }
  if (s.row_ptr.empty()) return;
  for (std::size_t r = row_begin; r < row_end; ++r) {
    float acc = 0;
    for (std::size_t k = s.row_ptr[r]; k < s.row_ptr[r + 1]; ++k) acc += decode<fp16>(s.values[k]) * x[s.col_idx[k]];
    y[r] += acc;
  }
}

/// A dense low-bit matrix plus its fp16 sparse part: W_hat = dequant(dense) + sparse.
template <Scheme S>
struct outlier_matrix {
  quantized_matrix<S> dense;
  fp16_outliers sparse;

  std::size_t rows() const noexcept { return dense.rows(); }
  std::size_t cols() const noexcept { return dense.cols(); }
  /// Stored information per weight: the dense codes, scales and zeros, plus the sparse part.
  double bits_per_weight() const noexcept {
    const double n = static_cast<double>(rows()) * static_cast<double>(cols());
    return dense.bits_per_weight() + sparse.storage_bits() / n;
  }
};

/// Reference dequantization of a dense-and-sparse matrix (rows x cols floats).
template <Scheme S>
void dequantize_reference(const outlier_matrix<S>& m, float* out) {
  dequantize_reference(m.dense, out);
  sparse_add_reference(m.sparse, out, 0, m.rows());
}

/// Scalar reference y = W_hat x for rows [row_begin, row_end) (y indexed by absolute row):
/// dense rows through dequantize_reference, then sparse_gemv_add_reference. A fast engine
/// replaces the first half with mixq::gemv on m.dense and keeps the sparse add.
template <Scheme S>
void gemv_reference(const outlier_matrix<S>& m, const float* x, float* y, std::size_t row_begin, std::size_t row_end) {
  std::vector<float> row(m.cols());
  for (std::size_t r = row_begin; r < row_end; ++r) {
    dequantize_reference(m.dense.view(), row.data(), r, r + 1);
    double acc = 0;
    for (std::size_t c = 0; c < m.cols(); ++c) acc += static_cast<double>(row[c]) * x[c];
    y[r] = static_cast<float>(acc);
  }
  sparse_gemv_add_reference(m.sparse, x, y, row_begin, row_end);
}
template <Scheme S>
void gemv_reference(const outlier_matrix<S>& m, const float* x, float* y) {
  gemv_reference(m, x, y, 0, m.rows());
}

struct outlier_options {
  /// Damping, block size, precision, grid fitting and column order. act_order::g_idx is not
  /// available (the dense part keeps groups in column order); with act_order::static_groups the
  /// non-weak columns are quantized by decreasing H_jj with groups fitted up front.
  gptq_options gptq = {};
  /// OWQ: number of weak input columns kept in fp16 (chosen by sensitivity; stored with their
  /// error-updated values). 0 = none.
  std::size_t weak_columns = 0;
  /// OWQ sensitivity: H_jj * ||W[:, j] - RTN(W)[:, j]||^2 (RTN with this scheme and gptq.fit);
  /// false: H_jj alone (OWQ's --no_frob_norm).
  bool weak_by_error = true;
  /// SpQR: relative threshold tau. A weight is kept in fp16 when its GPTQ loss increment
  /// ((w - fq(w)) / U_jj)^2 exceeds tau * mean_j(var(W[:, j]) / U_jj^2). Higher tau, fewer
  /// outliers (the direction of SpQR's code, not of its CLI help). Infinity: no scattered outliers.
  double outlier_threshold = std::numeric_limits<double>::infinity();
  /// SpQR: before fitting each unit's grid, replace values whose leave-one-out refit gains more
  /// than the threshold by the mean of the others (per-tensor schemes skip this).
  bool leave_one_out = true;
};

template <Scheme S>
struct outlier_result {
  outlier_matrix<S> m;
  /// OWQ weak columns (ascending), also listed in m.sparse.column_index.
  std::vector<std::uint32_t> weak_columns;
  /// Quantization order (non-weak columns, then weak ones).
  std::vector<std::uint32_t> perm;
  /// GPTQ's accumulated 0.5 tr(dW H_damped dW^T) with the weak columns at their error-updated
  /// values before fp16 rounding (they add no loss) and outliers at their stored values.
  double loss = 0;
  double percdamp = 0, damp = 0;
  int damp_retries = 0;
  std::size_t dead_columns = 0;
  std::size_t outliers = 0;  ///< scattered fp16 entries (SpQR)
};

namespace detail {

/// OWQ weak columns: the k largest sens_j (ties: lower index first), ascending.
template <Scheme S>
std::vector<std::uint32_t> owq_weak_columns(const float* w, std::size_t rows, std::size_t cols, const Eigen::MatrixXd& Hs,
                                            const outlier_options& o) {
  std::vector<double> sens(cols);
  for (std::size_t j = 0; j < cols; ++j) sens[j] = Hs(static_cast<Eigen::Index>(j), static_cast<Eigen::Index>(j));
  if (o.weak_by_error) {
    const quantized_matrix<S> q = quantize<S>(w, rows, cols, o.gptq.fit);
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
  std::vector<std::uint32_t> idx(cols);
  std::iota(idx.begin(), idx.end(), 0u);
  std::stable_sort(idx.begin(), idx.end(), [&](std::uint32_t a, std::uint32_t b) { return sens[a] > sens[b]; });
  idx.resize(o.weak_columns);
  std::sort(idx.begin(), idx.end());
  return idx;
}

}  // namespace detail

/// GPTQ with OWQ weak columns and/or SpQR-style scattered fp16 outliers (ALGORITHMS.md 6.1, 6.2).
/// The weak columns are quantized last and never rounded: the error feedback of all other
/// columns keeps updating them, and their final values are stored in fp16 (they absorb the
/// others' error). Grids are fitted on the non-weak columns only. With weak_columns = 0 and an
/// infinite threshold the dense part is exactly mixq::gptq's result.
/// Throws mixq::error as mixq::gptq, and on weak_columns > cols, a negative or NaN threshold,
/// or act_order::g_idx.
template <Scheme S>
outlier_result<S> gptq_outliers(const float* w, std::size_t rows, std::size_t cols,
                                const Eigen::Ref<const Eigen::MatrixXd>& H, const outlier_options& o = {}) {
  constexpr const char* fn = "mixq::gptq_outliers";
  detail::check_weights(fn, w, rows, cols);
  if (o.weak_columns > cols)
    throw error(std::string(fn) + ": weak_columns = " + std::to_string(o.weak_columns) + "; expected at most cols = " +
                std::to_string(cols));
  if (!(o.outlier_threshold >= 0))
    throw error(std::string(fn) + ": outlier_threshold = " + std::to_string(o.outlier_threshold) +
                "; expected >= 0 (infinity: no scattered outliers)");
  if (o.gptq.order == act_order::g_idx)
    throw error(std::string(fn) + ": act_order::g_idx is not available with outliers; expected none or static_groups");
  std::vector<std::uint32_t> weak;
  if (o.weak_columns > 0) {
    const Eigen::MatrixXd Hs = detail::symmetric_hessian(fn, H, cols);
    weak = detail::owq_weak_columns<S>(w, rows, cols, Hs, o);
  }
  detail::gptq_raw<S> raw =
      detail::gptq_run<S>(fn, w, rows, cols, H, o.gptq, weak, o.outlier_threshold, o.leave_one_out);
  outlier_result<S> res;
  outlier_matrix<S>& om = res.m;
  om.dense = quantized_matrix<S>(rows, cols);
  detail::store_gptq_codes(om.dense, raw);
  fp16_outliers& sp = om.sparse;
  sp.rows = rows;
  sp.cols = cols;
  // Weak columns: dense code nearest 0, fp16 value = final weight - that dense value.
  const auto view = om.dense.view();
  const std::size_t nq = raw.plan.nq;
  sp.column_index.assign(raw.plan.perm.begin() + static_cast<std::ptrdiff_t>(nq), raw.plan.perm.end());
  sp.column_values.resize(sp.column_index.size() * rows);
  for (std::size_t t = 0; t < sp.column_index.size(); ++t) {
    const std::size_t c = sp.column_index[t];
    for (std::size_t r = 0; r < rows; ++r) {
      const unit_grid<S>& g = raw.grids[view.unit(r, c)];
      const unsigned q0 = quantize_value<S>(0.0f, g);
      om.dense.set_code(r, c, q0);
      const float v = raw.kept(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(t)) - dequantize_value<S>(q0, g);
      sp.column_values[t * rows + r] = encode<fp16>(v, overflow::saturate);
    }
  }
  // Scattered outliers, CSR by row, columns ascending.
  if (!raw.outliers.empty()) {
    std::vector<detail::outlier_entry> e = std::move(raw.outliers);
    for (auto& x : e) x.pos = raw.plan.perm[x.pos];  // position -> original column
    std::sort(e.begin(), e.end(), [](const auto& a, const auto& b) { return a.row != b.row ? a.row < b.row : a.pos < b.pos; });
    sp.row_ptr.assign(rows + 1, 0);
    for (const auto& x : e) ++sp.row_ptr[x.row + 1];
    for (std::size_t r = 0; r < rows; ++r) sp.row_ptr[r + 1] += sp.row_ptr[r];
    sp.col_idx.resize(e.size());
    sp.values.resize(e.size());
    for (std::size_t k = 0; k < e.size(); ++k) sp.col_idx[k] = e[k].pos, sp.values[k] = e[k].value;
    res.outliers = e.size();
  }
  res.weak_columns = std::move(weak);
  res.perm = std::move(raw.plan.perm);
  res.loss = raw.loss;
  res.percdamp = raw.percdamp;
  res.damp = raw.damp;
  res.damp_retries = raw.retries;
  res.dead_columns = raw.dead;
  return res;
}

/// With the Hessian of accumulated statistics (H = 2 Sigma).
template <Scheme S>
outlier_result<S> gptq_outliers(const float* w, std::size_t rows, std::size_t cols, const layer_stats& stats,
                                const outlier_options& o = {}) {
  if (stats.channels() != cols)
    throw error("mixq::gptq_outliers: layer_stats has K = " + std::to_string(stats.channels()) +
                " input channels; the weights have " + std::to_string(cols) + " columns (expected equal)");
  return gptq_outliers<S>(w, rows, cols, stats.hessian(), o);
}

/// Eigen front end: a contiguous row-major float matrix.
template <Scheme S>
outlier_result<S> gptq_outliers(const Eigen::Ref<const row_matrix_f>& w, const layer_stats& stats,
                                const outlier_options& o = {}) {
  detail::check_contiguous("mixq::gptq_outliers", w);
  return gptq_outliers<S>(w.data(), static_cast<std::size_t>(w.rows()), static_cast<std::size_t>(w.cols()), stats, o);
}

/// OWQ: GPTQ with the `weak_columns` most sensitive input columns kept in fp16.
template <Scheme S>
outlier_result<S> owq(const float* w, std::size_t rows, std::size_t cols, const layer_stats& stats,
                      std::size_t weak_columns, const gptq_options& g = {}) {
  outlier_options o;
  o.gptq = g;
  o.weak_columns = weak_columns;
  return gptq_outliers<S>(w, rows, cols, stats, o);
}

/// SpQR-style: GPTQ with scattered fp16 outliers at relative threshold tau (higher: fewer).
template <Scheme S>
outlier_result<S> spqr(const float* w, std::size_t rows, std::size_t cols, const layer_stats& stats, double tau,
                       const gptq_options& g = {}) {
  outlier_options o;
  o.gptq = g;
  o.outlier_threshold = tau;
  return gptq_outliers<S>(w, rows, cols, stats, o);
}

MIXQ_END_NAMESPACE
