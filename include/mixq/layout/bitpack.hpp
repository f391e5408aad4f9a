// Sub-byte packing: b-bit codes in a little-endian bit stream (code i at bits [i*b, i*b+b)).
// For b = 4 this puts element 2j in the low nibble of byte j and 2j+1 in the high nibble
// (the PyTorch / torchao / NVIDIA order); 3, 5, 6 and 7-bit codes straddle bytes.
#pragma once
#include <cstddef>
#include <cstdint>

#include "../config.hpp"

MIXQ_BEGIN_NAMESPACE
namespace detail {

/// Bytes holding n codes of b bits.
constexpr std::size_t packed_bytes(std::size_t n, int b) noexcept {
  return (n * static_cast<std::size_t>(b) + 7) / 8;
}

/// Writes code (low b bits) at position i. The stream must start zeroed or hold old codes.
inline void put_code(std::uint8_t* stream, std::size_t i, int b, unsigned code) noexcept {
  const std::size_t bit = i * static_cast<std::size_t>(b);
  std::size_t byte = bit / 8;
  unsigned shift = bit % 8;
  unsigned v = code & ((1u << b) - 1u);
  int left = b;
  while (left > 0) {
    const int take = left < static_cast<int>(8 - shift) ? left : static_cast<int>(8 - shift);
    const unsigned m = ((1u << take) - 1u) << shift;
    stream[byte] = static_cast<std::uint8_t>((stream[byte] & ~m) | ((v << shift) & m));
    v >>= take;
    left -= take;
    shift = 0;
    ++byte;
  }
}

/// Reads the b-bit code at position i.
inline unsigned get_code(const std::uint8_t* stream, std::size_t i, int b) noexcept {
  const std::size_t bit = i * static_cast<std::size_t>(b);
  const std::size_t byte = bit / 8;
  const unsigned shift = bit % 8;
  unsigned v = stream[byte];
  if (shift + static_cast<unsigned>(b) > 8) v |= static_cast<unsigned>(stream[byte + 1]) << 8;
  return (v >> shift) & ((1u << b) - 1u);
}

}  // namespace detail
MIXQ_END_NAMESPACE
