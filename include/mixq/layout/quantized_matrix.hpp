// quantized_matrix<Scheme>: packed codes, scales and zeros of a row-major M x K weight matrix
// (rows = output channels), owning or as a non-owning view over an engine's own memory.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "../error.hpp"
#include "../scheme/scheme.hpp"
#include "aligned_buffer.hpp"
#include "bitpack.hpp"

MIXQ_BEGIN_NAMESPACE
namespace detail {
/// Storage types of K-quant min codes and super-scale codes (unused byte for other schemes).
template <Scheme S>
struct min_code {
  using type = std::uint8_t;
};
template <Scheme S>
  requires S::has_sub_min
struct min_code<S> {
  using type = scale_code_t<typename S::zero_policy::min_format>;
};
template <Scheme S>
struct super_code {
  using type = std::uint8_t;
};
template <Scheme S>
  requires S::has_super_blocks
struct super_code<S> {
  using type = scale_code_t<typename S::tensor_scale::format>;
};
}  // namespace detail

/// Where each part of a quantized matrix lies in one contiguous buffer. All offsets are
/// multiples of 64 bytes:
///   codes  rows x code_row_bytes   b-bit codes of row r, LSB-first bit stream (bitpack.hpp),
///                                  each row padded to a multiple of 64 bytes
///   scales units x sizeof(scale)   scale codes, row-major over (row, group); 1 for per-tensor
///   zeros  int zero:   rows x zero_row_bytes, b-bit zero codes per (row, group), LSB-first
///          float zero: units x sizeof(scale), zero values in the scale format
///          sub min:    units x sizeof(min code), K-quant min codes (asym::sub_min)
///          float min:  units x sizeof(scale), the unit minima m in the scale format (asym::float_min)
///   tensor one fp32 tensor scale, for schemes with fp32_tensor_scale
///   super  super_block schemes: rows x supers_per_row super-scale codes d, then (asym::sub_min)
///          as many super-min codes dmin, row-major over (row, super-block)
template <Scheme S>
struct matrix_layout {
  using scale_t = scale_code_t<typename S::scale_format>;
  using min_t = typename detail::min_code<S>::type;
  using super_t = typename detail::super_code<S>::type;
  std::size_t rows = 0, cols = 0;
  std::size_t unit_cols = 0;       ///< columns per scale (cols for per-channel, all for per-tensor)
  std::size_t units_per_row = 0;   ///< 0 for per-tensor
  std::size_t units = 0;           ///< number of stored scales
  std::size_t code_row_bytes = 0, zero_row_bytes = 0;
  std::size_t scales_offset = 0, zeros_offset = 0, tensor_scale_offset = 0, total_bytes = 0;
  std::size_t supers_per_row = 0;    ///< super_block schemes: super-blocks per row
  std::size_t units_per_super = 0;   ///< super_block schemes: units per super-block
  std::size_t super_offset = 0, super_min_offset = 0;

  static matrix_layout make(std::size_t rows, std::size_t cols) {
    if (rows == 0 || cols == 0)
      throw error("quantized_matrix: shape " + std::to_string(rows) + " x " + std::to_string(cols) +
                  " is empty; expected rows > 0 and cols > 0");
    matrix_layout l;
    l.rows = rows;
    l.cols = cols;
    if constexpr (S::is_per_tensor) {
      l.unit_cols = cols;
      l.units_per_row = 0;
      l.units = 1;
    } else {
      l.unit_cols = S::unit_cols(cols);
      if (cols % l.unit_cols != 0)
        throw error("quantized_matrix: cols = " + std::to_string(cols) + " is not a multiple of the group size " +
                    std::to_string(l.unit_cols) + " of scheme '" + scheme_name<S>() + "'");
      l.units_per_row = cols / l.unit_cols;
      l.units = rows * l.units_per_row;
    }
    if constexpr (S::has_super_blocks) {
      constexpr std::size_t sb = S::tensor_scale::size;
      if (cols % sb != 0)
        throw error("quantized_matrix: cols = " + std::to_string(cols) + " is not a multiple of the super-block size " +
                    std::to_string(sb) + " of scheme '" + scheme_name<S>() + "'");
      l.supers_per_row = cols / sb;
      l.units_per_super = sb / l.unit_cols;
    }
    l.code_row_bytes = detail::round_up(detail::packed_bytes(cols, S::code_bits), detail::buffer_alignment);
    const std::size_t code_bytes = rows * l.code_row_bytes;
    l.scales_offset = code_bytes;
    std::size_t zero_bytes = 0;
    if constexpr (S::has_int_zero) {
      l.zero_row_bytes = detail::packed_bytes(S::is_per_tensor ? 1 : l.units_per_row, S::code_bits);
      zero_bytes = (S::is_per_tensor ? 1 : rows) * l.zero_row_bytes;
    } else if constexpr (S::has_float_zero || S::has_float_min) {
      zero_bytes = l.units * sizeof(scale_t);
    } else if constexpr (S::has_sub_min) {
      zero_bytes = l.units * sizeof(min_t);
    }
    l.zeros_offset = detail::round_up(l.scales_offset + l.units * sizeof(scale_t), detail::buffer_alignment);
    l.tensor_scale_offset = detail::round_up(l.zeros_offset + zero_bytes, detail::buffer_alignment);
    l.super_offset = l.tensor_scale_offset + (S::has_tensor_scale ? detail::buffer_alignment : 0);
    const std::size_t supers = rows * l.supers_per_row * sizeof(super_t);
    l.super_min_offset = detail::round_up(l.super_offset + supers, detail::buffer_alignment);
    l.total_bytes = S::has_sub_min ? detail::round_up(l.super_min_offset + supers, detail::buffer_alignment)
                                   : detail::round_up(l.super_offset + supers, detail::buffer_alignment);
    return l;
  }

  /// Stored information in bits, without padding: rows * cols codes, one scale (and zero or
  /// min) per unit, the super-scales of every super-block and the fp32 tensor scale if the
  /// scheme has them. bits_per_weight() is this over rows * cols; total_bytes * 8 is this plus
  /// padding (64-byte rows and sections; K-quant sub-scales and mins take a byte each here).
  std::size_t stored_bits() const noexcept {
    return rows * cols * static_cast<std::size_t>(S::code_bits) +
           units * static_cast<std::size_t>(S::scale_bits + S::zero_bits) + (S::has_tensor_scale ? 32u : 0u) +
           rows * supers_per_row * static_cast<std::size_t>(S::super_bits);
  }

  /// Stored information in bits per weight: codes, scales, zeros and super-scales, without padding.
  double bits_per_weight() const noexcept {
    const double n = static_cast<double>(rows) * static_cast<double>(cols);
    const double bits = n * S::code_bits + static_cast<double>(units) * (S::scale_bits + S::zero_bits) +
                        (S::has_tensor_scale ? 32.0 : 0.0) +
                        static_cast<double>(rows * supers_per_row) * static_cast<double>(S::super_bits);
    return bits / n;
  }
};

/// A non-owning view of a quantized matrix: pointers into memory laid out as matrix_layout says.
template <Scheme S>
struct quantized_matrix_view {
  using scheme_type = S;
  using scale_t = scale_code_t<typename S::scale_format>;
  using min_t = typename matrix_layout<S>::min_t;
  using super_t = typename matrix_layout<S>::super_t;
  matrix_layout<S> layout;
  const std::uint8_t* base = nullptr;

  /// View over an engine's own buffer (for example an mmapped file); checks its size.
  static quantized_matrix_view from_raw(std::size_t rows, std::size_t cols, const void* data, std::size_t bytes) {
    quantized_matrix_view v{matrix_layout<S>::make(rows, cols), static_cast<const std::uint8_t*>(data)};
    if (data == nullptr) throw error("quantized_matrix_view::from_raw: data is null");
    if (bytes != v.layout.total_bytes)
      throw error("quantized_matrix_view::from_raw: buffer has " + std::to_string(bytes) + " bytes; a " +
                  std::to_string(rows) + " x " + std::to_string(cols) + " '" + scheme_name<S>() + "' matrix needs " +
                  std::to_string(v.layout.total_bytes));
    return v;
  }

  std::size_t rows() const noexcept { return layout.rows; }
  std::size_t cols() const noexcept { return layout.cols; }
  std::size_t bytes() const noexcept { return layout.total_bytes; }
  double bits_per_weight() const noexcept { return layout.bits_per_weight(); }

  const std::uint8_t* codes(std::size_t r) const noexcept { return base + r * layout.code_row_bytes; }
  const scale_t* scales() const noexcept { return reinterpret_cast<const scale_t*>(base + layout.scales_offset); }
  /// Scale unit of column c in row r.
  std::size_t unit(std::size_t r, std::size_t c) const noexcept {
    if constexpr (S::is_per_tensor) return 0;
    else return r * layout.units_per_row + c / layout.unit_cols;
  }
  /// The fp32 tensor scale (1 for schemes without one).
  float tensor_scale() const noexcept {
    if constexpr (S::has_tensor_scale) {
      float t;
      std::memcpy(&t, base + layout.tensor_scale_offset, sizeof t);
      return t;
    } else {
      return 1.0f;
    }
  }
  /// Super-block of unit u (super_block schemes), row-major over (row, super-block).
  std::size_t super_of(std::size_t u) const noexcept {
    if constexpr (S::has_super_blocks)
      return u / layout.units_per_row * layout.supers_per_row + u % layout.units_per_row / layout.units_per_super;
    else return 0;
  }
  const super_t* super_scales() const noexcept { return reinterpret_cast<const super_t*>(base + layout.super_offset); }
  const super_t* super_mins() const noexcept { return reinterpret_cast<const super_t*>(base + layout.super_min_offset); }
  const min_t* sub_mins() const noexcept { return reinterpret_cast<const min_t*>(base + layout.zeros_offset); }
  /// Effective scale of unit u: the stored unit scale, times the tensor scale if the scheme has
  /// one; for super_block schemes fp32(d * v(sc_u)), the super-scale times the sub-scale's value.
  float scale(std::size_t u) const noexcept {
    const float s = decode_scale<typename S::scale_format>(scales()[u]);
    if constexpr (S::has_tensor_scale) {
      return s * tensor_scale();
    } else if constexpr (S::has_super_blocks) {
      return decode_scale<typename S::tensor_scale::format>(super_scales()[super_of(u)]) * s;
    } else {
      return s;
    }
  }
  /// The min subtracted after scaling, w = s * v(q) - min(u): asym::sub_min fp32(dmin * v(mc_u));
  /// asym::float_min -m_u (w = s * q + m_u, exactly); 0 for other schemes.
  float min(std::size_t u) const noexcept {
    if constexpr (S::has_float_min) {
      return -decode_scale<typename S::scale_format>(reinterpret_cast<const scale_t*>(base + layout.zeros_offset)[u]);
    } else if constexpr (S::has_sub_min) {
      return decode_scale<typename S::tensor_scale::format>(super_mins()[super_of(u)]) *
             decode_scale<typename S::zero_policy::min_format>(sub_mins()[u]);
    } else {
      (void)u;
      return 0.0f;
    }
  }
  /// Decoded zero of unit u (0 for symmetric schemes).
  float zero(std::size_t u) const noexcept {
    if constexpr (S::has_int_zero) {
      const std::size_t per_row = S::is_per_tensor ? 1 : layout.units_per_row;
      const std::size_t r = u / per_row, g = u % per_row;
      return static_cast<float>(detail::get_code(base + layout.zeros_offset + r * layout.zero_row_bytes, g, S::code_bits));
    } else if constexpr (S::has_float_zero) {
      return decode_scale<typename S::scale_format>(
          reinterpret_cast<const scale_t*>(base + layout.zeros_offset)[u]);
    } else {
      return 0.0f;
    }
  }
  unsigned code(std::size_t r, std::size_t c) const noexcept { return detail::get_code(codes(r), c, S::code_bits); }
};

/// The value a code stands for before scaling: the format's value, or the unsigned integer
/// for asymmetric schemes.
template <Scheme S>
constexpr float code_value(unsigned q) noexcept {
  if constexpr (S::is_asymmetric) return static_cast<float>(q);
  else return decode<typename S::format>(static_cast<code_t<typename S::format>>(q));
}

/// The definition of what a quantized matrix means: w[r][c] = s * (v(q) - z), in fp32, where s is
/// the effective scale of the unit (view.scale(u): unit scale, times the tensor scale if any).
/// Schemes with mins (asym::sub_min, asym::float_min): w[r][c] = s * q - m (two roundings, never
/// fused: ggml's (d * sc) * q - (dmin * m) and q * d + m), with m = view.min(u).
/// Writes rows [row_begin, row_end) into out (row-major, cols floats per row).
MIXQ_EXACT_FP_BEGIN
template <Scheme S>
void dequantize_reference(const quantized_matrix_view<S>& m, float* out, std::size_t row_begin, std::size_t row_end) {
  const std::size_t K = m.cols();
  for (std::size_t r = row_begin; r < row_end; ++r) {
    for (std::size_t c = 0; c < K; ++c) {
      const std::size_t u = m.unit(r, c);
      if constexpr (S::has_min)
        out[(r - row_begin) * K + c] = m.scale(u) * code_value<S>(m.code(r, c)) - m.min(u);
      else
        out[(r - row_begin) * K + c] = m.scale(u) * (code_value<S>(m.code(r, c)) - m.zero(u));
    }
  }
}
MIXQ_EXACT_FP_END

/// An owning quantized matrix. Copyable; storage is one 64-byte aligned buffer.
template <Scheme S>
class quantized_matrix {
 public:
  using scheme_type = S;
  using scale_t = scale_code_t<typename S::scale_format>;

  quantized_matrix() = default;
  /// All codes, scales and zeros zero.
  quantized_matrix(std::size_t rows, std::size_t cols)
      : layout_(matrix_layout<S>::make(rows, cols)), buf_(layout_.total_bytes) {}

  /// Copy of a raw buffer in the layout of matrix_layout (for example read from a file).
  static quantized_matrix from_raw(std::size_t rows, std::size_t cols, std::span<const std::byte> raw) {
    const auto v = quantized_matrix_view<S>::from_raw(rows, cols, raw.data(), raw.size());
    quantized_matrix m(rows, cols);
    std::memcpy(m.buf_.data(), v.base, raw.size());
    return m;
  }
  /// The whole storage, for writing to a file or handing to an engine.
  std::span<const std::byte> raw() const noexcept {
    return {reinterpret_cast<const std::byte*>(buf_.data()), buf_.size()};
  }

  std::size_t rows() const noexcept { return layout_.rows; }
  std::size_t cols() const noexcept { return layout_.cols; }
  std::size_t bytes() const noexcept { return layout_.total_bytes; }
  double bits_per_weight() const noexcept { return layout_.bits_per_weight(); }
  const matrix_layout<S>& layout() const noexcept { return layout_; }
  quantized_matrix_view<S> view() const noexcept { return {layout_, buf_.data()}; }
  operator quantized_matrix_view<S>() const noexcept { return view(); }

  // Writers used by the calibrators.
  std::uint8_t* codes(std::size_t r) noexcept { return buf_.data() + r * layout_.code_row_bytes; }
  void set_code(std::size_t r, std::size_t c, unsigned q) noexcept { detail::put_code(codes(r), c, S::code_bits, q); }
  scale_t* scales() noexcept { return reinterpret_cast<scale_t*>(buf_.data() + layout_.scales_offset); }
  void set_int_zero(std::size_t u, unsigned z) noexcept requires(S::has_int_zero) {
    const std::size_t per_row = S::is_per_tensor ? 1 : layout_.units_per_row;
    detail::put_code(buf_.data() + layout_.zeros_offset + (u / per_row) * layout_.zero_row_bytes, u % per_row,
                     S::code_bits, z);
  }
  void set_float_min(std::size_t u, scale_t m) noexcept requires(S::has_float_min) {
    reinterpret_cast<scale_t*>(buf_.data() + layout_.zeros_offset)[u] = m;
  }
  void set_float_zero(std::size_t u, scale_t z) noexcept requires(S::has_float_zero) {
    reinterpret_cast<scale_t*>(buf_.data() + layout_.zeros_offset)[u] = z;
  }
  void set_tensor_scale(float t) noexcept requires(S::has_tensor_scale) {
    std::memcpy(buf_.data() + layout_.tensor_scale_offset, &t, sizeof t);
  }
  using min_t = typename matrix_layout<S>::min_t;
  using super_t = typename matrix_layout<S>::super_t;
  /// super_block schemes: the super-scale (and super-min) code of super-block sb, and the min code of unit u.
  void set_super_scale(std::size_t sb, super_t d) noexcept requires(S::has_super_blocks) {
    reinterpret_cast<super_t*>(buf_.data() + layout_.super_offset)[sb] = d;
  }
  void set_super_min(std::size_t sb, super_t dmin) noexcept requires(S::has_sub_min) {
    reinterpret_cast<super_t*>(buf_.data() + layout_.super_min_offset)[sb] = dmin;
  }
  void set_sub_min(std::size_t u, min_t mc) noexcept requires(S::has_sub_min) {
    reinterpret_cast<min_t*>(buf_.data() + layout_.zeros_offset)[u] = mc;
  }

 private:
  matrix_layout<S> layout_{};
  detail::aligned_buffer buf_;
};

/// Dequantize a whole matrix (scalar reference) into out (rows x cols floats).
template <Scheme S>
void dequantize_reference(const quantized_matrix<S>& m, float* out) {
  dequantize_reference(m.view(), out, 0, m.rows());
}

MIXQ_END_NAMESPACE
