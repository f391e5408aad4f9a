// Integer formats of 1..8 bits, signed / unsigned / symmetric, against FORMATS.md §3 and the
// oracle of oracle.hpp (round to nearest even in double, then clamp; NaN -> 0).
#include <catch2/catch.hpp>

#include <mixq/format.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <tuple>

#include "oracle.hpp"

using namespace mixq;
using oracle::next_down;
using oracle::next_up;

namespace {
template <class F>
oracle::int_spec spec_of() {
  return {F::bits, F::is_signed, F::symmetric};
}
template <class F>
std::string name_of() {
  return std::string(F::is_signed ? "int" : "uint") + std::to_string(F::bits) + (F::symmetric ? "_sym" : "");
}
void report(const oracle::mismatch_log& log) {
  for (const auto& s : log.first) FAIL_CHECK(s);
  INFO("checked " << log.checked << " inputs");
  CHECK(log.bad == 0);
  CHECK(log.checked > 0);
}
template <class F>
void check_int(oracle::mismatch_log& log, const oracle::int_spec& s, float x) {
  const unsigned gs = encode<F>(x, overflow::saturate), gp = encode<F>(x, overflow::propagate);
  const unsigned w = s.encode(x);
  log.add(gs == w, "int saturate", x, gs, w);
  log.add(gp == w, "int propagate", x, gp, w);
}
}  // namespace

using all_ints = std::tuple<int_format<1>, int_format<2>, int_format<3>, int_format<4>, int_format<5>, int_format<6>,
                            int_format<7>, int_format<8>, uint_format<1>, uint_format<2>, uint_format<3>,
                            uint_format<4>, uint_format<5>, uint_format<6>, uint_format<7>, uint_format<8>,
                            int_sym<2>, int_sym<3>, int_sym<4>, int_sym<5>, int_sym<6>, int_sym<7>, int_sym<8>>;

TEST_CASE("§3 integer ranges", "[format][int][published]") {
  // two's-complement full range, symmetric range, unsigned range (table §3)
  CHECK(int2::min_int == -2);
  CHECK(int2::max_int == 1);
  CHECK(int_sym<2>::min_int == -1);
  CHECK(uint_format<2>::max_int == 3);
  CHECK(int3::min_int == -4);
  CHECK(int3::max_int == 3);
  CHECK(int_sym<3>::min_int == -3);
  CHECK(uint_format<3>::max_int == 7);
  CHECK(int4::min_int == -8);
  CHECK(int4::max_int == 7);
  CHECK(int_sym<4>::min_int == -7);
  CHECK(int_sym<4>::max_int == 7);
  CHECK(uint4::max_int == 15);
  CHECK(int5::min_int == -16);
  CHECK(int5::max_int == 15);
  CHECK(int_sym<5>::min_int == -15);
  CHECK(uint_format<5>::max_int == 31);
  CHECK(int6::min_int == -32);
  CHECK(int6::max_int == 31);
  CHECK(int_sym<6>::min_int == -31);
  CHECK(uint_format<6>::max_int == 63);
  CHECK(int8::min_int == -128);
  CHECK(int8::max_int == 127);
  CHECK(int_sym<8>::min_int == -127);
  CHECK(uint8::max_int == 255);
  CHECK(uint8::min_int == 0);
  // levels (full / sym): 4/3, 8/7, 16/15, 32/31, 64/63, 256/255
  CHECK(format_traits<int2>::finite_values == 4);
  CHECK(format_traits<int_sym<2>>::finite_values == 3);
  CHECK(format_traits<int3>::finite_values == 8);
  CHECK(format_traits<int_sym<3>>::finite_values == 7);
  CHECK(format_traits<int4>::finite_values == 16);
  CHECK(format_traits<int_sym<4>>::finite_values == 15);
  CHECK(format_traits<int5>::finite_values == 32);
  CHECK(format_traits<int_sym<5>>::finite_values == 31);
  CHECK(format_traits<int6>::finite_values == 64);
  CHECK(format_traits<int_sym<6>>::finite_values == 63);
  CHECK(format_traits<int8>::finite_values == 256);
  CHECK(format_traits<int_sym<8>>::finite_values == 255);
  CHECK(format_traits<uint8>::finite_values == 256);
}

TEMPLATE_LIST_TEST_CASE("integer decode of every code is its two's-complement / unsigned value",
                        "[format][int][decode]", all_ints) {
  using F = TestType;
  const auto s = spec_of<F>();
  INFO(name_of<F>());
  const unsigned n = 1u << F::bits;
  for (unsigned c = 0; c < 256; ++c) {  // codes above the width: upper bits are ignored
    const float v = decode<F>(static_cast<std::uint8_t>(c));
    CHECK(v == static_cast<float>(s.value(c & (n - 1))));
  }
  // signed codes: the top bit is the sign; the dropped symmetric code still decodes to -2^(b-1)
  if constexpr (F::is_signed) {
    CHECK(decode<F>(static_cast<std::uint8_t>(n / 2)) == -static_cast<float>(n / 2));
    CHECK(decode<F>(static_cast<std::uint8_t>(n - 1)) == -1.0f);
  } else {
    CHECK(decode<F>(static_cast<std::uint8_t>(n - 1)) == static_cast<float>(n - 1));
  }
}

TEMPLATE_LIST_TEST_CASE("integer encode(decode(c)) is the identity except the dropped symmetric code",
                        "[format][int][roundtrip]", all_ints) {
  using F = TestType;
  INFO(name_of<F>());
  const unsigned n = 1u << F::bits;
  for (unsigned c = 0; c < n; ++c) {
    const float v = decode<F>(static_cast<std::uint8_t>(c));
    unsigned want = c;
    if (F::symmetric && c == n / 2) want = n / 2 + 1;  // -2^(b-1) clamps to -(2^(b-1) - 1)
    INFO("code " << c);
    CHECK(encode<F>(v, overflow::saturate) == want);
    CHECK(encode<F>(v, overflow::propagate) == want);
  }
}

TEMPLATE_LIST_TEST_CASE("integer encode: midpoints, neighbours, clamping and NaN against the oracle",
                        "[format][int][oracle][ties]", all_ints) {
  using F = TestType;
  const auto s = spec_of<F>();
  INFO(name_of<F>());
  oracle::mismatch_log log;
  for (long k = s.lo() - 4; k <= s.hi() + 4; ++k) {
    const auto x = static_cast<float>(k);
    for (float y : {x, x + 0.5f, x - 0.5f, x + 0.25f, x - 0.25f, next_up(x + 0.5f), next_down(x + 0.5f),
                    next_up(x), next_down(x)})
      check_int<F>(log, s, y);
  }
  const float inf = std::numeric_limits<float>::infinity();
  for (float y : {inf, -inf, std::numeric_limits<float>::max(), -std::numeric_limits<float>::max(), 1e30f, -1e30f,
                  0x1p31f, -0x1p31f, 0x1p24f, -0x1p24f, 0x1p-149f, -0x1p-149f, 0.0f, -0.0f, 16777217.0f})
    check_int<F>(log, s, y);
  oracle::reduced_sweep(10, [&](float x) { check_int<F>(log, s, x); });
  oracle::strided_sweep(104729, 3, [&](float x) { check_int<F>(log, s, x); });
  report(log);

  // and independently of the oracle, the defining properties:
  const auto lo = static_cast<float>(s.lo()), hi = static_cast<float>(s.hi());
  CHECK(decode<F>(encode<F>(inf)) == hi);
  CHECK(decode<F>(encode<F>(-inf)) == lo);
  CHECK(decode<F>(encode<F>(1e30f)) == hi);
  CHECK(decode<F>(encode<F>(-1e30f)) == lo);
  CHECK(encode<F>(std::numeric_limits<float>::quiet_NaN()) == 0);
  CHECK(encode<F>(-std::numeric_limits<float>::quiet_NaN()) == 0);
  CHECK(encode<F>(-0.0f) == 0);
  for (long k = s.lo(); k < s.hi(); ++k) {  // k + 0.5 rounds to the even neighbour
    const auto x = static_cast<float>(k) + 0.5f;
    const long even = (k % 2 == 0) ? k : k + 1;
    INFO("x = " << x);
    CHECK(decode<F>(encode<F>(x)) == static_cast<float>(even));
  }
}

TEST_CASE("integer rounding examples", "[format][int][ties]") {
  CHECK(decode<int4>(encode<int4>(7.5f)) == 7.0f);    // RNE gives 8, clamped to 7
  CHECK(decode<int4>(encode<int4>(6.5f)) == 6.0f);
  CHECK(decode<int4>(encode<int4>(5.5f)) == 6.0f);
  CHECK(decode<int4>(encode<int4>(-7.5f)) == -8.0f);
  CHECK(decode<int4>(encode<int4>(-8.5f)) == -8.0f);
  CHECK(decode<int4>(encode<int4>(-8.4f)) == -8.0f);
  CHECK(decode<int_sym<4>>(encode<int_sym<4>>(-7.5f)) == -7.0f);
  CHECK(decode<int_sym<4>>(encode<int_sym<4>>(-8.0f)) == -7.0f);
  CHECK(decode<int4>(encode<int4>(2.5f)) == 2.0f);
  CHECK(decode<int4>(encode<int4>(-2.5f)) == -2.0f);
  CHECK(decode<int4>(encode<int4>(0.5f)) == 0.0f);
  CHECK(decode<int4>(encode<int4>(-0.5f)) == 0.0f);
  CHECK(decode<int4>(encode<int4>(1.5f)) == 2.0f);
  CHECK(decode<int4>(encode<int4>(0.5000001f)) == 1.0f);
  CHECK(decode<uint4>(encode<uint4>(-0.5f)) == 0.0f);
  CHECK(decode<uint4>(encode<uint4>(-3.0f)) == 0.0f);
  CHECK(decode<uint4>(encode<uint4>(15.5f)) == 15.0f);
  CHECK(decode<uint4>(encode<uint4>(14.5f)) == 14.0f);
  CHECK(decode<int8>(encode<int8>(127.5f)) == 127.0f);
  CHECK(decode<int8>(encode<int8>(-128.5f)) == -128.0f);
  CHECK(decode<int_sym<8>>(encode<int_sym<8>>(-128.0f)) == -127.0f);
  CHECK(decode<uint8>(encode<uint8>(254.5f)) == 254.0f);
  CHECK(decode<uint8>(encode<uint8>(253.5f)) == 254.0f);
  CHECK(encode<int4>(-1.0f) == 0xF);  // two's complement in the low bits
  CHECK(encode<int4>(-8.0f) == 0x8);
  CHECK(encode<int8>(-1.0f) == 0xFF);
  CHECK(encode<int_format<1>>(-1.0f) == 0x1);
  CHECK(decode<int_format<1>>(0x1) == -1.0f);
  CHECK(decode<int_format<1>>(encode<int_format<1>>(-0.5f)) == 0.0f);  // tie -> even 0
  CHECK(decode<int_format<1>>(encode<int_format<1>>(5.0f)) == 0.0f);
  CHECK(decode<uint_format<1>>(encode<uint_format<1>>(0.5f)) == 0.0f);
  CHECK(decode<uint_format<1>>(encode<uint_format<1>>(0.51f)) == 1.0f);
}

TEMPLATE_LIST_TEST_CASE("format_traits of integers", "[format][int][traits]", all_ints) {
  using F = TestType;
  using T = format_traits<F>;
  const auto s = spec_of<F>();
  INFO(name_of<F>());
  CHECK(T::bits == F::bits);
  CHECK(T::max_finite == static_cast<float>(s.hi()));
  CHECK(T::lowest == static_cast<float>(s.lo()));
  CHECK(T::finite_values == static_cast<std::size_t>(s.hi() - s.lo() + 1));
  CHECK(T::finite_codes == (std::size_t{1} << F::bits));  // every code decodes to a number
  CHECK(T::min_subnormal == 1.0f);                        // smallest positive value
  CHECK(T::min_normal == 1.0f);
  CHECK_FALSE(T::has_inf);
  CHECK_FALSE(T::has_nan);
  CHECK_FALSE(T::has_negative_zero);
  CHECK(T::is_signed == F::is_signed);
}
