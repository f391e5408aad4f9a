// scheme<Format, Granularity, ScaleFormat, Zero>: how codes and scales combine over a matrix.
#pragma once
#include <concepts>
#include <cstddef>
#include <string>
#include <type_traits>

#include "../format/traits.hpp"
#include "granularity.hpp"
#include "scale_format.hpp"
#include "zero_point.hpp"

namespace mixq {

/// A single-level quantization scheme. A weight of unit u (the tensor, a row, or a group of a
/// row) is w = s_u * (v(q) - z_u), where v is the format's decoded value of code q, s_u the stored
/// scale and z_u the stored zero (0 for symmetric schemes). Any combination of the pieces works:
///     using my_scheme = mixq::scheme<mixq::uint_format<3>, mixq::group<64>, mixq::bf16, mixq::asym::int_zero<>>;
/// Asymmetric schemes need an integer format; its codes are read as unsigned 0..2^b-1.
namespace scheme_detail {
template <class Zero>
constexpr int min_bits() noexcept {
  if constexpr (requires { typename Zero::min_format; }) return Zero::min_format::bits;
  else return 0;
}
template <class Second>
constexpr int super_scale_bits() noexcept {
  if constexpr (is_super_block<Second>) {
    if constexpr (requires { Second::format::bits; }) return Second::format::bits;
    else return 32;
  } else {
    return 0;
  }
}
template <class Granularity, class Second>
constexpr bool super_size_ok() noexcept {
  if constexpr (requires { Granularity::size; Second::size; }) return Second::size % Granularity::size == 0;
  else return false;
}
}  // namespace scheme_detail

/// Second-level scales: TensorScale is no_tensor_scale, fp32_tensor_scale (NVFP4) or
/// super_block<Size, Format> (ggml K-quants: per-unit sub-scale codes under a per-super-block
/// scale), e.g. ggml Q4_K's meaning is
///     scheme<uint4, group<32>, uint_format<6>, asym::sub_min<uint_format<6>>, super_block<256, fp16>>
template <class Format, class Granularity, class ScaleFormat = fp16, class Zero = sym::restricted,
          class TensorScale = no_tensor_scale>
struct scheme {

  using format = Format;
  using tensor_scale = TensorScale;
  using granularity = Granularity;
  using scale_format = ScaleFormat;
  using zero_policy = Zero;

  static constexpr int code_bits = Format::bits;
  static constexpr int scale_bits = ScaleFormat::bits;
  static constexpr bool is_per_tensor = std::is_same_v<Granularity, per_tensor>;
  static constexpr bool is_per_channel = std::is_same_v<Granularity, per_channel>;
  static constexpr bool has_int_zero = Zero::kind == zero_kind::int_zero;
  static constexpr bool has_float_zero = Zero::kind == zero_kind::float_zero;
  /// ggml K-quant mins: w = s * q - m (asym::sub_min, super_block schemes only).
  static constexpr bool has_sub_min = Zero::kind == zero_kind::sub_min;
  /// ggml Q4_1 / Q5_1 mins: w = s * q + m (asym::float_min).
  static constexpr bool has_float_min = Zero::kind == zero_kind::float_min;
  /// Weights are w = s * v(q) - min(u), a min subtracted after scaling (sub_min and float_min).
  static constexpr bool has_min = has_sub_min || has_float_min;
  static constexpr bool is_asymmetric = has_int_zero || has_float_zero || has_min;
  /// The MX convention: power-of-two scales from the OCP floor rule.
  static constexpr bool is_mx = std::is_same_v<ScaleFormat, e8m0fnu>;
  static constexpr bool has_tensor_scale = TensorScale::present;
  /// Two-level "k-quant" scales: unit scale = super-scale d (per super-block) * sub-scale code.
  static constexpr bool has_super_blocks = is_super_block<TensorScale>;
  static constexpr int zero_bits = has_int_zero     ? Format::bits
                                   : has_float_zero || has_float_min ? ScaleFormat::bits
                                   : has_sub_min    ? scheme_detail::min_bits<Zero>()
                                                    : 0;
  /// Bits of one super-block's stored super-scales (d, and dmin with sub_min); 0 without super blocks.
  static constexpr int super_bits = has_super_blocks ? scheme_detail::super_scale_bits<TensorScale>() * (has_sub_min ? 2 : 1) : 0;

  static_assert(!is_asymmetric || requires { Format::min_int; },
                "scheme: asymmetric zero points need an integer format (codes 0..2^b-1)");
  static_assert(!std::is_same_v<Zero, sym::gptq> || requires { Format::min_int; },
                "scheme: the GPTQ symmetric convention is defined for integer formats");
  static_assert(!(is_mx && is_asymmetric), "scheme: e8m0 (MX) scales are symmetric");
  static_assert(std::is_same_v<ScaleFormat, fp32> || Format::bits <= 8,
                "scheme: element formats have at most 8 bits");
  static_assert(Format::bits <= 8, "scheme: element formats have at most 8 bits");
  static_assert(!has_tensor_scale || (!is_asymmetric && !is_mx && std::is_same_v<Zero, sym::restricted>),
                "scheme: a tensor scale is defined for symmetric (restricted) schemes without MX scales");
  static_assert(!has_sub_min || has_super_blocks,
                "scheme: asym::sub_min (K-quant mins) needs a super_block second-level scale");
  static_assert(!has_super_blocks || (!is_per_tensor && !is_per_channel && !is_mx),
                "scheme: a super_block scheme needs group<G> units and an integer or float sub-scale format");
  static_assert(!has_float_min || !has_super_blocks, "scheme: super_block schemes take asym::sub_min mins");
  static_assert(!has_super_blocks || has_sub_min || !is_asymmetric,
                "scheme: super_block schemes are symmetric or use asym::sub_min");
  static_assert(!has_super_blocks || scheme_detail::super_size_ok<Granularity, TensorScale>(),
                "scheme: the super-block size must be a multiple of the group size");

  /// Number of columns sharing one scale in a matrix with `cols` columns (0 = whole tensor).
  static constexpr std::size_t unit_cols(std::size_t cols) noexcept {
    if constexpr (is_per_tensor) return 0;
    else if constexpr (is_per_channel) return cols;
    else return Granularity::size;
  }
};

/// A type usable as a scheme: an element format, a granularity, a scale format and a zero policy.
template <class S>
concept Scheme = requires {
  typename S::format;
  typename S::granularity;
  typename S::scale_format;
  typename S::zero_policy;
  { S::code_bits } -> std::convertible_to<int>;
};

// Named presets. The group size follows the name; scales are fp16 unless the name says otherwise.
using int4_g128_sym = scheme<int4, group<128>, fp16, sym::restricted>;
using int4_g128_asym = scheme<uint4, group<128>, fp16, asym::int_zero<true>>;
using int4_g32_asym = scheme<uint4, group<32>, fp16, asym::int_zero<true>>;
using int3_g128_asym = scheme<uint_format<3>, group<128>, fp16, asym::int_zero<true>>;
using int2_g64_asym = scheme<uint_format<2>, group<64>, fp16, asym::int_zero<true>>;
using int8_per_channel = scheme<int_sym<8>, per_channel, fp32, sym::restricted>;
using int4_per_channel_gptq = scheme<int4, per_channel, fp16, sym::gptq>;
using nf4_g64 = scheme<nf4, group<64>, fp32, sym::restricted>;
using fp8_e4m3_per_channel = scheme<fp8_e4m3fn, per_channel, fp32, sym::restricted>;
/// OCP MX: 32-element blocks with an e8m0 shared exponent (floor rule, RNE, saturating elements).
using mxfp4 = scheme<fp4_e2m1fn, group<32>, e8m0fnu, sym::restricted>;
using mxfp6_e3m2 = scheme<fp6_e3m2fn, group<32>, e8m0fnu, sym::restricted>;
using mxfp6_e2m3 = scheme<fp6_e2m3fn, group<32>, e8m0fnu, sym::restricted>;
using mxfp8_e4m3 = scheme<fp8_e4m3fn, group<32>, e8m0fnu, sym::restricted>;
using mxfp8_e5m2 = scheme<fp8_e5m2, group<32>, e8m0fnu, sym::restricted>;
/// MXINT8: int8 elements with the implicit 2^-6 folded into the stored scale. The stored e8m0
/// byte is therefore the OCP scale byte minus 6; values are identical to OCP MXINT8.
using mxint8 = scheme<int_sym<8>, group<32>, e8m0fnu, sym::restricted>;
/// NVFP4: e2m1 elements, 16-element blocks with an fp8 e4m3 scale, under an fp32 tensor scale.
/// Quantized as NVIDIA TransformerEngine does (FORMATS.md 6.2): S_enc = 448*6/amax_tensor,
/// s_b = e4m3_rne_sat(amax_b/6 * S_enc), elements e2m1_rne_sat(x * 1/(s_b * S_dec)), S_dec = 1/S_enc.
using nvfp4 = scheme<fp4_e2m1fn, group<16>, fp8_e4m3fn, sym::restricted, fp32_tensor_scale>;

/// Two-level "k-quant" schemes: 256-column super-blocks with an fp16 super-scale (and super-min)
/// over small integer sub-scales (and mins). These five have exactly the meaning and the bits per
/// weight of ggml's Q2_K .. Q6_K (mixq::ggml::<type>::scheme names them, and
/// mixq::ggml::to_matrix / from_matrix convert blocks losslessly); any other combination works
/// the same way, e.g. scheme<uint_format<3>, group<32>, uint_format<6>,
/// asym::sub_min<uint_format<6>>, super_block<256, bf16>>.
using kq2 = scheme<uint_format<2>, group<16>, uint_format<4>, asym::sub_min<uint_format<4>>, super_block<256, fp16>>;
using kq3 = scheme<int_format<3>, group<16>, int_format<6>, sym::signed_extreme, super_block<256, fp16>>;
using kq4 = scheme<uint_format<4>, group<32>, uint_format<6>, asym::sub_min<uint_format<6>>, super_block<256, fp16>>;
using kq5 = scheme<uint_format<5>, group<32>, uint_format<6>, asym::sub_min<uint_format<6>>, super_block<256, fp16>>;
using kq6 = scheme<int_format<6>, group<16>, int_format<8>, sym::signed_extreme, super_block<256, fp16>>;

}  // namespace mixq

MIXQ_BEGIN_NAMESPACE
/// "int4 g128 fp16 asym(int zero)" and the like.
template <Scheme S>
std::string scheme_name() {
  std::string g;
  if constexpr (S::is_per_tensor) g = "tensor";
  else if constexpr (S::is_per_channel) g = "channel";
  else {
    g = "g";
    g += std::to_string(S::granularity::size);
  }
  std::string z = "sym";
  if constexpr (std::is_same_v<typename S::zero_policy, sym::gptq>) z = "sym-gptq";
  if constexpr (std::is_same_v<typename S::zero_policy, sym::signed_extreme>) z = "sym-extreme";
  if constexpr (S::has_int_zero) z = "asym";
  if constexpr (S::has_float_zero) z = "asym-float-zero";
  if constexpr (S::has_float_min) z = "asym-float-min";
  if constexpr (S::has_sub_min) {
    z = "asym-min:";
    z += format_name<typename S::zero_policy::min_format>();
  }
  std::string sf = "fp32";
  if constexpr (!std::is_same_v<typename S::scale_format, fp32>) sf = format_name<typename S::scale_format>();
  // Appended piece by piece: GCC 12 warns falsely (-Wrestrict, PR105651) on chained operator+.
  std::string out = format_name<typename S::format>();
  out += ' ';
  out += g;
  out += ' ';
  out += sf;
  if (S::has_tensor_scale) out += "*fp32";
  if constexpr (S::has_super_blocks) {
    out += "*";
    out += format_name<typename S::tensor_scale::format>();
    out += "/";
    out += std::to_string(S::tensor_scale::size);
  }
  out += ' ';
  out += z;
  return out;
}
MIXQ_END_NAMESPACE
