// Per-group mixed precision inside one layer (SliM-LLM, ALGORITHMS.md 5; INT-vs-FP, 8):
//   evaluate_groups   one allocator item per column group, one option per candidate scheme,
//                     errors from a sensitivity on the group's columns, costs in stored bits
//                     (including the group's scheme index / INT-vs-FP flag)
//   allocate_groups   the exact DP over those items under a budget -> plan + mixed_matrix
//   slim_allocate     SliM-LLM's salience-determined allocation (SBA): groups ordered by
//                     salience, the i least salient at b-1 bits and the i most salient at b+1,
//                     i chosen by the layer-output error; average exactly b.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "../calibrate/rtn.hpp"
#include "../kernel/dequantize.hpp"
#include "knapsack.hpp"
#include "mixed_matrix.hpp"
#include "plan.hpp"
#include "sensitivity.hpp"

MIXQ_BEGIN_NAMESPACE

/// One item per column group t (columns [t g, (t+1) g), all rows) of a row-major rows x cols
/// layer; option k is candidate Ss[k] with cost mixed_matrix<Ss...>::group_bits(k, ...) and
/// error sens.error() of RTN (options `o`) restricted to the group's columns. For
/// output_error_sensitivity that is the block-diagonal term tr(dW_t Sigma_tt dW_t^T), so the
/// errors add up over groups (ALGORITHMS.md 5.2, the exact variant). Items are named
/// prefix + t.
template <Scheme... Ss, Sensitivity Sens>
std::vector<item> evaluate_groups(const float* w, std::size_t rows, std::size_t cols, std::size_t group_cols,
                                  const Sens& sens, const rtn_options& o = {}, const std::string& prefix = "group ") {
  using M = mixed_matrix<Ss...>;
  detail::check_weights("mixq::evaluate_groups", w, rows, cols);
  const std::uint64_t probe = M::group_bits(0, rows, group_cols);  // validates the group size
  (void)probe;
  if (group_cols == 0 || cols % group_cols != 0)
    throw error("mixq::evaluate_groups: group_cols = " + std::to_string(group_cols) + " does not divide cols = " +
                std::to_string(cols));
  const std::size_t G = cols / group_cols;
  std::vector<item> items(G);
  for (std::size_t t = 0; t < G; ++t) {
    items[t].name = prefix + std::to_string(t);
    items[t].weights = static_cast<std::uint64_t>(rows) * group_cols;
  }
  std::vector<float> dq(rows * cols);
  for (std::size_t k = 0; k < M::schemes; ++k) {
    M::visit_index(k, [&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
      using S = typename M::template candidate<I>;
      const auto q = quantize<S>(w, rows, cols, o);
      dequantize(q.view(), dq.data());
      const std::uint64_t bits = M::group_bits(k, rows, group_cols);
      for (std::size_t t = 0; t < G; ++t)
        items[t].options.push_back(
            {scheme_name<S>(), bits, sens.error(weight_delta{w, dq.data(), rows, cols, t * group_cols, (t + 1) * group_cols})});
    });
  }
  return items;
}

/// Stored bits of the mixed matrix in which every group takes candidate k (the uniform
/// allocation with the same group index): a natural budget ("average exactly b bits").
template <Scheme... Ss>
std::uint64_t uniform_group_bits(std::size_t k, std::size_t rows, std::size_t cols, std::size_t group_cols) {
  if (group_cols == 0 || cols % group_cols != 0)
    throw error("mixq::uniform_group_bits: group_cols = " + std::to_string(group_cols) + " does not divide cols = " +
                std::to_string(cols));
  return static_cast<std::uint64_t>(cols / group_cols) * mixed_matrix<Ss...>::group_bits(k, rows, group_cols);
}

template <Scheme... Ss>
struct group_allocation {
  std::vector<item> items;   ///< per group, as evaluate_groups
  allocation alloc;          ///< the solver's answer
  mixq::plan plan;           ///< printable / storable; plan.total_bits() == matrix.stored_bits()
  mixed_matrix<Ss...> matrix;
};

/// Exact per-group allocation of one layer: evaluate_groups, solve_exact under budget_bits
/// (stored bits of the whole layer, group indices included), and the resulting mixed matrix.
template <Scheme... Ss, Sensitivity Sens>
group_allocation<Ss...> allocate_groups(const float* w, std::size_t rows, std::size_t cols, std::size_t group_cols,
                                        const Sens& sens, std::uint64_t budget_bits, const rtn_options& o = {},
                                        const allocation_constraints& con = {}, const solver_options& so = {}) {
  group_allocation<Ss...> r;
  r.items = evaluate_groups<Ss...>(w, rows, cols, group_cols, sens, o);
  r.alloc = solve_exact(r.items, budget_bits, con, so);
  r.plan = make_plan(r.items, r.alloc);
  std::vector<std::uint8_t> gs(r.alloc.choice.begin(), r.alloc.choice.end());
  r.matrix = mixed_matrix<Ss...>::quantize(w, rows, cols, group_cols, gs, o);
  return r;
}

// ---------------------------------------------------------------------------------------------
// SliM-LLM SBA.

struct slim_options {
  salience_options salience = {};
  rtn_options rtn = {};  ///< the per-group quantizer of the search (and of the result)
};

template <Scheme Lo, Scheme Mid, Scheme Hi>
struct slim_result {
  std::vector<double> salience;            ///< S_t per group
  std::vector<std::uint8_t> group_scheme;  ///< 0 = Lo (b-1), 1 = Mid (b), 2 = Hi (b+1)
  std::size_t pairs = 0;                   ///< i*: groups moved down (and up)
  std::vector<double> search_error;        ///< tr(dW Sigma dW^T) for i = 0 .. G/2
  double error = 0;                        ///< search_error[pairs]
  mixed_matrix<Lo, Mid, Hi> matrix;
};

/// SliM-LLM's salience-determined bit allocation (ALGORITHMS.md 5.2) for a row-major rows x cols
/// layer with statistics Sigma: groups sorted by salience (salience_options: the code's
/// w^2/U_jj^2 by default, the paper's form, or the |W| x ||X|| proxy); for i = 0 .. G/2 the i
/// least salient groups take Lo, the i most salient Hi, the rest Mid; the i with the least
/// layer-output error tr(dW Sigma dW^T) of the RTN result wins. Differences from the released
/// code, deliberately: i = 0 (uniform Mid) is included, so the result is never worse than
/// uniform on this objective; the objective is the layer-output error (the code's KL of output
/// softmaxes needs the calibration inputs themselves). With equal group sizes and equally many
/// Lo and Hi groups, the average code bits equal Mid's exactly.
template <Scheme Lo, Scheme Mid, Scheme Hi>
slim_result<Lo, Mid, Hi> slim_allocate(const float* w, std::size_t rows, std::size_t cols, std::size_t group_cols,
                                       const Eigen::MatrixXd& sigma, const slim_options& o = {}) {
  using M = mixed_matrix<Lo, Mid, Hi>;
  constexpr const char* fn = "mixq::slim_allocate";
  (void)M::group_bits(0, rows, group_cols);  // validates group_cols against the schemes
  slim_result<Lo, Mid, Hi> r;
  r.salience = group_salience(w, rows, cols, group_cols, sigma, o.salience);
  const std::size_t G = r.salience.size();
  std::vector<std::size_t> by(G);
  std::iota(by.begin(), by.end(), std::size_t{0});
  std::stable_sort(by.begin(), by.end(), [&](std::size_t a, std::size_t b) { return r.salience[a] < r.salience[b]; });
  // D_k = W - RTN_k(W) for the three candidates (RTN is local to each group).
  const auto R = static_cast<Eigen::Index>(rows), K = static_cast<Eigen::Index>(cols);
  Eigen::MatrixXd D[3];
  std::vector<float> dq(rows * cols);
  auto fill = [&](int k, const auto& q) {
    dequantize(q.view(), dq.data());
    D[k].resize(R, K);
    for (Eigen::Index i = 0; i < R; ++i)
      for (Eigen::Index j = 0; j < K; ++j)
        D[k](i, j) = static_cast<double>(w[i * K + j]) - dq[static_cast<std::size_t>(i * K + j)];
  };
  fill(0, quantize<Lo>(w, rows, cols, o.rtn));
  fill(1, quantize<Mid>(w, rows, cols, o.rtn));
  fill(2, quantize<Hi>(w, rows, cols, o.rtn));
  auto assign = [&](std::size_t i) {
    std::vector<std::uint8_t> gs(G, 1);
    for (std::size_t j = 0; j < i; ++j) gs[by[j]] = 0, gs[by[G - 1 - j]] = 2;
    return gs;
  };
  Eigen::MatrixXd Dm(R, K);
  std::size_t best = 0;
  for (std::size_t i = 0; i <= G / 2; ++i) {
    const auto gs = assign(i);
    for (std::size_t t = 0; t < G; ++t) {
      const auto c0 = static_cast<Eigen::Index>(t * group_cols), g = static_cast<Eigen::Index>(group_cols);
      Dm.middleCols(c0, g) = D[gs[t]].middleCols(c0, g);
    }
    const double e = (Dm * sigma).cwiseProduct(Dm).sum();
    if (!std::isfinite(e)) throw error(std::string(fn) + ": the layer-output error is not finite");
    r.search_error.push_back(e);
    if (e < r.search_error[best]) best = i;
  }
  r.pairs = best;
  r.error = r.search_error[best];
  r.group_scheme = assign(best);
  r.matrix = M::quantize(w, rows, cols, group_cols, r.group_scheme, o.rtn);
  return r;
}

MIXQ_END_NAMESPACE
