// Checked arithmetic and a bounds-checked little-endian cursor for parsing untrusted files.
//
// Every size computed from file contents goes through checked_add / checked_mul /
// checked_round_up, which throw mixq::error instead of wrapping, and every read goes through a
// cursor that knows how many bytes are left. A parser built on these cannot overflow a size or
// read past the end of its input by construction; the error says what was being read, at which
// file offset, and what was expected.
#pragma once
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "../config.hpp"
#include "../error.hpp"

MIXQ_BEGIN_NAMESPACE
namespace io_detail {

static_assert(std::endian::native == std::endian::little,
              "mixq io: GGUF, safetensors and ggml blocks are little-endian; big-endian hosts are not supported");

/// a + b, or mixq::error "<what>: a + b overflows 64 bits".
inline std::uint64_t checked_add(std::uint64_t a, std::uint64_t b, std::string_view what) {
  std::uint64_t r;
  if (__builtin_add_overflow(a, b, &r))
    throw error(std::string(what) + ": " + std::to_string(a) + " + " + std::to_string(b) +
                " overflows 64 bits; expected a size that fits in 64 bits");
  return r;
}

/// a * b, or mixq::error "<what>: a * b overflows 64 bits".
inline std::uint64_t checked_mul(std::uint64_t a, std::uint64_t b, std::string_view what) {
  std::uint64_t r;
  if (__builtin_mul_overflow(a, b, &r))
    throw error(std::string(what) + ": " + std::to_string(a) + " * " + std::to_string(b) +
                " overflows 64 bits; expected a size that fits in 64 bits");
  return r;
}

/// The smallest multiple of `align` (a power of two) that is >= n, checked.
inline std::uint64_t checked_round_up(std::uint64_t n, std::uint64_t align, std::string_view what) {
  const std::uint64_t m = checked_add(n, align - 1, what);
  return m & ~(align - 1);
}

/// A 64-bit size as std::size_t (identity on 64-bit hosts; checked on 32-bit ones).
inline std::size_t to_size(std::uint64_t n, std::string_view what) {
  if (n > std::numeric_limits<std::size_t>::max())
    throw error(std::string(what) + ": " + std::to_string(n) + " does not fit in size_t on this host");
  return static_cast<std::size_t>(n);
}

/// Appends n bytes to a byte vector (resize + memcpy: GCC 12 warns falsely on range insert).
inline void append_bytes(std::vector<std::byte>& v, const void* p, std::size_t n) {
  if (n == 0) return;
  const std::size_t old = v.size();
  v.resize(old + n);
  std::memcpy(v.data() + old, p, n);
}

/// Printable form of untrusted bytes for error messages: at most `max` characters, non-printable
/// bytes as \xNN.
inline std::string printable(std::string_view s, std::size_t max = 64) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

/// True when s is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
inline bool valid_utf8(std::string_view s) noexcept {
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    std::uint32_t cp;
    if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07;
    else return false;
    if (n - i < static_cast<std::size_t>(len)) return false;
    for (int k = 1; k < len; ++k) {
      const auto d = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += static_cast<std::size_t>(len);
  }
  return true;
}

/// A read position in an untrusted byte buffer. Reads are little-endian and bounds-checked; a
/// failed check throws mixq::error "<context>: <what> at offset <pos>: ...".
class cursor {
 public:
  cursor(std::span<const std::byte> bytes, std::string context, std::uint64_t base_offset = 0)
      : p_(bytes.data()), n_(bytes.size()), ctx_(std::move(context)), base_(base_offset) {}

  /// Absolute file offset of the next byte.
  std::uint64_t offset() const noexcept { return base_ + pos_; }
  std::size_t pos() const noexcept { return pos_; }
  std::size_t remaining() const noexcept { return n_ - pos_; }
  std::size_t size() const noexcept { return n_; }
  const std::string& context() const noexcept { return ctx_; }

  /// Throws "<context>: <what> at offset <at>: <msg>".
  [[noreturn]] void fail_at(std::uint64_t at, std::string_view what, std::string_view msg) const {
    throw error(ctx_ + ": " + std::string(what) + " at offset " + std::to_string(at) + ": " + std::string(msg));
  }
  [[noreturn]] void fail(std::string_view what, std::string_view msg) const { fail_at(offset(), what, msg); }

  /// Ensures `count` more bytes exist.
  void need(std::uint64_t count, std::string_view what) const {
    if (count > remaining())
      fail(what, "needs " + std::to_string(count) + " bytes but only " + std::to_string(remaining()) +
                     " remain (input is " + std::to_string(base_ + n_) + " bytes); the file is truncated or corrupt");
  }

  template <class T>
  T read(std::string_view what) {
    static_assert(std::is_trivially_copyable_v<T>);
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  /// `count` raw bytes (a view into the buffer).
  std::span<const std::byte> bytes(std::uint64_t count, std::string_view what) {
    need(count, what);
    std::span<const std::byte> s(p_ + pos_, static_cast<std::size_t>(count));
    pos_ += static_cast<std::size_t>(count);
    return s;
  }
  std::string_view chars(std::uint64_t count, std::string_view what) {
    const auto s = bytes(count, what);
    return {reinterpret_cast<const char*>(s.data()), s.size()};
  }

  void seek(std::size_t pos, std::string_view what) {
    if (pos > n_)
      fail(what, "position " + std::to_string(base_ + pos) + " is past the end of the input (" +
                     std::to_string(base_ + n_) + " bytes)");
    pos_ = pos;
  }

 private:
  const std::byte* p_;
  std::size_t n_;
  std::size_t pos_ = 0;
  std::string ctx_;
  std::uint64_t base_;
};

}  // namespace io_detail
MIXQ_END_NAMESPACE
