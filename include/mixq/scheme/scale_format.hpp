// Scale storage: fp32 or any mixq format (fp16, bf16, e8m0fnu, fp8_e4m3fn ...).
#pragma once
#include <bit>
#include <cstdint>
#include <type_traits>

#include "../format/codec.hpp"

namespace mixq {

/// Scales stored as IEEE binary32 as they are.
struct fp32 {
  static constexpr int bits = 32;
};

template <class S>
using scale_code_t = std::conditional_t<std::is_same_v<S, fp32>, float, code_t<S>>;

}  // namespace mixq

MIXQ_BEGIN_NAMESPACE

/// Store a scale (RNE, saturating) / read it back exactly.
template <class S>
constexpr scale_code_t<S> encode_scale(float s) noexcept {
  if constexpr (std::is_same_v<S, fp32>) return s;
  else return encode<S>(s, overflow::saturate);
}
template <class S>
constexpr float decode_scale(scale_code_t<S> c) noexcept {
  if constexpr (std::is_same_v<S, fp32>) return c;
  else return decode<S>(c);
}

MIXQ_END_NAMESPACE
