// Zero-point policies: how the grid of a scale unit is placed around zero (ALGORITHMS.md 1.1).
#pragma once

namespace mixq {

/// What a zero-point policy stores per unit.
enum class zero_kind { none, int_zero, float_zero, sub_min, float_min };

/// Symmetric grids, no stored zero. A = max |w| over the unit.
namespace sym {
/// S2 "restricted" (default): s = A / L, L = the largest magnitude the format has on both sides
/// (int4: 7; fp4 e2m1: 6; nf4: 1). With an e8m0 scale: the OCP MX rule s = 2^(floor(log2 A) - emax).
struct restricted {
  static constexpr zero_kind kind = zero_kind::none;
};
/// S1 "GPTQ": integer formats only, s = 2A / (2^b - 1); levels s * {-2^(b-1) .. 2^(b-1) - 1}.
struct gptq {
  static constexpr zero_kind kind = zero_kind::none;
};
/// S3 "signed extreme" (ggml q4_0): s = v* / lowest with v* the signed value of largest |w|,
/// which maps exactly to the most negative level; s may be negative.
struct signed_extreme {
  static constexpr zero_kind kind = zero_kind::none;
};
}  // namespace sym

/// Asymmetric grids on unsigned codes 0..2^b-1, w ~ s * (q - z). The range is [min, max] of the
/// unit, widened to include 0 when `IncludeZero` (GPTQ's convention) or left raw (AWQ, HQQ).
namespace asym {
/// Integer zero outside the rounding: q = clamp(rnd(w/s) + z, 0, Qmax), z = rnd(-lo/s) stored in
/// b bits (GPTQ, AWQ).
template <bool IncludeZero = true>
struct int_zero {
  static constexpr zero_kind kind = zero_kind::int_zero;
  static constexpr bool include_zero = IncludeZero;
};
/// Float zero inside the rounding: q = clamp(rnd(w/s + z), 0, Qmax), z = -lo/s stored in the
/// scale format (HQQ, SpQR).
template <bool IncludeZero = false>
struct float_zero {
  static constexpr zero_kind kind = zero_kind::float_zero;
  static constexpr bool include_zero = IncludeZero;
};
/// ggml Q4_1 / Q5_1 mins: w = s * q + m, the unit's minimum m stored in the scale format (any
/// sign), added after scaling: exactly ggml's q * d + m. The range is the unit's own [min, max]
/// (widened to include 0 when `IncludeZero`).
template <bool IncludeZero = false>
struct float_min {
  static constexpr zero_kind kind = zero_kind::float_min;
  static constexpr bool include_zero = IncludeZero;
};
/// ggml K-quant mins, for super_block schemes: w = s_u * q - m_u with m_u = fp32(dmin * v(mc_u)),
/// mc_u a code of `MinFormat` per unit and dmin (in the super-block's format) per super-block.
/// The min is subtracted after scaling, not folded into a zero point, so the value is exactly
/// ggml's (d * sc) * q - (dmin * m). The range always includes 0 from below (lo = min(lo, 0)),
/// as ggml's search clamps it, so the stored min is never negative.
template <class MinFormat>
struct sub_min {
  static constexpr zero_kind kind = zero_kind::sub_min;
  static constexpr bool include_zero = true;
  using min_format = MinFormat;
};
}  // namespace asym

}  // namespace mixq
