// A small strict pull parser for JSON (RFC 8259), for headers of untrusted files.
//
// It builds no document: callers walk objects and arrays and read exactly the values they need,
// skipping the rest, so memory use is bounded by what the caller keeps. Nesting depth is limited,
// strings are checked for valid UTF-8 and escapes, numbers are checked against the JSON grammar,
// and every error names the byte offset in the file.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "checked.hpp"

MIXQ_BEGIN_NAMESPACE
namespace io_detail {

class json_reader {
 public:
  static constexpr int max_depth = 64;

  /// `text` is the JSON; `base_offset` its offset in the file (for messages).
  json_reader(std::string_view text, std::string context, std::uint64_t base_offset)
      : s_(text), ctx_(std::move(context)), base_(base_offset) {}

  std::uint64_t offset() const noexcept { return base_ + i_; }
  std::uint64_t offset_of(std::size_t pos) const noexcept { return base_ + pos; }
  std::size_t pos() const noexcept { return i_; }

  [[noreturn]] void fail_at(std::size_t pos, std::string_view what, std::string_view msg) const {
    throw error(ctx_ + ": " + std::string(what) + " at offset " + std::to_string(base_ + pos) + ": " + std::string(msg));
  }
  [[noreturn]] void fail(std::string_view what, std::string_view msg) const { fail_at(i_, what, msg); }

  void ws() noexcept {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  bool at_end() noexcept {
    ws();
    return i_ >= s_.size();
  }
  /// The next significant character (after whitespace); fails at the end of input.
  char peek(std::string_view what) {
    ws();
    if (i_ >= s_.size()) fail(what, "unexpected end of the JSON text");
    return s_[i_];
  }
  bool consume(char c) {
    ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  void expect(char c, std::string_view what) {
    const char got = peek(what);
    if (got != c) fail(what, std::string("found ") + describe(got) + "; expected '" + c + "'");
    ++i_;
  }

  /// Calls on_member(key, key_pos) for each member of an object; on_member must consume the value.
  template <class F>
  void object(std::string_view what, F&& on_member, int depth = 0) {
    check_depth(depth, what);
    expect('{', what);
    if (consume('}')) return;
    do {
      ws();
      const std::size_t key_pos = i_;
      std::string key = string(what);
      expect(':', what);
      on_member(key, key_pos);
    } while (consume(','));
    expect('}', what);
  }

  /// Calls on_element(index) for each element of an array; on_element must consume the value.
  template <class F>
  void array(std::string_view what, F&& on_element, int depth = 0) {
    check_depth(depth, what);
    expect('[', what);
    if (consume(']')) return;
    std::size_t k = 0;
    do {
      on_element(k++);
    } while (consume(','));
    expect(']', what);
  }

  /// A JSON string, unescaped to UTF-8.
  std::string string(std::string_view what) {
    const char c = peek(what);
    if (c != '"') fail(what, std::string("found ") + describe(c) + "; expected a string");
    ++i_;
    std::string out;
    while (true) {
      if (i_ >= s_.size()) fail(what, "unterminated string");
      const auto ch = static_cast<unsigned char>(s_[i_]);
      if (ch == '"') {
        ++i_;
        return out;
      }
      if (ch < 0x20) fail(what, "control character " + printable(s_.substr(i_, 1)) + " inside a string; expected it escaped");
      if (ch == '\\') {
        if (i_ + 1 >= s_.size()) fail(what, "unterminated escape");
        const char e = s_[i_ + 1];
        i_ += 2;
        switch (e) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case '/': out += '/'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          case 'u': {
            std::uint32_t cp = hex4(what);
            if (cp >= 0xDC00 && cp <= 0xDFFF) fail_at(i_ - 6, what, "lone low surrogate \\u escape");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
              if (i_ + 1 < s_.size() && s_[i_] == '\\' && s_[i_ + 1] == 'u') {
                i_ += 2;
                const std::uint32_t lo = hex4(what);
                if (lo < 0xDC00 || lo > 0xDFFF) fail_at(i_ - 6, what, "high surrogate not followed by a low surrogate");
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
              } else {
                fail(what, "lone high surrogate \\u escape");
              }
            }
            append_utf8(out, cp);
            break;
          }
          default: fail_at(i_ - 2, what, std::string("invalid escape \\") + printable(std::string_view(&e, 1)));
        }
        continue;
      }
      // Raw bytes: copy one UTF-8 sequence, validated.
      std::size_t len = ch < 0x80 ? 1 : (ch & 0xE0) == 0xC0 ? 2 : (ch & 0xF0) == 0xE0 ? 3 : (ch & 0xF8) == 0xF0 ? 4 : 0;
      if (len == 0 || s_.size() - i_ < len || !valid_utf8(s_.substr(i_, len)))
        fail(what, "invalid UTF-8 in a string");
      out.append(s_.data() + i_, len);
      i_ += len;
    }
  }

  /// A JSON number that is a non-negative integer < 2^64 (no sign, fraction or exponent).
  std::uint64_t u64(std::string_view what) {
    const char c = peek(what);
    const std::size_t start = i_;
    if (c < '0' || c > '9') fail(what, std::string("found ") + describe(c) + "; expected a non-negative integer");
    std::uint64_t v = 0;
    if (c == '0') {
      ++i_;
    } else {
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
        const auto d = static_cast<std::uint64_t>(s_[i_] - '0');
        if (v > (UINT64_MAX - d) / 10) fail_at(start, what, "integer does not fit in 64 bits");
        v = v * 10 + d;
        ++i_;
      }
    }
    if (i_ < s_.size() && (s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E' || (s_[i_] >= '0' && s_[i_] <= '9')))
      fail_at(start, what, "expected a non-negative integer without fraction, exponent or leading zeros");
    return v;
  }

  /// Skips one value of any kind, checking its syntax.
  void skip_value(std::string_view what, int depth = 0) {
    const char c = peek(what);
    switch (c) {
      case '{': object(what, [&](const std::string&, std::size_t) { skip_value(what, depth + 1); }, depth); return;
      case '[': array(what, [&](std::size_t) { skip_value(what, depth + 1); }, depth); return;
      case '"': (void)string(what); return;
      case 't': literal("true", what); return;
      case 'f': literal("false", what); return;
      case 'n': literal("null", what); return;
      default: number(what); return;
    }
  }

  static std::string describe(char c) {
    std::string s = "'";
    s += printable(std::string_view(&c, 1));
    s += "'";
    return s;
  }

 private:
  void check_depth(int depth, std::string_view what) const {
    if (depth >= max_depth) fail(what, "nesting deeper than " + std::to_string(max_depth) + " levels");
  }
  void literal(std::string_view word, std::string_view what) {
    if (s_.substr(i_, word.size()) != word) fail(what, "invalid literal; expected true, false or null");
    i_ += word.size();
  }
  void number(std::string_view what) {
    const std::size_t start = i_;
    auto digits = [&] {
      const std::size_t d0 = i_;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
      return i_ > d0;
    };
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    if (i_ < s_.size() && s_[i_] == '0') {
      ++i_;
    } else if (!digits()) {
      fail_at(start, what, "invalid value; expected an object, array, string, number, true, false or null");
    }
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      if (!digits()) fail_at(start, what, "invalid number: no digits after '.'");
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (!digits()) fail_at(start, what, "invalid number: no digits in the exponent");
    }
  }
  std::uint32_t hex4(std::string_view what) {
    if (s_.size() - i_ < 4) fail(what, "truncated \\u escape");
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const char h = s_[i_ + static_cast<std::size_t>(k)];
      v <<= 4;
      if (h >= '0' && h <= '9') v |= static_cast<std::uint32_t>(h - '0');
      else if (h >= 'a' && h <= 'f') v |= static_cast<std::uint32_t>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') v |= static_cast<std::uint32_t>(h - 'A' + 10);
      else fail(what, "invalid hex digit in a \\u escape");
    }
    i_ += 4;
    return v;
  }
  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
  std::string ctx_;
  std::uint64_t base_;
};

/// `s` as a JSON string literal (quotes included); s must be valid UTF-8.
inline std::string json_quote(std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
  return out;
}

}  // namespace io_detail
MIXQ_END_NAMESPACE
