// Every ggml block type is an instance of a mixq scheme (the tag's `scheme`): a block is read into
// the fields that scheme stores (its scale code, its min, or the K types' super-scales with one
// sub-scale and min code per sub-block; one code per value, all in the scheme's own code formats)
// and written back from them, losslessly in both directions. to_matrix / from_matrix convert whole
// matrices, and ggml's dequantizers are the scheme's definition applied to those fields, so the
// two share one formula.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "../../layout/quantized_matrix.hpp"
#include "common.hpp"

MIXQ_GGML_EXACT_FP_BEGIN
namespace mixq::ggml {
inline namespace MIXQ_ISA_NS {
namespace detail {

/// 32 values in 16 bytes: byte j holds value j (low nibble) and value j + 16 (high nibble); with
/// `qh`, bit j of the LE uint32 at qh is bit 4 of value j (Q5_0, Q5_1).
inline void read_nibbles32(const std::uint8_t* qs, const std::uint8_t* qh, std::uint8_t* q) noexcept {
  const std::uint32_t h = qh ? load_le32(qh) : 0u;
  for (int j = 0; j < 16; ++j) {
    q[j] = static_cast<std::uint8_t>((qs[j] & 0x0f) | (((h >> j) & 1u) << 4));
    q[j + 16] = static_cast<std::uint8_t>((qs[j] >> 4) | (((h >> (j + 16)) & 1u) << 4));
  }
}
inline void write_nibbles32(const std::uint8_t* q, std::uint8_t* qs, std::uint8_t* qh) noexcept {
  std::uint32_t h = 0;
  for (int j = 0; j < 16; ++j) {
    qs[j] = static_cast<std::uint8_t>((q[j] & 0x0f) | ((q[j + 16] & 0x0f) << 4));
    h |= static_cast<std::uint32_t>((q[j] >> 4) & 1u) << j;
    h |= static_cast<std::uint32_t>((q[j + 16] >> 4) & 1u) << (j + 16);
  }
  if (qh) store_le32(qh, h);
}

/// One ggml block as its scheme stores it.
struct block_fields {
  /// Single-level types: the unit's scale code (fp16 bits; MXFP4: the e8m0 byte) and, for
  /// asym::float_min (Q4_1, Q5_1), the min's fp16 bits. K types: the super-scale d and super-min dmin.
  std::uint16_t d = 0, dmin = 0;
  std::uint8_t sc[16] = {};  ///< K types: sub-scale codes (scheme's scale format), one per sub-block
  std::uint8_t mn[16] = {};  ///< K types: min codes (asym::sub_min), one per sub-block
  std::uint8_t q[256] = {};  ///< element codes of the scheme's format
};

/// The scheme's dequantize_reference on whole blocks: y = s * v(q) [- m], with s = d (single
/// level) or d * v(sc_j) (K types) and the min as the scheme defines it.
template <class T>
void scheme_dequantize(const std::uint8_t* in, std::size_t nblocks, float* y) noexcept {
  using S = typename T::scheme;
  using SF = typename S::scale_format;
  constexpr std::size_t G = S::granularity::size, units = T::block_elems / G;
  block_fields f;
  for (std::size_t b = 0; b < nblocks; ++b, in += T::block_bytes) {
    ggml_codec<T>::read_fields(in, f);
    for (std::size_t j = 0; j < units; ++j) {
      float s, m = 0;
      if constexpr (S::has_super_blocks) {
        s = from_half(f.d) * ::mixq::decode_scale<SF>(f.sc[j]);
        if constexpr (S::has_sub_min)
          m = from_half(f.dmin) * ::mixq::decode_scale<typename S::zero_policy::min_format>(f.mn[j]);
      } else {
        s = ::mixq::decode_scale<SF>(static_cast<scale_code_t<SF>>(f.d));
        if constexpr (S::has_float_min) m = -::mixq::decode_scale<SF>(static_cast<scale_code_t<SF>>(f.dmin));
      }
      for (std::size_t l = 0; l < G; ++l, ++y) {
        if constexpr (S::has_min) *y = s * ::mixq::code_value<S>(f.q[j * G + l]) - m;
        else *y = s * ::mixq::code_value<S>(f.q[j * G + l]);
      }
    }
  }
}

template <class T>
std::size_t checked_matrix_bytes(const char* fn, std::size_t bytes, std::size_t rows, std::size_t cols) {
  const std::size_t need = rows * (cols / T::block_elems * T::block_bytes);
  if (bytes != need)
    throw ::mixq::error(type_label(fn, T::name) + ": buffer has " + std::to_string(bytes) + " bytes; a " +
                        std::to_string(rows) + " x " + std::to_string(cols) + " matrix needs " + std::to_string(need));
  return need;
}

}  // namespace detail

/// A rows x cols matrix of ggml blocks of type T (rows of row_size<T>(cols) bytes, as in a GGUF
/// tensor) as a quantized_matrix of T::scheme holding the same codes, scales and mins:
/// dequantize_reference of the result equals dequantize_row of every row bit for bit (MXFP4:
/// equal values; ggml's table gives +0 where the E2M1 code means -0), and from_matrix gives
/// back the same bytes. `bytes` must be rows * row_size<T>(cols). Throws mixq::error otherwise.
template <class T>
::mixq::quantized_matrix<typename T::scheme> to_matrix(const void* data, std::size_t bytes, std::size_t rows,
                                                       std::size_t cols) {
  using S = typename T::scheme;
  detail::check_count<T>("to_matrix", cols);
  detail::check_pointer<T>("to_matrix", data, "data", cols, "rows * row_size(cols) readable bytes");
  ::mixq::quantized_matrix<S> m(rows, cols);
  detail::checked_matrix_bytes<T>("to_matrix", bytes, rows, cols);
  constexpr std::size_t E = T::block_elems, nu = E / S::granularity::size;
  const auto* in = static_cast<const std::uint8_t*>(data);
  std::vector<std::uint8_t> codes(cols);
  detail::block_fields f;
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t b = 0; b < cols / E; ++b, in += T::block_bytes) {
      detail::ggml_codec<T>::read_fields(in, f);
      const std::size_t blk = r * (cols / E) + b;  // super-block (K types) or unit
      if constexpr (S::has_super_blocks) {
        m.set_super_scale(blk, f.d);
        if constexpr (S::has_sub_min) m.set_super_min(blk, f.dmin);
        for (std::size_t j = 0; j < nu; ++j) {
          m.scales()[blk * nu + j] = f.sc[j];
          if constexpr (S::has_sub_min) m.set_sub_min(blk * nu + j, f.mn[j]);
        }
      } else {
        m.scales()[blk] = static_cast<scale_code_t<typename S::scale_format>>(f.d);
        if constexpr (S::has_float_min) m.set_float_min(blk, f.dmin);
      }
      std::memcpy(codes.data() + b * E, f.q, E);
    }
    ::mixq::detail::pack_codes(m.codes(r), codes.data(), cols, S::code_bits);
  }
  return m;
}

/// The ggml blocks of type T holding the matrix m (the inverse of to_matrix): writes
/// rows * row_size<T>(cols) bytes to out; `bytes` must be that size. Throws mixq::error otherwise.
template <class T>
void from_matrix(const ::mixq::quantized_matrix_view<typename T::scheme>& m, void* out, std::size_t bytes) {
  using S = typename T::scheme;
  const std::size_t rows = m.rows(), cols = m.cols();
  detail::check_count<T>("from_matrix", cols);
  detail::check_pointer<T>("from_matrix", out, "out", cols, "rows * row_size(cols) writable bytes");
  detail::checked_matrix_bytes<T>("from_matrix", bytes, rows, cols);
  constexpr std::size_t E = T::block_elems, nu = E / S::granularity::size;
  auto* o = static_cast<std::uint8_t*>(out);
  detail::block_fields f;
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t b = 0; b < cols / E; ++b, o += T::block_bytes) {
      const std::size_t blk = r * (cols / E) + b;
      if constexpr (S::has_super_blocks) {
        f.d = m.super_scales()[blk];
        f.dmin = S::has_sub_min ? m.super_mins()[blk] : std::uint16_t{0};
        for (std::size_t j = 0; j < nu; ++j) {
          f.sc[j] = m.scales()[blk * nu + j];
          f.mn[j] = S::has_sub_min ? m.sub_mins()[blk * nu + j] : std::uint8_t{0};
        }
      } else {
        f.d = static_cast<std::uint16_t>(m.scales()[blk]);
        if constexpr (S::has_float_min)
          f.dmin = reinterpret_cast<const std::uint16_t*>(m.base + m.layout.zeros_offset)[blk];
      }
      for (std::size_t i = 0; i < E; ++i) f.q[i] = static_cast<std::uint8_t>(m.code(r, b * E + i));
      detail::ggml_codec<T>::write_fields(f, o);
    }
  }
}

}  // namespace MIXQ_ISA_NS
}  // namespace mixq::ggml
MIXQ_GGML_EXACT_FP_END
