// Granularity: which weights of a row-major M x K matrix share one scale (and zero).
#pragma once
#include <cstddef>

#include "../format/minifloat.hpp"

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

/// Second-level scale per super-block of `Size` consecutive columns of a row (ggml's K types):
/// every unit (a group<G> with G dividing Size) stores a small sub-scale code sc_u in the
/// scheme's scale format (usually an integer format, e.g. uint_format<6>), and each super-block
/// stores one super-scale d in `Format`. The unit scale is fp32(d * v(sc_u)); schemes with
/// asym::sub_min also store per-unit min codes under a second super-scale dmin. `present` is
/// false: this is not a tensor-wide scale.
template <std::size_t Size = 256, class Format = fp16>
struct super_block {
  static_assert(Size >= 1, "super_block: Size must be positive");
  static constexpr bool present = false;
  static constexpr std::size_t size = Size;
  using format = Format;
};

template <class T>
inline constexpr bool is_super_block = false;
template <std::size_t Size, class Format>
inline constexpr bool is_super_block<super_block<Size, Format>> = true;

}  // namespace mixq
