// GGUF (version 3; version 2 files read too): reader over a memory-mapped file and writer.
//
// Layout (little-endian): "GGUF" u32 version u64 tensor_count u64 kv_count; kv_count metadata
// pairs (gguf string key, u32 value type, value; arrays are u32 element type, u64 count,
// elements); tensor_count tensor infos (name, u32 n_dims <= 4, u64 ne[n_dims] with ne[0] the
// contiguous dimension, u32 ggml type, u64 offset relative to the data section, a multiple of
// the alignment); then the data section at the first multiple of general.alignment (u32,
// default 32). A gguf string is a u64 length and that many bytes.
//
// Files are untrusted. The reader checks every count, length, type, dimension, offset and the
// alignment before use, computes every size with overflow checks, and reports a corrupt or
// truncated file with a mixq::error naming what was wrong, the file offset and what was expected.
//
// mixq's own schemes are stored as GGML_TYPE_I8 byte blobs (1-D, ne[0] = bytes) holding
// quantized_matrix<S>::raw() exactly, described by metadata:
//   mixq.layout          u32    layout version of the blobs (1)
//   mixq.scheme.<tensor> string scheme_id<S>() (scheme_name, plus a table fingerprint for codebooks)
//   mixq.shape.<tensor>  u64[2] rows, cols
// so llama.cpp's reader still loads such files (it sees i8 tensors), and a file written by mixq
// reads back bit-exactly. ggml-typed tensors follow the published format, and the writer keeps to
// what llama.cpp's gguf reader requires (names < 64 bytes, tensors laid out in order, each
// padded to the alignment, non-empty keys, u32 general.alignment).
#pragma once
#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "../error.hpp"
#include "../format/codec.hpp"
#include "../layout/quantized_matrix.hpp"
#include "../scheme/ggml.hpp"
#include "../scheme/scheme.hpp"
#include "checked.hpp"
#include "ggml_types.hpp"
#include "mmap.hpp"

namespace mixq::gguf {

/// GGUF metadata value types (gguf_type).
enum class value_type : std::uint32_t {
  u8 = 0,
  i8 = 1,
  u16 = 2,
  i16 = 3,
  u32 = 4,
  i32 = 5,
  f32 = 6,
  boolean = 7,
  string = 8,
  array = 9,
  u64 = 10,
  i64 = 11,
  f64 = 12,
};

inline constexpr std::uint32_t magic = 0x46554747u;  ///< "GGUF" read as a little-endian u32
inline constexpr std::uint32_t version = 3;
inline constexpr std::uint32_t default_alignment = 32;
inline constexpr std::uint32_t max_alignment = 1u << 20;  ///< llama.cpp's limit
inline constexpr std::size_t max_dims = 4;
inline constexpr std::size_t max_key_bytes = 65535;
/// Longest tensor name llama.cpp accepts (GGML_MAX_NAME - 1). The writer enforces it; the reader
/// accepts names up to max_key_bytes.
inline constexpr std::size_t max_name_bytes = 63;
/// Layout version of mixq scheme blobs (mixq.layout).
inline constexpr std::uint32_t mixq_layout_version = 1;

/// The C++ type of each scalar value type.
template <class T>
struct value_type_of;
template <> struct value_type_of<std::uint8_t> { static constexpr value_type v = value_type::u8; };
template <> struct value_type_of<std::int8_t> { static constexpr value_type v = value_type::i8; };
template <> struct value_type_of<std::uint16_t> { static constexpr value_type v = value_type::u16; };
template <> struct value_type_of<std::int16_t> { static constexpr value_type v = value_type::i16; };
template <> struct value_type_of<std::uint32_t> { static constexpr value_type v = value_type::u32; };
template <> struct value_type_of<std::int32_t> { static constexpr value_type v = value_type::i32; };
template <> struct value_type_of<float> { static constexpr value_type v = value_type::f32; };
template <> struct value_type_of<bool> { static constexpr value_type v = value_type::boolean; };
template <> struct value_type_of<std::string> { static constexpr value_type v = value_type::string; };
template <> struct value_type_of<std::uint64_t> { static constexpr value_type v = value_type::u64; };
template <> struct value_type_of<std::int64_t> { static constexpr value_type v = value_type::i64; };
template <> struct value_type_of<double> { static constexpr value_type v = value_type::f64; };

/// A C++ type that a GGUF value can hold.
template <class T>
concept value_element = requires { value_type_of<T>::v; };

inline namespace MIXQ_ISA_NS {

/// One tensor's record from the file (or for the writer).
struct tensor_info {
  std::string name;
  std::uint32_t n_dims = 0;                      ///< 0..4 (0: a scalar)
  std::array<std::uint64_t, max_dims> ne{1, 1, 1, 1};  ///< ne[0] is the contiguous dimension
  std::uint32_t type = 0;                        ///< GGML_TYPE_* id (ggml_types.hpp)
  std::uint64_t offset = 0;                      ///< from the start of the data section
  std::uint64_t n_elements = 0;
  std::uint64_t n_bytes = 0;
  std::uint64_t info_offset = 0;                 ///< file offset of this record (for messages)

  std::uint64_t cols() const noexcept { return ne[0]; }
  /// Rows of the tensor seen as a matrix: ne[1] * ne[2] * ne[3].
  std::uint64_t rows() const noexcept { return ne[0] ? n_elements / ne[0] : 0; }
};

/// A ggml-typed matrix in place (for example in a mapped GGUF file): `rows` rows of `cols`
/// values, each row row_bytes() bytes of T blocks (T one of the mixq::ggml tags).
template <class T>
struct ggml_matrix_view {
  std::size_t rows = 0, cols = 0;
  const std::uint8_t* base = nullptr;

  std::size_t row_bytes() const noexcept { return cols / T::block_elems * T::block_bytes; }
  std::size_t bytes() const noexcept { return rows * row_bytes(); }
  const std::uint8_t* row(std::size_t r) const noexcept { return base + r * row_bytes(); }
};

constexpr const char* type_name(value_type t) noexcept {
  switch (t) {
    case value_type::u8: return "u8";
    case value_type::i8: return "i8";
    case value_type::u16: return "u16";
    case value_type::i16: return "i16";
    case value_type::u32: return "u32";
    case value_type::i32: return "i32";
    case value_type::f32: return "f32";
    case value_type::boolean: return "bool";
    case value_type::string: return "string";
    case value_type::array: return "array";
    case value_type::u64: return "u64";
    case value_type::i64: return "i64";
    case value_type::f64: return "f64";
  }
  return "?";
}

/// Bytes of one element in the file (strings: the minimum, an empty string's length field).
constexpr std::uint64_t element_file_bytes(value_type t) noexcept {
  switch (t) {
    case value_type::u8: case value_type::i8: case value_type::boolean: return 1;
    case value_type::u16: case value_type::i16: return 2;
    case value_type::u32: case value_type::i32: case value_type::f32: return 4;
    case value_type::u64: case value_type::i64: case value_type::f64: case value_type::string: return 8;
    case value_type::array: return 0;
  }
  return 0;
}

constexpr bool valid_element_type(std::uint32_t t) noexcept { return t <= 12 && t != 9; }

/// A metadata value: a scalar or a (non-nested) array of one element type.
///     gguf::value(std::uint32_t{32}), gguf::value("llama"), gguf::value::array(std::vector<float>{...})
class value {
 public:
  using storage = std::variant<std::vector<std::uint8_t>, std::vector<std::int8_t>, std::vector<std::uint16_t>,
                               std::vector<std::int16_t>, std::vector<std::uint32_t>, std::vector<std::int32_t>,
                               std::vector<float>, std::vector<bool>, std::vector<std::string>,
                               std::vector<std::uint64_t>, std::vector<std::int64_t>, std::vector<double>>;

  value() : value(std::uint32_t{0}) {}
  template <value_element T>
  explicit value(T v) : elem_(value_type_of<T>::v), data_(std::vector<T>{std::move(v)}) {}
  explicit value(const char* s) : value(std::string(s)) {}
  explicit value(std::string_view s) : value(std::string(s)) {}

  /// An array value.
  template <value_element T>
  static value array(std::vector<T> v) {
    value r;
    r.elem_ = value_type_of<T>::v;
    r.array_ = true;
    r.data_ = std::move(v);
    return r;
  }

  /// value_type::array for arrays, else the scalar's type.
  value_type type() const noexcept { return array_ ? value_type::array : elem_; }
  /// The scalar's type, or the arrays's element type.
  value_type elem_type() const noexcept { return elem_; }
  bool is_array() const noexcept { return array_; }
  /// Number of elements (1 for a scalar).
  std::size_t size() const noexcept {
    return std::visit([](const auto& v) { return v.size(); }, data_);
  }

  template <value_element T>
  bool holds() const noexcept {
    return !array_ && elem_ == value_type_of<T>::v;
  }
  /// The scalar, which must be exactly of type T (else mixq::error).
  template <value_element T>
  T get() const {
    if (!holds<T>())
      throw error(std::string("gguf::value::get: the value is ") + describe_type() + "; requested " +
                  type_name(value_type_of<T>::v));
    return std::get<std::vector<T>>(data_)[0];
  }
  /// The string scalar (else mixq::error).
  const std::string& str() const {
    if (!holds<std::string>())
      throw error(std::string("gguf::value::str: the value is ") + describe_type() + "; expected a string");
    return std::get<std::vector<std::string>>(data_)[0];
  }
  /// The elements of an array of T (else mixq::error).
  template <value_element T>
  const std::vector<T>& array() const {
    if (!array_ || elem_ != value_type_of<T>::v)
      throw error(std::string("gguf::value::array: the value is ") + describe_type() + "; requested an array of " +
                  type_name(value_type_of<T>::v));
    return std::get<std::vector<T>>(data_);
  }
  const storage& data() const noexcept { return data_; }

  /// An integer scalar of any integer type as u64 (nullopt for other types or negative values).
  std::optional<std::uint64_t> as_uint() const noexcept {
    if (array_) return std::nullopt;
    return std::visit(
        [](const auto& v) -> std::optional<std::uint64_t> {
          using T = typename std::decay_t<decltype(v)>::value_type;
          if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
            if constexpr (std::is_signed_v<T>)
              if (v[0] < 0) return std::nullopt;
            return static_cast<std::uint64_t>(v[0]);
          } else {
            return std::nullopt;
          }
        },
        data_);
  }

  std::string describe_type() const {
    if (!array_) return type_name(elem_);
    return std::string("array of ") + std::to_string(size()) + " " + type_name(elem_);
  }

  /// A short printable form: 42, 1.5, "text", [1, 2, 3, ... (100 elements)].
  std::string to_string(std::size_t max_elems = 8) const {
    std::string out;
    std::visit(
        [&](const auto& v) {
          using T = typename std::decay_t<decltype(v)>::value_type;
          const std::size_t n = std::min(v.size(), array_ ? max_elems : std::size_t{1});
          if (array_) out += '[';
          for (std::size_t i = 0; i < n; ++i) {
            if (i) out += ", ";
            if constexpr (std::is_same_v<T, std::string>) {
              out += '"';
              out += io_detail::printable(v[i], 80);
              out += '"';
            } else if constexpr (std::is_same_v<T, bool>) {
              out += v[i] ? "true" : "false";
            } else if constexpr (std::is_floating_point_v<T>) {
              char buf[32];
              std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v[i]));
              out += buf;
            } else {
              out += std::to_string(v[i]);
            }
          }
          if (array_) {
            if (v.size() > n) out += ", ... (" + std::to_string(v.size()) + " elements)";
            out += ']';
          }
        },
        data_);
    return out;
  }

  /// Bitwise equality (NaNs with equal bits are equal).
  friend bool operator==(const value& a, const value& b) noexcept {
    if (a.elem_ != b.elem_ || a.array_ != b.array_ || a.data_.index() != b.data_.index()) return false;
    return std::visit(
        [&](const auto& va) {
          using V = std::decay_t<decltype(va)>;
          const V& vb = std::get<V>(b.data_);
          if (va.size() != vb.size()) return false;
          using T = typename V::value_type;
          if constexpr (std::is_floating_point_v<T>) {
            for (std::size_t i = 0; i < va.size(); ++i)
              if (std::memcmp(&va[i], &vb[i], sizeof(T)) != 0) return false;
            return true;
          } else {
            return va == vb;
          }
        },
        a.data_);
  }

 private:
  value_type elem_ = value_type::u32;
  bool array_ = false;
  storage data_;
};

namespace detail {

inline std::string quote(std::string_view s) {
  std::string q = "'";  // appended piece by piece: GCC 12 -Wrestrict false positive (PR105651)
  q += io_detail::printable(s);
  q += '\'';
  return q;
}

template <class T>
void put(std::vector<std::byte>& out, T v) {
  io_detail::append_bytes(out, &v, sizeof(T));
}
inline void put_string(std::vector<std::byte>& out, std::string_view s) {
  put<std::uint64_t>(out, s.size());
  io_detail::append_bytes(out, s.data(), s.size());
}

/// Serializes a value's type-specific part (without the key).
inline void put_value(std::vector<std::byte>& out, const value& v) {
  put<std::uint32_t>(out, static_cast<std::uint32_t>(v.type()));
  if (v.is_array()) {
    put<std::uint32_t>(out, static_cast<std::uint32_t>(v.elem_type()));
    put<std::uint64_t>(out, v.size());
  }
  std::visit(
      [&](const auto& vec) {
        using T = typename std::decay_t<decltype(vec)>::value_type;
        for (const auto& e : vec) {
          if constexpr (std::is_same_v<T, std::string>) put_string(out, e);
          else if constexpr (std::is_same_v<T, bool>) put<std::uint8_t>(out, e ? 1 : 0);
          else put<T>(out, e);
        }
      },
      v.data());
}

template <class T>
std::vector<T> read_elems(io_detail::cursor& c, std::uint64_t n, std::string_view what) {
  std::vector<T> out;
  if constexpr (std::is_same_v<T, std::string>) {
    c.need(io_detail::checked_mul(n, 8, what), what);  // every string has at least its length field
    out.reserve(static_cast<std::size_t>(n));
    for (std::uint64_t i = 0; i < n; ++i) {
      const std::uint64_t at = c.offset();
      const auto len = c.read<std::uint64_t>(what);
      if (len > c.remaining())
        c.fail_at(at, what, "string length " + std::to_string(len) + " exceeds the " + std::to_string(c.remaining()) +
                                " bytes left in the file");
      out.emplace_back(c.chars(len, what));
    }
  } else if constexpr (std::is_same_v<T, bool>) {
    c.need(n, what);
    out.reserve(static_cast<std::size_t>(n));
    for (std::uint64_t i = 0; i < n; ++i) {
      const std::uint64_t at = c.offset();
      const auto b = c.read<std::uint8_t>(what);
      if (b > 1) c.fail_at(at, what, "bool byte is " + std::to_string(b) + "; expected 0 or 1");
      out.push_back(b != 0);
    }
  } else {
    const auto bytes = c.bytes(io_detail::checked_mul(n, sizeof(T), what), what);
    out.resize(static_cast<std::size_t>(n));
    if (n) std::memcpy(out.data(), bytes.data(), bytes.size());
  }
  return out;
}

}  // namespace detail

/// A GGUF file: metadata, tensor infos, and the tensor bytes in place (memory-mapped when
/// opened from a path). Copies share the mapping; views handed out stay valid while any copy lives.
class file : public io_detail::parsed_image<file> {
  friend class io_detail::parsed_image<file>;

 public:
  std::uint32_t file_version() const noexcept { return version_; }
  std::uint32_t alignment() const noexcept { return alignment_; }
  /// File offset of the data section.
  std::uint64_t data_offset() const noexcept { return data_offset_; }

  const std::vector<std::pair<std::string, value>>& metadata() const noexcept { return kv_; }
  const value* find(std::string_view key) const noexcept {
    const auto it = kv_index_.find(key);
    return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
  }
  const value& at(std::string_view key) const {
    if (const value* v = find(key)) return *v;
    throw error("gguf: " + name_ + ": no metadata key " + detail::quote(key));
  }

  const std::vector<tensor_info>& tensors() const noexcept { return tensors_; }
  const tensor_info* find_tensor(std::string_view name) const noexcept {
    const auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
  }
  const tensor_info& tensor(std::string_view name) const {
    if (const tensor_info* t = find_tensor(name)) return *t;
    throw error("gguf: " + name_ + ": no tensor named " + detail::quote(name));
  }

  /// The tensor's bytes in place.
  std::span<const std::byte> data(const tensor_info& t) const noexcept {
    return bytes_.subspan(static_cast<std::size_t>(data_offset_ + t.offset), static_cast<std::size_t>(t.n_bytes));
  }

  /// An f32 tensor's values in place (no copy); throws for other types or misaligned data.
  std::span<const float> f32(const tensor_info& t) const {
    if (t.type != type_f32)
      throw error("gguf: " + name_ + ": tensor " + detail::quote(t.name) + " has ggml type " +
                  std::string(find_ggml_type(t.type)->name) + "; expected f32");
    const auto d = data(t);
    if (reinterpret_cast<std::uintptr_t>(d.data()) % alignof(float) != 0)
      throw error("gguf: " + name_ + ": tensor " + detail::quote(t.name) + " is not 4-byte aligned; use to_float()");
    return {reinterpret_cast<const float*>(d.data()), d.size() / 4};
  }

  /// The mixq scheme recorded for a tensor (mixq.scheme.<name>), or "" for other tensors.
  std::string scheme_of(std::string_view tensor_name) const {
    const value* v = find(scheme_key(tensor_name));
    return v && v->holds<std::string>() ? v->str() : std::string();
  }

  /// The tensor as fp32 values (ne[0] fastest): f32, f16, bf16, f64, i8/i16/i32/i64, and the
  /// ggml block types mixq decodes bit-exactly (q4_0 ... q6_k, iq4_nl, mxfp4). mixq scheme blobs
  /// need their scheme type: use matrix_view<S>.
  std::vector<float> to_float(const tensor_info& t) const {
    const std::uint8_t* p = reinterpret_cast<const std::uint8_t*>(data(t).data());
    const std::size_t n = io_detail::to_size(t.n_elements, "gguf: tensor elements");
    if (!scheme_of(t.name).empty())
      throw error("gguf: " + name_ + ": tensor " + detail::quote(t.name) + " holds mixq scheme '" + scheme_of(t.name) +
                  "'; read it with matrix_view<Scheme>() or matrix<Scheme>()");
    std::vector<float> out(n);
    auto conv = [&]<class T>(std::type_identity<T>, auto f) {
      for (std::size_t i = 0; i < n; ++i) {
        T v;
        std::memcpy(&v, p + i * sizeof(T), sizeof(T));
        out[i] = f(v);
      }
    };
    switch (t.type) {
      case type_f32: conv(std::type_identity<float>{}, [](float v) { return v; }); return out;
      case type_f16: conv(std::type_identity<std::uint16_t>{}, [](std::uint16_t v) { return decode<fp16>(v); }); return out;
      case type_bf16: conv(std::type_identity<std::uint16_t>{}, [](std::uint16_t v) { return decode<bf16>(v); }); return out;
      case type_f64: conv(std::type_identity<double>{}, [](double v) { return static_cast<float>(v); }); return out;
      case type_i8: conv(std::type_identity<std::int8_t>{}, [](std::int8_t v) { return static_cast<float>(v); }); return out;
      case type_i16: conv(std::type_identity<std::int16_t>{}, [](std::int16_t v) { return static_cast<float>(v); }); return out;
      case type_i32: conv(std::type_identity<std::int32_t>{}, [](std::int32_t v) { return static_cast<float>(v); }); return out;
      case type_i64: conv(std::type_identity<std::int64_t>{}, [](std::int64_t v) { return static_cast<float>(v); }); return out;
      default: break;
    }
    if (n == 0) return out;
    const std::size_t cols = static_cast<std::size_t>(t.ne[0]), rows = n / cols;
    const bool ok = decode_ggml<ggml::q4_0, ggml::q4_1, ggml::q5_0, ggml::q5_1, ggml::q8_0, ggml::q2_k, ggml::q3_k,
                                ggml::q4_k, ggml::q5_k, ggml::q6_k, ggml::iq4_nl, ggml::mxfp4>(t.type, p, rows, cols,
                                                                                                out.data());
    if (!ok)
      throw error("gguf: " + name_ + ": tensor " + detail::quote(t.name) + " has ggml type " +
                  std::string(find_ggml_type(t.type)->name) + ", which mixq cannot decode (decodable: f32 f16 bf16 " +
                  "f64 i8 i16 i32 i64 q4_0 q4_1 q5_0 q5_1 q8_0 q2_K q3_K q4_K q5_K q6_K iq4_nl mxfp4)");
    return out;
  }

  /// A ggml-typed tensor as a matrix view in place: cols = ne[0], rows = ne[1]*ne[2]*ne[3].
  template <class T>
  ggml_matrix_view<T> ggml_view(std::string_view tensor_name) const {
    const tensor_info& t = tensor(tensor_name);
    if (t.type != static_cast<std::uint32_t>(T::type_id))
      throw error("gguf: " + name_ + ": tensor " + detail::quote(t.name) + " has ggml type " +
                  std::string(find_ggml_type(t.type)->name) + "; requested " + T::name);
    ggml_matrix_view<T> v;
    v.rows = static_cast<std::size_t>(t.rows());
    v.cols = static_cast<std::size_t>(t.cols());
    v.base = reinterpret_cast<const std::uint8_t*>(data(t).data());
    return v;
  }

  /// A mixq-scheme tensor as a quantized_matrix_view in place (no copy). The data must be
  /// 64-byte aligned in memory, which holds for files written by mixq (general.alignment 64) and
  /// opened with open(); otherwise use matrix<S>(), which copies.
  template <Scheme S>
  quantized_matrix_view<S> matrix_view(std::string_view tensor_name) const {
    const auto [t, rows, cols] = mixq_tensor<S>(tensor_name);
    const std::byte* p = data(*t).data();
    if (reinterpret_cast<std::uintptr_t>(p) % mixq::detail::buffer_alignment != 0)
      throw error("gguf: " + name_ + ": tensor " + detail::quote(t->name) + " data at file offset " +
                  std::to_string(data_offset_ + t->offset) + " is not " +
                  std::to_string(mixq::detail::buffer_alignment) +
                  "-byte aligned in memory; expected a file written with general.alignment >= 64 and mapped with "
                  "open() (or use matrix<S>(), which copies)");
    return quantized_matrix_view<S>::from_raw(rows, cols, p, static_cast<std::size_t>(t->n_bytes));
  }

  /// A mixq-scheme tensor copied into an owning quantized_matrix (any alignment).
  template <Scheme S>
  quantized_matrix<S> matrix(std::string_view tensor_name) const {
    const auto [t, rows, cols] = mixq_tensor<S>(tensor_name);
    return quantized_matrix<S>::from_raw(rows, cols, data(*t));
  }

  static std::string scheme_key(std::string_view tensor_name) { return "mixq.scheme." + std::string(tensor_name); }
  static std::string shape_key(std::string_view tensor_name) { return "mixq.shape." + std::string(tensor_name); }

 private:
  template <class... T>
  static bool decode_ggml(std::uint32_t id, const std::uint8_t* p, std::size_t rows, std::size_t cols, float* out) {
    return ([&] {
      if (id != static_cast<std::uint32_t>(T::type_id)) return false;
      const std::size_t rb = ggml::row_size<T>(cols);
      for (std::size_t r = 0; r < rows; ++r) ggml::dequantize_row<T>(p + r * rb, cols, out + r * cols);
      return true;
    }() || ...);
  }

  struct mixq_tensor_ref {
    const tensor_info* t;
    std::size_t rows, cols;
  };

  template <Scheme S>
  mixq_tensor_ref mixq_tensor(std::string_view tensor_name) const;

  [[noreturn]] void fail_at(std::uint64_t at, std::string_view what, std::string_view msg) const {
    throw error("gguf: " + name_ + ": " + std::string(what) + " at offset " + std::to_string(at) + ": " +
                std::string(msg));
  }

  void parse_all();
  void read_kv(io_detail::cursor& c, std::uint64_t index);
  void read_tensor_info(io_detail::cursor& c, std::uint64_t index);

  std::uint32_t version_ = 0;
  std::uint32_t alignment_ = default_alignment;
  std::uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, value>> kv_;
  std::vector<std::uint64_t> kv_offsets_;
  std::map<std::string, std::size_t, std::less<>> kv_index_;
  std::vector<tensor_info> tensors_;
  std::map<std::string, std::size_t, std::less<>> tensor_index_;
};

/// The identifier under which mixq records scheme S: scheme_name<S>(), plus a fingerprint of the
/// table for user codebooks (whose names do not say which table they use).
template <Scheme S>
std::string scheme_id() {
  std::string s = scheme_name<S>();
  using F = typename S::format;
  if (format_name<F>().rfind("codebook", 0) == 0) {
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a over the decoded values' bits
    for (unsigned c = 0; c < (1u << F::bits); ++c) {
      const std::uint32_t b = std::bit_cast<std::uint32_t>(decode<F>(static_cast<code_t<F>>(c)));
      for (int k = 0; k < 4; ++k) h = (h ^ ((b >> (8 * k)) & 0xFF)) * 1099511628211ull;
    }
    char buf[24];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    s += " table:";
    s += buf;
  }
  return s;
}

template <Scheme S>
file::mixq_tensor_ref file::mixq_tensor(std::string_view tensor_name) const {
  const tensor_info& t = tensor(tensor_name);
  const std::string what = "tensor " + detail::quote(t.name);
  const value* sv = find(scheme_key(t.name));
  if (!sv) throw error("gguf: " + name_ + ": " + what + " is not a mixq scheme tensor (no key " + scheme_key(t.name) + ")");
  if (!sv->holds<std::string>())
    throw error("gguf: " + name_ + ": " + scheme_key(t.name) + " is " + sv->describe_type() + "; expected a string");
  const std::string want = scheme_id<S>();
  if (sv->str() != want)
    throw error("gguf: " + name_ + ": " + what + " holds scheme '" + io_detail::printable(sv->str(), 120) +
                "'; requested '" + want + "'");
  const value* lv = find("mixq.layout");
  if (!lv || !lv->holds<std::uint32_t>() || lv->get<std::uint32_t>() != mixq_layout_version)
    throw error("gguf: " + name_ + ": mixq.layout is " + (lv ? lv->to_string() : std::string("missing")) +
                "; expected u32 " + std::to_string(mixq_layout_version));
  const value* shp = find(shape_key(t.name));
  if (!shp || !shp->is_array() || shp->elem_type() != value_type::u64 || shp->size() != 2)
    throw error("gguf: " + name_ + ": " + shape_key(t.name) + " is " + (shp ? shp->describe_type() : std::string("missing")) +
                "; expected an array of 2 u64 (rows, cols)");
  const std::uint64_t rows = shp->array<std::uint64_t>()[0], cols = shp->array<std::uint64_t>()[1];
  // Bounds that keep every size matrix_layout computes far below 2^64.
  constexpr std::uint64_t max_dim = 1ull << 40, max_elems = 1ull << 50;
  if (rows == 0 || cols == 0 || rows > max_dim || cols > max_dim || rows > max_elems / cols)
    throw error("gguf: " + name_ + ": " + what + " shape " + std::to_string(rows) + " x " + std::to_string(cols) +
                " is out of range; expected 1 <= rows, cols <= 2^40 and rows * cols <= 2^50");
  if (t.type != type_i8 || t.n_dims != 1)
    throw error("gguf: " + name_ + ": " + what + " (info at offset " + std::to_string(t.info_offset) +
                ") has ggml type " + std::string(find_ggml_type(t.type)->name) + " with " + std::to_string(t.n_dims) +
                " dims; a mixq scheme blob is a 1-D i8 tensor");
  try {
    const auto layout = matrix_layout<S>::make(static_cast<std::size_t>(rows), static_cast<std::size_t>(cols));
    if (layout.total_bytes != t.n_bytes)
      throw error("blob has " + std::to_string(t.n_bytes) + " bytes; a " + std::to_string(rows) + " x " +
                  std::to_string(cols) + " '" + want + "' matrix needs " + std::to_string(layout.total_bytes));
  } catch (const error& e) {
    throw error("gguf: " + name_ + ": " + what + ": " + e.what());
  }
  return {&t, static_cast<std::size_t>(rows), static_cast<std::size_t>(cols)};
}

inline void file::parse_all() {
  io_detail::cursor c(bytes_, "gguf: " + name_);
  if (bytes_.size() < 24)
    c.fail("header", "the file has " + std::to_string(bytes_.size()) +
                         " bytes; a GGUF header needs 24 (magic, version, tensor count, metadata count)");
  const auto head = c.chars(4, "magic");
  if (std::memcmp(head.data(), "GGUF", 4) != 0)
    c.fail_at(0, "magic", "found '" + io_detail::printable(head) + "'; expected 'GGUF' (is this a GGUF file?)");
  version_ = c.read<std::uint32_t>("version");
  if (version_ != 2 && version_ != 3) {
    std::string hint;
    if (version_ == 1) hint = " (GGUF v1, with 32-bit counts, is obsolete)";
    else if ((version_ & 0xFFFFu) == 0) hint = " (a big-endian file?)";
    c.fail_at(4, "version", "version is " + std::to_string(version_) + hint + "; expected 2 or 3");
  }
  const std::uint64_t n_tensors = c.read<std::uint64_t>("tensor count");
  const std::uint64_t n_kv = c.read<std::uint64_t>("metadata count");
  // A metadata pair takes at least 13 bytes (empty key, type, one byte); a tensor info at least 24
  // (empty name, n_dims, type, offset). Counts the file cannot hold are rejected before any
  // allocation.
  if (n_kv > c.remaining() / 13)
    c.fail_at(16, "metadata count", std::to_string(n_kv) + " pairs cannot fit in the " + std::to_string(c.remaining()) +
                                        " bytes after the header");
  if (n_tensors > c.remaining() / 24)
    c.fail_at(8, "tensor count", std::to_string(n_tensors) + " tensor infos cannot fit in the " +
                                     std::to_string(c.remaining()) + " bytes after the header");
  kv_.reserve(static_cast<std::size_t>(n_kv));
  for (std::uint64_t i = 0; i < n_kv; ++i) read_kv(c, i);

  if (const value* a = find("general.alignment")) {
    const std::uint64_t at = kv_offsets_[kv_index_.find("general.alignment")->second];
    if (!a->holds<std::uint32_t>()) fail_at(at, "general.alignment", "type is " + a->describe_type() + "; expected u32");
    const std::uint32_t al = a->get<std::uint32_t>();
    if (al == 0 || !std::has_single_bit(al) || al > max_alignment)
      fail_at(at, "general.alignment", "is " + std::to_string(al) + "; expected a power of two <= " +
                                           std::to_string(max_alignment));
    alignment_ = al;
  }

  tensors_.reserve(static_cast<std::size_t>(n_tensors));
  for (std::uint64_t i = 0; i < n_tensors; ++i) read_tensor_info(c, i);

  data_offset_ = c.offset();
  if (n_tensors == 0) return;
  data_offset_ = io_detail::checked_round_up(data_offset_, alignment_, "gguf: data section offset");
  if (data_offset_ > bytes_.size())
    fail_at(c.offset(), "data section", "starts at " + std::to_string(data_offset_) + " (aligned to " +
                                            std::to_string(alignment_) + "), past the end of the file (" +
                                            std::to_string(bytes_.size()) + " bytes)");
  const std::uint64_t data_size = bytes_.size() - data_offset_;
  for (const tensor_info& t : tensors_) {
    const std::string what = "tensor " + detail::quote(t.name);
    if (t.offset % alignment_ != 0)
      fail_at(t.info_offset, what, "data offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
                                       std::to_string(alignment_));
    if (t.offset > data_size || t.n_bytes > data_size - t.offset)
      fail_at(t.info_offset, what, "data [" + std::to_string(t.offset) + ", +" + std::to_string(t.n_bytes) +
                                       ") of the data section ends past the end of the file (the data section " +
                                       "has " + std::to_string(data_size) + " bytes at offset " +
                                       std::to_string(data_offset_) + "); the file is truncated or corrupt");
  }
  // Tensor data must not overlap.
  std::vector<std::size_t> order(tensors_.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return tensors_[a].offset < tensors_[b].offset; });
  for (std::size_t k = 1; k < order.size(); ++k) {
    const tensor_info& a = tensors_[order[k - 1]];
    const tensor_info& b = tensors_[order[k]];
    if (a.offset + a.n_bytes > b.offset)  // no overflow: both end inside the file
      fail_at(b.info_offset, "tensor " + detail::quote(b.name),
              "data at " + std::to_string(b.offset) + " overlaps tensor " + detail::quote(a.name) + " [" +
                  std::to_string(a.offset) + ", " + std::to_string(a.offset + a.n_bytes) + ")");
  }
}

inline void file::read_kv(io_detail::cursor& c, std::uint64_t index) {
  const std::uint64_t at = c.offset();
  const std::string what = "metadata pair " + std::to_string(index);
  const auto klen = c.read<std::uint64_t>(what + " key length");
  if (klen == 0 || klen > max_key_bytes)
    c.fail_at(at, what + " key", "length is " + std::to_string(klen) + "; expected 1 to " + std::to_string(max_key_bytes));
  std::string key(c.chars(klen, what + " key"));
  if (kv_index_.count(key))
    c.fail_at(at, what + " key", "duplicate key " + detail::quote(key) + "; expected unique keys");
  const std::string kwhat = "metadata " + detail::quote(key);
  const std::uint64_t type_at = c.offset();
  const auto type = c.read<std::uint32_t>(kwhat + " type");
  value v;
  auto read_as = [&](value_type t, std::uint64_t n, bool arr) {
    auto make = [&]<class T>(std::type_identity<T>) {
      auto elems = detail::read_elems<T>(c, n, kwhat + " value");
      if (arr) return value::array(std::move(elems));
      return value(static_cast<T>(elems[0]));
    };
    switch (t) {
      case value_type::u8: return make(std::type_identity<std::uint8_t>{});
      case value_type::i8: return make(std::type_identity<std::int8_t>{});
      case value_type::u16: return make(std::type_identity<std::uint16_t>{});
      case value_type::i16: return make(std::type_identity<std::int16_t>{});
      case value_type::u32: return make(std::type_identity<std::uint32_t>{});
      case value_type::i32: return make(std::type_identity<std::int32_t>{});
      case value_type::f32: return make(std::type_identity<float>{});
      case value_type::boolean: return make(std::type_identity<bool>{});
      case value_type::string: return make(std::type_identity<std::string>{});
      case value_type::u64: return make(std::type_identity<std::uint64_t>{});
      case value_type::i64: return make(std::type_identity<std::int64_t>{});
      case value_type::f64: return make(std::type_identity<double>{});
      case value_type::array: break;
    }
    return value();  // unreachable: types are checked before
  };
  if (type == static_cast<std::uint32_t>(value_type::array)) {
    const std::uint64_t et_at = c.offset();
    const auto et = c.read<std::uint32_t>(kwhat + " array element type");
    if (!valid_element_type(et))
      c.fail_at(et_at, kwhat + " array element type",
                "is " + std::to_string(et) +
                    (et == 9 ? std::string(" (nested arrays are not supported, as in llama.cpp)") : std::string()) +
                    "; expected 0..8 or 10..12");
    const std::uint64_t n_at = c.offset();
    const auto n = c.read<std::uint64_t>(kwhat + " array length");
    const std::uint64_t min_bytes = element_file_bytes(static_cast<value_type>(et));
    if (n > c.remaining() / min_bytes)
      c.fail_at(n_at, kwhat + " array length",
                std::to_string(n) + " elements of " + type_name(static_cast<value_type>(et)) + " cannot fit in the " +
                    std::to_string(c.remaining()) + " bytes left in the file");
    v = read_as(static_cast<value_type>(et), n, true);
  } else if (valid_element_type(type)) {
    v = read_as(static_cast<value_type>(type), 1, false);
  } else {
    c.fail_at(type_at, kwhat + " type", "is " + std::to_string(type) + "; expected 0..12");
  }
  kv_index_.emplace(key, kv_.size());
  kv_.emplace_back(std::move(key), std::move(v));
  kv_offsets_.push_back(at);
}

inline void file::read_tensor_info(io_detail::cursor& c, std::uint64_t index) {
  tensor_info t;
  t.info_offset = c.offset();
  const std::string what = "tensor info " + std::to_string(index);
  const auto nlen = c.read<std::uint64_t>(what + " name length");
  if (nlen > max_key_bytes)
    c.fail_at(t.info_offset, what + " name", "length is " + std::to_string(nlen) + "; expected at most " +
                                                 std::to_string(max_key_bytes) + " (llama.cpp: " +
                                                 std::to_string(max_name_bytes) + ")");
  t.name = std::string(c.chars(nlen, what + " name"));
  if (tensor_index_.count(t.name))
    c.fail_at(t.info_offset, what + " name", "duplicate tensor name " + detail::quote(t.name) + "; expected unique names");
  const std::string twhat = "tensor " + detail::quote(t.name);
  const std::uint64_t nd_at = c.offset();
  t.n_dims = c.read<std::uint32_t>(twhat + " n_dims");
  if (t.n_dims > max_dims)
    c.fail_at(nd_at, twhat + " n_dims", "is " + std::to_string(t.n_dims) + "; expected at most " + std::to_string(max_dims));
  std::uint64_t n = 1;
  for (std::uint32_t d = 0; d < t.n_dims; ++d) {
    const std::uint64_t d_at = c.offset();
    t.ne[d] = c.read<std::uint64_t>(twhat + " ne[" + std::to_string(d) + "]");
    if (t.ne[d] == 0 || t.ne[d] > static_cast<std::uint64_t>(INT64_MAX))
      c.fail_at(d_at, twhat + " ne[" + std::to_string(d) + "]",
                "is " + std::to_string(t.ne[d]) + "; expected 1 <= ne < 2^63 (empty tensors are not supported)");
    if (__builtin_mul_overflow(n, t.ne[d], &n) || n > static_cast<std::uint64_t>(INT64_MAX))
      c.fail_at(d_at, twhat + " shape", "the number of elements overflows 2^63 - 1");
  }
  t.n_elements = n;
  const std::uint64_t type_at = c.offset();
  t.type = c.read<std::uint32_t>(twhat + " type");
  const ggml_type_info* ti = find_ggml_type(t.type);
  if (!ti)
    c.fail_at(type_at, twhat + " type", "ggml type id " + std::to_string(t.type) + " is unknown; expected a GGML_TYPE_* id");
  if (t.ne[0] % ti->block_elems != 0)
    c.fail_at(t.info_offset, twhat + " shape",
              "ne[0] = " + std::to_string(t.ne[0]) + " is not a multiple of the " + std::string(ti->name) +
                  " block size " + std::to_string(ti->block_elems));
  t.n_bytes = io_detail::checked_mul(n / ti->block_elems, ti->block_bytes,
                                     "gguf: " + name_ + ": " + twhat + " size in bytes");
  t.offset = c.read<std::uint64_t>(twhat + " data offset");
  tensor_index_.emplace(t.name, tensors_.size());
  tensors_.push_back(std::move(t));
}

/// Builds a GGUF file: metadata, then tensors, written in the order they were added (llama.cpp
/// requires the data laid out in info order, each tensor padded to the alignment).
class writer : public io_detail::image_writer<writer> {
  friend class io_detail::image_writer<writer>;

 public:
  /// alignment: a power of two <= 2^20; 32 is GGUF's default and is then not recorded.
  explicit writer(std::uint32_t alignment = default_alignment) {
    if (alignment != default_alignment) set_alignment(alignment);
  }

  std::uint32_t alignment() const noexcept { return alignment_; }
  /// Records general.alignment (u32).
  void set_alignment(std::uint32_t a) {
    if (a == 0 || !std::has_single_bit(a) || a > max_alignment)
      throw error("gguf::writer: alignment " + std::to_string(a) + " is not a power of two <= " +
                  std::to_string(max_alignment));
    alignment_ = a;
    put_kv("general.alignment", value(a));
  }

  /// Adds or replaces a metadata pair (general.alignment must be a u32 power of two).
  void set(std::string key, value v) {
    if (key == "general.alignment") {
      if (!v.holds<std::uint32_t>())
        throw error("gguf::writer: general.alignment must be a u32; got " + v.describe_type());
      set_alignment(v.get<std::uint32_t>());
      return;
    }
    put_kv(std::move(key), std::move(v));
  }
  const value* find(std::string_view key) const noexcept {
    const auto it = kv_index_.find(key);
    return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
  }
  const std::vector<std::pair<std::string, value>>& metadata() const noexcept { return kv_; }

  /// A tensor of ggml type `type` with dims ne (ne[0] contiguous; 0..4 dims), copying `data`.
  void add_tensor(std::string name, std::uint32_t type, std::span<const std::uint64_t> ne,
                  std::span<const std::byte> data) {
    auto buf = std::make_shared<std::vector<std::byte>>(data.begin(), data.end());
    const std::span<const std::byte> s(*buf);
    add_entry(std::move(name), type, ne, s, std::move(buf));
  }
  /// As add_tensor, taking ownership of `data`.
  void add_tensor(std::string name, std::uint32_t type, std::span<const std::uint64_t> ne,
                  std::vector<std::byte>&& data) {
    auto buf = std::make_shared<std::vector<std::byte>>(std::move(data));
    const std::span<const std::byte> s(*buf);
    add_entry(std::move(name), type, ne, s, std::move(buf));
  }
  /// As add_tensor without copying: `data` must stay valid until the last write()/to_bytes().
  void add_tensor_view(std::string name, std::uint32_t type, std::span<const std::uint64_t> ne,
                       std::span<const std::byte> data) {
    add_entry(std::move(name), type, ne, data, nullptr);
  }

  /// A rows x cols row-major fp32 matrix (ne = {cols, rows}) stored as f32, f16 or bf16
  /// (rounded to nearest even); rows == 1 gives a 1-D tensor.
  void add_float(std::string name, const float* w, std::size_t rows, std::size_t cols,
                 std::uint32_t type = type_f32) {
    const std::uint64_t ne[2] = {cols, rows};
    const std::span<const std::uint64_t> dims(ne, rows == 1 ? 1 : 2);
    const std::size_t n = static_cast<std::size_t>(io_detail::checked_mul(rows, cols, "gguf::writer::add_float"));
    if (n && w == nullptr) throw error("gguf::writer::add_float: w is null for tensor '" + name + "'");
    std::vector<std::byte> buf;
    if (type == type_f32) {
      buf.resize(n * 4);
      if (n) std::memcpy(buf.data(), w, n * 4);
    } else if (type == type_f16 || type == type_bf16) {
      buf.resize(n * 2);
      for (std::size_t i = 0; i < n; ++i) {
        const std::uint16_t h = type == type_f16 ? encode<fp16>(w[i], overflow::propagate)
                                                 : encode<bf16>(w[i], overflow::propagate);
        std::memcpy(buf.data() + 2 * i, &h, 2);
      }
    } else {
      throw error("gguf::writer::add_float: type " + std::to_string(type) + "; expected f32 (0), f16 (1) or bf16 (30)");
    }
    add_tensor(std::move(name), type, dims, std::move(buf));
  }

  /// rows x cols values already quantized to ggml type T (rows * row_size<T>(cols) bytes).
  template <class T>
  void add_ggml(std::string name, std::size_t rows, std::size_t cols, std::vector<std::byte> bytes) {
    const std::uint64_t ne[2] = {cols, rows};
    add_tensor(std::move(name), static_cast<std::uint32_t>(T::type_id),
               std::span<const std::uint64_t>(ne, rows == 1 ? 1 : 2), std::move(bytes));
  }

  /// Quantizes a row-major rows x cols matrix to ggml type T with ggml's model-file quantizer
  /// (mixq::ggml::quantize_row_model; byte-identical to llama.cpp's) and adds it.
  template <class T>
  void quantize_ggml(std::string name, const float* w, std::size_t rows, std::size_t cols,
                     const float* importance = nullptr) {
    const std::size_t rb = ggml::row_size<T>(cols);
    std::vector<std::byte> buf(static_cast<std::size_t>(io_detail::checked_mul(rows, rb, "gguf::writer::quantize_ggml")));
    for (std::size_t r = 0; r < rows; ++r) ggml::quantize_row_model<T>(w + r * cols, cols, buf.data() + r * rb, importance);
    add_ggml<T>(std::move(name), rows, cols, std::move(buf));
  }

  /// A mixq quantized matrix, stored bit-exactly (a 1-D i8 blob plus mixq.* metadata; see the
  /// file comment). Raises the alignment to 64 so that readers get aligned views.
  template <Scheme S>
  void add_matrix(std::string name, quantized_matrix<S> m) {
    if (m.bytes() == 0) throw error("gguf::writer::add_matrix: tensor '" + name + "' is an empty matrix");
    auto owned = std::make_shared<quantized_matrix<S>>(std::move(m));
    const std::span<const std::byte> raw = owned->raw();
    const std::uint64_t ne[1] = {raw.size()};
    const std::string n = name;
    add_entry(std::move(name), type_i8, ne, raw, owned);
    if (alignment_ < mixq::detail::buffer_alignment) set_alignment(static_cast<std::uint32_t>(mixq::detail::buffer_alignment));
    set("mixq.layout", value(mixq_layout_version));
    set(file::scheme_key(n), value(scheme_id<S>()));
    set(file::shape_key(n), value::array(std::vector<std::uint64_t>{owned->rows(), owned->cols()}));
  }

  std::size_t tensor_count() const noexcept { return entries_.size(); }


 private:
  struct entry {
    tensor_info info;
    std::span<const std::byte> data;
    std::shared_ptr<const void> owner;
  };

  void put_kv(std::string key, value v) {
    if (key.empty() || key.size() > max_key_bytes)
      throw error("gguf::writer: metadata key length " + std::to_string(key.size()) + "; expected 1 to " +
                  std::to_string(max_key_bytes) + " bytes");
    if (const auto it = kv_index_.find(key); it != kv_index_.end()) {
      kv_[it->second].second = std::move(v);
      return;
    }
    kv_index_.emplace(key, kv_.size());
    kv_.emplace_back(std::move(key), std::move(v));
  }

  void add_entry(std::string name, std::uint32_t type, std::span<const std::uint64_t> ne,
                 std::span<const std::byte> data, std::shared_ptr<const void> owner) {
    const std::string what = "gguf::writer: tensor '" + io_detail::printable(name) + "'";
    if (name.size() > max_name_bytes)
      throw error(what + ": name has " + std::to_string(name.size()) + " bytes; expected at most " +
                  std::to_string(max_name_bytes) + " (llama.cpp's GGML_MAX_NAME)");
    if (names_.count(name)) throw error(what + ": a tensor with this name was already added");
    const ggml_type_info* ti = find_ggml_type(type);
    if (!ti) throw error(what + ": ggml type id " + std::to_string(type) + " is unknown");
    if (ne.size() > max_dims) throw error(what + ": " + std::to_string(ne.size()) + " dims; expected at most 4");
    tensor_info t;
    t.name = std::move(name);
    t.type = type;
    t.n_dims = static_cast<std::uint32_t>(ne.size());
    std::uint64_t n = 1;
    for (std::size_t d = 0; d < ne.size(); ++d) {
      t.ne[d] = ne[d];
      if (ne[d] == 0 || ne[d] > static_cast<std::uint64_t>(INT64_MAX) || __builtin_mul_overflow(n, ne[d], &n) ||
          n > static_cast<std::uint64_t>(INT64_MAX))
        throw error(what + ": ne[" + std::to_string(d) + "] = " + std::to_string(ne[d]) +
                    " makes an empty tensor or more than 2^63 - 1 elements");
    }
    if (t.ne[0] % ti->block_elems != 0)
      throw error(what + ": ne[0] = " + std::to_string(t.ne[0]) + " is not a multiple of the " + std::string(ti->name) +
                  " block size " + std::to_string(ti->block_elems));
    t.n_elements = n;
    t.n_bytes = io_detail::checked_mul(n / ti->block_elems, ti->block_bytes, what);
    if (t.n_bytes != data.size())
      throw error(what + ": " + std::to_string(data.size()) + " bytes of data; its shape and type need " +
                  std::to_string(t.n_bytes));
    names_.insert(t.name);
    entries_.push_back({std::move(t), data, std::move(owner)});
  }

  template <class Sink>
  void write_to(Sink& s) const {
    std::vector<std::byte> head;
    detail::put<std::uint32_t>(head, magic);
    detail::put<std::uint32_t>(head, version);
    detail::put<std::uint64_t>(head, entries_.size());
    detail::put<std::uint64_t>(head, kv_.size());
    for (const auto& [k, v] : kv_) {
      detail::put_string(head, k);
      detail::put_value(head, v);
    }
    std::uint64_t off = 0;
    for (const auto& e : entries_) {
      detail::put_string(head, e.info.name);
      detail::put<std::uint32_t>(head, e.info.n_dims);
      for (std::uint32_t d = 0; d < e.info.n_dims; ++d) detail::put<std::uint64_t>(head, e.info.ne[d]);
      detail::put<std::uint32_t>(head, e.info.type);
      detail::put<std::uint64_t>(head, off);
      off = io_detail::checked_round_up(io_detail::checked_add(off, e.info.n_bytes, "gguf::writer"), alignment_,
                                        "gguf::writer");
    }
    s.write(head.data(), head.size());
    if (entries_.empty()) return;
    const std::uint64_t start = io_detail::checked_round_up(head.size(), alignment_, "gguf::writer");
    s.zeros(static_cast<std::size_t>(start - head.size()));
    for (const auto& e : entries_) {
      s.write(e.data.data(), e.data.size());
      const std::uint64_t pad = (alignment_ - e.data.size() % alignment_) % alignment_;
      s.zeros(static_cast<std::size_t>(pad));
    }
  }

  std::uint32_t alignment_ = default_alignment;
  std::vector<std::pair<std::string, value>> kv_;
  std::map<std::string, std::size_t, std::less<>> kv_index_;
  std::vector<entry> entries_;
  std::set<std::string, std::less<>> names_;
};

}  // namespace MIXQ_ISA_NS
}  // namespace mixq::gguf
