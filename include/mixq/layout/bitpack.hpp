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

/// Packs n codes (one per byte, low b bits used) into a stream starting at code position 0.
/// The stream must hold packed_bytes(n, b) bytes; bytes are overwritten, not merged.
inline void pack_codes(std::uint8_t* stream, const std::uint8_t* codes, std::size_t n, int b) noexcept {
  if (b == 8) {
    for (std::size_t i = 0; i < n; ++i) stream[i] = codes[i];
    return;
  }
  if (b == 4) {
    for (std::size_t i = 0; i + 1 < n; i += 2)
      stream[i / 2] = static_cast<std::uint8_t>((codes[i] & 0xfu) | ((codes[i + 1] & 0xfu) << 4));
    if (n % 2) stream[n / 2] = codes[n - 1] & 0xfu;
    return;
  }
  // Generic: accumulate bits in a 32-bit register and flush whole bytes.
  const unsigned mask = (1u << b) - 1u;
  std::uint32_t acc = 0;
  int nbits = 0;
  std::size_t o = 0;
  for (std::size_t i = 0; i < n; ++i) {
    acc |= (codes[i] & mask) << nbits;
    nbits += b;
    while (nbits >= 8) {
      stream[o++] = static_cast<std::uint8_t>(acc);
      acc >>= 8;
      nbits -= 8;
    }
  }
  if (nbits > 0) stream[o] = static_cast<std::uint8_t>(acc);
}

}  // namespace detail
MIXQ_END_NAMESPACE
