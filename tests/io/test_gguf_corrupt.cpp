// GGUF files as an attacker writes them: every field corrupted in turn gives a mixq::error that
// says what and where; truncation and random damage never crash (this file runs under ASan+UBSan
// in CI) and never pass silently.
#include "common.hpp"

#include <mixq/mixq.hpp>

using namespace io_test;
namespace gguf = mixq::gguf;

namespace {

/// A valid file: metadata of several kinds, three tensors (f32, q4_0, f16).
std::vector<std::byte> sample_file() {
  gguf::writer w;
  w.set("general.architecture", gguf::value("llama"));
  w.set("llama.block_count", gguf::value(std::uint32_t{2}));
  w.set("tokenizer.ggml.tokens", gguf::value::array(std::vector<std::string>{"<s>", "</s>", "a"}));
  w.set("tokenizer.ggml.scores", gguf::value::array(std::vector<float>{0.f, -1.f, -2.f}));
  const auto x = random_matrix(2 * 64, 5);
  w.add_float("a", x.data(), 2, 64);
  w.quantize_ggml<mixq::ggml::q4_0>("b", x.data(), 2, 64);
  w.add_float("c", x.data(), 1, 64, gguf::type_f16);
  return w.to_bytes();
}

/// Header of a hand-built file: magic, version, counts.
bytes_builder header(std::uint64_t tensors, std::uint64_t kvs, std::uint32_t version = 3) {
  bytes_builder b;
  b.raw("GGUF").u32(version).u64(tensors).u64(kvs);
  return b;
}

std::string parse_error(const std::vector<std::byte>& b) {
  return error_of([&] { (void)gguf::file::parse(b); });
}

/// Expects a mixq::error containing every part.
void expect_error(const bytes_builder& b, std::initializer_list<std::string_view> parts) {
  const std::string e = parse_error(b.b);
  INFO("error: " << e);
  REQUIRE_FALSE(e.empty());
  CHECK(contains(e, "gguf: <memory>: "));
  for (auto p : parts) CHECK(contains(e, p));
}

}  // namespace

TEST_CASE("gguf corrupt: header fields", "[io][gguf][corrupt]") {
  expect_error(bytes_builder{}.raw("GGUF"), {"needs 24"});
  expect_error(bytes_builder{}.raw("GGML").u32(3).u64(0).u64(0), {"magic at offset 0", "found 'GGML'; expected 'GGUF'"});
  expect_error(bytes_builder{}.raw("\x7f" "ELF").u32(3).u64(0).u64(0), {"found '\\x7fELF'"});
  expect_error(header(0, 0, 1), {"version at offset 4", "GGUF v1"});
  expect_error(header(0, 0, 0x03000000u), {"big-endian"});
  expect_error(header(0, 0, 4), {"version is 4", "expected 2 or 3"});
  expect_error(header(~0ull, 0), {"tensor count at offset 8", "cannot fit"});
  expect_error(header(0, 1ull << 60), {"metadata count at offset 16", "cannot fit"});
  expect_error(header(1, 0), {"tensor count", "cannot fit in the 0 bytes"});
  // Version 2 has the same layout and is accepted.
  CHECK(parse_error(header(0, 0, 2).b).empty());
}

TEST_CASE("gguf corrupt: metadata", "[io][gguf][corrupt]") {
  auto kv = [](std::uint64_t n = 1) { return header(0, n); };
  expect_error(kv().u64(0).u32(4).u32(1).u8(0), {"metadata pair 0 key at offset 24", "length is 0"});
  expect_error(kv().u64(70000).u32(4).u32(1), {"length is 70000"});
  expect_error(kv().u64(9).raw("abc").u32(0).u8(0), {"metadata pair 0 key at offset 32", "needs 9 bytes but only"});
  expect_error(kv().str("k").u32(13).u32(0), {"metadata 'k' type at offset 33", "is 13; expected 0..12"});
  expect_error(kv().str("k").u32(4).u8(1), {"metadata 'k' value", "needs 4 bytes but only 1 remain"});
  expect_error(kv().str("k").u32(7).u8(2), {"bool byte is 2"});
  expect_error(kv().str("k").u32(8).u64(1ull << 62).u32(0), {"string length", "exceeds"});
  expect_error(kv().str("k").u32(8).u64(~0ull), {"string length 18446744073709551615"});
  expect_error(kv().str("k").u32(9).u32(9).u64(1), {"nested arrays are not supported"});
  expect_error(kv().str("k").u32(9).u32(77).u64(1), {"array element type", "is 77"});
  expect_error(kv().str("k").u32(9).u32(4).u64(1ull << 61).u32(0), {"array length", "cannot fit"});
  expect_error(kv().str("k").u32(9).u32(8).u64(3).str("a"), {"cannot fit"});
  expect_error(kv().str("k").u32(9).u32(8).u64(2).str("a").u64(1000), {"string length 1000 exceeds"});
  expect_error(kv(2).str("k").u32(4).u32(1).str("k").u32(4).u32(2), {"duplicate key 'k'"});
  expect_error(kv().str("general.alignment").u32(10).u64(32), {"general.alignment at offset 24", "type is u64; expected u32"});
  expect_error(kv().str("general.alignment").u32(4).u32(48), {"is 48; expected a power of two"});
  expect_error(kv().str("general.alignment").u32(4).u32(0), {"is 0; expected a power of two"});
  expect_error(kv().str("general.alignment").u32(4).u32(1u << 21), {"is 2097152"});
}

TEST_CASE("gguf corrupt: tensor infos and data", "[io][gguf][corrupt]") {
  auto one = [](std::string_view name = "t") { return header(1, 0).str(name); };
  const std::string filler(32, '\0');
  expect_error(one().u32(5).raw(filler), {"tensor 't' n_dims at offset 33", "is 5; expected at most 4"});
  expect_error(one().u32(2).u64(32).u64(0).u32(0).u64(0), {"tensor 't' ne[1] at offset 45", "is 0"});
  expect_error(one().u32(1).u64(1ull << 63).u32(0).u64(0), {"ne[0]", "2^63"});
  expect_error(one().u32(2).u64(1ull << 40).u64(1ull << 40).u32(0).u64(0), {"number of elements overflows"});
  expect_error(one().u32(1).u64(32).u32(4).u64(0), {"type at offset", "ggml type id 4 is unknown"});
  expect_error(one().u32(1).u64(33).u32(2).u64(0), {"ne[0] = 33 is not a multiple of the q4_0 block size 32"});
  expect_error(one().u32(1).u64(32).u32(2), {"tensor 't' data offset at offset 49", "needs 8 bytes"});
  expect_error(one().u32(1).u64(8).u32(0).u64(0), {"data section", "past the end of the file"});
  expect_error(one().u32(1).u64(8).u32(0).u64(0).pad_to(32).raw("short"), {"ends past the end of the file", "truncated"});
  expect_error(one().u32(1).u64(8).u32(0).u64(4).pad_to(32).raw(std::string(64, 'x')),
               {"tensor 't' at offset 24", "data offset 4 is not a multiple of the alignment 32"});
  expect_error(one().u32(1).u64(8).u32(0).u64(1ull << 63).pad_to(32), {"ends past the end"});
  expect_error(one().u32(1).u64(8).u32(0).u64(~0ull & ~31ull).pad_to(32).raw(std::string(32, 'x')), {"ends past the end"});
  // Two tensors over the same bytes, and duplicate names.
  bytes_builder two = header(2, 0);
  two.str("a").u32(1).u64(8).u32(0).u64(0).str("b").u32(1).u64(8).u32(0).u64(32).pad_to(32).raw(std::string(64, 'x'));
  CHECK(parse_error(two.b).empty());
  bytes_builder lap = header(2, 0);
  lap.str("a").u32(1).u64(16).u32(0).u64(0).str("b").u32(1).u64(8).u32(0).u64(0).pad_to(32).raw(std::string(64, 'x'));
  expect_error(lap, {"tensor 'b' at offset 57", "data at 0 overlaps tensor 'a' [0, 64)"});
  bytes_builder dup = header(2, 0);
  dup.str("a").u32(1).u64(8).u32(0).u64(0).str("a").u32(1).u64(8).u32(0).u64(32).pad_to(32).raw(std::string(64, 'x'));
  expect_error(dup, {"duplicate tensor name 'a'"});
  expect_error(header(1, 0).u64(1000).raw(filler), {"tensor info 0 name at offset 32", "needs 1000 bytes but only 32 remain"});
  expect_error(header(1, 0).u64(70000).raw(filler), {"tensor info 0 name", "length is 70000"});
  // Names up to 64 KiB are read (llama.cpp stops at 63 bytes; the writer too).
  bytes_builder longname = header(1, 0);
  longname.str(std::string(100, 'n')).u32(1).u64(8).u32(0).u64(0).pad_to(32).raw(std::string(32, 'x'));
  CHECK(parse_error(longname.b).empty());
}

TEST_CASE("gguf corrupt: every truncation of a valid file is rejected", "[io][gguf][corrupt]") {
  const auto good = sample_file();
  const auto f = gguf::file::parse(good);
  // The reader needs the bytes up to the end of the last tensor; the final padding is optional.
  std::uint64_t needed = 0;
  for (const auto& t : f.tensors()) needed = std::max(needed, f.data_offset() + t.offset + t.n_bytes);
  for (std::size_t n = 0; n < good.size(); ++n) {
    const std::vector<std::byte> cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    const std::string e = parse_error(cut);
    if (n < needed) {
      INFO("prefix " << n);
      REQUIRE(contains(e, " at offset "));
    } else {
      REQUIRE(e.empty());
    }
  }
}

TEST_CASE("gguf corrupt: random damage gives a result or a mixq::error, nothing else", "[io][gguf][corrupt]") {
  const auto good = sample_file();
  std::mt19937 rng(1234);
  int rejected = 0, accepted = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    auto b = good;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits; ++k) {
      const std::size_t at = rng() % b.size();
      switch (rng() % 3) {
        case 0: b[at] = static_cast<std::byte>(rng()); break;  // any byte
        case 1: b[at] ^= static_cast<std::byte>(1u << (rng() % 8)); break;  // one bit
        default: {  // a length-like field set to something large
          const std::uint64_t big = (rng() % 2) ? ~0ull - (rng() % 64) : (1ull << (rng() % 64));
          if (at + 8 <= b.size()) std::memcpy(b.data() + at, &big, 8);
        }
      }
    }
    try {
      const auto f = gguf::file::parse(b);
      ++accepted;
      for (const auto& t : f.tensors()) {  // everything the parser accepted is safe to touch
        const auto d = f.data(t);
        if (!d.empty()) REQUIRE(d.data() + d.size() <= b.data() + b.size());
        if (t.n_elements <= (1u << 16)) {
          try {
            (void)f.to_float(t);
          } catch (const mixq::error&) {
          }
        }
      }
    } catch (const mixq::error& e) {
      ++rejected;
      REQUIRE(contains(e.what(), "gguf: "));
    }
  }
  CHECK(rejected > 100);
  CHECK(accepted > 10);
}
