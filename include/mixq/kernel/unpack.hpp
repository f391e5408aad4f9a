// Unpacking b-bit codes (LSB-first bit stream, layout/bitpack.hpp) into one byte per code.
// Portable; the per-arch headers add SIMD versions for the hot widths and fall back to this.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "../layout/bitpack.hpp"

MIXQ_BEGIN_NAMESPACE
namespace kernel_detail {

/// Codes [c0, c0 + n) of a stream of B-bit codes into out[0 .. n). Reads only the bytes that
/// hold those codes. Eight codes fill exactly B bytes, so the body works on B-byte words.
template <int B>
inline void unpack_codes_scalar(const std::uint8_t* stream, std::size_t c0, std::size_t n, std::uint8_t* out) noexcept {
  static_assert(B >= 1 && B <= 8);
  if constexpr (B == 8) {
    std::memcpy(out, stream + c0, n);
    return;
  } else {
    constexpr std::uint64_t mask = (1u << B) - 1u;
    std::size_t i = 0;
    // head: up to the next multiple of 8 codes (byte-aligned bit position)
    while (i < n && (c0 + i) % 8 != 0) {
      out[i] = static_cast<std::uint8_t>(detail::get_code(stream, c0 + i, B));
      ++i;
    }
    for (; i + 8 <= n; i += 8) {
      // The B-byte word assembled from bytes: a B-byte memcpy into a 64-bit variable goes
      // through the stack and stalls on store forwarding (it made this loop ~4x slower).
      const std::uint8_t* p = stream + (c0 + i) / 8 * B;
      std::uint64_t w = 0;
      for (int k = 0; k < B; ++k) w |= static_cast<std::uint64_t>(p[k]) << (8 * k);
      for (int j = 0; j < 8; ++j) out[i + j] = static_cast<std::uint8_t>((w >> (j * B)) & mask);
    }
    for (; i < n; ++i) out[i] = static_cast<std::uint8_t>(detail::get_code(stream, c0 + i, B));
  }
}

}  // namespace kernel_detail
MIXQ_END_NAMESPACE
