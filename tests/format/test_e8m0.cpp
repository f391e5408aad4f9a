// E8M0 (OCP MX scale) against the oracle of oracle.hpp and the facts of FORMATS.md §2.1-§2.3.
// mixq rounds ties to the even code (OCP RNE, ml_dtypes PR #398), not up as ml_dtypes does today.
#include <catch2/catch.hpp>

#include <mixq/format.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "oracle.hpp"

using namespace mixq;
using oracle::f32;
using oracle::next_down;
using oracle::next_up;

namespace {
const float inf = std::numeric_limits<float>::infinity();

void check_e8m0(oracle::mismatch_log& log, float x) {
  const unsigned gs = encode<e8m0fnu>(x, overflow::saturate), gp = encode<e8m0fnu>(x, overflow::propagate);
  const unsigned ws = oracle::e8m0_encode(x, true), wp = oracle::e8m0_encode(x, false);
  log.add(gs == ws, "e8m0 saturate", x, gs, ws);
  log.add(gp == wp, "e8m0 propagate", x, gp, wp);
}
void report(const oracle::mismatch_log& log) {
  for (const auto& s : log.first) FAIL_CHECK(s);
  INFO("checked " << log.checked << " inputs");
  CHECK(log.bad == 0);
  CHECK(log.checked > 0);
}
}  // namespace

TEST_CASE("e8m0 decode: code c is 2^(c-127), 0xFF is NaN", "[format][e8m0][decode]") {
  for (unsigned c = 0; c < 255; ++c) {
    const float v = decode<e8m0fnu>(static_cast<std::uint8_t>(c));
    CHECK(static_cast<double>(v) == std::ldexp(1.0, static_cast<int>(c) - 127));
  }
  CHECK(std::isnan(decode<e8m0fnu>(0xFF)));
  CHECK(std::bit_cast<std::uint32_t>(decode<e8m0fnu>(0x00)) == 0x00400000u);  // fp32 subnormal
  CHECK(std::bit_cast<std::uint32_t>(decode<e8m0fnu>(0x01)) == 0x00800000u);  // 2^-126
  CHECK(decode<e8m0fnu>(0x7F) == 1.0f);
  CHECK(decode<e8m0fnu>(0xFE) == 0x1p127f);
}

TEST_CASE("e8m0 round trip of every code", "[format][e8m0][roundtrip]") {
  for (unsigned c = 0; c < 256; ++c) {
    const float v = decode<e8m0fnu>(static_cast<std::uint8_t>(c));
    INFO("code " << c);
    CHECK(encode<e8m0fnu>(v, overflow::saturate) == c);
    CHECK(encode<e8m0fnu>(v, overflow::propagate) == c);
  }
}

TEST_CASE("e8m0 special values (§2.3 rows, both policies)", "[format][e8m0][specials]") {
  for (float n : {f32(0x7fc00000u), f32(0xffc00000u), f32(0x7f800001u), f32(0xffffffffu)}) {
    CHECK(encode<e8m0fnu>(n, overflow::saturate) == 0xFF);
    CHECK(encode<e8m0fnu>(n, overflow::propagate) == 0xFF);
  }
  // zero and negatives: saturate -> 0x00 (2^-127), propagate -> NaN
  for (float z : {0.0f, -0.0f, -1.0f, -0x1p-149f, -1e30f, -inf, -std::numeric_limits<float>::max()}) {
    INFO("x = " << z);
    CHECK(encode<e8m0fnu>(z, overflow::saturate) == 0x00);
    CHECK(encode<e8m0fnu>(z, overflow::propagate) == 0xFF);
  }
  // +inf: saturate -> max (OCP SAT), propagate -> NaN
  CHECK(encode<e8m0fnu>(inf, overflow::saturate) == 0xFE);
  CHECK(encode<e8m0fnu>(inf, overflow::propagate) == 0xFF);
}

TEST_CASE("e8m0 rounding: nearest power of two, ties to the even code", "[format][e8m0][ties]") {
  CHECK(encode<e8m0fnu>(3.0f) == 0x80);   // 2 (0x80) vs 4 (0x81): even -> 2
  CHECK(encode<e8m0fnu>(0.75f) == 0x7E);  // 0.5 (0x7E) vs 1 (0x7F): even -> 0.5
  CHECK(encode<e8m0fnu>(1.5f) == 0x80);   // 1 (0x7F) vs 2 (0x80): even -> 2
  CHECK(encode<e8m0fnu>(6.0f) == 0x82);   // 4 (0x81) vs 8 (0x82)
  CHECK(encode<e8m0fnu>(next_down(3.0f)) == 0x80);
  CHECK(encode<e8m0fnu>(next_up(3.0f)) == 0x81);
  CHECK(encode<e8m0fnu>(next_down(1.5f)) == 0x7F);
  CHECK(encode<e8m0fnu>(next_up(0.75f)) == 0x7F);
  // every tie 1.5 2^k, k = -127..126, and its neighbours
  std::size_t differs_from_ties_up = 0;
  for (int k = -127; k <= 126; ++k) {
    const auto t = static_cast<float>(std::ldexp(1.5, k));
    REQUIRE(static_cast<double>(t) == std::ldexp(1.5, k));
    const unsigned lo = static_cast<unsigned>(k + 127), hi = lo + 1;
    INFO("k = " << k);
    CHECK(encode<e8m0fnu>(t) == (lo % 2 == 0 ? lo : hi));
    CHECK(encode<e8m0fnu>(next_down(t)) == lo);
    CHECK(encode<e8m0fnu>(next_up(t)) == hi);
    differs_from_ties_up += (lo % 2 == 0);
  }
  CHECK(differs_from_ties_up == 127);
  // top: 1.5 2^127 ties to 0xFE (even; the other side, 2^128, does not exist); above overflows
  const float top = 0x1.8p127f;
  CHECK(encode<e8m0fnu>(top, overflow::propagate) == 0xFE);
  CHECK(encode<e8m0fnu>(next_up(top), overflow::propagate) == 0xFF);
  CHECK(encode<e8m0fnu>(next_up(top), overflow::saturate) == 0xFE);
  CHECK(encode<e8m0fnu>(std::numeric_limits<float>::max(), overflow::propagate) == 0xFF);
  CHECK(encode<e8m0fnu>(std::numeric_limits<float>::max(), overflow::saturate) == 0xFE);
  // bottom: everything positive below 2^-127 -> 0x00, fp32 subnormals included
  for (float x : {0x1p-149f, 0x1p-128f, next_down(0x1p-127f), 0x1.fffffep-128f, 0x1.8p-128f})
    CHECK(encode<e8m0fnu>(x, overflow::propagate) == 0x00);
  CHECK(encode<e8m0fnu>(0x1.8p-127f) == 0x00);  // tie between 0x00 and 0x01 -> even
  CHECK(encode<e8m0fnu>(next_up(0x1.8p-127f)) == 0x01);
}

TEST_CASE("e8m0 encode matches the oracle on sweeps", "[format][e8m0][oracle][sweep]") {
  oracle::mismatch_log log;
  for (unsigned c = 0; c < 256; ++c) {
    const double v = oracle::e8m0_value(c);
    const float x = std::isnan(v) ? f32(0x7fc00000u) : static_cast<float>(v);
    for (float y : {x, next_up(x), next_down(x), -x}) check_e8m0(log, y);
    const float mid = static_cast<float>(1.5 * v);  // exact, tie
    for (float y : {mid, next_up(mid), next_down(mid)}) check_e8m0(log, y);
  }
  oracle::reduced_sweep(3, [&](float x) { check_e8m0(log, x); });
  oracle::strided_sweep(7919, 11, [&](float x) { check_e8m0(log, x); });
  report(log);
}

TEST_CASE("e8m0 encode matches the oracle on all 2^32 fp32 inputs", "[.][exhaustive][e8m0]") {
  oracle::mismatch_log log;
  oracle::strided_sweep(1, 0, [&](float x) { check_e8m0(log, x); });
  report(log);
}
