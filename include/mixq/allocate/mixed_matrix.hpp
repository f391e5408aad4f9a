// mixed_matrix<Ss...>: a weight matrix whose column groups (g consecutive input columns across
// all rows, SliM-LLM's groups) each have their own scheme out of Ss... (for example 2/3/4-bit,
// or INT4/FP4 for the INT-vs-FP choice).
//
// Layout: column slabs. The groups are stably sorted by scheme; all groups of scheme k form one
// slab, a plain quantized_matrix<Ss[k]> of rows x (n_k g) columns. A GEMV is then one uniform
// kernel per slab on the matching part of x (gathered once into slab order when the groups are
// not already sorted), accumulated into y: the same inner loops, over the same bytes, as the
// uniform kernels, so the time is the column-weighted sum of the uniform kernels' times.
//
// Storage accounting (stored_bits(), what the allocator's costs count): every slab's codes,
// scales and zeros, plus ceil(log2(#schemes)) bits per group for the group's scheme index (the
// INT-vs-FP flag when there are two). bytes() is the memory held: the slabs' padded buffers and
// one byte per group for the index.
#pragma once
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "../calibrate/rtn.hpp"
#include "../calibrate/validate.hpp"
#include "../error.hpp"
#include "../kernel/dequantize.hpp"
#include "../kernel/gemm.hpp"
#include "../kernel/gemv.hpp"
#include "../layout/quantized_matrix.hpp"

MIXQ_BEGIN_NAMESPACE

template <Scheme... Ss>
class mixed_matrix {
  static_assert(sizeof...(Ss) >= 1 && sizeof...(Ss) <= 255, "mixed_matrix: 1 to 255 candidate schemes");
  static_assert(((!Ss::is_per_tensor && !Ss::is_per_channel && !Ss::has_tensor_scale) && ...),
                "mixed_matrix: candidates must be group schemes without a tensor scale (so that a group's cost "
                "does not depend on the other groups)");

 public:
  using slab_matrix = std::variant<quantized_matrix<Ss>...>;
  struct slab {
    std::size_t scheme = 0;                  ///< candidate index (variant index of m)
    std::size_t col_begin = 0, col_end = 0;  ///< its columns in slab order
    slab_matrix m;
  };
  static constexpr std::size_t schemes = sizeof...(Ss);
  /// Bits per group for its scheme index (0 with a single scheme, 1 for an INT/FP flag).
  static constexpr unsigned index_bits = static_cast<unsigned>(std::bit_width(sizeof...(Ss) - 1));
  /// The scale-group sizes of the candidates, which must all divide group_cols.
  static constexpr std::size_t scale_group[] = {Ss::granularity::size...};

  mixed_matrix() = default;

  /// Stored bits of one column group of `group_cols` columns (all rows) under candidate k:
  /// codes, scales, zeros and the group's scheme index. Additive over groups.
  static std::uint64_t group_bits(std::size_t k, std::size_t rows, std::size_t group_cols) {
    check_shape("mixq::mixed_matrix::group_bits", rows, group_cols, group_cols);
    if (k >= schemes) throw error("mixq::mixed_matrix::group_bits: scheme index " + std::to_string(k) + " out of range");
    std::uint64_t b = 0;
    visit_index(k, [&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
      using S = candidate<I>;
      b = static_cast<std::uint64_t>(rows) * group_cols * S::code_bits +
          static_cast<std::uint64_t>(rows) * (group_cols / S::granularity::size) * (S::scale_bits + S::zero_bits);
    });
    return b + index_bits;
  }

  /// RTN-quantize a row-major rows x cols matrix: group t (columns [t g, (t+1) g)) with scheme
  /// group_scheme[t]. Every candidate's scale group must divide g and g must divide cols.
  /// rtn_options::importance, if given, is per original column. RTN is local to each scale
  /// group, so each group's codes are exactly those of quantize<S>() on the whole matrix.
  static mixed_matrix quantize(const float* w, std::size_t rows, std::size_t cols, std::size_t group_cols,
                               std::span<const std::uint8_t> group_scheme, const rtn_options& o = {}) {
    constexpr const char* fn = "mixq::mixed_matrix::quantize";
    detail::check_weights(fn, w, rows, cols);
    check_shape(fn, rows, cols, group_cols);
    detail::check_importance(fn, o.importance, cols);
    mixed_matrix m;
    m.init(fn, rows, cols, group_cols, std::vector<std::uint8_t>(group_scheme.begin(), group_scheme.end()));
    std::vector<float> sub, imp;
    for (std::size_t k = 0; k < schemes; ++k) {
      const std::size_t c0 = m.first_[k], n = m.first_[k + 1] - c0;  // slab positions [c0, c0 + n) in groups
      if (n == 0) continue;
      const std::size_t sc = n * group_cols;
      sub.resize(rows * sc);
      for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t i = 0; i < n; ++i)
          std::memcpy(sub.data() + r * sc + i * group_cols, w + r * cols + m.order_[c0 + i] * group_cols,
                      group_cols * sizeof(float));
      rtn_options so = o;
      if (!o.importance.empty()) {
        imp.resize(sc);
        for (std::size_t i = 0; i < n; ++i)
          std::memcpy(imp.data() + i * group_cols, o.importance.data() + m.order_[c0 + i] * group_cols,
                      group_cols * sizeof(float));
        so.importance = imp;
      }
      visit_index(k, [&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
        m.slabs_.push_back({k, c0 * group_cols, (c0 + n) * group_cols,
                            slab_matrix(std::in_place_index<I>, mixq::quantize<candidate<I>>(sub.data(), rows, sc, so))});
      });
    }
    return m;
  }

  /// Reassemble from stored parts (for example read back by an engine): the group map and one
  /// slab per scheme that occurs in it, in increasing scheme index, each rows x (n_k g).
  static mixed_matrix from_slabs(std::size_t rows, std::size_t cols, std::size_t group_cols,
                                 std::vector<std::uint8_t> group_scheme, std::vector<slab_matrix> slabs) {
    constexpr const char* fn = "mixq::mixed_matrix::from_slabs";
    check_shape(fn, rows, cols, group_cols);
    mixed_matrix m;
    m.init(fn, rows, cols, group_cols, std::move(group_scheme));
    std::size_t s = 0;
    for (std::size_t k = 0; k < schemes; ++k) {
      const std::size_t n = m.first_[k + 1] - m.first_[k];
      if (n == 0) continue;
      if (s >= slabs.size())
        throw error(std::string(fn) + ": missing the slab of scheme " + std::to_string(k) + " (" +
                    std::to_string(n) + " groups use it)");
      if (slabs[s].index() != k)
        throw error(std::string(fn) + ": slab " + std::to_string(s) + " holds scheme " + std::to_string(slabs[s].index()) +
                    "; expected scheme " + std::to_string(k));
      const auto [r, c] = std::visit([](const auto& q) { return std::pair{q.rows(), q.cols()}; }, slabs[s]);
      if (r != rows || c != n * group_cols)
        throw error(std::string(fn) + ": slab " + std::to_string(s) + " is " + std::to_string(r) + " x " +
                    std::to_string(c) + "; expected " + std::to_string(rows) + " x " + std::to_string(n * group_cols));
      m.slabs_.push_back({k, m.first_[k] * group_cols, m.first_[k + 1] * group_cols, std::move(slabs[s])});
      ++s;
    }
    if (s != slabs.size())
      throw error(std::string(fn) + ": " + std::to_string(slabs.size()) + " slabs given; the group map uses " +
                  std::to_string(s) + " schemes");
    return m;
  }

  std::size_t rows() const noexcept { return rows_; }
  std::size_t cols() const noexcept { return cols_; }
  std::size_t group_cols() const noexcept { return group_cols_; }
  std::size_t groups() const noexcept { return group_scheme_.size(); }
  /// Scheme index of each group, in the original column order.
  std::span<const std::uint8_t> group_scheme() const noexcept { return group_scheme_; }
  /// Original group at each slab-order position.
  std::span<const std::uint32_t> slab_order() const noexcept { return order_; }
  /// True when the groups are not already sorted by scheme (GEMV gathers x into slab order).
  bool permuted() const noexcept { return permuted_; }
  const std::vector<slab>& slabs() const noexcept { return slabs_; }

  /// Codes, scales and zeros of all slabs plus index_bits per group (no padding).
  std::uint64_t stored_bits() const noexcept {
    std::uint64_t b = static_cast<std::uint64_t>(groups()) * index_bits;
    for (const auto& s : slabs_) b += std::visit([](const auto& q) -> std::uint64_t { return q.layout().stored_bits(); }, s.m);
    return b;
  }
  double bits_per_weight() const noexcept {
    return rows_ ? static_cast<double>(stored_bits()) / (static_cast<double>(rows_) * static_cast<double>(cols_)) : 0.0;
  }
  /// Memory held: the slabs' buffers (with their padding) and one byte per group of index.
  std::size_t bytes() const noexcept {
    std::size_t b = groups();
    for (const auto& s : slabs_) b += std::visit([](const auto& q) { return q.bytes(); }, s.m);
    return b;
  }

  /// Candidate scheme I.
  template <std::size_t I>
  using candidate = std::tuple_element_t<I, std::tuple<Ss...>>;

  /// Calls f(std::integral_constant<std::size_t, k>{}) for a run-time candidate index k.
  template <class F>
  static void visit_index(std::size_t k, F&& f) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((k == I ? (void)f(std::integral_constant<std::size_t, I>{}) : void()), ...);
    }(std::index_sequence_for<Ss...>{});
  }

 private:
  static void check_shape(const char* fn, std::size_t rows, std::size_t cols, std::size_t g) {
    if (rows == 0 || cols == 0) throw error(std::string(fn) + ": shape " + std::to_string(rows) + " x " + std::to_string(cols) + " is empty");
    if (g == 0 || cols % g != 0)
      throw error(std::string(fn) + ": group_cols = " + std::to_string(g) + " must be positive and divide cols = " +
                  std::to_string(cols));
    for (std::size_t k = 0; k < schemes; ++k)
      if (g % scale_group[k] != 0)
        throw error(std::string(fn) + ": group_cols = " + std::to_string(g) + " is not a multiple of the scale group " +
                    std::to_string(scale_group[k]) + " of candidate " + std::to_string(k));
  }
  void init(const char* fn, std::size_t rows, std::size_t cols, std::size_t g, std::vector<std::uint8_t> gs) {
    if (gs.size() != cols / g)
      throw error(std::string(fn) + ": the group map has " + std::to_string(gs.size()) + " entries; expected cols / group_cols = " +
                  std::to_string(cols / g));
    for (std::size_t t = 0; t < gs.size(); ++t)
      if (gs[t] >= schemes)
        throw error(std::string(fn) + ": group " + std::to_string(t) + " has scheme index " + std::to_string(gs[t]) +
                    "; expected < " + std::to_string(schemes));
    rows_ = rows, cols_ = cols, group_cols_ = g;
    group_scheme_ = std::move(gs);
    first_.assign(schemes + 1, 0);
    for (auto s : group_scheme_) ++first_[s + 1];
    for (std::size_t k = 0; k < schemes; ++k) first_[k + 1] += first_[k];
    order_.resize(group_scheme_.size());
    std::vector<std::size_t> next(first_.begin(), first_.end() - 1);
    for (std::size_t t = 0; t < group_scheme_.size(); ++t) order_[next[group_scheme_[t]]++] = static_cast<std::uint32_t>(t);
    permuted_ = false;
    for (std::size_t i = 0; i < order_.size(); ++i) permuted_ = permuted_ || order_[i] != i;
  }

  std::size_t rows_ = 0, cols_ = 0, group_cols_ = 0;
  std::vector<std::uint8_t> group_scheme_;
  std::vector<std::uint32_t> order_;  // slab position -> original group
  std::vector<std::size_t> first_;    // first slab position of scheme k (k = 0..schemes)
  bool permuted_ = false;
  std::vector<slab> slabs_;
};

namespace alloc_detail {

/// Per-thread float buffers for the mixed kernels (gathered activations, partial outputs).
inline float* mixed_scratch(std::size_t slot, std::size_t n) {
  thread_local std::vector<float> buf[3];
  if (buf[slot].size() < n) buf[slot].resize(n);
  return buf[slot].data();
}

template <Scheme... Ss>
void check_mixed_rows(const char* fn, const mixed_matrix<Ss...>& m, std::size_t r0, std::size_t r1) {
  if (m.slabs().empty()) throw error(std::string(fn) + ": the mixed matrix is empty");
  if (r0 > r1 || r1 > m.rows())
    throw error(std::string(fn) + ": row range [" + std::to_string(r0) + ", " + std::to_string(r1) + ") is not inside [0, " +
                std::to_string(m.rows()) + ")");
}

inline void check_mixed_ptr(const char* fn, const char* what, const void* p) {
  if (p == nullptr) throw error(std::string(fn) + ": " + what + " is null");
}

/// x (or each row of X) in slab order: original groups gathered as slab_order() says.
template <Scheme... Ss>
const float* gather_cols(const mixed_matrix<Ss...>& m, const float* X, std::size_t N, std::size_t ldx, std::size_t& ld_out) {
  if (!m.permuted()) {
    ld_out = ldx;
    return X;
  }
  const std::size_t K = m.cols(), g = m.group_cols();
  float* xs = mixed_scratch(0, N * K);
  const auto order = m.slab_order();
  for (std::size_t n = 0; n < N; ++n)
    for (std::size_t i = 0; i < order.size(); ++i)
      std::memcpy(xs + n * K + i * g, X + n * ldx + order[i] * g, g * sizeof(float));
  ld_out = K;
  return xs;
}

}  // namespace alloc_detail

/// Scalar reference: rows [r0, r1) of the mixed matrix as fp32 in the original column order
/// (each slab by dequantize_reference, scattered back to its groups).
template <Scheme... Ss>
void dequantize_reference(const mixed_matrix<Ss...>& m, float* out, std::size_t r0, std::size_t r1) {
  alloc_detail::check_mixed_rows("mixq::dequantize_reference", m, r0, r1);
  const std::size_t K = m.cols(), g = m.group_cols();
  const auto order = m.slab_order();
  std::vector<float> row;
  for (const auto& s : m.slabs()) {
    const std::size_t sc = s.col_end - s.col_begin;
    row.resize(sc);
    for (std::size_t r = r0; r < r1; ++r) {
      std::visit([&](const auto& q) { dequantize_reference(q.view(), row.data(), r, r + 1); }, s.m);
      for (std::size_t i = 0; i < sc / g; ++i)
        std::memcpy(out + (r - r0) * K + order[s.col_begin / g + i] * g, row.data() + i * g, g * sizeof(float));
    }
  }
}
template <Scheme... Ss>
void dequantize_reference(const mixed_matrix<Ss...>& m, float* out) {
  dequantize_reference(m, out, 0, m.rows());
}

/// Scalar reference GEMV: y[r] = sum_c w_rc x_c over the reference weights, accumulated in
/// double, for rows [r0, r1) (y indexed by absolute row).
template <Scheme... Ss>
void gemv_reference(const mixed_matrix<Ss...>& m, const float* x, float* y, std::size_t r0, std::size_t r1) {
  alloc_detail::check_mixed_rows("mixq::gemv_reference", m, r0, r1);
  const std::size_t K = m.cols();
  std::vector<float> w(K);
  for (std::size_t r = r0; r < r1; ++r) {
    dequantize_reference(m, w.data(), r, r + 1);
    double acc = 0;
    for (std::size_t c = 0; c < K; ++c) acc += static_cast<double>(w[c]) * x[c];
    y[r] = static_cast<float>(acc);
  }
}

/// Rows [r0, r1) as fp32 (original column order) with the kernels of each slab; bit-identical
/// to dequantize_reference.
template <Scheme... Ss>
void dequantize(const mixed_matrix<Ss...>& m, float* out, std::size_t r0, std::size_t r1) {
  constexpr const char* fn = "mixq::dequantize";
  alloc_detail::check_mixed_rows(fn, m, r0, r1);
  if (r0 == r1) return;
  alloc_detail::check_mixed_ptr(fn, "out", out);
  const std::size_t K = m.cols(), g = m.group_cols(), R = r1 - r0;
  const auto order = m.slab_order();
  for (const auto& s : m.slabs()) {
    const std::size_t sc = s.col_end - s.col_begin;
    float* tmp = alloc_detail::mixed_scratch(1, R * sc);
    std::visit([&](const auto& q) { ::mixq::dequantize(q.view(), tmp, r0, r1); }, s.m);
    for (std::size_t r = 0; r < R; ++r)
      for (std::size_t i = 0; i < sc / g; ++i)
        std::memcpy(out + r * K + order[s.col_begin / g + i] * g, tmp + r * sc + i * g, g * sizeof(float));
  }
}
template <Scheme... Ss>
void dequantize(const mixed_matrix<Ss...>& m, float* out) {
  dequantize(m, out, 0, m.rows());
}

/// y[r] = sum_c W[r][c] x[c] for rows [r0, r1): one uniform GEMV kernel per slab (exact fp32
/// path), partial results summed in slab order. x has cols() floats; y is indexed by absolute row.
template <Scheme... Ss>
void gemv(const mixed_matrix<Ss...>& m, const float* x, float* y, std::size_t r0, std::size_t r1) {
  constexpr const char* fn = "mixq::gemv";
  alloc_detail::check_mixed_rows(fn, m, r0, r1);
  if (r0 == r1) return;
  alloc_detail::check_mixed_ptr(fn, "x", x);
  alloc_detail::check_mixed_ptr(fn, "y", y);
  std::size_t ld;
  const float* xs = alloc_detail::gather_cols(m, x, 1, m.cols(), ld);
  float* part = m.slabs().size() > 1 ? alloc_detail::mixed_scratch(1, r1) : nullptr;
  bool first = true;
  for (const auto& s : m.slabs()) {
    float* dst = first ? y : part;
    std::visit([&](const auto& q) { ::mixq::gemv(q.view(), xs + s.col_begin, dst, r0, r1); }, s.m);
    if (!first)
      for (std::size_t r = r0; r < r1; ++r) y[r] += part[r];
    first = false;
  }
}
template <Scheme... Ss>
void gemv(const mixed_matrix<Ss...>& m, const float* x, float* y) {
  gemv(m, x, y, 0, m.rows());
}

/// Y[n][r] = sum_c X[n][c] W[r][c] for n < N, rows [r0, r1): one uniform GEMM kernel per slab.
/// X: N x cols() row-major, row stride ldx >= cols(); Y: N x rows(), row stride ldy >= rows();
/// only columns [r0, r1) of Y are written.
template <Scheme... Ss>
void gemm(const mixed_matrix<Ss...>& m, const float* X, std::size_t N, std::size_t ldx, float* Y, std::size_t ldy,
          std::size_t r0, std::size_t r1) {
  constexpr const char* fn = "mixq::gemm";
  alloc_detail::check_mixed_rows(fn, m, r0, r1);
  if (r0 == r1 || N == 0) return;
  alloc_detail::check_mixed_ptr(fn, "X", X);
  alloc_detail::check_mixed_ptr(fn, "Y", Y);
  if (ldx < m.cols() || ldy < m.rows())
    throw error(std::string(fn) + ": ldx = " + std::to_string(ldx) + " / ldy = " + std::to_string(ldy) +
                " is smaller than the row length " + std::to_string(m.cols()) + " / " + std::to_string(m.rows()));
  std::size_t lds;
  const float* Xs = alloc_detail::gather_cols(m, X, N, ldx, lds);
  const std::size_t M = m.rows();
  float* part = m.slabs().size() > 1 ? alloc_detail::mixed_scratch(2, N * M) : nullptr;
  bool first = true;
  for (const auto& s : m.slabs()) {
    float* dst = first ? Y : part;
    const std::size_t ld = first ? ldy : M;
    std::visit([&](const auto& q) { ::mixq::gemm(q.view(), Xs + s.col_begin, N, lds, dst, ld, r0, r1); }, s.m);
    if (!first)
      for (std::size_t n = 0; n < N; ++n)
        for (std::size_t r = r0; r < r1; ++r) Y[n * ldy + r] += part[n * M + r];
    first = false;
  }
}
template <Scheme... Ss>
void gemm(const mixed_matrix<Ss...>& m, const float* X, std::size_t N, std::size_t ldx, float* Y, std::size_t ldy) {
  gemm(m, X, N, ldx, Y, ldy, 0, m.rows());
}

MIXQ_END_NAMESPACE
