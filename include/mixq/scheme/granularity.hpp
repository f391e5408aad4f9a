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

}  // namespace mixq
