// Two-level "k-quant" schemes (super_block): layout, bits per weight, and the properties of their
// round-to-nearest calibration (every weight on a nearest level of the grid *as stored*).
#include <catch2/catch.hpp>

#include <mixq/mixq.hpp>

#include <cmath>
#include <random>
#include <string>
#include <vector>

using namespace mixq;
using Catch::Matchers::Contains;

namespace {
using kq3_asym_bf16 = scheme<uint_format<3>, group<32>, uint_format<6>, asym::sub_min<uint_format<6>>, super_block<256, bf16>>;
using kq4_sym_fp8 = scheme<int4, group<32>, fp8_e4m3fn, sym::restricted, super_block<128, fp16>>;

std::vector<float> weights(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  std::vector<float> w(n);
  for (std::size_t i = 0; i < n; ++i) w[i] = nd(rng) * (i % 41 == 7 ? 9.0f : 1.0f) + (i / 512 % 3 == 1 ? 0.7f : 0.0f);
  return w;
}

// Exhaustive: the stored code of every weight is a nearest level among all codes of its unit
// under the stored (decoded) scale and min.
template <class S>
void check_nearest(const std::vector<float>& w, std::size_t rows, std::size_t cols, const rtn_options& o) {
  const auto m = quantize<S>(w.data(), rows, cols, o);
  const auto v = m.view();
  std::vector<float> dq(w.size());
  dequantize_reference(m, dq.data());
  std::size_t bad = 0;
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) {
      const std::size_t u = v.unit(r, c);
      const float x = w[r * cols + c];
      float best = INFINITY;
      for (unsigned q = 0; q < (1u << S::code_bits); ++q) {
        const float lv = S::has_sub_min ? v.scale(u) * static_cast<float>(q) - v.min(u) : v.scale(u) * code_value<S>(q);
        best = std::min(best, std::fabs(lv - x));
      }
      bad += !(std::fabs(dq[r * cols + c] - x) <= best * (1 + 1e-6f) + 1e-30f);
    }
  CHECK(bad == 0);
}
}  // namespace

TEST_CASE("k-quant presets store exactly ggml's bits per weight", "[kquant]") {
  // Published block sizes: Q2_K 84, Q3_K 110, Q4_K 144, Q5_K 176, Q6_K 210 bytes per 256 weights.
  CHECK(quantized_matrix<kq2>(3, 512).bits_per_weight() == 84 * 8 / 256.0);
  CHECK(quantized_matrix<kq3>(3, 512).bits_per_weight() == 110 * 8 / 256.0);
  CHECK(quantized_matrix<kq4>(3, 512).bits_per_weight() == 144 * 8 / 256.0);
  CHECK(quantized_matrix<kq5>(3, 512).bits_per_weight() == 176 * 8 / 256.0);
  CHECK(quantized_matrix<kq6>(3, 512).bits_per_weight() == 210 * 8 / 256.0);
  // A scheme nobody named: 3-bit codes, 6-bit scale and min per 32, bf16 d and dmin per 256.
  CHECK(quantized_matrix<kq3_asym_bf16>(2, 256).bits_per_weight() == 3 + 12.0 / 32 + 32.0 / 256);
  CHECK(quantized_matrix<kq4_sym_fp8>(2, 256).bits_per_weight() == 4 + 8.0 / 32 + 16.0 / 128);
  CHECK(scheme_name<kq4>() == "uint4 g32 uint6*fp16/256 asym-min:uint6");
  // Every byte of the layout is inside the buffer.
  const quantized_matrix<kq4> m(5, 768);
  CHECK(m.layout().super_min_offset + 5 * 3 * 2 <= m.bytes());
  CHECK(m.layout().zeros_offset + 5 * 24 <= m.layout().tensor_scale_offset);
}

TEMPLATE_TEST_CASE("k-quant RTN puts every weight on a nearest level of the stored grid", "[kquant]", kq2, kq3, kq4, kq5,
                   kq6, kq3_asym_bf16, kq4_sym_fp8) {
  const std::size_t rows = 3, cols = 768;
  const auto w = weights(rows * cols, 5);
  std::vector<float> imp(cols);
  for (std::size_t j = 0; j < cols; ++j) imp[j] = 0.2f + static_cast<float>(j % 13);
  for (const auto method : {rtn_method::minmax, rtn_method::mse_clip, rtn_method::weighted_ls}) {
    for (const bool weighted : {false, true}) {
      rtn_options o;
      o.method = method;
      o.grid = 20;
      if (weighted) o.importance = imp;
      INFO("method " << static_cast<int>(method) << " weighted " << weighted);
      check_nearest<TestType>(w, rows, cols, o);
    }
  }
}

TEMPLATE_TEST_CASE("k-quant min-max: the largest sub-scale uses the top code; zero blocks stay zero", "[kquant]", kq2,
                   kq4, kq5, kq3_asym_bf16) {
  using S = TestType;
  const std::size_t cols = 512;
  auto w = weights(2 * cols, 9);
  for (std::size_t i = 256; i < 512; ++i) w[i] = 0.0f;  // row 0, super-block 1: all zero
  const auto m = quantize<S>(w.data(), 2, cols);
  const auto v = m.view();
  std::vector<float> dq(w.size());
  dequantize_reference(m, dq.data());
  for (std::size_t i = 256; i < 512; ++i) REQUIRE(dq[i] == 0.0f);
  const std::size_t nu = 256 / S::granularity::size;
  unsigned top = 0;
  for (std::size_t j = 0; j < nu; ++j) top = std::max<unsigned>(top, v.scales()[j]);
  CHECK(top == static_cast<unsigned>(S::scale_format::max_int));
  // Symmetric super-scale rule: d = max scale / 63 rounded to the super format.
  CHECK(decode_scale<typename S::tensor_scale::format>(v.super_scales()[1]) == 0.0f);
}

TEST_CASE("k-quant signed sub-scales follow the signed-extreme rule (ggml Q3_K, Q6_K)", "[kquant]") {
  const auto w = weights(256, 3);
  const auto m = quantize<kq6>(w.data(), 1, 256);
  const auto v = m.view();
  // The unit scale of largest magnitude maps to the most negative int8 code (-128).
  int extreme = 0;
  for (std::size_t j = 0; j < 16; ++j) {
    const int c = static_cast<std::int8_t>(v.scales()[j]);
    if (std::abs(c) > std::abs(extreme)) extreme = c;
  }
  CHECK(extreme == -128);
}

TEST_CASE("k-quant bad input names what is wrong", "[kquant][errors]") {
  std::vector<float> w(2 * 512, 0.25f);
  CHECK_THROWS_WITH(quantize<kq4>(w.data(), 2, 384), Contains("not a multiple of the super-block size 256"));
  CHECK_THROWS_WITH(quantize<kq4>(w.data(), 0, 512), Contains("empty"));
  w[700] = INFINITY;
  CHECK_THROWS_WITH(quantize<kq4>(w.data(), 2, 512), Contains("weight [1][188]"));
  w[700] = 0;
  std::vector<float> imp(511, 1.0f);
  rtn_options o;
  o.importance = imp;
  CHECK_THROWS_WITH(quantize<kq4>(w.data(), 2, 512, o), Contains("expected one per input column (512)"));
}

TEST_CASE("k-quant super-scales saturate instead of overflowing fp16", "[kquant][errors]") {
  // amax 1e9: d = amax / 63 / 15 is far above fp16's 65504; the stored d saturates and the
  // weights clip to the largest representable level (a defined, documented result).
  std::vector<float> w(256, 1e9f);
  w[0] = 0;
  const auto m = quantize<kq4>(w.data(), 1, 256);
  std::vector<float> dq(256);
  dequantize_reference(m, dq.data());
  CHECK(decode_scale<fp16>(m.view().super_scales()[0]) == 65504.0f);
  for (const float v : dq) REQUIRE(std::isfinite(v));
  CHECK(dq[1] == 65504.0f * 63 * 15);
}
