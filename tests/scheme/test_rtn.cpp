// Round-to-nearest calibration: properties that must hold for every scheme.
#include <catch2/catch.hpp>

#include <mixq/mixq.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

using namespace mixq;

namespace {
std::vector<float> normal_matrix(std::size_t n, unsigned seed, float outlier_every = 0) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  std::vector<float> w(n);
  for (std::size_t i = 0; i < n; ++i) {
    w[i] = nd(rng);
    if (outlier_every > 0 && i % static_cast<std::size_t>(outlier_every) == 3) w[i] *= 20;
  }
  return w;
}

// Brute force: the stored code is a nearest level among ALL codes under the stored scale/zero.
template <class S>
void check_nearest(const std::vector<float>& w, std::size_t rows, std::size_t cols) {
  const auto m = quantize<S>(w.data(), rows, cols);
  const auto v = m.view();
  std::vector<float> dq(w.size());
  dequantize_reference(m, dq.data());
  const unsigned ncodes = 1u << S::code_bits;
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) {
      const std::size_t u = v.unit(r, c);
      const float s = v.scale(u), z = v.zero(u);
      const float x = w[r * cols + c];
      const float got = std::fabs(dq[r * cols + c] - x);
      float best = INFINITY;
      for (unsigned q = 0; q < ncodes; ++q) {
        const float lv = S::has_float_min ? s * code_value<S>(q) - v.min(u) : s * (code_value<S>(q) - z);
        if (std::isfinite(lv)) best = std::min(best, std::fabs(lv - x));
      }
      // Rounding w/s in float may land one ulp-of-a-division away from the exact midpoint.
      REQUIRE(got <= best + 1e-6f * std::fabs(x) + 1e-30f);
    }
}
}  // namespace

TEMPLATE_TEST_CASE("RTN picks a nearest level under the stored scale", "[rtn]", int4_g128_sym, int4_g128_asym,
                   (scheme<uint_format<3>, group<64>, bf16, asym::int_zero<>>),
                   (scheme<uint4, group<32>, fp16, asym::float_zero<>>), (scheme<int4, per_channel, fp16, sym::gptq>),
                   (scheme<int4, group<32>, fp16, sym::signed_extreme>), nf4_g64, mxfp4, mxfp6_e3m2, mxfp6_e2m3,
                   mxfp8_e4m3, mxint8, nvfp4, (scheme<fp8_e4m3fn, group<16>, fp8_e4m3fn>),
                   (scheme<int_sym<2>, per_tensor, fp32>), (scheme<iq4_nl, group<32>, fp16, sym::signed_extreme>),
                   (scheme<uint4, group<32>, fp16, asym::float_min<>>)) {
  check_nearest<TestType>(normal_matrix(4 * 256, 11, 37), 4, 256);
}

TEST_CASE("MX scale is the OCP floor rule: 2^(floor(log2 amax) - emax_elem)", "[rtn][mx]") {
  auto w = normal_matrix(2 * 64, 5);
  w[7] = 7.9f;   // block 0 amax 7.9 -> shared exponent 2 - 2 = 0
  w[40] = 5.0f;  // block 1
  const auto m = quantize<mxfp4>(w.data(), 2, 64);
  for (std::size_t u = 0; u < 4; ++u) {
    float amax = 0;
    for (std::size_t i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(w[u * 32 + i]));
    int e;
    std::frexp(amax, &e);  // amax = f * 2^e, f in [0.5, 1): floor(log2 amax) = e - 1
    CHECK(m.view().scales()[u] == static_cast<std::uint8_t>((e - 1) - 2 + 127));
  }
  CHECK(decode<fp4_e2m1fn>(static_cast<std::uint8_t>(m.view().code(0, 7))) == 6.0f);  // 7.9 saturates to 6
}

TEST_CASE("asymmetric int zero: z = rnd(-lo/s) from the stored scale, range includes 0", "[rtn]") {
  std::vector<float> w(32);
  for (std::size_t i = 0; i < 32; ++i) w[i] = 1.0f + 0.25f * static_cast<float>(i);  // all positive
  const auto m = quantize<int4_g32_asym>(w.data(), 1, 32);
  const float s = decode<fp16>(encode<fp16>((w[31] - 0.0f) / 15.0f));
  CHECK(m.view().scale(0) == s);
  CHECK(m.view().zero(0) == 0.0f);
}

TEMPLATE_TEST_CASE("MSE clip search is never worse than min-max in its norm", "[rtn]", int4_g128_sym, int4_g128_asym,
                   (scheme<int_format<3>, per_channel, fp16>), mxfp4, nf4_g64,
                   (scheme<uint4, group<32>, fp16, asym::float_min<>>)) {
  const auto w = normal_matrix(8 * 256, 21, 53);
  for (float norm : {2.0f, 2.4f}) {
    rtn_options o;
    o.method = rtn_method::mse_clip;
    o.norm = norm;
    const auto a = quantize<TestType>(w.data(), 8, 256);
    const auto b = quantize<TestType>(w.data(), 8, 256, o);
    std::vector<float> da(w.size()), db(w.size());
    dequantize_reference(a, da.data());
    dequantize_reference(b, db.data());
    double ea = 0, eb = 0;
    for (std::size_t i = 0; i < w.size(); ++i) {
      ea += std::pow(std::fabs(double(da[i]) - w[i]), norm);
      eb += std::pow(std::fabs(double(db[i]) - w[i]), norm);
    }
    CHECK(eb <= ea * (1 + 1e-9));
    if (norm == 2.0f && !TestType::is_mx) CHECK(eb < ea);  // outliers: clipping helps strictly (MX scales move in powers of 2)
  }
}

TEMPLATE_TEST_CASE("weighted least squares is never worse than min-max in its weighted error", "[rtn]",
                   int4_g128_sym, (scheme<int_format<3>, group<32>, fp16>), nf4_g64,
                   (scheme<fp6_e2m3fn, group<32>, fp16>)) {
  const std::size_t rows = 4, cols = 256;
  const auto w = normal_matrix(rows * cols, 33);
  std::vector<float> imp(cols);
  std::mt19937 rng(2);
  std::exponential_distribution<float> ed(1.0f);
  for (auto& a : imp) a = ed(rng);
  rtn_options o;
  o.method = rtn_method::weighted_ls;
  o.importance = imp;
  const auto a = quantize<TestType>(w.data(), rows, cols);
  const auto b = quantize<TestType>(w.data(), rows, cols, o);
  std::vector<float> da(w.size()), db(w.size());
  dequantize_reference(a, da.data());
  dequantize_reference(b, db.data());
  // Output-error proxy sum_j a_j dw_j^2 (diagonal Sigma): the objective importance stands for.
  double ea = 0, eb = 0;
  for (std::size_t i = 0; i < w.size(); ++i) {
    ea += imp[i % cols] * std::pow(double(da[i]) - w[i], 2);
    eb += imp[i % cols] * std::pow(double(db[i]) - w[i], 2);
  }
  CHECK(eb < ea);
}

TEST_CASE("bad input: NaN weights, wrong importance length, bad options", "[rtn][errors]") {
  std::vector<float> w(2 * 128, 0.5f);
  w[130] = NAN;
  CHECK_THROWS_WITH(quantize<int4_g128_sym>(w.data(), 2, 128), Catch::Matchers::Contains("weight [1][2]"));
  w[130] = 0;
  std::vector<float> imp(127, 1.0f);
  rtn_options o;
  o.importance = imp;
  CHECK_THROWS_WITH(quantize<int4_g128_sym>(w.data(), 2, 128, o), Catch::Matchers::Contains("expected one per input column (128)"));
  CHECK_THROWS_AS(quantize<int4_g128_sym>(nullptr, 2, 128), error);
  CHECK_THROWS_AS(quantize<int4_g128_sym>(w.data(), 2, 100), error);
}

TEST_CASE("Eigen front end equals the pointer front end", "[rtn]") {
  Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> W =
      Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>::Random(3, 64);
  const auto a = quantize<mxfp4>(W);
  const auto b = quantize<mxfp4>(W.data(), 3, 64);
  CHECK(std::equal(a.raw().begin(), a.raw().end(), b.raw().begin()));
}

TEST_CASE("NVFP4 follows TransformerEngine's two-level recipe", "[rtn][nvfp4]") {
  auto w = normal_matrix(3 * 64, 17, 29);
  w[5] = 0;  // keep a zero
  for (std::size_t i = 16; i < 32; ++i) w[i] = 0;  // an all-zero block
  const auto m = quantize<nvfp4>(w.data(), 3, 64);
  const auto v = m.view();
  float amax_t = 0;
  for (float x : w) amax_t = std::max(amax_t, std::fabs(x));
  const float s_enc = 2688.0f / amax_t;  // 448 * 6 / amax (FORMATS.md 6.2)
  const float s_dec = 1.0f / s_enc;
  CHECK(v.tensor_scale() == s_dec);
  for (std::size_t u = 0; u < 12; ++u) {
    float amax_b = 0;
    for (std::size_t i = 0; i < 16; ++i) amax_b = std::max(amax_b, std::fabs(w[u * 16 + i]));
    const auto sb = encode<fp8_e4m3fn>(amax_b / 6.0f * s_enc, overflow::saturate);
    REQUIRE(v.scales()[u] == sb);
    const float enc = std::min(1.0f / (decode<fp8_e4m3fn>(sb) * s_dec), std::numeric_limits<float>::max());
    for (std::size_t i = 0; i < 16; ++i) {
      const std::size_t idx = u * 16 + i;
      REQUIRE(v.code(idx / 64, idx % 64) == encode<fp4_e2m1fn>(w[idx] * enc, overflow::saturate));
    }
  }
  CHECK(m.bits_per_weight() == Approx(4.5 + 32.0 / (3 * 64)));
}
