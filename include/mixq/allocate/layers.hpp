// Per-layer mixed precision: each layer gets one scheme out of a candidate list Ss...; a layer's
// result is a std::variant<quantized_matrix<Ss>...> (layer_matrix<Ss...>).
//
//   auto c = mixq::evaluate_layer<A, B, C>("attn.q", w, rows, cols, sensitivity);   // item + errors
//   items.push_back(c.item); ...
//   auto a = mixq::solve_exact(items, mixq::budget_for(items, 3.0));
//   mixq::plan p = mixq::make_plan(items, a);                 // print it, store p.serialize()
//   mixq::layer_matrix<A, B, C> m = mixq::materialize<A, B, C>(p.entries[i].option, w, rows, cols);
//   mixq::gemv(m, x, y);                                      // the kernel of whichever scheme it holds
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "../calibrate/rtn.hpp"
#include "../calibrate/validate.hpp"
#include "../format/codec.hpp"
#include "../format/minifloat.hpp"
#include "../kernel/dequantize.hpp"
#include "../kernel/gemm.hpp"
#include "../kernel/gemv.hpp"
#include "knapsack.hpp"
#include "plan.hpp"
#include "sensitivity.hpp"

MIXQ_BEGIN_NAMESPACE

/// What an option's cost counts.
enum class cost_model {
  /// codes + scales + zeros + tensor scale, without padding (matrix_layout::stored_bits()).
  stored_bits,
  /// the whole buffer with its 64-byte row and section padding: quantized_matrix::bytes() * 8.
  allocated_bytes,
};

/// The candidate type of a layer: one of the schemes' quantized matrices.
template <Scheme... Ss>
using layer_matrix = std::variant<quantized_matrix<Ss>...>;

template <std::size_t I, class... Ss>
using nth_scheme = std::tuple_element_t<I, std::tuple<Ss...>>;

/// Bits of a rows x cols matrix of scheme S under a cost model (no quantization needed).
template <Scheme S>
std::uint64_t matrix_bits(std::size_t rows, std::size_t cols, cost_model cm = cost_model::stored_bits) {
  const auto l = matrix_layout<S>::make(rows, cols);
  return cm == cost_model::stored_bits ? l.stored_bits() : static_cast<std::uint64_t>(l.total_bytes) * 8;
}

/// Bits a layer result occupies under a cost model.
template <Scheme... Ss>
std::uint64_t matrix_bits(const layer_matrix<Ss...>& m, cost_model cm = cost_model::stored_bits) {
  return std::visit(
      [&](const auto& q) -> std::uint64_t {
        return cm == cost_model::stored_bits ? q.layout().stored_bits() : static_cast<std::uint64_t>(q.bytes()) * 8;
      },
      m);
}

/// The default quantizer of the allocators: round-to-nearest (calibrate/rtn.hpp). Any callable
/// with this signature works, for example GPTQ:
///   [&]<class S>(std::type_identity<S>, const float* w, std::size_t r, std::size_t c) {
///     return mixq::gptq<S>(w, r, c, stats).q; }
struct rtn_quantizer {
  rtn_options options{};
  template <Scheme S>
  quantized_matrix<S> operator()(std::type_identity<S>, const float* w, std::size_t rows, std::size_t cols) const {
    return quantize<S>(w, rows, cols, options);
  }
};

/// Names of the candidate schemes, in order.
template <Scheme... Ss>
std::vector<std::string> candidate_names() {
  return {scheme_name<Ss>()...};
}

/// Index of the candidate named `name` (scheme_name), for engines reading a stored plan.
template <Scheme... Ss>
std::size_t candidate_index(const std::string& name) {
  const auto n = candidate_names<Ss...>();
  for (std::size_t i = 0; i < n.size(); ++i)
    if (n[i] == name) return i;
  throw error("mixq::candidate_index: '" + name + "' is not one of the candidate schemes");
}

struct evaluate_options {
  cost_model costs = cost_model::stored_bits;
  bool keep_matrices = false;  ///< keep every candidate's quantized matrix (saves re-quantizing)
};

/// An item of the allocator for one layer, and optionally the quantized candidates.
template <Scheme... Ss>
struct layer_candidates {
  mixq::item item;
  std::vector<layer_matrix<Ss...>> matrices;  ///< candidate k at index k (when kept)
};

/// Quantize a row-major rows x cols layer with every candidate scheme, measure each result's
/// error with the sensitivity (on the whole layer) and its cost in bits: one allocator item
/// whose option k is scheme Ss...[k]. Throws mixq::error on bad input (and whatever the
/// quantizer or sensitivity throws).
template <Scheme... Ss, Sensitivity Sens, class Quantizer = rtn_quantizer>
layer_candidates<Ss...> evaluate_layer(std::string name, const float* w, std::size_t rows, std::size_t cols,
                                       const Sens& sens, const Quantizer& quant = {}, const evaluate_options& o = {}) {
  static_assert(sizeof...(Ss) >= 1, "evaluate_layer: name at least one candidate scheme");
  detail::check_weights("mixq::evaluate_layer", w, rows, cols);
  layer_candidates<Ss...> out;
  out.item.name = std::move(name);
  out.item.weights = static_cast<std::uint64_t>(rows) * cols;
  std::vector<float> dq(rows * cols);
  auto one = [&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
    using S = nth_scheme<I, Ss...>;
    quantized_matrix<S> q = quant(std::type_identity<S>{}, w, rows, cols);
    if (q.rows() != rows || q.cols() != cols)
      throw error("mixq::evaluate_layer: the quantizer returned a " + std::to_string(q.rows()) + " x " +
                  std::to_string(q.cols()) + " matrix for a " + std::to_string(rows) + " x " + std::to_string(cols) + " layer");
    dequantize(q.view(), dq.data());
    const double e = sens.error(weight_delta::whole(w, dq.data(), rows, cols));
    const std::uint64_t bits = o.costs == cost_model::stored_bits ? q.layout().stored_bits()
                                                                  : static_cast<std::uint64_t>(q.bytes()) * 8;
    out.item.options.push_back({scheme_name<S>(), bits, e});
    if (o.keep_matrices) out.matrices.emplace_back(std::in_place_index<I>, std::move(q));
  };
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (one(std::integral_constant<std::size_t, I>{}), ...);
  }(std::index_sequence_for<Ss...>{});
  return out;
}

/// The chosen candidate of a layer, quantized: plan entry option k -> scheme Ss...[k].
template <Scheme... Ss, class Quantizer = rtn_quantizer>
layer_matrix<Ss...> materialize(std::size_t option, const float* w, std::size_t rows, std::size_t cols,
                                const Quantizer& quant = {}) {
  if (option >= sizeof...(Ss))
    throw error("mixq::materialize: option " + std::to_string(option) + " is out of range; there are " +
                std::to_string(sizeof...(Ss)) + " candidate schemes");
  std::optional<layer_matrix<Ss...>> out;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((option == I ? (void)out.emplace(std::in_place_index<I>,
                                      quant(std::type_identity<nth_scheme<I, Ss...>>{}, w, rows, cols))
                  : void()),
     ...);
  }(std::index_sequence_for<Ss...>{});
  return std::move(*out);
}

/// OWQ-style item (ALGORITHMS.md 6.1, "an MCKP over the number of fp16 columns"): option i keeps
/// the ks[i] input columns of largest column_sensitivity<S> in fp16, next to scheme S's RTN codes
/// for the layer. Bits: S's stored bits plus ks[i] * (16 rows + 32) (fp16 values and a 32-bit
/// column index, as calibrate/outliers.hpp's fp16_outliers::storage_bits counts them). Error:
/// the sensitivity of W minus the RTN weights with the kept columns replaced by fp16(W) (the
/// dense codes there stand for 0, as with zero-including grids). The error-updated weak columns
/// of GPTQ-based OWQ (mixq::owq) do better; this is the cheap proxy for choosing k per layer.
template <Scheme S, Sensitivity Sens>
item weak_column_item(std::string name, const float* w, std::size_t rows, std::size_t cols, const Eigen::MatrixXd& sigma,
                      const std::vector<std::size_t>& ks, const Sens& sens, const column_sensitivity_options& o = {}) {
  constexpr const char* fn = "mixq::weak_column_item";
  if (ks.empty()) throw error(std::string(fn) + ": no candidate counts of fp16 columns given");
  for (auto k : ks)
    if (k > cols)
      throw error(std::string(fn) + ": " + std::to_string(k) + " fp16 columns requested; the layer has " + std::to_string(cols));
  const std::vector<double> sens_j = column_sensitivity<S>(w, rows, cols, sigma, o);
  std::vector<std::size_t> by(cols);
  for (std::size_t j = 0; j < cols; ++j) by[j] = j;
  std::stable_sort(by.begin(), by.end(), [&](std::size_t a, std::size_t b) { return sens_j[a] > sens_j[b]; });
  const quantized_matrix<S> q = quantize<S>(w, rows, cols, o.rtn);
  std::vector<float> dq(rows * cols), cur;
  dequantize(q.view(), dq.data());
  item it;
  it.name = std::move(name);
  it.weights = static_cast<std::uint64_t>(rows) * cols;
  for (auto k : ks) {
    cur = dq;
    for (std::size_t i = 0; i < k; ++i)
      for (std::size_t r = 0; r < rows; ++r)
        cur[r * cols + by[i]] = decode<fp16>(encode<fp16>(w[r * cols + by[i]]));
    const std::uint64_t bits = q.layout().stored_bits() + static_cast<std::uint64_t>(k) * (16 * rows + 32);
    it.options.push_back({scheme_name<S>() + " + " + std::to_string(k) + " fp16 columns", bits,
                          sens.error(weight_delta::whole(w, cur.data(), rows, cols))});
  }
  return it;
}

/// The allocation in which every item takes option k (the uniform allocation when option k is
/// the same scheme for every item). Its bits may exceed any budget: compare them yourself.
inline allocation uniform_allocation(const std::vector<item>& items, std::size_t k) {
  allocation a;
  a.method = "uniform option " + std::to_string(k);
  for (const auto& it : items) {
    if (k >= it.options.size())
      throw error("mixq::uniform_allocation: item '" + it.name + "' has no option " + std::to_string(k));
    a.choice.push_back(k);
    a.bits += it.options[k].bits;
    a.error += it.options[k].error;
    a.weights += it.weights;
  }
  a.budget_bits = a.bits;
  return a;
}

// Kernels on a layer_matrix: the kernel of whichever scheme it holds.
template <Scheme... Ss>
void dequantize(const layer_matrix<Ss...>& m, float* out, std::size_t r0, std::size_t r1) {
  std::visit([&](const auto& q) { ::mixq::dequantize(q.view(), out, r0, r1); }, m);
}
template <Scheme... Ss>
void gemv(const layer_matrix<Ss...>& m, const float* x, float* y, std::size_t r0, std::size_t r1) {
  std::visit([&](const auto& q) { ::mixq::gemv(q.view(), x, y, r0, r1); }, m);
}
template <Scheme... Ss>
void gemv(const layer_matrix<Ss...>& m, const float* x, float* y) {
  std::visit([&](const auto& q) { ::mixq::gemv(q.view(), x, y, 0, q.rows()); }, m);
}
template <Scheme... Ss>
void gemm(const layer_matrix<Ss...>& m, const float* X, std::size_t N, std::size_t ldx, float* Y, std::size_t ldy,
          std::size_t r0, std::size_t r1) {
  std::visit([&](const auto& q) { ::mixq::gemm(q.view(), X, N, ldx, Y, ldy, r0, r1); }, m);
}

MIXQ_END_NAMESPACE
