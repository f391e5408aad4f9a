// The codecs are constexpr, and a compile-time evaluation may take a different path from the
// run-time one (integers use nearbyint at run time and a bit-exact helper in constant
// evaluation). These checks run inside the compiler, against integer arithmetic written here.
#include <catch2/catch.hpp>

#include <mixq/format.hpp>

#include <cstdint>
#include <limits>

using namespace mixq;

namespace {

/// Round n/4 to the nearest integer, ties to even, with integers only; then clamp.
constexpr long rne_quarter(long n, long lo, long hi) {
  long fl = n >= 0 ? n / 4 : -((-n + 3) / 4);  // floor(n / 4)
  const long rem = n - 4 * fl;                // 0..3
  long r = rem < 2 ? fl : rem > 2 ? fl + 1 : (fl % 2 == 0 ? fl : fl + 1);
  return r < lo ? lo : (r > hi ? hi : r);
}

template <class F>
constexpr bool int_quarters_ok() {
  for (long n = 4 * (F::min_int - 3); n <= 4 * (F::max_int + 3); ++n) {
    const long want = rne_quarter(n, F::min_int, F::max_int);
    const auto c = encode<F>(static_cast<float>(n) / 4.0f);
    if (decode<F>(c) != static_cast<float>(want)) return false;
  }
  constexpr float inf = std::numeric_limits<float>::infinity();
  return encode<F>(std::numeric_limits<float>::quiet_NaN()) == 0 && decode<F>(encode<F>(inf)) == F::max_int &&
         decode<F>(encode<F>(-inf)) == F::min_int;
}

template <class F>
constexpr bool minifloat_round_trip_ok() {
  for (unsigned c = 0; c < (1u << F::bits); ++c) {
    const float v = decode<F>(static_cast<code_t<F>>(c));
    if (v != v) continue;  // NaN codes
    const auto back = encode<F>(v, overflow::propagate);
    if (back != c) return false;
  }
  return true;
}

}  // namespace

static_assert(rne_quarter(2, -8, 7) == 0 && rne_quarter(6, -8, 7) == 2 && rne_quarter(-2, -8, 7) == 0 &&
              rne_quarter(-6, -8, 7) == -2 && rne_quarter(30, -8, 7) == 7 && rne_quarter(-34, -8, 7) == -8);

TEST_CASE("integer encode in constant evaluation: RNE on quarter steps, clamping, NaN", "[format][int][constexpr]") {
  static_assert(int_quarters_ok<int_format<1>>());
  static_assert(int_quarters_ok<int_format<4>>());
  static_assert(int_quarters_ok<int_format<8>>());
  static_assert(int_quarters_ok<int_sym<4>>());
  static_assert(int_quarters_ok<int_sym<8>>());
  static_assert(int_quarters_ok<uint_format<1>>());
  static_assert(int_quarters_ok<uint_format<4>>());
  static_assert(int_quarters_ok<uint_format<8>>());
  // and the same inputs at run time
  CHECK(int_quarters_ok<int_format<1>>());
  CHECK(int_quarters_ok<int_format<4>>());
  CHECK(int_quarters_ok<int_format<8>>());
  CHECK(int_quarters_ok<int_sym<4>>());
  CHECK(int_quarters_ok<int_sym<8>>());
  CHECK(int_quarters_ok<uint_format<1>>());
  CHECK(int_quarters_ok<uint_format<4>>());
  CHECK(int_quarters_ok<uint_format<8>>());
}

TEST_CASE("minifloat round trip in constant evaluation", "[format][minifloat][constexpr]") {
  static_assert(minifloat_round_trip_ok<fp8_e4m3fn>());
  static_assert(minifloat_round_trip_ok<fp8_e4m3fnuz>());
  static_assert(minifloat_round_trip_ok<fp8_e5m2>());
  static_assert(minifloat_round_trip_ok<fp8_e5m2fnuz>());
  static_assert(minifloat_round_trip_ok<fp6_e2m3fn>());
  static_assert(minifloat_round_trip_ok<fp6_e3m2fn>());
  static_assert(minifloat_round_trip_ok<fp4_e2m1fn>());
  // a few compile-time conversions with published results (§2.2, §8.1)
  static_assert(encode<fp8_e4m3fn>(0x1.100002p+0f) == 0x39);
  static_assert(encode<fp8_e4m3fn>(464.0f, overflow::propagate) == 0x7E);
  static_assert(encode<fp8_e4m3fnuz>(248.0f, overflow::propagate) == 0x80);
  static_assert(encode<fp8_e4m3fnuz>(-0.0f) == 0x00);
  static_assert(encode<fp16>(65520.0f, overflow::propagate) == 0x7C00);
  static_assert(encode<bf16>(0x1p-134f) == 0x0000);
  static_assert(encode<fp4_e2m1fn>(0.75f) == 0x2 && encode<fp4_e2m1fn>(2.5f) == 0x4);
  static_assert(encode<e8m0fnu>(0.75f) == 0x7E);
  static_assert(encode<e8m0fnu>(0x1p-149f, overflow::propagate) == 0x00);
  static_assert(encode<nf4>(0.03979014977812767f) == 7);  // the midpoint of 0 and 0.0796 is an fp32: tie -> lower
  static_assert(encode<nf4>(0.03979015350341797f) == 8);  // the next fp32 up
  static_assert(encode<iq4_nl>(1e30f) == 15);
  CHECK(minifloat_round_trip_ok<fp8_e4m3fn>());
  CHECK(minifloat_round_trip_ok<fp4_e2m1fn>());
}
