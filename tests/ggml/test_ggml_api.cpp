// The ggml row API: tag constants, argument checking, and behaviour that the golden data does not
// cover directly (misaligned buffers, n = 0, importance ignored where ggml ignores it).
#include <catch2/catch.hpp>
#include <cstring>
#include <mixq/scheme/ggml.hpp>
#include <string>
#include <type_traits>
#include <vector>

namespace mg = mixq::ggml;
using Catch::Matchers::Contains;

#define MIXQ_GGML_TYPES                                                                                           \
  mg::q4_0, mg::q4_1, mg::q5_0, mg::q5_1, mg::q8_0, mg::q2_k, mg::q3_k, mg::q4_k, mg::q5_k, mg::q6_k, mg::iq4_nl, \
      mg::mxfp4

TEST_CASE("ggml tags carry ggml's constants", "[ggml][api]") {
  struct row {
    std::size_t elems, bytes;
    int id;
    const char* name;
  };
  const auto check = [](auto tag, row r) {
    using T = decltype(tag);
    STATIC_REQUIRE(std::is_empty_v<T>);
    STATIC_REQUIRE(std::is_trivial_v<T>);
    CHECK(T::block_elems == r.elems);
    CHECK(T::block_bytes == r.bytes);
    CHECK(T::type_id == r.id);
    CHECK(std::string(T::name) == r.name);
  };
  check(mg::q4_0{}, {32, 18, 2, "q4_0"});
  check(mg::q4_1{}, {32, 20, 3, "q4_1"});
  check(mg::q5_0{}, {32, 22, 6, "q5_0"});
  check(mg::q5_1{}, {32, 24, 7, "q5_1"});
  check(mg::q8_0{}, {32, 34, 8, "q8_0"});
  check(mg::q2_k{}, {256, 84, 10, "q2_K"});
  check(mg::q3_k{}, {256, 110, 11, "q3_K"});
  check(mg::q4_k{}, {256, 144, 12, "q4_K"});
  check(mg::q5_k{}, {256, 176, 13, "q5_K"});
  check(mg::q6_k{}, {256, 210, 14, "q6_K"});
  check(mg::iq4_nl{}, {32, 18, 20, "iq4_nl"});
  check(mg::mxfp4{}, {32, 17, 39, "mxfp4"});
  CHECK(mg::row_size<mg::q4_k>(512) == 288);
  CHECK(mg::row_size<mg::mxfp4>(0) == 0);
}

TEMPLATE_TEST_CASE("ggml row API rejects bad arguments with a precise message", "[ggml][api][errors]",
                   MIXQ_GGML_TYPES) {
  using T = TestType;
  const std::size_t n = 2 * T::block_elems;
  const std::size_t bad = T::block_elems + 1;
  std::vector<float> x(n, 1.0f), y(n);
  std::vector<std::uint8_t> q(mg::row_size<T>(n));
  const std::string bad_s = "n = " + std::to_string(bad);
  const std::string block_s = std::to_string(T::block_elems);

  CHECK_THROWS_AS(mg::row_size<T>(bad), mixq::error);
  CHECK_THROWS_WITH(mg::row_size<T>(bad), Contains(bad_s) && Contains(block_s) && Contains("row_size"));
  CHECK_THROWS_WITH(mg::quantize_row<T>(x.data(), bad, q.data()), Contains(bad_s) && Contains(block_s));
  CHECK_THROWS_WITH(mg::quantize_row_model<T>(x.data(), bad, q.data()), Contains(bad_s));
  CHECK_THROWS_WITH(mg::dequantize_row<T>(q.data(), bad, y.data()), Contains(bad_s) && Contains("dequantize_row"));

  CHECK_THROWS_AS(mg::quantize_row<T>(nullptr, n, q.data()), mixq::error);
  CHECK_THROWS_WITH(mg::quantize_row<T>(nullptr, n, q.data()), Contains("x = nullptr") && Contains(T::name));
  CHECK_THROWS_WITH(mg::quantize_row<T>(x.data(), n, nullptr), Contains("out = nullptr"));
  CHECK_THROWS_WITH(mg::quantize_row<T>(x.data(), n, nullptr, x.data()), Contains("out = nullptr"));
  CHECK_THROWS_WITH(mg::quantize_row_model<T>(nullptr, n, q.data()), Contains("x = nullptr"));
  CHECK_THROWS_WITH(mg::dequantize_row<T>(nullptr, n, y.data()), Contains("in = nullptr"));
  CHECK_THROWS_WITH(mg::dequantize_row<T>(q.data(), n, nullptr), Contains("y = nullptr"));
  CHECK_THROWS_WITH(mg::quantize_row<T>(nullptr, 0, q.data()), Contains("x = nullptr"));

  // n = 0 with valid pointers is an empty row: nothing is read or written.
  std::vector<std::uint8_t> sentinel(4, 0x5a);
  CHECK_NOTHROW(mg::quantize_row<T>(x.data(), 0, sentinel.data()));
  CHECK_NOTHROW(mg::dequantize_row<T>(sentinel.data(), 0, y.data()));
  CHECK(sentinel == std::vector<std::uint8_t>(4, 0x5a));
}

TEMPLATE_TEST_CASE("ggml rows are independent of buffer alignment and of neighbouring blocks", "[ggml][api]",
                   MIXQ_GGML_TYPES) {
  using T = TestType;
  const std::size_t n = 4 * T::block_elems;
  std::vector<float> x(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = static_cast<float>((i * 37) % 101) / 7.0f - 6.5f;
  const std::size_t rs = mg::row_size<T>(n);
  std::vector<std::uint8_t> a(rs), b(rs + 3);
  mg::quantize_row<T>(x.data(), n, a.data());
  mg::quantize_row<T>(x.data(), n, b.data() + 3);  // odd address
  CHECK(std::memcmp(a.data(), b.data() + 3, rs) == 0);
  // Reference quantization works block by block: the second block alone gives the same bytes.
  std::vector<std::uint8_t> one(T::block_bytes);
  mg::quantize_row<T>(x.data() + T::block_elems, T::block_elems, one.data());
  CHECK(std::memcmp(one.data(), a.data() + T::block_bytes, T::block_bytes) == 0);
  std::vector<float> y1(n), y2(n + 1);
  mg::dequantize_row<T>(a.data(), n, y1.data());
  mg::dequantize_row<T>(b.data() + 3, n, y2.data() + 1);  // misaligned output too
  CHECK(std::memcmp(y1.data(), y2.data() + 1, n * sizeof(float)) == 0);
}

TEST_CASE("ggml types whose quantizer ignores importance give the reference bytes", "[ggml][api]") {
  std::vector<float> x(64), w(64, 3.0f);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i) * 0.37f - 11.0f;
  std::vector<std::uint8_t> a(mg::row_size<mg::q8_0>(64)), b(a.size());
  mg::quantize_row<mg::q8_0>(x.data(), 64, a.data());
  mg::quantize_row<mg::q8_0>(x.data(), 64, b.data(), w.data());
  CHECK(a == b);
  std::vector<std::uint8_t> c(mg::row_size<mg::mxfp4>(64)), d(c.size());
  mg::quantize_row<mg::mxfp4>(x.data(), 64, c.data());
  mg::quantize_row_model<mg::mxfp4>(x.data(), 64, d.data(), w.data());
  CHECK(c == d);
}

TEST_CASE("ggml IQ4_NL all-zero blocks: reference writes code 0, model quantizer code 8", "[ggml][api]") {
  std::vector<float> x(32, 0.0f), y(32);
  std::vector<std::uint8_t> q(18, 0xff);
  mg::quantize_row<mg::iq4_nl>(x.data(), 32, q.data());
  CHECK(q == std::vector<std::uint8_t>(18, 0));
  mg::dequantize_row<mg::iq4_nl>(q.data(), 32, y.data());
  for (float v : y) CHECK(v == 0.0f);
  mg::quantize_row_model<mg::iq4_nl>(x.data(), 32, q.data());
  CHECK(q[0] == 0);
  CHECK(q[1] == 0);
  for (std::size_t j = 2; j < 18; ++j) CHECK(q[j] == 0x88);
}
