// Every ggml block type is an instance of a mixq scheme (T::scheme): any block converts to a
// quantized_matrix of T::scheme and back without loss, the scheme's definition gives ggml's
// values bit for bit (dequantize_row is independently checked against ggml's golden data in
// test_ggml_golden.cpp), the kernels run on the result, and the generic two-level calibrator
// reproduces ggml's Q4_K / Q5_K imatrix quantizer.
#include <catch2/catch.hpp>

#include <mixq/mixq.hpp>

#include <cmath>
#include <cstring>
#include <type_traits>
#include <random>
#include <vector>

namespace mg = mixq::ggml;
using Catch::Matchers::Contains;

namespace {
bool same(float a, float b) { return std::memcmp(&a, &b, 4) == 0 || (a != a && b != b); }
}  // namespace

TEMPLATE_TEST_CASE("ggml blocks convert losslessly to their scheme and mean the same values", "[ggml][scheme]",
                   mg::q4_0, mg::q4_1, mg::q5_0, mg::q5_1, mg::q8_0, mg::iq4_nl, mg::mxfp4, mg::q2_k, mg::q3_k,
                   mg::q4_k, mg::q5_k, mg::q6_k) {
  using T = TestType;
  constexpr bool is_mxfp4 = std::is_same_v<T, mg::mxfp4>;
  const std::size_t rows = 3, cols = 768, rb = mg::row_size<T>(cols);
  std::mt19937 rng(17);
  std::vector<std::uint8_t> bytes(rows * rb);
  SECTION("arbitrary bytes (any fp16 scale, any codes)") {
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
    // ggml reads the e8m0 byte 255 (OCP: NaN) as 2^127; its quantizer never writes it.
    if constexpr (is_mxfp4)
      for (std::size_t i = 0; i < bytes.size(); i += T::block_bytes) bytes[i] = static_cast<std::uint8_t>(bytes[i] % 255);
  }
  SECTION("ggml-quantized rows") {
    std::normal_distribution<float> nd;
    std::vector<float> w(rows * cols);
    for (auto& v : w) v = nd(rng);
    for (std::size_t r = 0; r < rows; ++r) mg::quantize_row<T>(w.data() + r * cols, cols, bytes.data() + r * rb);
  }
  const auto m = mg::to_matrix<T>(bytes.data(), bytes.size(), rows, cols);
  CHECK(m.bits_per_weight() == 8.0 * T::block_bytes / T::block_elems);
  std::vector<float> ggml_values(rows * cols), scheme_values(rows * cols), kernel_values(rows * cols);
  for (std::size_t r = 0; r < rows; ++r) mg::dequantize_row<T>(bytes.data() + r * rb, cols, ggml_values.data() + r * cols);
  mixq::dequantize_reference(m, scheme_values.data());
  mixq::dequantize(m.view(), kernel_values.data());
  std::size_t bad = 0;
  for (std::size_t i = 0; i < ggml_values.size(); ++i) {
    // MXFP4: ggml's int8 table reads code 8 (E2M1 -0) as +0; the values are equal.
    const bool equal = is_mxfp4 ? ggml_values[i] == scheme_values[i] : same(ggml_values[i], scheme_values[i]);
    bad += !equal + !same(scheme_values[i], kernel_values[i]);
  }
  CHECK(bad == 0);
  // The kernels run on the converted matrix: gemv against the ggml values in double precision.
  std::vector<float> x(cols), y(rows);
  for (auto& v : x) v = std::normal_distribution<float>()(rng);
  mixq::gemv(m.view(), x.data(), y.data());
  for (std::size_t r = 0; r < rows; ++r) {
    double ref = 0, mag = 0;
    for (std::size_t c = 0; c < cols; ++c) {
      ref += static_cast<double>(scheme_values[r * cols + c]) * x[c];
      mag += std::fabs(static_cast<double>(scheme_values[r * cols + c]) * x[c]);
    }
    if (std::isfinite(ref)) CHECK(std::fabs(y[r] - ref) <= (cols + 3) * 5.97e-8 * mag + 1e-30);
  }
  std::vector<std::uint8_t> back(bytes.size());
  mg::from_matrix<T>(m.view(), back.data(), back.size());
  CHECK(back == bytes);
}

TEMPLATE_TEST_CASE("the generic k-quant calibrator with importance reproduces ggml Q4_K / Q5_K bytes", "[ggml][kquant]",
                   mg::q4_k, mg::q5_k) {
  using T = TestType;
  const std::size_t rows = 4, cols = 512, rb = mg::row_size<T>(cols);
  std::mt19937 rng(23);
  std::normal_distribution<float> nd;
  std::uniform_real_distribution<float> ud(0.05f, 3.0f);
  std::vector<float> w(rows * cols), imp(cols);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = nd(rng) * (i % 53 == 1 ? 7.0f : 1.0f);
  for (auto& v : imp) v = ud(rng);
  std::vector<std::uint8_t> ggml_bytes(rows * rb), ours(rows * rb);
  for (std::size_t r = 0; r < rows; ++r) mg::quantize_row<T>(w.data() + r * cols, cols, ggml_bytes.data() + r * rb, imp.data());
  mixq::rtn_options o;
  o.method = mixq::rtn_method::weighted_ls;
  o.importance = imp;
  const auto m = mixq::quantize<typename T::scheme>(w.data(), rows, cols, o);
  mg::from_matrix<T>(m.view(), ours.data(), ours.size());
  CHECK(ours == ggml_bytes);
}

TEST_CASE("ggml conversion rejects bad buffers with a precise message", "[ggml][scheme][errors]") {
  std::vector<std::uint8_t> bytes(2 * 144);
  CHECK_THROWS_WITH(mg::to_matrix<mg::q4_k>(bytes.data(), bytes.size() - 1, 2, 256),
                    Contains("buffer has 287 bytes; a 2 x 256 matrix needs 288"));
  CHECK_THROWS_WITH(mg::to_matrix<mg::q4_k>(bytes.data(), bytes.size(), 2, 200), Contains("not a multiple of the block size 256"));
  CHECK_THROWS_WITH(mg::to_matrix<mg::q4_k>(nullptr, bytes.size(), 2, 256), Contains("data = nullptr"));
  const mixq::quantized_matrix<mixq::kq4> m(2, 256);
  CHECK_THROWS_WITH(mg::from_matrix<mg::q4_k>(m.view(), bytes.data(), 100), Contains("needs 288"));
  CHECK_THROWS_WITH(mg::to_matrix<mg::q4_0>(bytes.data(), 19, 1, 32), Contains("buffer has 19 bytes; a 1 x 32 matrix needs 18"));
}

TEST_CASE("ggml tags name schemes with ggml's meaning", "[ggml][scheme]") {
  STATIC_REQUIRE(std::is_same_v<mg::q4_k::scheme, mixq::kq4>);
  STATIC_REQUIRE(std::is_same_v<mg::mxfp4::scheme, mixq::mxfp4>);
  STATIC_REQUIRE(mg::q4_1::scheme::has_float_min);
  CHECK(mixq::scheme_name<mg::q4_0::scheme>() == "int4 g32 fp16 sym-extreme");
  CHECK(mixq::scheme_name<mg::q5_1::scheme>() == "uint5 g32 fp16 asym-float-min");
}
