// code_t<F>: the unsigned integer that holds one code of format F (low bits used).
#pragma once
#include <cstdint>
#include <type_traits>

namespace mixq {

template <int Bits>
using code_for_bits_t = std::conditional_t<(Bits <= 8), std::uint8_t, std::uint16_t>;

/// std::uint8_t for formats of at most 8 bits, std::uint16_t for 9..16 bits. Sub-byte codes
/// sit in the low bits; decode ignores the bits above the format's width.
template <class F>
using code_t = code_for_bits_t<F::bits>;

}  // namespace mixq
