// Packing, layout sizes and the owning/view matrix types.
#include <catch2/catch.hpp>

#include <mixq/mixq.hpp>

#include <random>
#include <vector>

using namespace mixq;

TEST_CASE("bit packing round-trips every width against a bit-by-bit reference", "[layout]") {
  std::mt19937 rng(7);
  for (int b = 1; b <= 8; ++b) {
    const std::size_t n = 131;  // odd, so streams end mid-byte
    std::vector<unsigned> codes(n);
    for (auto& c : codes) c = rng() & ((1u << b) - 1u);
    std::vector<std::uint8_t> stream(detail::packed_bytes(n, b) + 1, 0xA5);
    stream.back() = 0x5A;  // guard byte: must not be touched
    for (std::size_t i = 0; i < n; ++i) detail::put_code(stream.data(), i, b, codes[i]);
    // Reference: bit k of the stream is bit (k % b) of code k / b, LSB first.
    for (std::size_t k = 0; k < n * static_cast<std::size_t>(b); ++k) {
      const unsigned expect = (codes[k / b] >> (k % b)) & 1u;
      const unsigned got = (stream[k / 8] >> (k % 8)) & 1u;
      REQUIRE(got == expect);
    }
    CHECK(stream.back() == 0x5A);
    for (std::size_t i = 0; i < n; ++i) REQUIRE(detail::get_code(stream.data(), i, b) == codes[i]);
  }
}

TEST_CASE("4-bit codes: element 2j in the low nibble, 2j+1 in the high nibble", "[layout]") {
  std::uint8_t s[2] = {0, 0};
  detail::put_code(s, 0, 4, 0x3);
  detail::put_code(s, 1, 4, 0xC);
  detail::put_code(s, 2, 4, 0x7);
  CHECK(s[0] == 0xC3);
  CHECK(s[1] == 0x07);
}

TEST_CASE("bits per weight counts codes, scales and zeros", "[layout]") {
  CHECK(matrix_layout<int4_g128_asym>::make(8, 256).bits_per_weight() == Approx(4.0 + (16 + 4) / 128.0));
  CHECK(matrix_layout<int4_g128_sym>::make(8, 256).bits_per_weight() == Approx(4.0 + 16 / 128.0));
  CHECK(matrix_layout<mxfp4>::make(8, 256).bits_per_weight() == Approx(4.25));
  CHECK(matrix_layout<mxfp6_e3m2>::make(8, 256).bits_per_weight() == Approx(6.25));
  CHECK(matrix_layout<mxfp8_e4m3>::make(8, 256).bits_per_weight() == Approx(8.25));
  using odd = scheme<uint_format<3>, group<64>, bf16, asym::int_zero<>>;
  CHECK(matrix_layout<odd>::make(4, 192).bits_per_weight() == Approx(3.0 + (16 + 3) / 64.0));
  using hqq = scheme<uint4, group<64>, fp16, asym::float_zero<>>;
  CHECK(matrix_layout<hqq>::make(4, 128).bits_per_weight() == Approx(4.0 + 32 / 64.0));
  CHECK(matrix_layout<int8_per_channel>::make(4, 100).bits_per_weight() == Approx(8.0 + 32 / 100.0));
  using tensor = scheme<int8, per_tensor, fp32>;
  CHECK(matrix_layout<tensor>::make(10, 10).bits_per_weight() == Approx(8.0 + 32 / 100.0));
}

TEST_CASE("shapes that do not fit the scheme are rejected with a clear message", "[layout][errors]") {
  CHECK_THROWS_WITH(quantized_matrix<int4_g128_sym>(4, 100),
                    Catch::Matchers::Contains("not a multiple of the group size 128"));
  CHECK_THROWS_AS(quantized_matrix<mxfp4>(0, 32), error);
  quantized_matrix<mxfp4> m(2, 64);
  std::vector<std::byte> raw(m.bytes() - 1);
  CHECK_THROWS_WITH(quantized_matrix<mxfp4>::from_raw(2, 64, raw), Catch::Matchers::Contains("needs"));
}

TEST_CASE("raw export and import round-trip, and views alias the owner's memory", "[layout]") {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd;
  std::vector<float> w(6 * 96);
  for (auto& v : w) v = nd(rng);
  using S = scheme<uint_format<5>, group<32>, bf16, asym::int_zero<>>;
  const auto m = quantize<S>(w.data(), 6, 96);
  const auto copy = quantized_matrix<S>::from_raw(6, 96, m.raw());
  const auto view = quantized_matrix_view<S>::from_raw(6, 96, m.raw().data(), m.raw().size());
  std::vector<float> a(w.size()), b(w.size()), c(w.size());
  dequantize_reference(m, a.data());
  dequantize_reference(copy, b.data());
  dequantize_reference(view, c.data(), 0, 6);
  CHECK(a == b);
  CHECK(a == c);
}
