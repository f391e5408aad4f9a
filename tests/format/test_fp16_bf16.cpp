// FP16 and BF16 against references that owe nothing to mixq: the compiler's _Float16
// conversions (IEEE binary16, RNE) and the classic bf16 bit trick (round the top 16 bits of
// the fp32 pattern to nearest even). Exhaustive over codes, swept over fp32 inputs.
#include <catch2/catch.hpp>

#include <mixq/format.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "oracle.hpp"

using namespace mixq;
using oracle::f32;

namespace {
void report(const oracle::mismatch_log& log) {
  for (const auto& s : log.first) FAIL_CHECK(s);
  INFO("checked " << log.checked << " inputs");
  CHECK(log.bad == 0);
  CHECK(log.checked > 0);
}

/// bf16 by integer RNE on the fp32 pattern (non-NaN input). Overflow rounds into inf by itself.
std::uint16_t bf16_ref(float x) {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(x);
  return static_cast<std::uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

void check_bf16(oracle::mismatch_log& log, float x) {
  const unsigned gp = encode<bf16>(x, overflow::propagate), gs = encode<bf16>(x, overflow::saturate);
  if (std::isnan(x)) {
    const unsigned want = std::signbit(x) ? 0xFFC0u : 0x7FC0u;
    log.add(gp == want && gs == want, "bf16 NaN", x, gp, want);
    return;
  }
  const unsigned wp = bf16_ref(x);
  const bool overflowed = (wp & 0x7fffu) == 0x7f80u;  // inf, from a finite or infinite input
  const unsigned ws = overflowed ? ((wp & 0x8000u) | 0x7f7fu) : wp;
  log.add(gp == wp, "bf16 propagate", x, gp, wp);
  log.add(gs == ws, "bf16 saturate", x, gs, ws);
}

#ifdef __FLT16_MANT_DIG__
constexpr bool have_float16 = true;
std::uint16_t fp16_ref(float x) { return std::bit_cast<std::uint16_t>(static_cast<_Float16>(x)); }
float fp16_ref_decode(std::uint16_t c) { return static_cast<float>(std::bit_cast<_Float16>(c)); }
#else
constexpr bool have_float16 = false;
std::uint16_t fp16_ref(float) { return 0; }
float fp16_ref_decode(std::uint16_t) { return 0; }
#endif

void check_fp16(oracle::mismatch_log& log, float x) {
  const unsigned gp = encode<fp16>(x, overflow::propagate), gs = encode<fp16>(x, overflow::saturate);
  if (std::isnan(x)) {
    const unsigned want = std::signbit(x) ? 0xFE00u : 0x7E00u;
    log.add(gp == want && gs == want, "fp16 NaN", x, gp, want);
    return;
  }
  const unsigned wp = fp16_ref(x);
  const bool overflowed = (wp & 0x7fffu) == 0x7c00u;
  const unsigned ws = overflowed ? ((wp & 0x8000u) | 0x7bffu) : wp;
  log.add(gp == wp, "fp16 propagate", x, gp, wp);
  log.add(gs == ws, "fp16 saturate", x, gs, ws);
}
}  // namespace

TEST_CASE("bf16: all 65536 codes decode to the top half of an fp32 and round trip", "[format][bf16]") {
  oracle::mismatch_log log;
  for (std::uint32_t c = 0; c < 65536; ++c) {
    const float v = decode<bf16>(static_cast<std::uint16_t>(c));
    const float ref = f32(c << 16);
    if (std::isnan(ref)) {
      log.add(std::isnan(v) && std::signbit(v) == std::signbit(ref), "bf16 NaN decode", v, c, 0);
      const unsigned back = encode<bf16>(v, overflow::propagate);
      const unsigned want = (c & 0x8000u) | 0x7fc0u;
      log.add(back == want, "bf16 NaN code -> canonical NaN", v, back, want);
      continue;
    }
    log.add(oracle::bits_of(v) == oracle::bits_of(ref), "bf16 decode", v, c, c << 16);
    const unsigned back = encode<bf16>(v, overflow::propagate);
    log.add(back == c, "bf16 round trip", v, back, c);
  }
  report(log);
}

TEST_CASE("bf16: encode equals integer RNE on the fp32 pattern", "[format][bf16][sweep]") {
  oracle::mismatch_log log;
  oracle::reduced_sweep(7 + 3, [&](float x) { check_bf16(log, x); });
  oracle::strided_sweep(257, 5, [&](float x) { check_bf16(log, x); });
  // every code's midpoint with its successor and the neighbours (ties are where RNE shows)
  for (std::uint32_t c = 0; c < 65536; ++c) {
    const std::uint32_t mid = (c << 16) | 0x8000u;
    for (std::uint32_t u : {mid, mid - 1, mid + 1, c << 16, (c << 16) | 0xffffu}) check_bf16(log, f32(u));
  }
  report(log);
}

TEST_CASE("fp16: all 65536 codes decode like _Float16 and round trip", "[format][fp16]") {
  if (!have_float16) {
    WARN("_Float16 unavailable: fp16 checked against the oracle only");
    return;
  }
  oracle::mismatch_log log;
  for (std::uint32_t c = 0; c < 65536; ++c) {
    const float v = decode<fp16>(static_cast<std::uint16_t>(c));
    const float ref = fp16_ref_decode(static_cast<std::uint16_t>(c));
    if (std::isnan(ref)) {
      log.add(std::isnan(v) && std::signbit(v) == ((c & 0x8000u) != 0), "fp16 NaN decode", v, c, 0);
      const unsigned back = encode<fp16>(v, overflow::propagate);
      const unsigned want = (c & 0x8000u) | 0x7e00u;
      log.add(back == want, "fp16 NaN code -> canonical NaN", v, back, want);
      continue;
    }
    log.add(oracle::bits_of(v) == oracle::bits_of(ref), "fp16 decode", v, c, oracle::bits_of(ref));
    const unsigned back = encode<fp16>(v, overflow::propagate);
    log.add(back == c, "fp16 round trip", v, back, c);
  }
  report(log);
}

TEST_CASE("fp16: encode equals the compiler's float -> _Float16 conversion", "[format][fp16][sweep]") {
  if (!have_float16) {
    WARN("_Float16 unavailable: fp16 checked against the oracle only");
    return;
  }
  oracle::mismatch_log log;
  oracle::reduced_sweep(10 + 3, [&](float x) { check_fp16(log, x); });
  oracle::strided_sweep(1021, 9, [&](float x) { check_fp16(log, x); });
  for (std::uint32_t c = 0; c < 65536; ++c) {
    const float v = fp16_ref_decode(static_cast<std::uint16_t>(c));
    if (!std::isfinite(v)) continue;
    const float w = fp16_ref_decode(static_cast<std::uint16_t>(c + 1));
    if (!std::isfinite(w) || (c & 0x7fffu) == 0x7fffu) continue;
    const auto mid = static_cast<float>((static_cast<double>(v) + w) / 2);
    for (float x : {mid, oracle::next_up(mid), oracle::next_down(mid)}) check_fp16(log, x);
  }
  report(log);
}

TEST_CASE("fp16/bf16 NaN encodings", "[format][fp16][bf16][specials]") {
  // Eigen / ml_dtypes: canonical quiet NaN with the input's sign, payload dropped
  for (std::uint32_t p = 1; p < (1u << 23); p = p * 3 + 1) {
    CHECK(encode<fp16>(f32(0x7f800000u | p)) == 0x7E00);
    CHECK(encode<fp16>(f32(0xff800000u | p)) == 0xFE00);
    CHECK(encode<bf16>(f32(0x7f800000u | p), overflow::propagate) == 0x7FC0);
    CHECK(encode<bf16>(f32(0xff800000u | p), overflow::propagate) == 0xFFC0);
  }
  CHECK(std::isnan(decode<fp16>(0x7E00)));
  CHECK(std::isnan(decode<fp16>(0x7C01)));
  CHECK(std::isnan(decode<bf16>(0x7F81)));
  CHECK(std::signbit(decode<bf16>(0xFFC0)));
}

TEST_CASE("fp16/bf16 against the references on all 2^32 fp32 inputs", "[.][exhaustive][fp16][bf16]") {
  oracle::mismatch_log lb, lh;
  oracle::strided_sweep(1, 0, [&](float x) {
    check_bf16(lb, x);
    if (have_float16) check_fp16(lh, x);
  });
  report(lb);
  if (have_float16) report(lh);
}
