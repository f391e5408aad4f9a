// Granularity: which weights of a row-major M x K matrix share one scale (and zero).
#pragma once
#include <cstddef>

namespace mixq {

/// One scale for the whole matrix.
struct per_tensor {};
/// One scale per output channel (row).
struct per_channel {};
/// One scale per G consecutive input columns of one row.
template <std::size_t G>
struct group {
  static_assert(G >= 1, "group: G must be positive");
  static constexpr std::size_t size = G;
};

/// Second-level scale: none (default), or one fp32 scale for the whole tensor above the unit
/// scales (NVFP4's "global" decode scale). With it a weight is w = (s_u * t) * v(q): the unit
/// scale s_u (stored in the scheme's scale format) times the tensor scale t, rounded to fp32
/// once, times the code's value.
struct no_tensor_scale {
  static constexpr bool present = false;
};
struct fp32_tensor_scale {
  static constexpr bool present = true;
};

}  // namespace mixq
