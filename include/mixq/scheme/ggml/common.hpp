// ggml block formats: the row API shared by all types (row_size, quantize_row,
// quantize_row_model, dequantize_row) and the byte-level helpers of the codecs.
//
// Each type is a tag in mixq::ggml (q4_0.hpp, q4_k.hpp, ...) with its constants, plus a
// specialisation of detail::ggml_codec<Tag>. Functions live in mixq::ggml::<isa> (see
// calibrate/ggml_search.hpp for why the ISA namespace sits inside mixq::ggml here) and are
// called as mixq::ggml::quantize_row<mixq::ggml::q4_k>(x, n, out).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "../../calibrate/ggml_search.hpp"
#include "../../config.hpp"
#include "../../error.hpp"
#include "../../format/codec.hpp"
#include "../scheme.hpp"

MIXQ_GGML_EXACT_FP_BEGIN
namespace mixq::ggml {
struct q4_0;
struct q4_1;
struct q5_0;
struct q5_1;
struct q8_0;
struct q2_k;
struct q3_k;
struct q4_k;
struct q5_k;
struct q6_k;
struct iq4_nl;
struct mxfp4;
}  // namespace mixq::ggml

namespace mixq::ggml {
inline namespace MIXQ_ISA_NS {
namespace detail {

/// The codec of one type: specialised next to each tag. It provides
///   quantize_ref(x, nblocks, out)          ggml quantize_row_<type>_ref
///   quantize_importance(x, n, out, imp)    ggml quantize_<type> with an importance vector, one row
///   dequantize(in, nblocks, y)             ggml dequantize_row_<type>
/// and optionally quantize_model(x, n, out): ggml quantize_<type> without importance, when that
/// differs from the reference quantizer.
template <class T>
struct ggml_codec;

template <class T>
concept has_model_path = requires(const float* x, std::size_t n, std::uint8_t* out) {
  ggml_codec<T>::quantize_model(x, n, out);
};

inline std::uint16_t load_le16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
inline std::uint32_t load_le32(const std::uint8_t* p) noexcept {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
inline void store_le16(std::uint8_t* p, std::uint16_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v);
  p[1] = static_cast<std::uint8_t>(v >> 8);
}
inline void store_le32(std::uint8_t* p, std::uint32_t v) noexcept {
  for (int k = 0; k < 4; ++k) p[k] = static_cast<std::uint8_t>(v >> (8 * k));
}

/// ggml_half: fp32 -> fp16 bits, round to nearest even, overflow to inf (GGML_FP32_TO_FP16).
inline std::uint16_t to_half(float x) noexcept { return ::mixq::encode<::mixq::fp16>(x, ::mixq::overflow::propagate); }
/// fp16 bits -> fp32, exact (GGML_FP16_TO_FP32).
inline float from_half(std::uint16_t h) noexcept { return ::mixq::decode<::mixq::fp16>(h); }
inline float load_half(const std::uint8_t* p) noexcept { return from_half(load_le16(p)); }
inline void store_half(std::uint8_t* p, float x) noexcept { store_le16(p, to_half(x)); }

/// The low byte of C's float -> int8_t / uint8_t conversion as ggml compiles it on x86-64:
/// truncation to int32 (cvttss2si), with NaN and values outside int32 giving 0x80000000, then
/// the low 8 bits. In range this is plain truncation toward zero; out of range C leaves it
/// undefined, and the x86 result is what ggml's reference produces (FORMATS.md 8, pitfall 8).
inline std::uint8_t trunc_to_byte(float v) noexcept {
  const bool in_range = v >= -2147483648.0f && v < 2147483648.0f;  // false for NaN
  const std::int32_t i = in_range ? static_cast<std::int32_t>(v) : std::numeric_limits<std::int32_t>::min();
  return static_cast<std::uint8_t>(i);
}
inline int trunc_to_int8(float v) noexcept { return static_cast<std::int8_t>(trunc_to_byte(v)); }

inline std::string type_label(const char* fn, const char* type_name) {
  return std::string("mixq::ggml::") + fn + "<" + type_name + ">";
}

template <class T>
void check_count(const char* fn, std::size_t n) {
  if (n % T::block_elems != 0)
    throw ::mixq::error(type_label(fn, T::name) + ": n = " + std::to_string(n) +
                        " is not a multiple of the block size " + std::to_string(T::block_elems) +
                        "; expected whole blocks");
}

template <class T>
void check_pointer(const char* fn, const void* p, const char* arg, std::size_t n, const char* what) {
  if (p == nullptr)
    throw ::mixq::error(type_label(fn, T::name) + ": " + arg + " = nullptr; expected " + what +
                        " (n = " + std::to_string(n) + ")");
}

/// max |x| of a group < 1e-15, with the same comparisons as ggml (first larger magnitude wins).
inline bool is_zero_group(const float* x, std::size_t n) noexcept {
  float amax = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) amax = ax;
  }
  return amax < group_max_eps;
}

}  // namespace detail

/// Bytes needed for n values of type T (n a multiple of T::block_elems, else mixq::error).
template <class T>
std::size_t row_size(std::size_t n) {
  detail::check_count<T>("row_size", n);
  return n / T::block_elems * T::block_bytes;
}

/// Quantizes one row of n values (n a multiple of T::block_elems) into row_size<T>(n) bytes.
///  importance == nullptr: ggml's quantize_row_<type>_ref (from_float_ref), byte for byte.
///  importance != nullptr (n values, e.g. an imatrix row): ggml's quantize_<type>(x, out, 1, n,
///    importance), the model-file quantizer. Types whose ggml quantizer ignores importance
///    (q8_0, mxfp4) give the reference result.
/// Throws mixq::error for a bad n or a null x / out.
template <class T>
void quantize_row(const float* x, std::size_t n, void* out, const float* importance = nullptr) {
  detail::check_count<T>("quantize_row", n);
  detail::check_pointer<T>("quantize_row", x, "x", n, "n input floats");
  detail::check_pointer<T>("quantize_row", out, "out", n, "row_size(n) writable bytes");
  auto* q = static_cast<std::uint8_t*>(out);
  if (importance != nullptr && T::takes_importance)
    detail::ggml_codec<T>::quantize_importance(x, n, q, importance);
  else
    detail::ggml_codec<T>::quantize_ref(x, n / T::block_elems, q);
}

/// ggml's model-file quantizer quantize_<type>(x, out, 1, n, importance) for one row, with or
/// without importance. Equal to quantize_row except for iq4_nl without importance, where ggml's
/// quantize_iq4_nl searches 15 scales and re-rounds (quantize_row gives the reference,
/// single-scale result).
template <class T>
void quantize_row_model(const float* x, std::size_t n, void* out, const float* importance = nullptr) {
  if constexpr (detail::has_model_path<T>) {
    if (importance == nullptr) {
      detail::check_count<T>("quantize_row_model", n);
      detail::check_pointer<T>("quantize_row_model", x, "x", n, "n input floats");
      detail::check_pointer<T>("quantize_row_model", out, "out", n, "row_size(n) writable bytes");
      detail::ggml_codec<T>::quantize_model(x, n, static_cast<std::uint8_t*>(out));
      return;
    }
  }
  quantize_row<T>(x, n, out, importance);
}

/// Decodes row_size<T>(n) bytes into n floats, bit-identical to ggml's dequantize_row_<type>
/// (to_float). Throws mixq::error for a bad n or a null in / y.
template <class T>
void dequantize_row(const void* in, std::size_t n, float* y) {
  detail::check_count<T>("dequantize_row", n);
  detail::check_pointer<T>("dequantize_row", in, "in", n, "row_size(n) readable bytes");
  detail::check_pointer<T>("dequantize_row", y, "y", n, "n writable floats");
  detail::ggml_codec<T>::dequantize(static_cast<const std::uint8_t*>(in), n / T::block_elems, y);
}

}  // namespace MIXQ_ISA_NS
}  // namespace mixq::ggml
MIXQ_GGML_EXACT_FP_END
