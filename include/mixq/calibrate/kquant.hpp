// Round-to-nearest for two-level "k-quant" schemes (super_block<...>): fit every unit's scale
// (and min) in fp32, quantize those against one super-scale per super-block, then re-round every
// weight against the scale (and min) as stored (ALGORITHMS.md 1.3 (iv), (v)).
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "../format/traits.hpp"
#include "../kernel/threads.hpp"
#include "../layout/quantized_matrix.hpp"
#include "ggml_search.hpp"
#include "grid.hpp"
#include "pow_sum.hpp"
#include "rtn_options.hpp"

MIXQ_BEGIN_NAMESPACE
namespace detail {

template <Scheme S>
struct kquant_traits {
  using F = typename S::format;
  using SF = typename S::scale_format;
  using SupF = typename S::tensor_scale::format;
  static constexpr bool is_int = requires { F::min_int; };
  static constexpr int qmax = (1 << S::code_bits) - 1;  // sub_min codes 0..qmax
  static constexpr bool signed_extreme = std::is_same_v<typename S::zero_policy, sym::signed_extreme>;
  /// Largest magnitude the element format reaches on both sides (sym::restricted divides by it).
  static constexpr float both_sides = format_traits<F>::lowest < 0 && -format_traits<F>::lowest < format_traits<F>::max_finite
                                          ? -format_traits<F>::lowest
                                          : format_traits<F>::max_finite;
  static_assert(!signed_extreme || format_traits<SF>::lowest < 0,
                "k-quant: sym::signed_extreme unit scales can be negative; the sub-scale format must be signed");
};

/// A unit's fp32 fit: w ~ s * v(q) (symmetric) or w ~ s * q - m with m >= 0 (asym::sub_min).
struct kquant_fit {
  float s = 0, m = 0;
};

// The code and value functions and the error loop share one fp-contract setting (s * q - m is
// two roundings), so that the loop can inline them.
MIXQ_EXACT_FP_BEGIN
/// The code of w under (s, m), and its value; s == 0 gives code 0 (value -m).
template <Scheme S>
unsigned kquant_code(float w, float s, float m) noexcept {
  using T = kquant_traits<S>;
  if (s == 0) return S::has_sub_min ? 0u : (encode<typename T::F>(0.0f, overflow::saturate) & ((1u << S::code_bits) - 1u));
  if constexpr (S::has_sub_min) {
    const int q = round_clamped((w + m) / s);
    return static_cast<unsigned>(q < 0 ? 0 : (q > T::qmax ? T::qmax : q));
  } else {
    const float x = w / s;
    return encode<typename T::F>(is_finite(x) ? x : 0.0f, overflow::saturate) & ((1u << S::code_bits) - 1u);
  }
}
template <Scheme S>
float kquant_value(unsigned q, float s, float m) noexcept {
  if constexpr (S::has_sub_min) return s * static_cast<float>(q) - m;
  else return s * code_value<S>(q);
}

/// Min-max fit with the range shrunk by p (1 = plain min-max).
template <Scheme S>
kquant_fit kquant_minmax(const float* v, std::size_t n, float p) noexcept {
  using T = kquant_traits<S>;
  kquant_fit f;
  if constexpr (S::has_sub_min) {
    float lo = 0, hi = v[0];  // lo = min(min v, 0), as ggml's search clamps it
    for (std::size_t i = 0; i < n; ++i) lo = v[i] < lo ? v[i] : lo, hi = v[i] > hi ? v[i] : hi;
    lo *= p;
    hi *= p;
    f.s = hi > lo ? (hi - lo) / static_cast<float>(T::qmax) : 0.0f;  // constant unit: s = 0, w = -m
    f.m = -lo;
  } else if constexpr (T::signed_extreme) {
    float vstar = 0;
    for (std::size_t i = 0; i < n; ++i) vstar = std::fabs(v[i]) > std::fabs(vstar) ? v[i] : vstar;
    f.s = p * vstar / format_traits<typename T::F>::lowest;
  } else {
    float a = 0;
    for (std::size_t i = 0; i < n; ++i) a = std::fabs(v[i]) > a ? std::fabs(v[i]) : a;
    f.s = p * a / T::both_sides;
  }
  return f;
}

template <Scheme S>
double kquant_error(const float* v, const float* wt, std::size_t n, kquant_fit f, float norm, float* res) noexcept {
  for (std::size_t i = 0; i < n; ++i) res[i] = kquant_value<S>(kquant_code<S>(v[i], f.s, f.m), f.s, f.m) - v[i];
  return pow_sum(res, wt, n, norm);
}
MIXQ_EXACT_FP_END

/// First level: the fp32 scale (and min) of one unit by the chosen method. `wt` are the
/// per-value weights (nullptr: uniform for mse_clip, ggml's defaults for weighted_ls).
template <Scheme S>
kquant_fit kquant_fit_unit(const float* v, const float* wt, std::size_t n, const rtn_options& o,
                           std::vector<std::uint8_t>& scratch) {
  using T = kquant_traits<S>;
  if (o.method == rtn_method::weighted_ls) {
    scratch.resize(2 * n);
    if constexpr (S::has_sub_min) {
      // ggml's make_qkx2_quants (Q4_K parameters, weights rms + |x|) or, with importance,
      // make_qkx3_quants (-0.9, 0.05, 36), as ggml's K-quants do.
      thread_local std::vector<float> w;
      w.resize(n);
      if (wt == nullptr) {
        float sum_x2 = 0;
        for (std::size_t i = 0; i < n; ++i) sum_x2 += v[i] * v[i];
        const float av = std::sqrt(sum_x2 / static_cast<float>(n));
        for (std::size_t i = 0; i < n; ++i) w[i] = av + std::fabs(v[i]);
      }
      const int nn = static_cast<int>(n);
      kquant_fit f;
      f.s = wt ? ggml::make_qkx3_quants(nn, T::qmax, v, wt, scratch.data(), &f.m, scratch.data() + n, -0.9f, 0.05f, 36, false)
               : ggml::make_qkx2_quants(nn, T::qmax, v, w.data(), scratch.data(), &f.m, scratch.data() + n, -1.0f, 0.1f, 20,
                                        false);
      return f;
    } else if constexpr (T::is_int && T::F::is_signed) {
      // ggml's make_qx_quants: 19 candidate scales, least squares of the best level set.
      kquant_fit f;
      f.s = ggml::make_qx_quants(static_cast<int>(n), 1 << (S::code_bits - 1), v,
                                 reinterpret_cast<std::int8_t*>(scratch.data()), wt);
      if constexpr (!T::signed_extreme) f.s = std::fabs(f.s);  // restricted grids are symmetric
      return f;
    }
    // other formats: the clip search below with the squared error
  }
  if (o.method == rtn_method::minmax) return kquant_minmax<S>(v, n, 1.0f);
  const float norm = o.method == rtn_method::mse_clip ? o.norm : 2.0f;
  thread_local std::vector<float> res;
  res.resize(n);
  kquant_fit best = kquant_minmax<S>(v, n, 1.0f);
  double best_err = kquant_error<S>(v, wt, n, best, norm, res.data());
  const int steps = static_cast<int>(std::floor(o.max_shrink * static_cast<float>(o.grid)));
  for (int k = 1; k < steps; ++k) {
    const kquant_fit f = kquant_minmax<S>(v, n, 1.0f - static_cast<float>(k) / static_cast<float>(o.grid));
    const double e = kquant_error<S>(v, wt, n, f, norm, res.data());
    if (e < best_err * (1 - clip_margin)) best_err = e, best = f;  // min-max wins ties and near-ties (pow_sum.hpp)
  }
  return best;
}

/// Second level: values x[0..n) (unit scales or mins) as codes of format SF under one super-scale
/// stored in SupF. Symmetric rule d = A / max(SF); signed-extreme rule d = v* / lowest(SF) (ggml
/// Q3_K, Q6_K). The codes are rounded against the super-scale *as stored*. With weights (the
/// importance path) and an unsigned integer SF, ggml's make_qp_quants chooses d and the codes.
/// Returns the stored super-scale code; writes the sub-codes to c.
template <class SF, class SupF, bool SignedExtreme>
scale_code_t<SupF> kquant_second_level(const float* x, const float* sw, std::size_t n, scale_code_t<SF>* c) {
  float a = 0, vstar = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (std::fabs(x[i]) > a) a = std::fabs(x[i]), vstar = x[i];
  float d = 0;
  if (!(a < ggml::group_max_eps)) {
    if constexpr (SignedExtreme) {
      d = vstar / format_traits<SF>::lowest;
    } else if constexpr (requires { SF::min_int; }) {
      if (sw != nullptr && !SF::is_signed) {
        // make_qp_quants refines the levels by coordinate descent; keep them as it chose them.
        std::vector<std::uint8_t> L(n);
        d = ggml::make_qp_quants(static_cast<int>(n), SF::max_int, x, L.data(), sw);
        for (std::size_t i = 0; i < n; ++i) c[i] = static_cast<scale_code_t<SF>>(L[i] & SF::max_int);
        return encode_scale<SupF>(d);
      }
      d = a / format_traits<SF>::max_finite;
    } else {
      d = a / format_traits<SF>::max_finite;
    }
  }
  const scale_code_t<SupF> dc = encode_scale<SupF>(d);
  const float ds = decode_scale<SupF>(dc);
  for (std::size_t i = 0; i < n; ++i) {
    const float t = ds == 0 ? 0.0f : x[i] / ds;
    c[i] = encode_scale<SF>(is_finite(t) ? t : 0.0f);
  }
  return dc;
}

/// Rows [r0, r1) of quantize<S>() for super_block schemes into m.
template <Scheme S>
void quantize_kquant_rows(quantized_matrix<S>& m, const float* w, const rtn_options& o, std::size_t r0, std::size_t r1) {
  using T = kquant_traits<S>;
  const auto& L = m.layout();
  const auto view = m.view();
  const std::size_t cols = L.cols, G = L.unit_cols, nu = L.units_per_super, SB = S::tensor_scale::size;
  const bool weighted = !o.importance.empty();
  const bool qp = weighted && o.method == rtn_method::weighted_ls;
  std::vector<float> wt(SB), s(nu), mn(nu), sw(nu);
  std::vector<std::uint8_t> scratch, qrow(cols);
  std::vector<scale_code_t<typename T::SF>> sc(nu);
  std::vector<typename matrix_layout<S>::min_t> mc(nu);
  for (std::size_t r = r0; r < r1; ++r) {
    for (std::size_t b = 0; b < L.supers_per_row; ++b) {
      const float* x = w + r * cols + b * SB;
      if (weighted) {
        // weighted_ls: ggml's imatrix weighting a_j * sqrt(sigma^2 + w^2), sigma^2 = 2 mean w^2 of
        // the super-block; mse_clip: the importance as it is (as rtn.hpp does).
        float sum_x2 = 0;
        for (std::size_t i = 0; i < SB; ++i) sum_x2 += x[i] * x[i];
        const float sigma2 = 2 * sum_x2 / static_cast<float>(SB);
        for (std::size_t i = 0; i < SB; ++i)
          wt[i] = o.importance[b * SB + i] * (qp ? std::sqrt(sigma2 + x[i] * x[i]) : 1.0f);
      }
      for (std::size_t j = 0; j < nu; ++j) {
        const float* wj = weighted ? wt.data() + j * G : nullptr;
        const kquant_fit f = kquant_fit_unit<S>(x + j * G, wj, G, o, scratch);
        s[j] = f.s;
        mn[j] = f.m;
        sw[j] = 0;
        if (weighted)
          for (std::size_t i = 0; i < G; ++i) sw[j] += wj[i];
      }
      const std::size_t sb = r * L.supers_per_row + b, u0 = r * L.units_per_row + b * nu;
      m.set_super_scale(sb, kquant_second_level<typename T::SF, typename T::SupF, T::signed_extreme>(
                                s.data(), qp ? sw.data() : nullptr, nu, sc.data()));
      for (std::size_t j = 0; j < nu; ++j) m.scales()[u0 + j] = sc[j];
      if constexpr (S::has_sub_min) {
        m.set_super_min(sb, kquant_second_level<typename S::zero_policy::min_format, typename T::SupF, false>(
                                mn.data(), qp ? sw.data() : nullptr, nu, mc.data()));
        for (std::size_t j = 0; j < nu; ++j) m.set_sub_min(u0 + j, mc[j]);
      }
      // Final re-rounding against the stored (decoded) scale and min of every unit.
      for (std::size_t j = 0; j < nu; ++j) {
        const float us = view.scale(u0 + j), um = view.min(u0 + j);
        for (std::size_t i = 0; i < G; ++i)
          qrow[b * SB + j * G + i] = static_cast<std::uint8_t>(kquant_code<S>(x[j * G + i], us, um));
      }
    }
    pack_codes(m.codes(r), qrow.data(), cols, S::code_bits);
  }
}

/// quantize<S>() for super_block schemes (arguments already checked). Rows are independent
/// (each writes its own codes, scales and super-scales), so they are split over o.threads.
template <Scheme S>
quantized_matrix<S> quantize_kquant(const float* w, std::size_t rows, std::size_t cols, const rtn_options& o) {
  quantized_matrix<S> m(rows, cols);
  parallel_rows(rows, o.threads, [&](std::size_t r0, std::size_t r1) { quantize_kquant_rows<S>(m, w, o, r0, r1); }, 1);
  return m;
}

}  // namespace detail
MIXQ_END_NAMESPACE
