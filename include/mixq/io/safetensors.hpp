// safetensors: reader over a memory-mapped file and writer.
//
// Layout: u64 N (little-endian), N bytes of UTF-8 JSON header, then the data buffer. The header
// is an object mapping each tensor name to {"dtype": "F32", "shape": [d0, d1, ...],
// "data_offsets": [begin, end]} (offsets relative to the data buffer, C order, little-endian),
// plus an optional "__metadata__" object of string values. As in the reference implementation
// (huggingface/safetensors), the header is at most 100,000,000 bytes, starts with '{', the
// tensors sorted by offset must tile the data buffer exactly (no gaps, no overlap, the last one
// ending at the end of the file), and each tensor's byte count must equal its element count times
// the dtype size (sub-byte dtypes must fill whole bytes).
//
// Files are untrusted: the JSON is parsed by a strict pull parser (io/json.hpp) with a depth
// limit, every number is range-checked, every size is computed with overflow checks, and errors
// name the file offset.
#pragma once
#include <algorithm>
#include <array>
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
#include <utility>
#include <vector>

#include "../error.hpp"
#include "../format/codec.hpp"
#include "checked.hpp"
#include "json.hpp"
#include "mmap.hpp"

namespace mixq::safetensors {

/// Element types of safetensors (the reference's Dtype enum).
enum class dtype : std::uint8_t {
  BOOL, U8, I8, F8_E5M2, F8_E4M3, F8_E8M0, I16, U16, F16, BF16, I32, U32, F32, C64, F64, I64, U64,
  F4, F6_E2M3, F6_E3M2,
};

struct dtype_info {
  dtype type;
  std::string_view name;
  unsigned bits;  ///< per element
};

inline constexpr std::array<dtype_info, 20> dtypes{{
    {dtype::BOOL, "BOOL", 8},     {dtype::U8, "U8", 8},       {dtype::I8, "I8", 8},
    {dtype::F8_E5M2, "F8_E5M2", 8}, {dtype::F8_E4M3, "F8_E4M3", 8}, {dtype::F8_E8M0, "F8_E8M0", 8},
    {dtype::I16, "I16", 16},      {dtype::U16, "U16", 16},    {dtype::F16, "F16", 16},
    {dtype::BF16, "BF16", 16},    {dtype::I32, "I32", 32},    {dtype::U32, "U32", 32},
    {dtype::F32, "F32", 32},      {dtype::C64, "C64", 64},    {dtype::F64, "F64", 64},
    {dtype::I64, "I64", 64},      {dtype::U64, "U64", 64},    {dtype::F4, "F4", 4},
    {dtype::F6_E2M3, "F6_E2M3", 6}, {dtype::F6_E3M2, "F6_E3M2", 6},
}};

/// Largest header the reference implementation accepts.
inline constexpr std::uint64_t max_header_bytes = 100'000'000;

inline namespace MIXQ_ISA_NS {

constexpr const dtype_info& info(dtype t) noexcept { return dtypes[static_cast<std::size_t>(t)]; }
constexpr std::string_view name(dtype t) noexcept { return info(t).name; }
constexpr std::optional<dtype> parse_dtype(std::string_view s) noexcept {
  for (const auto& d : dtypes)
    if (d.name == s) return d.type;
  return std::nullopt;
}

/// One tensor of the header.
struct tensor_info {
  std::string name;
  dtype type = dtype::F32;
  std::vector<std::uint64_t> shape;  ///< outermost first (C order)
  std::uint64_t begin = 0, end = 0;  ///< byte range in the data buffer
  std::uint64_t n_elements = 1;

  std::uint64_t n_bytes() const noexcept { return end - begin; }
};

/// Bytes of n elements of type t; throws when n * bits is not a whole number of bytes or overflows.
inline std::uint64_t byte_size(dtype t, std::uint64_t n, std::string_view what) {
  const std::uint64_t bits = io_detail::checked_mul(n, info(t).bits, what);
  if (bits % 8 != 0)
    throw error(std::string(what) + ": " + std::to_string(n) + " elements of " + std::string(name(t)) +
                " do not fill whole bytes");
  return bits / 8;
}

/// A safetensors file: the header and the tensor bytes in place (memory-mapped when opened
/// from a path). Copies share the mapping.
class file : public io_detail::parsed_image<file> {
  friend class io_detail::parsed_image<file>;

 public:
  /// File offset of the data buffer (8 + header length).
  std::uint64_t data_offset() const noexcept { return data_offset_; }

  /// Tensors in header order.
  const std::vector<tensor_info>& tensors() const noexcept { return tensors_; }
  const tensor_info* find(std::string_view tensor_name) const noexcept {
    const auto it = index_.find(tensor_name);
    return it == index_.end() ? nullptr : &tensors_[it->second];
  }
  const tensor_info& tensor(std::string_view tensor_name) const {
    if (const tensor_info* t = find(tensor_name)) return *t;
    throw error("safetensors: " + name_ + ": no tensor named '" + io_detail::printable(tensor_name) + "'");
  }
  /// "__metadata__" pairs in header order.
  const std::vector<std::pair<std::string, std::string>>& metadata() const noexcept { return metadata_; }
  const std::string* metadata(std::string_view key) const noexcept {
    for (const auto& kv : metadata_)
      if (kv.first == key) return &kv.second;
    return nullptr;
  }

  /// The tensor's bytes in place.
  std::span<const std::byte> data(const tensor_info& t) const noexcept {
    return bytes_.subspan(static_cast<std::size_t>(data_offset_ + t.begin), static_cast<std::size_t>(t.n_bytes()));
  }

  /// An F32 tensor's values in place (no copy); throws for other dtypes or misaligned data.
  std::span<const float> f32(const tensor_info& t) const {
    if (t.type != dtype::F32)
      throw error("safetensors: " + name_ + ": tensor '" + io_detail::printable(t.name) + "' is " +
                  std::string(safetensors::name(t.type)) + "; expected F32");
    const auto d = data(t);
    if (reinterpret_cast<std::uintptr_t>(d.data()) % alignof(float) != 0)
      throw error("safetensors: " + name_ + ": tensor '" + io_detail::printable(t.name) + "' at file offset " +
                  std::to_string(data_offset_ + t.begin) + " is not 4-byte aligned; use to_float()");
    return {reinterpret_cast<const float*>(d.data()), d.size() / 4};
  }

  /// The tensor as fp32 values: F32, F16, BF16, F64, F8_E4M3, F8_E5M2, integer types and BOOL.
  std::vector<float> to_float(const tensor_info& t) const {
    const auto* p = reinterpret_cast<const std::uint8_t*>(data(t).data());
    const std::size_t n = io_detail::to_size(t.n_elements, "safetensors: tensor elements");
    std::vector<float> out(n);
    auto conv = [&]<class T>(std::type_identity<T>, auto f) {
      for (std::size_t i = 0; i < n; ++i) {
        T v;
        std::memcpy(&v, p + i * sizeof(T), sizeof(T));
        out[i] = f(v);
      }
    };
    auto cast = [](auto v) { return static_cast<float>(v); };
    switch (t.type) {
      case dtype::F32: conv(std::type_identity<float>{}, cast); break;
      case dtype::F64: conv(std::type_identity<double>{}, cast); break;
      case dtype::F16: conv(std::type_identity<std::uint16_t>{}, [](std::uint16_t v) { return decode<fp16>(v); }); break;
      case dtype::BF16: conv(std::type_identity<std::uint16_t>{}, [](std::uint16_t v) { return decode<bf16>(v); }); break;
      case dtype::F8_E4M3: conv(std::type_identity<std::uint8_t>{}, [](std::uint8_t v) { return decode<fp8_e4m3fn>(v); }); break;
      case dtype::F8_E5M2: conv(std::type_identity<std::uint8_t>{}, [](std::uint8_t v) { return decode<fp8_e5m2>(v); }); break;
      case dtype::BOOL: conv(std::type_identity<std::uint8_t>{}, [](std::uint8_t v) { return v ? 1.0f : 0.0f; }); break;
      case dtype::U8: conv(std::type_identity<std::uint8_t>{}, cast); break;
      case dtype::I8: conv(std::type_identity<std::int8_t>{}, cast); break;
      case dtype::U16: conv(std::type_identity<std::uint16_t>{}, cast); break;
      case dtype::I16: conv(std::type_identity<std::int16_t>{}, cast); break;
      case dtype::U32: conv(std::type_identity<std::uint32_t>{}, cast); break;
      case dtype::I32: conv(std::type_identity<std::int32_t>{}, cast); break;
      case dtype::U64: conv(std::type_identity<std::uint64_t>{}, cast); break;
      case dtype::I64: conv(std::type_identity<std::int64_t>{}, cast); break;
      default:
        throw error("safetensors: " + name_ + ": tensor '" + io_detail::printable(t.name) + "' has dtype " +
                    std::string(safetensors::name(t.type)) + ", which to_float does not convert");
    }
    return out;
  }

 private:
  void parse_all();
  void parse_tensor(io_detail::json_reader& j, std::string tensor_name, std::size_t key_pos);

  std::uint64_t data_offset_ = 0;
  std::vector<tensor_info> tensors_;
  std::map<std::string, std::size_t, std::less<>> index_;
  std::vector<std::pair<std::string, std::string>> metadata_;
};

inline void file::parse_all() {
  const std::string ctx = "safetensors: " + name_;
  io_detail::cursor c(bytes_, ctx);
  if (bytes_.size() < 8)
    c.fail("header length", "the file has " + std::to_string(bytes_.size()) + " bytes; expected at least 8");
  const auto n = c.read<std::uint64_t>("header length");
  if (n > max_header_bytes)
    c.fail_at(0, "header length", std::to_string(n) + " bytes exceeds the limit of " + std::to_string(max_header_bytes));
  if (n > c.remaining())
    c.fail_at(0, "header length", std::to_string(n) + " bytes but only " + std::to_string(c.remaining()) +
                                      " follow; the file is truncated or corrupt");
  const std::string_view text = c.chars(n, "header");
  data_offset_ = 8 + n;
  if (text.empty() || text[0] != '{')
    c.fail_at(8, "header", "does not start with '{'; expected a JSON object");
  io_detail::json_reader j(text, ctx, 8);
  bool have_metadata = false;
  std::set<std::string, std::less<>> meta_keys;
  j.object("header", [&](const std::string& key, std::size_t key_pos) {
    if (key == "__metadata__") {
      if (have_metadata) j.fail_at(key_pos, "__metadata__", "appears twice");
      have_metadata = true;
      j.object("__metadata__", [&](const std::string& k, std::size_t kpos) {
        if (!meta_keys.insert(k).second)
          j.fail_at(kpos, "__metadata__", "duplicate key '" + io_detail::printable(k) + "'");
        if (j.peek("__metadata__") != '"')
          j.fail("__metadata__ value of '" + io_detail::printable(k) + "'", "expected a string");
        metadata_.emplace_back(k, j.string("__metadata__ value"));
      }, 1);
      return;
    }
    if (index_.count(key)) j.fail_at(key_pos, "tensor '" + io_detail::printable(key) + "'", "duplicate tensor name");
    parse_tensor(j, key, key_pos);
  });
  if (!j.at_end()) j.fail("header", "unexpected text after the JSON object; expected only whitespace padding");

  // The tensors, sorted by offset, must tile the data buffer exactly.
  const std::uint64_t data_size = bytes_.size() - data_offset_;
  std::vector<std::size_t> order(tensors_.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return tensors_[a].begin != tensors_[b].begin ? tensors_[a].begin < tensors_[b].begin
                                                  : tensors_[a].end < tensors_[b].end;
  });
  std::uint64_t expect = 0;
  for (const std::size_t i : order) {
    const tensor_info& t = tensors_[i];
    if (t.begin != expect)
      throw error(ctx + ": tensor '" + io_detail::printable(t.name) + "' data_offsets [" + std::to_string(t.begin) +
                  ", " + std::to_string(t.end) + ") " + (t.begin < expect ? "overlap" : "leave a gap after") +
                  " the previous tensor's data (ending at " + std::to_string(expect) +
                  "); expected tensors to tile the data buffer");
    expect = t.end;
  }
  if (expect != data_size)
    throw error(ctx + ": the tensors cover " + std::to_string(expect) + " bytes of data but the file has " +
                std::to_string(data_size) + " bytes after the header (at offset " + std::to_string(data_offset_) +
                "); " + (expect > data_size ? "the file is truncated" : "expected no trailing bytes"));
}

inline void file::parse_tensor(io_detail::json_reader& j, std::string tensor_name, std::size_t key_pos) {
  tensor_info t;
  t.name = std::move(tensor_name);
  const std::string what = "tensor '" + io_detail::printable(t.name) + "'";
  bool have_dtype = false, have_shape = false, have_offsets = false;
  j.object(what, [&](const std::string& key, std::size_t kpos) {
    auto once = [&](bool& flag) {
      if (flag) j.fail_at(kpos, what, "duplicate key '" + key + "'");
      flag = true;
    };
    if (key == "dtype") {
      once(have_dtype);
      const std::size_t at = j.pos();
      const std::string s = j.string(what + " dtype");
      const auto d = parse_dtype(s);
      if (!d)
        j.fail_at(at, what + " dtype", "'" + io_detail::printable(s) + "' is unknown; expected one of BOOL U8 I8 F8_E5M2 " +
                                           "F8_E4M3 F8_E8M0 I16 U16 F16 BF16 I32 U32 F32 C64 F64 I64 U64 F4 F6_E2M3 F6_E3M2");
      t.type = *d;
    } else if (key == "shape") {
      once(have_shape);
      j.array(what + " shape", [&](std::size_t) { t.shape.push_back(j.u64(what + " shape")); }, 2);
    } else if (key == "data_offsets") {
      once(have_offsets);
      const std::size_t at = j.pos();
      std::uint64_t v[2] = {0, 0};
      std::size_t count = 0;
      j.array(what + " data_offsets", [&](std::size_t k) {
        const std::uint64_t x = j.u64(what + " data_offsets");
        if (k < 2) v[k] = x;
        count = k + 1;
      }, 2);
      if (count != 2) j.fail_at(at, what + " data_offsets", "has " + std::to_string(count) + " elements; expected [begin, end]");
      if (v[1] < v[0]) j.fail_at(at, what + " data_offsets", "end " + std::to_string(v[1]) + " < begin " + std::to_string(v[0]));
      t.begin = v[0];
      t.end = v[1];
    } else {
      j.skip_value(what, 2);  // unknown keys are ignored, as by the reference
    }
  }, 1);
  if (!have_dtype || !have_shape || !have_offsets)
    j.fail_at(key_pos, what, std::string("lacks ") + (!have_dtype ? "\"dtype\"" : !have_shape ? "\"shape\"" : "\"data_offsets\""));
  const std::string sz = "safetensors: " + name_ + ": " + what + " size";
  std::uint64_t n = 1;
  for (const std::uint64_t d : t.shape) n = io_detail::checked_mul(n, d, sz);
  t.n_elements = n;
  const std::uint64_t bytes = byte_size(t.type, n, sz);
  if (t.end - t.begin != bytes)
    j.fail_at(key_pos, what, "data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) + ") hold " +
                                 std::to_string(t.end - t.begin) + " bytes; shape and dtype " +
                                 std::string(safetensors::name(t.type)) + " need " + std::to_string(bytes));
  index_.emplace(t.name, tensors_.size());
  tensors_.push_back(std::move(t));
}

/// Builds a safetensors file. Tensors are laid out by decreasing element size (then in the
/// order added), as the reference writer does, so each tensor's data is aligned to its element
/// size; the header is padded with spaces to a multiple of 8 bytes.
class writer : public io_detail::image_writer<writer> {
  friend class io_detail::image_writer<writer>;

 public:
  /// A tensor of dtype `t` and `shape`, copying `data`.
  void add(std::string tensor_name, dtype t, std::vector<std::uint64_t> shape, std::span<const std::byte> data) {
    auto buf = std::make_shared<std::vector<std::byte>>(data.begin(), data.end());
    const std::span<const std::byte> s(*buf);
    add_entry(std::move(tensor_name), t, std::move(shape), s, std::move(buf));
  }
  /// As add without copying: `data` must stay valid until the last write()/to_bytes().
  void add_view(std::string tensor_name, dtype t, std::vector<std::uint64_t> shape, std::span<const std::byte> data) {
    add_entry(std::move(tensor_name), t, std::move(shape), data, nullptr);
  }
  /// fp32 values stored as F32, F16 or BF16 (rounded to nearest even).
  void add_float(std::string tensor_name, std::vector<std::uint64_t> shape, std::span<const float> values,
                 dtype t = dtype::F32) {
    std::vector<std::byte> buf;
    if (t == dtype::F32) {
      buf.resize(values.size() * 4);
      if (!values.empty()) std::memcpy(buf.data(), values.data(), buf.size());
    } else if (t == dtype::F16 || t == dtype::BF16) {
      buf.resize(values.size() * 2);
      for (std::size_t i = 0; i < values.size(); ++i) {
        const std::uint16_t h = t == dtype::F16 ? encode<fp16>(values[i], overflow::propagate)
                                                : encode<bf16>(values[i], overflow::propagate);
        std::memcpy(buf.data() + 2 * i, &h, 2);
      }
    } else {
      throw error("safetensors::writer::add_float: dtype " + std::string(safetensors::name(t)) +
                  "; expected F32, F16 or BF16");
    }
    auto owned = std::make_shared<std::vector<std::byte>>(std::move(buf));
    const std::span<const std::byte> s(*owned);
    add_entry(std::move(tensor_name), t, std::move(shape), s, std::move(owned));
  }
  /// Adds or replaces a "__metadata__" pair.
  void set_metadata(std::string key, std::string value) {
    check_utf8(key, "metadata key");
    check_utf8(value, "metadata value");
    if (const auto it = meta_index_.find(key); it != meta_index_.end()) {
      metadata_[it->second].second = std::move(value);
      return;
    }
    meta_index_.emplace(key, metadata_.size());
    metadata_.emplace_back(std::move(key), std::move(value));
  }

  std::size_t tensor_count() const noexcept { return entries_.size(); }


 private:
  struct entry {
    std::string name;
    dtype type;
    std::vector<std::uint64_t> shape;
    std::span<const std::byte> data;
    std::shared_ptr<const void> owner;
  };

  static void check_utf8(const std::string& s, const char* what) {
    if (!io_detail::valid_utf8(s))
      throw error(std::string("safetensors::writer: ") + what + " '" + io_detail::printable(s) + "' is not valid UTF-8");
  }

  void add_entry(std::string tensor_name, dtype t, std::vector<std::uint64_t> shape, std::span<const std::byte> data,
                 std::shared_ptr<const void> owner) {
    check_utf8(tensor_name, "tensor name");
    const std::string what = "safetensors::writer: tensor '" + io_detail::printable(tensor_name) + "'";
    if (tensor_name == "__metadata__") throw error(what + ": the name is reserved");
    if (names_.count(tensor_name)) throw error(what + ": a tensor with this name was already added");
    if (static_cast<std::size_t>(t) >= dtypes.size()) throw error(what + ": invalid dtype");
    std::uint64_t n = 1;
    for (const std::uint64_t d : shape) n = io_detail::checked_mul(n, d, what);
    const std::uint64_t bytes = byte_size(t, n, what);
    if (bytes != data.size())
      throw error(what + ": " + std::to_string(data.size()) + " bytes of data; shape and dtype " +
                  std::string(safetensors::name(t)) +
                  " need " + std::to_string(bytes));
    names_.insert(tensor_name);
    entries_.push_back({std::move(tensor_name), t, std::move(shape), data, std::move(owner)});
  }

  template <class Sink>
  void write_to(Sink& s) const {
    std::vector<std::size_t> order(entries_.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return info(entries_[a].type).bits > info(entries_[b].type).bits; });
    std::string h = "{";
    bool first = true;
    if (!metadata_.empty()) {
      h += "\"__metadata__\":{";
      for (std::size_t i = 0; i < metadata_.size(); ++i) {
        if (i) h += ',';
        h += io_detail::json_quote(metadata_[i].first);
        h += ':';
        h += io_detail::json_quote(metadata_[i].second);
      }
      h += '}';
      first = false;
    }
    std::uint64_t off = 0;
    for (const std::size_t i : order) {
      const entry& e = entries_[i];
      if (!first) h += ',';
      first = false;
      h += io_detail::json_quote(e.name);
      h += ":{\"dtype\":\"";
      h += safetensors::name(e.type);
      h += "\",\"shape\":[";
      for (std::size_t k = 0; k < e.shape.size(); ++k) {
        if (k) h += ',';
        h += std::to_string(e.shape[k]);
      }
      h += "],\"data_offsets\":[";
      h += std::to_string(off);
      h += ',';
      off += e.data.size();
      h += std::to_string(off);
      h += "]}";
    }
    h += '}';
    h.append((8 - h.size() % 8) % 8, ' ');
    if (h.size() > max_header_bytes)
      throw error("safetensors::writer: the header has " + std::to_string(h.size()) + " bytes; the limit is " +
                  std::to_string(max_header_bytes));
    const std::uint64_t n = h.size();
    s.write(&n, 8);
    s.write(h.data(), h.size());
    for (const std::size_t i : order) s.write(entries_[i].data.data(), entries_[i].data.size());
  }

  std::vector<entry> entries_;
  std::set<std::string, std::less<>> names_;
  std::vector<std::pair<std::string, std::string>> metadata_;
  std::map<std::string, std::size_t, std::less<>> meta_index_;
};

}  // namespace MIXQ_ISA_NS
}  // namespace mixq::safetensors
