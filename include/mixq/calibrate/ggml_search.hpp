// ggml's scale searches (ALGORITHMS.md 1.3, FORMATS.md 7.8-7.13), reproduced bit for bit:
// same fp32 operations in the same order, so codes and scales equal ggml's on the same input.
// The ggml block formats (scheme/ggml/) are built from these; they also serve any scheme that
// wants ggml's weighted least-squares fits on its own blocks.
//
// Conventions shared by every routine: n values x[0..n), optional per-value weights (importance),
// integer levels written to L, the fitted scale returned. All arithmetic is fp32, sums are
// accumulated in index order, and products are evaluated left to right as ggml writes them
// ((w*x)*l, not w*(x*l)). Build with -ffp-contract=off (or without FMA) to keep that order.
#pragma once
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "../config.hpp"
#include "../format/codebook.hpp"

/// Bit-exactness with ggml needs unfused fp32 multiply and add: every ggml header wraps its
/// functions in MIXQ_EXACT_FP_BEGIN / END (config.hpp says why and what it does not cover).
#define MIXQ_GGML_EXACT_FP_BEGIN MIXQ_EXACT_FP_BEGIN
#define MIXQ_GGML_EXACT_FP_END MIXQ_EXACT_FP_END

// The ggml layer lives in mixq::ggml. Its code sits in an ISA-named inline namespace *inside*
// mixq::ggml (mixq::ggml::<isa>::...), not in mixq::<isa>::ggml: the format tags must stay in
// mixq::ggml for every TU, and a second namespace called ggml in mixq's inline ISA namespace
// would make every `mixq::ggml::` ambiguous.
MIXQ_GGML_EXACT_FP_BEGIN
namespace mixq::ggml {
inline namespace MIXQ_ISA_NS {

/// Amax below which ggml treats a group as all zero (GROUP_MAX_EPS).
inline constexpr float group_max_eps = 1e-15f;

/// The 16 IQ4_NL levels as ggml stores them (int8), same values as mixq::tables::iq4_nl.
inline constexpr std::array<std::int8_t, 16> iq4_nl_levels = [] {
  std::array<std::int8_t, 16> t{};
  for (std::size_t i = 0; i < 16; ++i) t[i] = static_cast<std::int8_t>(::mixq::tables::iq4_nl::values[i]);
  return t;
}();

/// ggml `nearest_int`: rounds v to the nearest integer, ties to even, by adding 1.5 * 2^23 in fp32
/// and reading the low mantissa bits. Exact for |v| <= 2^22 - 1 under the default rounding mode;
/// outside that range it returns what ggml returns (the same bit manipulation), never UB.
inline int nearest_int(float v) noexcept {
  const float t = v + 12582912.0f;
  const auto bits = std::bit_cast<std::int32_t>(t);
  return (bits & 0x007fffff) - 0x00400000;
}

/// ggml `make_qx_quants` (rmse_type 1): symmetric levels l in [-nmax, nmax-1], written to L as
/// l + nmax. Starts from scale max/(-nmax) (max = the value of largest magnitude, first one on
/// ties), then tries the 18 inverse scales -(nmax + 0.1 t)/max, t = -9..9, t != 0, keeping the
/// level set that maximises (sum w x l)^2 / sum w l^2. Weights default to x^2 when `weights` is
/// null. Returns the least-squares scale sum w x l / sum w l^2 of the kept levels (0 and L = 0 if
/// max |x| < 1e-15).
inline float make_qx_quants(int n, int nmax, const float* x, std::int8_t* L, const float* weights) noexcept {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) amax = ax, max = x[i];
  }
  if (amax < group_max_eps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.0f;
  }
  const auto level = [nmax](float v) {
    const int l = nearest_int(v);
    return l < -nmax ? -nmax : (l > nmax - 1 ? nmax - 1 : l);
  };
  const auto weight = [x, weights](int i) { return weights ? weights[i] : x[i] * x[i]; };
  float iscale = static_cast<float>(-nmax) / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = level(iscale * x[i]);
    L[i] = static_cast<std::int8_t>(l + nmax);
    const float w = weight(i), fl = static_cast<float>(l);
    sumlx += w * x[i] * fl;
    suml2 += w * fl * fl;
  }
  float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int t = -9; t <= 9; ++t) {
    if (t == 0) continue;
    iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(t)) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const float w = weight(i), fl = static_cast<float>(level(iscale * x[i]));
      sumlx += w * x[i] * fl;
      suml2 += w * fl * fl;
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) L[i] = static_cast<std::int8_t>(nmax + level(iscale * x[i]));
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

/// ggml `make_q3_quants`: symmetric levels in [-nmax, nmax-1] (stored as l + nmax in L) with
/// weights x^2. `refine` (ggml's do_rmse, what Q3_K uses): start from the rounding at scale
/// max/(-nmax), then up to 5 passes of coordinate descent, each element moved to the level
/// nearest to x under the least-squares scale of the others when that raises
/// (sum w x l)^2 / sum w l^2; returns that least-squares scale. Without `refine`: plain rounding,
/// returns max/(-nmax). All-zero groups (max |x| < 1e-15): L = 0, returns 0.
inline float make_q3_quants(int n, int nmax, const float* x, std::int8_t* L, bool refine = true) noexcept {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) amax = ax, max = x[i];
  }
  if (amax < group_max_eps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.0f;
  }
  const auto clamp = [nmax](int l) { return l < -nmax ? -nmax : (l > nmax - 1 ? nmax - 1 : l); };
  const float iscale = static_cast<float>(-nmax) / max;
  if (!refine) {
    for (int i = 0; i < n; ++i) L[i] = static_cast<std::int8_t>(clamp(nearest_int(iscale * x[i])) + nmax);
    return 1 / iscale;
  }
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = clamp(nearest_int(iscale * x[i]));
    L[i] = static_cast<std::int8_t>(l);
    const float w = x[i] * x[i], fl = static_cast<float>(l);
    sumlx += w * x[i] * fl;
    suml2 += w * fl * fl;
  }
  for (int pass = 0; pass < 5; ++pass) {
    int changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i], li = static_cast<float>(L[i]);
      float slx = sumlx - w * x[i] * li;
      if (slx > 0) {
        float sl2 = suml2 - w * li * li;
        const int l = clamp(nearest_int(x[i] * sl2 / slx));
        if (l != L[i]) {
          const float fl = static_cast<float>(l);
          slx += w * x[i] * fl;
          sl2 += w * fl * fl;
          if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
            L[i] = static_cast<std::int8_t>(l);
            sumlx = slx;
            suml2 = sl2;
            ++changed;
          }
        }
      }
    }
    if (changed == 0) break;
  }
  for (int i = 0; i < n; ++i) L[i] = static_cast<std::int8_t>(L[i] + nmax);
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

/// ggml `make_qkx2_quants` / `make_qkx3_quants` (one routine; null weights mean x^2, as qkx3):
/// affine fit x ~ scale * L + min with L in [0, nmax] and min <= 0. Starts from the min-max grid
/// (min clamped to <= 0), then for s = 0..nstep tries inverse scale (rmin + rdelta s + nmax)/(max
/// - min), solves the weighted 2x2 least-squares problem for (scale, min) on those levels (min
/// forced to 0 if positive) and keeps it when its weighted error (|.| if use_mad, else squared)
/// is strictly smaller. An accepted min is used by later steps. Writes the levels to L, -min to
/// *neg_min, returns the scale. `scratch` holds n bytes. Constant groups: L = 0, scale 0.
inline float make_qkx_quants(int n, int nmax, const float* x, const float* weights, std::uint8_t* L, float* neg_min,
                             std::uint8_t* scratch, float rmin, float rdelta, int nstep, bool use_mad) noexcept {
  const auto weight = [x, weights](int i) { return weights ? weights[i] : x[i] * x[i]; };
  const auto clamp = [nmax](int l) { return l < 0 ? 0 : (l > nmax ? nmax : l); };
  float min = x[0], max = x[0];
  float sum_w = weight(0);
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    const float w = weight(i);
    sum_w += w;
    sum_x += w * x[i];
  }
  if (min > 0) min = 0;
  if (max <= min) {  // ggml qkx2 tests max == min; identical, since max >= min here
    for (int i = 0; i < n; ++i) L[i] = 0;
    *neg_min = -min;
    return 0.0f;
  }
  const float nmaxf = static_cast<float>(nmax);
  float iscale = nmaxf / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    L[i] = static_cast<std::uint8_t>(clamp(nearest_int(iscale * (x[i] - min))));
    float diff = scale * static_cast<float>(L[i]) + min - x[i];
    diff = use_mad ? std::fabs(diff) : diff * diff;
    best_error += weight(i) * diff;
  }
  if (nstep < 1) {
    *neg_min = -min;
    return scale;
  }
  for (int s = 0; s <= nstep; ++s) {
    iscale = (rmin + rdelta * static_cast<float>(s) + nmaxf) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = clamp(nearest_int(iscale * (x[i] - min)));
      scratch[i] = static_cast<std::uint8_t>(l);
      const float w = weight(i), fl = static_cast<float>(l);
      sum_l += w * fl;
      sum_l2 += w * fl * fl;
      sum_xl += w * fl * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float err = 0;
      for (int i = 0; i < n; ++i) {
        float diff = this_scale * static_cast<float>(scratch[i]) + this_min - x[i];
        diff = use_mad ? std::fabs(diff) : diff * diff;
        err += weight(i) * diff;
      }
      if (err < best_error) {
        for (int i = 0; i < n; ++i) L[i] = scratch[i];
        best_error = err;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *neg_min = -min;
  return scale;
}

/// ggml `make_qkx2_quants` (weights required). See make_qkx_quants.
inline float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, std::uint8_t* L, float* neg_min,
                              std::uint8_t* scratch, float rmin, float rdelta, int nstep, bool use_mad) noexcept {
  return make_qkx_quants(n, nmax, x, weights, L, neg_min, scratch, rmin, rdelta, nstep, use_mad);
}

/// ggml `make_qkx3_quants` (null weights mean x^2). See make_qkx_quants.
inline float make_qkx3_quants(int n, int nmax, const float* x, const float* weights, std::uint8_t* L, float* neg_min,
                              std::uint8_t* scratch, float rmin, float rdelta, int nstep, bool use_mad) noexcept {
  return make_qkx_quants(n, nmax, x, weights, L, neg_min, scratch, rmin, rdelta, nstep, use_mad);
}

/// ggml `make_qp_quants`: quantizes non-negative values (sub-block scales or mins) to levels
/// [0, nmax] with weights (required). Rounding at nmax/max, then the best of 8 alternative inverse
/// scales (nmax + 0.1 t)/max, t = +-1..+-4 (lowest weighted squared error, strict), then up to 5
/// passes of coordinate descent. Returns the least-squares scale (0 with L = 0 if max < 1e-15).
/// Like ggml, levels are stored as uint8 with wrap-around (a negative value gives a large level).
inline float make_qp_quants(int n, int nmax, const float* x, std::uint8_t* L, const float* weights) noexcept {
  float max = 0;
  for (int i = 0; i < n; ++i) max = max > x[i] ? max : x[i];
  if (max < group_max_eps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.0f;
  }
  const float nmaxf = static_cast<float>(nmax);
  float iscale = nmaxf / max;
  for (int i = 0; i < n; ++i) L[i] = static_cast<std::uint8_t>(nearest_int(iscale * x[i]));
  const float scale = 1 / iscale;
  float best_mse = 0;
  for (int i = 0; i < n; ++i) {
    const float diff = x[i] - scale * static_cast<float>(L[i]);
    best_mse += weights[i] * diff * diff;
  }
  for (int t = -4; t <= 4; ++t) {
    if (t == 0) continue;
    const float iscale_t = (0.1f * static_cast<float>(t) + nmaxf) / max;
    const float scale_t = 1 / iscale_t;
    float mse = 0;
    for (int i = 0; i < n; ++i) {
      int l = nearest_int(iscale_t * x[i]);
      l = l < nmax ? l : nmax;
      const float diff = x[i] - scale_t * static_cast<float>(l);
      mse += weights[i] * diff * diff;
    }
    if (mse < best_mse) {
      best_mse = mse;
      iscale = iscale_t;
    }
  }
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    int l = nearest_int(iscale * x[i]);
    l = l < nmax ? l : nmax;
    L[i] = static_cast<std::uint8_t>(l);
    const float w = weights[i], fl = static_cast<float>(l);
    sumlx += w * x[i] * fl;
    suml2 += w * fl * fl;
  }
  for (int pass = 0; pass < 5; ++pass) {
    int changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = weights[i], li = static_cast<float>(L[i]);
      float slx = sumlx - w * x[i] * li;
      float sl2 = suml2 - w * li * li;
      if (slx > 0 && sl2 > 0) {
        int l = nearest_int(x[i] * sl2 / slx);
        l = l < nmax ? l : nmax;
        if (l != L[i]) {
          const float fl = static_cast<float>(l);
          slx += w * x[i] * fl;
          sl2 += w * fl * fl;
          if (slx * slx * suml2 > sumlx * sumlx * sl2) {
            L[i] = static_cast<std::uint8_t>(l);
            sumlx = slx;
            suml2 = sl2;
            ++changed;
          }
        }
      }
    }
    if (changed == 0) break;
  }
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

/// ggml `best_index_int8`: index of the entry of the sorted table `values` (n entries) nearest to
/// x by binary search; an exact midpoint goes to the upper entry; beyond the ends, 0 or n-1.
inline int best_index_int8(int n, const std::int8_t* values, float x) noexcept {
  if (x <= static_cast<float>(values[0])) return 0;
  if (x >= static_cast<float>(values[n - 1])) return n - 1;
  int lo = 0, hi = n - 1;
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    if (x < static_cast<float>(values[mid]))
      hi = mid;
    else
      lo = mid;
  }
  return x - static_cast<float>(values[hi - 1]) < static_cast<float>(values[hi]) - x ? hi - 1 : hi;
}

/// The per-block scale search of ggml's `quantize_row_iq4_nl_impl` for a non-linear table
/// `values` (16 sorted int8 levels, e.g. iq4_nl_levels), block of n values with weights w
/// (required). Codes from x / d0 with d0 = max/values[0] (ntry <= 0) or -max/values[0]
/// (ntry > 0), written to L; d = sum w q x / sum w q^2 of those codes; then, for t = -ntry..ntry,
/// inverse scales (t + values[0])/max whose level set raises (sum w q x)^2 / sum w q^2 replace
/// d (the codes in L are not updated by that loop). Returns d, or 0 leaving L untouched when
/// max |x| < 1e-15. ggml's reference quantizer uses ntry = -1 (no search), its model-file
/// quantizer ntry = 7 followed by re-rounding every code with 1/d.
inline float iq4_nl_search(int n, const float* x, const float* w, const std::int8_t* values, std::uint8_t* L,
                           int ntry) noexcept {
  float amax = 0, max = 0;
  for (int j = 0; j < n; ++j) {
    const float ax = std::fabs(x[j]);
    if (ax > amax) amax = ax, max = x[j];
  }
  if (amax < group_max_eps) return 0.0f;
  const float v0 = static_cast<float>(values[0]);
  float d = ntry > 0 ? -max / v0 : max / v0;
  float id = 1 / d;
  float sumqx = 0, sumq2 = 0;
  for (int j = 0; j < n; ++j) {
    const int l = best_index_int8(16, values, id * x[j]);
    L[j] = static_cast<std::uint8_t>(l);
    const float q = static_cast<float>(values[l]);
    sumqx += w[j] * q * x[j];
    sumq2 += w[j] * q * q;
  }
  d = sumq2 > 0 ? sumqx / sumq2 : 0.0f;
  float best = d * sumqx;
  for (int t = -ntry; t <= ntry; ++t) {
    id = static_cast<float>(t + values[0]) / max;
    sumqx = sumq2 = 0;
    for (int j = 0; j < n; ++j) {
      const float q = static_cast<float>(values[best_index_int8(16, values, id * x[j])]);
      sumqx += w[j] * q * x[j];
      sumq2 += w[j] * q * q;
    }
    if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
      d = sumqx / sumq2;
      best = d * sumqx;
    }
  }
  return d;
}

}  // namespace MIXQ_ISA_NS
}  // namespace mixq::ggml
MIXQ_GGML_EXACT_FP_END
