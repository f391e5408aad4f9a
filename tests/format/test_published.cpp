// Published facts of FORMATS.md checked one by one, with the numbers copied from the document:
// §2.1 (limits, special codes, value lists), §2.2 (rounding thresholds), §2.3 (special-value
// table, row by row, both policies) and §8 (pitfalls). Nothing here is computed by mixq.
#include <catch2/catch.hpp>

#include <mixq/format.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "oracle.hpp"

using namespace mixq;
using oracle::f32;
using oracle::next_down;
using oracle::next_up;

namespace {

const float inf = std::numeric_limits<float>::infinity();
const float qnan = f32(0x7fc00000u);
const float neg_qnan = f32(0xffc00000u);

std::uint32_t u32(float f) { return std::bit_cast<std::uint32_t>(f); }

/// encode x under both policies and compare with the two expected codes.
template <class F>
void both(float x, unsigned want_saturate, unsigned want_propagate) {
  INFO("x = " << x << " (bits 0x" << std::hex << u32(x) << ")");
  CHECK(static_cast<unsigned>(encode<F>(x, overflow::saturate)) == want_saturate);
  CHECK(static_cast<unsigned>(encode<F>(x, overflow::propagate)) == want_propagate);
}
template <class F>
void both(float x, unsigned want) {
  both<F>(x, want, want);
}

struct row {
  double max_finite;
  unsigned max_code;
  double min_normal;
  unsigned min_normal_code;
  double min_subnormal;
  unsigned min_subnormal_code;
  double max_subnormal;
  unsigned max_subnormal_code;
  std::size_t finite_codes, finite_values;
  std::size_t inf_codes, nan_codes;
  bool negative_zero;
};

template <class F>
void check_row(const row& r) {
  using T = format_traits<F>;
  CHECK(static_cast<double>(T::max_finite) == r.max_finite);
  CHECK(static_cast<double>(T::min_normal) == r.min_normal);
  CHECK(static_cast<double>(T::min_subnormal) == r.min_subnormal);
  CHECK(T::finite_codes == r.finite_codes);
  CHECK(T::finite_values == r.finite_values);
  CHECK(T::has_inf == (r.inf_codes > 0));
  CHECK(T::has_nan == (r.nan_codes > 0));
  CHECK(T::has_negative_zero == r.negative_zero);
  CHECK(static_cast<double>(decode<F>(static_cast<code_t<F>>(r.max_code))) == r.max_finite);
  CHECK(static_cast<double>(decode<F>(static_cast<code_t<F>>(r.min_normal_code))) == r.min_normal);
  CHECK(static_cast<double>(decode<F>(static_cast<code_t<F>>(r.min_subnormal_code))) == r.min_subnormal);
  CHECK(static_cast<double>(decode<F>(static_cast<code_t<F>>(r.max_subnormal_code))) == r.max_subnormal);
  // the published codes are also what encode produces for those values
  CHECK(static_cast<unsigned>(encode<F>(static_cast<float>(r.max_finite))) == r.max_code);
  CHECK(static_cast<unsigned>(encode<F>(static_cast<float>(r.min_normal))) == r.min_normal_code);
  CHECK(static_cast<unsigned>(encode<F>(static_cast<float>(r.min_subnormal))) == r.min_subnormal_code);
  std::size_t infs = 0, nans = 0;
  for (std::size_t c = 0; c < T::num_codes; ++c) {
    const float v = decode<F>(static_cast<code_t<F>>(c));
    infs += std::isinf(v);
    nans += std::isnan(v);
  }
  CHECK(infs == r.inf_codes);
  CHECK(nans == r.nan_codes);
  CHECK(infs + nans + r.finite_codes == T::num_codes);
}

}  // namespace

// --------------------------------------------------------------------------------------------
// §2.1 Layouts and limits
// --------------------------------------------------------------------------------------------

TEST_CASE("§2.1 table: limits, codes and counts of every named format", "[format][published]") {
  SECTION("FP8 E4M3FN") {
    check_row<fp8_e4m3fn>({448, 0x7E, 0x1p-6, 0x08, 0x1p-9, 0x01, 0.013671875, 0x07, 254, 253, 0, 2, true});
    CHECK(std::isnan(decode<fp8_e4m3fn>(0x7F)));
    CHECK(std::isnan(decode<fp8_e4m3fn>(0xFF)));
    CHECK(u32(decode<fp8_e4m3fn>(0x80)) == 0x80000000u);
    CHECK(decode<fp8_e4m3fn>(0x78) == 256.0f);  // the top exponent field 1111 is an ordinary binade
    CHECK(decode<fp8_e4m3fn>(0x7D) == 416.0f);
  }
  SECTION("FP8 E4M3FNUZ") {
    check_row<fp8_e4m3fnuz>({240, 0x7F, 0x1p-7, 0x08, 0x1p-10, 0x01, 0.0068359375, 0x07, 255, 255, 0, 1, false});
    CHECK(std::isnan(decode<fp8_e4m3fnuz>(0x80)));
    CHECK(decode<fp8_e4m3fnuz>(0xFF) == -240.0f);
  }
  SECTION("FP8 E5M2") {
    check_row<fp8_e5m2>({57344, 0x7B, 0x1p-14, 0x04, 0x1p-16, 0x01, 4.57763671875e-5, 0x03, 248, 247, 2, 6, true});
    CHECK(decode<fp8_e5m2>(0x7C) == inf);
    CHECK(decode<fp8_e5m2>(0xFC) == -inf);
    for (unsigned c : {0x7Du, 0x7Eu, 0x7Fu, 0xFDu, 0xFEu, 0xFFu})
      CHECK(std::isnan(decode<fp8_e5m2>(static_cast<std::uint8_t>(c))));
  }
  SECTION("FP8 E5M2FNUZ") {
    check_row<fp8_e5m2fnuz>(
        {57344, 0x7F, 0x1p-15, 0x04, 0x1p-17, 0x01, 2.288818359375e-5, 0x03, 255, 255, 0, 1, false});
    CHECK(std::isnan(decode<fp8_e5m2fnuz>(0x80)));
  }
  SECTION("FP6 E2M3") {
    check_row<fp6_e2m3fn>({7.5, 0x1F, 1.0, 0x08, 0.125, 0x01, 0.875, 0x07, 64, 63, 0, 0, true});
    CHECK(u32(decode<fp6_e2m3fn>(0x20)) == 0x80000000u);
  }
  SECTION("FP6 E3M2") {
    check_row<fp6_e3m2fn>({28, 0x1F, 0.25, 0x04, 0.0625, 0x01, 0.1875, 0x03, 64, 63, 0, 0, true});
    CHECK(u32(decode<fp6_e3m2fn>(0x20)) == 0x80000000u);
  }
  SECTION("FP4 E2M1") {
    check_row<fp4_e2m1fn>({6, 0x7, 1.0, 0x2, 0.5, 0x1, 0.5, 0x1, 16, 15, 0, 0, true});
    CHECK(u32(decode<fp4_e2m1fn>(0x8)) == 0x80000000u);
  }
  SECTION("BF16") {
    check_row<bf16>({0x1.fep127, 0x7F7F, 0x1p-126, 0x0080, 0x1p-133, 0x0001, 127 * 0x1p-133, 0x007F, 65280, 65279, 2,
                     254, true});
    CHECK(decode<bf16>(0x7F80) == inf);
    CHECK(decode<bf16>(0xFF80) == -inf);
    CHECK(format_traits<bf16>::max_finite == 3.3895314e38f);
  }
  SECTION("FP16") {
    check_row<fp16>({65504, 0x7BFF, 0x1p-14, 0x0400, 0x1p-24, 0x0001, 1023 * 0x1p-24, 0x03FF, 63488, 63487, 2, 2046,
                     true});
    CHECK(decode<fp16>(0x7C00) == inf);
    CHECK(decode<fp16>(0xFC00) == -inf);
  }
  SECTION("E8M0") {
    // every value is a power of two; no zero, no subnormals, so min normal = min positive = 2^-127
    check_row<e8m0fnu>({0x1p127, 0xFE, 0x1p-127, 0x00, 0x1p-127, 0x00, 0x1p-127, 0x00, 255, 255, 0, 1, false});
    CHECK(std::isnan(decode<e8m0fnu>(0xFF)));
    CHECK(format_traits<e8m0fnu>::is_signed == false);
  }
  SECTION("bits") {
    CHECK(format_traits<fp8_e4m3fn>::bits == 8);
    CHECK(format_traits<fp8_e4m3fnuz>::bits == 8);
    CHECK(format_traits<fp8_e5m2>::bits == 8);
    CHECK(format_traits<fp8_e5m2fnuz>::bits == 8);
    CHECK(format_traits<fp6_e2m3fn>::bits == 6);
    CHECK(format_traits<fp6_e3m2fn>::bits == 6);
    CHECK(format_traits<fp4_e2m1fn>::bits == 4);
    CHECK(format_traits<bf16>::bits == 16);
    CHECK(format_traits<fp16>::bits == 16);
    CHECK(format_traits<e8m0fnu>::bits == 8);
    CHECK(sizeof(code_t<fp4_e2m1fn>) == 1);
    CHECK(sizeof(code_t<fp16>) == 2);
    CHECK(sizeof(code_t<bf16>) == 2);
  }
}

TEST_CASE("§2.1 complete value lists of FP4 E2M1, FP6 E2M3/E3M2 and the E4M3FN subnormals", "[format][published]") {
  SECTION("FP4 E2M1: 0, 0.5, 1, 1.5, 2, 3, 4, 6") {
    const float list[8] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6};
    for (unsigned c = 0; c < 8; ++c) {
      CHECK(decode<fp4_e2m1fn>(static_cast<std::uint8_t>(c)) == list[c]);
      CHECK(decode<fp4_e2m1fn>(static_cast<std::uint8_t>(c | 8)) == -list[c]);
      CHECK(std::signbit(decode<fp4_e2m1fn>(static_cast<std::uint8_t>(c | 8))));
    }
  }
  SECTION("FP6 E2M3") {
    for (unsigned c = 0; c < 32; ++c) {
      const double v = c < 8 ? c / 8.0 : c < 16 ? 1 + (c - 8) / 8.0 : c < 24 ? 2 + (c - 16) / 4.0 : 4 + (c - 24) / 2.0;
      CHECK(static_cast<double>(decode<fp6_e2m3fn>(static_cast<std::uint8_t>(c))) == v);
      CHECK(static_cast<double>(decode<fp6_e2m3fn>(static_cast<std::uint8_t>(c | 0x20))) == -v);
    }
  }
  SECTION("FP6 E3M2") {
    std::vector<double> list = {0, 0.0625, 0.125, 0.1875};
    for (int b = -2; b <= 4; ++b)
      for (int i = 0; i < 4; ++i) list.push_back(std::ldexp(1.0 + i / 4.0, b));
    REQUIRE(list.size() == 32);
    CHECK(list[4] == 0.25);
    CHECK(list[5] == 0.3125);
    CHECK(list[31] == 28);
    for (unsigned c = 0; c < 32; ++c) {
      CHECK(static_cast<double>(decode<fp6_e3m2fn>(static_cast<std::uint8_t>(c))) == list[c]);
      CHECK(static_cast<double>(decode<fp6_e3m2fn>(static_cast<std::uint8_t>(c | 0x20))) == -list[c]);
    }
  }
  SECTION("FP8 E4M3FN subnormals k 2^-9") {
    for (unsigned k = 1; k <= 7; ++k) {
      CHECK(static_cast<double>(decode<fp8_e4m3fn>(static_cast<std::uint8_t>(k))) == k * 0x1p-9);
      CHECK(encode<fp8_e4m3fn>(static_cast<float>(k * 0x1p-9)) == k);
    }
  }
}

TEST_CASE("the oracle itself reproduces the §2.1 constants", "[format][published][oracle]") {
  // Guards the test oracle against sharing a misreading with the library.
  using oracle::kind;
  const oracle::mf_spec e4m3fn(4, 3, kind::fn), e4m3fnuz(4, 3, kind::fnuz), e5m2(5, 2, kind::ieee),
      e5m2fnuz(5, 2, kind::fnuz), e2m3(2, 3, kind::finite), e3m2(3, 2, kind::finite), e2m1(2, 1, kind::finite),
      h(5, 10, kind::ieee), b(8, 7, kind::ieee);
  CHECK(e4m3fn.max_finite() == 448);
  CHECK(e4m3fn.max_code() == 0x7E);
  CHECK(e4m3fnuz.max_finite() == 240);
  CHECK(e5m2.max_finite() == 57344);
  CHECK(e5m2.max_code() == 0x7B);
  CHECK(e5m2fnuz.max_finite() == 57344);
  CHECK(e2m3.max_finite() == 7.5);
  CHECK(e3m2.max_finite() == 28);
  CHECK(e2m1.max_finite() == 6);
  CHECK(h.max_finite() == 65504);
  CHECK(b.max_finite() == 0x1.fep127);
  CHECK(e4m3fnuz.value(0x01) == 0x1p-10);
  CHECK(e5m2fnuz.value(0x01) == 0x1p-17);
  CHECK(e4m3fn.encode(464.0f, false) == 0x7E);
  CHECK(e4m3fn.encode(next_up(464.0f), false) == 0x7F);
  CHECK(e5m2.encode(61440.0f, false) == 0x7C);
  CHECK(e2m1.encode(qnan, false) == 0x8);
  CHECK(e2m1.encode(neg_qnan, false) == 0x0);
  CHECK(h.encode(qnan, false) == 0x7E00);
  CHECK(b.encode(neg_qnan, false) == 0xFFC0);
  CHECK(e4m3fnuz.encode(-0.0f, false) == 0x00);
  CHECK(oracle::e8m0_encode(3.0f, false) == 0x80);
  CHECK(oracle::e8m0_encode(0.75f, false) == 0x7E);
}

// --------------------------------------------------------------------------------------------
// §2.2 Rounding thresholds
// --------------------------------------------------------------------------------------------

TEST_CASE("§2.2 overflow thresholds", "[format][published][thresholds]") {
  SECTION("E4M3FN: 464 ties down to 448; anything above overflows") {
    both<fp8_e4m3fn>(464.0f, 0x7E);
    CHECK(u32(next_up(464.0f)) == 0x43E80001u);
    both<fp8_e4m3fn>(next_up(464.0f), 0x7E, 0x7F);
    both<fp8_e4m3fn>(-464.0f, 0xFE);
    both<fp8_e4m3fn>(-next_up(464.0f), 0xFE, 0xFF);
    both<fp8_e4m3fn>(480.0f, 0x7E, 0x7F);  // PyTorch's non-saturating threshold; NaN already above 464
    both<fp8_e4m3fn>(next_down(464.0f), 0x7E);
    both<fp8_e4m3fn>(432.0f, 0x7E);  // 416/448 midpoint, 448 has even mantissa 110
    both<fp8_e4m3fn>(next_down(432.0f), 0x7D);
  }
  SECTION("E4M3FNUZ: 248 ties to the non-existent 256") {
    both<fp8_e4m3fnuz>(next_down(248.0f), 0x7F);
    both<fp8_e4m3fnuz>(248.0f, 0x7F, 0x80);
    both<fp8_e4m3fnuz>(-248.0f, 0xFF, 0x80);
    both<fp8_e4m3fnuz>(-next_down(248.0f), 0xFF);
  }
  SECTION("E5M2: 61440 ties to 65536 = inf (57344 has odd mantissa 11)") {
    both<fp8_e5m2>(next_down(61440.0f), 0x7B);
    both<fp8_e5m2>(61440.0f, 0x7B, 0x7C);
    both<fp8_e5m2>(-61440.0f, 0xFB, 0xFC);
  }
  SECTION("E5M2FNUZ") {
    both<fp8_e5m2fnuz>(next_down(61440.0f), 0x7F);
    both<fp8_e5m2fnuz>(61440.0f, 0x7F, 0x80);
    both<fp8_e5m2fnuz>(-61440.0f, 0xFF, 0x80);
  }
  SECTION("FP6/FP4 always saturate") {
    for (float x : {7.75f, 8.0f, 1e30f, inf}) {
      both<fp6_e2m3fn>(x, 0x1F);
      both<fp6_e2m3fn>(-x, 0x3F);
    }
    for (float x : {30.0f, 32.0f, 1e30f, inf}) {
      both<fp6_e3m2fn>(x, 0x1F);
      both<fp6_e3m2fn>(-x, 0x3F);
    }
    for (float x : {7.0f, 8.0f, 1e30f, inf}) {
      both<fp4_e2m1fn>(x, 0x7);
      both<fp4_e2m1fn>(-x, 0xF);
    }
  }
  SECTION("FP16: 65520 overflows") {
    both<fp16>(65519.99f, 0x7BFF);
    both<fp16>(next_down(65520.0f), 0x7BFF);
    both<fp16>(65520.0f, 0x7BFF, 0x7C00);
    both<fp16>(-65520.0f, 0xFBFF, 0xFC00);
    both<fp16>(std::numeric_limits<float>::max(), 0x7BFF, 0x7C00);
  }
  SECTION("BF16: (2 - 2^-8) 2^127 overflows") {
    const float t = 0x1.ffp127f;
    CHECK(t == 3.3961775e38f);
    both<bf16>(next_down(t), 0x7F7F);
    both<bf16>(t, 0x7F7F, 0x7F80);
    both<bf16>(-t, 0xFF7F, 0xFF80);
    both<bf16>(std::numeric_limits<float>::max(), 0x7F7F, 0x7F80);
  }
}

TEST_CASE("§2.2 underflow-to-zero boundaries (inclusive)", "[format][published][thresholds]") {
  // |x| <= threshold -> signed zero (fnuz: +0); the next fp32 up -> the smallest subnormal.
  SECTION("E4M3FN 2^-10") {
    both<fp8_e4m3fn>(0x1p-10f, 0x00);
    both<fp8_e4m3fn>(-0x1p-10f, 0x80);
    both<fp8_e4m3fn>(next_up(0x1p-10f), 0x01);
    both<fp8_e4m3fn>(-next_up(0x1p-10f), 0x81);
  }
  SECTION("E4M3FNUZ 2^-11") {
    both<fp8_e4m3fnuz>(0x1p-11f, 0x00);
    both<fp8_e4m3fnuz>(-0x1p-11f, 0x00);
    both<fp8_e4m3fnuz>(next_up(0x1p-11f), 0x01);
    both<fp8_e4m3fnuz>(-next_up(0x1p-11f), 0x81);
  }
  SECTION("E5M2 2^-17") {
    both<fp8_e5m2>(0x1p-17f, 0x00);
    both<fp8_e5m2>(-0x1p-17f, 0x80);
    both<fp8_e5m2>(next_up(0x1p-17f), 0x01);
  }
  SECTION("E5M2FNUZ 2^-18") {
    both<fp8_e5m2fnuz>(0x1p-18f, 0x00);
    both<fp8_e5m2fnuz>(-0x1p-18f, 0x00);
    both<fp8_e5m2fnuz>(next_up(0x1p-18f), 0x01);
  }
  SECTION("E2M3 1/16, E3M2 1/32, E2M1 0.25") {
    both<fp6_e2m3fn>(0.0625f, 0x00);
    both<fp6_e2m3fn>(-0.0625f, 0x20);
    both<fp6_e2m3fn>(next_up(0.0625f), 0x01);
    both<fp6_e3m2fn>(0.03125f, 0x00);
    both<fp6_e3m2fn>(-0.03125f, 0x20);
    both<fp6_e3m2fn>(next_up(0.03125f), 0x01);
    both<fp4_e2m1fn>(0.25f, 0x0);
    both<fp4_e2m1fn>(-0.25f, 0x8);
    both<fp4_e2m1fn>(next_up(0.25f), 0x1);
  }
  SECTION("FP16 2^-25, BF16 2^-134") {
    both<fp16>(0x1p-25f, 0x0000);
    both<fp16>(-0x1p-25f, 0x8000);
    both<fp16>(next_up(0x1p-25f), 0x0001);
    both<bf16>(0x1p-134f, 0x0000);
    both<bf16>(-0x1p-134f, 0x8000);
    both<bf16>(next_up(0x1p-134f), 0x0001);
    both<bf16>(0x1p-149f, 0x0000);
  }
  SECTION("fp32 subnormal inputs underflow for every 8/6/4-bit format") {
    for (float x : {0x1p-149f, 0x1p-127f, next_down(0x1p-126f)}) {
      both<fp8_e4m3fn>(x, 0x00);
      both<fp8_e4m3fn>(-x, 0x80);
      both<fp8_e4m3fnuz>(-x, 0x00);
      both<fp8_e5m2>(x, 0x00);
      both<fp8_e5m2fnuz>(-x, 0x00);
      both<fp6_e2m3fn>(-x, 0x20);
      both<fp6_e3m2fn>(x, 0x00);
      both<fp4_e2m1fn>(-x, 0x8);
    }
  }
}

TEST_CASE("§2.2 FP4 E2M1 decision boundaries and tie directions", "[format][published][thresholds][ties]") {
  struct point {
    float x;
    float want;
  };
  const point pts[] = {
      {0.0f, 0},           {0.25f, 0},          {next_up(0.25f), 0.5f}, {0.5f, 0.5f},         {next_down(0.75f), 0.5f},
      {0.75f, 1},          {1.0f, 1},           {1.25f, 1},             {next_up(1.25f), 1.5f}, {1.5f, 1.5f},
      {next_down(1.75f), 1.5f}, {1.75f, 2},     {2.0f, 2},              {2.5f, 2},            {next_up(2.5f), 3},
      {3.0f, 3},           {next_down(3.5f), 3}, {3.5f, 4},             {4.0f, 4},            {5.0f, 4},
      {next_up(5.0f), 6},  {6.0f, 6},           {100.0f, 6},            {inf, 6},
  };
  for (const auto& p : pts) {
    for (float sgn : {1.0f, -1.0f}) {
      const float x = sgn * p.x;
      INFO("x = " << x);
      for (overflow o : {overflow::saturate, overflow::propagate}) {
        const float got = decode<fp4_e2m1fn>(encode<fp4_e2m1fn>(x, o));
        CHECK(got == sgn * p.want);
        CHECK(std::signbit(got) == (sgn < 0));  // zeros keep the sign: -0 code 0x8
      }
    }
  }
  // the tie points themselves, as codes: up at 0.75/1.75/3.5 (to codes 2, 4, 6), down at
  // 0.25/1.25/2.5/5 (to codes 0, 2, 4, 6)
  CHECK(encode<fp4_e2m1fn>(0.75f) == 0x2);
  CHECK(encode<fp4_e2m1fn>(1.75f) == 0x4);
  CHECK(encode<fp4_e2m1fn>(3.5f) == 0x6);
  CHECK(encode<fp4_e2m1fn>(0.25f) == 0x0);
  CHECK(encode<fp4_e2m1fn>(1.25f) == 0x2);
  CHECK(encode<fp4_e2m1fn>(2.5f) == 0x4);
  CHECK(encode<fp4_e2m1fn>(5.0f) == 0x6);
}

// --------------------------------------------------------------------------------------------
// §2.3 Special-value and overflow policies, row by row. propagate = "ml_dtypes default",
// saturate = "OCP SAT" (finite overflow and +-inf -> +-max, NaN stays NaN).
// --------------------------------------------------------------------------------------------

TEST_CASE("§2.3 E4M3FN rows", "[format][published][specials]") {
  both<fp8_e4m3fn>(qnan, 0x7F);       // NaN -> 0x7F, or 0xFF if the sign is set
  both<fp8_e4m3fn>(neg_qnan, 0xFF);
  both<fp8_e4m3fn>(f32(0x7f800001u), 0x7F);  // signalling NaN payloads too
  both<fp8_e4m3fn>(f32(0xffbfffffu), 0xFF);
  both<fp8_e4m3fn>(inf, 0x7E, 0x7F);  // OCP SAT: +-448; non-sat: NaN
  both<fp8_e4m3fn>(-inf, 0xFE, 0xFF);
  both<fp8_e4m3fn>(1000.0f, 0x7E, 0x7F);  // finite overflow
  both<fp8_e4m3fn>(-1000.0f, 0xFE, 0xFF);
  both<fp8_e4m3fn>(std::numeric_limits<float>::max(), 0x7E, 0x7F);
  both<fp8_e4m3fn>(-0.0f, 0x80);
  both<fp8_e4m3fn>(0.0f, 0x00);
}

TEST_CASE("§2.3 E5M2 rows", "[format][published][specials]") {
  both<fp8_e5m2>(qnan, 0x7E);  // quiet NaN
  both<fp8_e5m2>(neg_qnan, 0xFE);
  both<fp8_e5m2>(f32(0x7f800001u), 0x7E);
  both<fp8_e5m2>(f32(0xff800001u), 0xFE);
  both<fp8_e5m2>(inf, 0x7B, 0x7C);
  both<fp8_e5m2>(-inf, 0xFB, 0xFC);
  both<fp8_e5m2>(1e5f, 0x7B, 0x7C);
  both<fp8_e5m2>(-1e5f, 0xFB, 0xFC);
  both<fp8_e5m2>(-0.0f, 0x80);
}

TEST_CASE("§2.3 FNUZ rows", "[format][published][specials]") {
  for (float n : {qnan, neg_qnan, f32(0x7f800001u), f32(0xffffffffu)}) {
    both<fp8_e4m3fnuz>(n, 0x80);
    both<fp8_e5m2fnuz>(n, 0x80);
  }
  both<fp8_e4m3fnuz>(inf, 0x7F, 0x80);
  both<fp8_e4m3fnuz>(-inf, 0xFF, 0x80);
  both<fp8_e5m2fnuz>(inf, 0x7F, 0x80);
  both<fp8_e5m2fnuz>(-inf, 0xFF, 0x80);
  both<fp8_e4m3fnuz>(300.0f, 0x7F, 0x80);
  both<fp8_e4m3fnuz>(-300.0f, 0xFF, 0x80);
  both<fp8_e5m2fnuz>(1e5f, 0x7F, 0x80);
  both<fp8_e5m2fnuz>(-1e5f, 0xFF, 0x80);
  for (float z : {-0.0f, -1e-30f, -0x1p-18f, -0x1p-149f}) {
    both<fp8_e4m3fnuz>(z, 0x00);
    both<fp8_e5m2fnuz>(z, 0x00);
  }
  both<fp8_e4m3fnuz>(-0x1p-11f, 0x00);  // half the smallest subnormal 2^-10: tie -> 0 -> +0
  both<fp8_e5m2fnuz>(-0x1p-11f, 0x94);  // representable: -2^-11 = -2^(5-16): 1.00101.00
}

TEST_CASE("§2.3 FP6/FP4 rows", "[format][published][specials]") {
  // finite overflow and +-inf -> +-max in both modes
  both<fp6_e2m3fn>(inf, 0x1F);
  both<fp6_e2m3fn>(-inf, 0x3F);
  both<fp6_e3m2fn>(inf, 0x1F);
  both<fp6_e3m2fn>(-inf, 0x3F);
  both<fp4_e2m1fn>(inf, 0x7);
  both<fp4_e2m1fn>(-inf, 0xF);
  // NaN (ml_dtypes): +NaN -> the -0 code; -NaN -> 0x00
  for (float n : {qnan, f32(0x7f800001u), f32(0x7fffffffu)}) {
    both<fp6_e2m3fn>(n, 0x20);
    both<fp6_e3m2fn>(n, 0x20);
    both<fp4_e2m1fn>(n, 0x8);
  }
  for (float n : {neg_qnan, f32(0xff800001u), f32(0xffffffffu)}) {
    both<fp6_e2m3fn>(n, 0x00);
    both<fp6_e3m2fn>(n, 0x00);
    both<fp4_e2m1fn>(n, 0x0);
  }
}

TEST_CASE("§2.3 FP16/BF16 rows", "[format][published][specials]") {
  both<fp16>(inf, 0x7BFF, 0x7C00);
  both<fp16>(-inf, 0xFBFF, 0xFC00);
  both<fp16>(-0.0f, 0x8000);
  both<bf16>(inf, 0x7F7F, 0x7F80);
  both<bf16>(-inf, 0xFF7F, 0xFF80);
  both<bf16>(-0.0f, 0x8000);
  // NaN: canonical quiet NaN with the sign, whatever the payload (Eigen/ml_dtypes)
  for (std::uint32_t payload : {0x1u, 0x2000u, 0x400000u, 0x7fffffu, 0x123456u}) {
    both<fp16>(f32(0x7f800000u | payload), 0x7E00);
    both<fp16>(f32(0xff800000u | payload), 0xFE00);
    both<bf16>(f32(0x7f800000u | payload), 0x7FC0);
    both<bf16>(f32(0xff800000u | payload), 0xFFC0);
  }
}

// --------------------------------------------------------------------------------------------
// §8 Pitfalls
// --------------------------------------------------------------------------------------------

TEST_CASE("§8.1 double rounding: conversion is direct from fp32", "[format][published][pitfalls]") {
  const float x = 0x1.100002p+0f;
  CHECK(encode<fp8_e4m3fn>(x) == 0x39);  // 1.125 directly
  CHECK(decode<fp8_e4m3fn>(0x39) == 1.125f);
  // via fp16 the value first becomes the tie 1.0625 and then rounds to even 1.0
  const float via16 = decode<fp16>(encode<fp16>(x));
  CHECK(via16 == 1.0625f);
  CHECK(encode<fp8_e4m3fn>(via16) == 0x38);
  CHECK(decode<fp8_e4m3fn>(0x38) == 1.0f);

  // The published counts over the 2^23 fp32 values in [1, 2).
  std::size_t d16 = 0, dbf = 0, dbf_e2m1 = 0;
  for (std::uint32_t m = 0; m < (1u << 23); ++m) {
    const float v = f32(0x3f800000u | m);
    const auto direct = encode<fp8_e4m3fn>(v);
    d16 += direct != encode<fp8_e4m3fn>(decode<fp16>(encode<fp16>(v)));
    const float vb = decode<bf16>(encode<bf16>(v));
    dbf += direct != encode<fp8_e4m3fn>(vb);
    dbf_e2m1 += encode<fp4_e2m1fn>(v) != encode<fp4_e2m1fn>(vb);
  }
  CHECK(d16 == 32768);
  CHECK(dbf == 262144);
  CHECK(dbf_e2m1 == 65536);

  // ml_dtypes' own probe: 1 + 2^-digits(f8) + 2^-digits(intermediate) must round up
  CHECK(encode<fp8_e4m3fn>(1.0f + 0x1p-4f + 0x1p-11f) == 0x39);
  CHECK(encode<fp8_e5m2>(1.0f + 0x1p-3f + 0x1p-11f) == 0x3D);
}

TEST_CASE("§8.3 saturate means OCP SAT here, not ml_dtypes kSaturate", "[format][published][pitfalls]") {
  // ml_dtypes kSaturate would keep inf -> NaN (E4M3FN) / inf (E5M2); OCP SAT gives +-max.
  CHECK(encode<fp8_e4m3fn>(inf, overflow::saturate) == 0x7E);
  CHECK(encode<fp8_e5m2>(inf, overflow::saturate) == 0x7B);
  CHECK(encode<fp8_e5m2>(-inf, overflow::saturate) == 0xFB);
  // saturate is the default policy
  CHECK(encode<fp8_e4m3fn>(inf) == 0x7E);
  CHECK(encode<fp8_e4m3fn>(1e9f) == 0x7E);
  // NaN stays NaN under saturate
  CHECK(encode<fp8_e4m3fn>(qnan, overflow::saturate) == 0x7F);
  CHECK(encode<fp8_e5m2>(qnan, overflow::saturate) == 0x7E);
  CHECK(std::isnan(decode<fp16>(encode<fp16>(qnan, overflow::saturate))));
  // MX FP6/FP4 saturate even under propagate
  CHECK(encode<fp4_e2m1fn>(1e9f, overflow::propagate) == 0x7);
  CHECK(encode<fp6_e3m2fn>(-1e9f, overflow::propagate) == 0x3F);
  // asymmetric thresholds (even rule)
  CHECK(encode<fp8_e4m3fn>(464.0f, overflow::propagate) == 0x7E);
  CHECK(encode<fp8_e5m2>(61440.0f, overflow::propagate) == 0x7C);
  CHECK(encode<fp8_e4m3fnuz>(248.0f, overflow::propagate) == 0x80);
}

TEST_CASE("§8.4 special encodings: fnuz, E4M3FN NaNs, E8M0", "[format][published][pitfalls]") {
  // fnuz: no -0, negation of zero must not give 0x80
  CHECK(encode<fp8_e4m3fnuz>(-0.0f) == 0x00);
  CHECK(encode<fp8_e4m3fnuz>(-decode<fp8_e4m3fnuz>(0x00)) == 0x00);
  CHECK(encode<fp8_e5m2fnuz>(-decode<fp8_e5m2fnuz>(0x00), overflow::propagate) == 0x00);
  CHECK(u32(decode<fp8_e4m3fnuz>(0x00)) == 0u);  // +0
  CHECK(std::isnan(decode<fp8_e4m3fnuz>(0x80)));
  CHECK(std::isnan(decode<fp8_e5m2fnuz>(0x80)));
  CHECK(std::signbit(decode<fp8_e4m3fnuz>(0x80)));  // §2.4: ml_dtypes returns a NaN with the sign set
  // E4M3FN: NaN at both 0x7F and 0xFF, no inf
  CHECK(std::isnan(decode<fp8_e4m3fn>(0x7F)));
  CHECK(std::isnan(decode<fp8_e4m3fn>(0xFF)));
  CHECK_FALSE(format_traits<fp8_e4m3fn>::has_inf);
  // E8M0: no zero, no sign; 0x00 is the fp32 subnormal 2^-127 (bit pattern 0x00400000)
  CHECK(u32(decode<e8m0fnu>(0x00)) == 0x00400000u);
  CHECK(decode<e8m0fnu>(0x00) == 0x1p-127f);
  CHECK(decode<e8m0fnu>(0x00) > 0.0f);  // not flushed
  CHECK(encode<e8m0fnu>(0.0f, overflow::saturate) == 0x00);
  CHECK(encode<e8m0fnu>(0.0f, overflow::propagate) == 0xFF);
  // FP6/FP4 NaN -> the -0 code
  CHECK(encode<fp4_e2m1fn>(qnan) == 0x8);
}

TEST_CASE("§8.2 ties: midpoints per format go to the even code", "[format][published][pitfalls][ties]") {
  // E4M3FN: 1.0625 between 1.0 (0x38) and 1.125 (0x39) -> 1.0; 1.1875 -> 1.25 (0x3A)
  CHECK(encode<fp8_e4m3fn>(1.0625f) == 0x38);
  CHECK(encode<fp8_e4m3fn>(1.1875f) == 0x3A);
  CHECK(encode<fp8_e4m3fn>(-1.0625f) == 0xB8);
  // E5M2: 1.125 between 1.0 (0x3C) and 1.25 (0x3D) -> 1.0; 1.375 -> 1.5 (0x3E)
  CHECK(encode<fp8_e5m2>(1.125f) == 0x3C);
  CHECK(encode<fp8_e5m2>(1.375f) == 0x3E);
  // across a binade: E4M3FN 1.9375 (between 1.875 = 0x3F and 2.0 = 0x40) -> 2.0
  CHECK(encode<fp8_e4m3fn>(1.9375f) == 0x40);
  // subnormal ties: E4M3FN 1.5 * 2^-9 -> 2 * 2^-9 (code 2), 2.5 * 2^-9 -> code 2, 0.5 * 2^-9 -> 0
  CHECK(encode<fp8_e4m3fn>(1.5f * 0x1p-9f) == 0x02);
  CHECK(encode<fp8_e4m3fn>(2.5f * 0x1p-9f) == 0x02);
  CHECK(encode<fp8_e4m3fn>(0.5f * 0x1p-9f) == 0x00);
  // subnormal -> normal boundary: 7.5 * 2^-9 -> 8 * 2^-9 = min normal 0x08
  CHECK(encode<fp8_e4m3fn>(7.5f * 0x1p-9f) == 0x08);
  // FP16/BF16 ties
  CHECK(encode<fp16>(1.0f + 0x1p-11f) == 0x3C00);
  CHECK(encode<fp16>(1.0f + 3 * 0x1p-11f) == 0x3C02);
  CHECK(encode<bf16>(1.0f + 0x1p-8f) == 0x3F80);
  CHECK(encode<bf16>(1.0f + 3 * 0x1p-8f) == 0x3F82);
}

TEST_CASE("encode/decode are constexpr", "[format][published]") {
  static_assert(encode<fp8_e4m3fn>(448.0f) == 0x7E);
  static_assert(encode<fp8_e4m3fn>(464.0f, overflow::propagate) == 0x7E);
  static_assert(encode<fp8_e5m2>(61440.0f, overflow::propagate) == 0x7C);
  static_assert(decode<fp4_e2m1fn>(0x7) == 6.0f);
  static_assert(decode<e8m0fnu>(0x7F) == 1.0f);
  static_assert(encode<e8m0fnu>(3.0f) == 0x80);
  static_assert(encode<int_format<4>>(7.5f) == 0x7);
  static_assert(encode<nf4>(1.0f) == 15);
  static_assert(format_traits<fp8_e4m3fn>::finite_values == 253);
  SUCCEED("compile-time checks passed");
}

TEST_CASE("span encode/decode agree with the scalar versions", "[format]") {
  const std::vector<float> xs = {0.0f, -0.0f, 1.0f, -3.3f, 500.0f, inf, -inf, qnan, 0x1p-10f, 1.0625f};
  std::vector<std::uint8_t> codes(xs.size());
  std::vector<float> back(xs.size());
  for (overflow o : {overflow::saturate, overflow::propagate}) {
    encode<fp8_e4m3fn>(std::span<const float>(xs), std::span<std::uint8_t>(codes), o);
    for (std::size_t i = 0; i < xs.size(); ++i) CHECK(codes[i] == encode<fp8_e4m3fn>(xs[i], o));
  }
  decode<fp8_e4m3fn>(std::span<const std::uint8_t>(codes), std::span<float>(back));
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const float d = decode<fp8_e4m3fn>(codes[i]);
    CHECK((u32(back[i]) == u32(d) || (std::isnan(back[i]) && std::isnan(d))));
  }
  // the shorter span bounds the work
  std::vector<std::uint8_t> short_out(3, 0xAA);
  encode<fp8_e4m3fn>(std::span<const float>(xs), std::span<std::uint8_t>(short_out));
  CHECK(short_out[2] == encode<fp8_e4m3fn>(xs[2]));
}
