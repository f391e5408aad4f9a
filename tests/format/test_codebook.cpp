// Codebook formats (FORMATS.md §4) against an exact brute-force nearest search (oracle.hpp:
// distances in 320-bit fixed point, ties and duplicates to the lowest index).
#include <catch2/catch.hpp>

#include <mixq/format.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <tuple>

#include "oracle.hpp"

using namespace mixq;
using oracle::f32;
using oracle::next_down;
using oracle::next_up;

namespace {
const float inf = std::numeric_limits<float>::infinity();

/// A user table: unsorted, with a duplicate (2.0 at codes 2 and 4) and an exact tie structure.
struct my_table {
  static constexpr std::array<float, 8> values{0.5f, -3.0f, 2.0f, -0.25f, 2.0f, 7.0f, -1.0f, 0.0f};
};
/// The example table of the codebook header comment: symmetric, no zero.
struct doc_table {
  static constexpr std::array<float, 4> values{-1.f, -0.25f, 0.25f, 1.f};
};
/// A 1-bit sign codebook.
struct sign_table {
  static constexpr std::array<float, 2> values{-1.0f, 1.0f};
};
/// 256 entries, a permutation of k * 0.375 - 48 (k = 0..255), plus one duplicate.
struct wide_table {
  static constexpr std::array<float, 256> values = [] {
    std::array<float, 256> v{};
    for (unsigned i = 0; i < 256; ++i) v[i] = static_cast<float>((i * 77u) % 256u) * 0.375f - 48.0f;
    v[200] = v[13];
    return v;
  }();
};
/// Entries of very different magnitudes (distances are not exact in double).
struct wide_range_table {
  static constexpr std::array<float, 4> values{-1e30f, 1e-30f, 1e30f, -0x1p-149f};
};

using my_cb = codebook<my_table>;
using all_codebooks = std::tuple<nf4, iq4_nl, bnb_fp4, my_cb, codebook<doc_table>, codebook<sign_table>,
                                 codebook<wide_table>, codebook<wide_range_table>>;

void report(const oracle::mismatch_log& log) {
  for (const auto& s : log.first) FAIL_CHECK(s);
  INFO("checked " << log.checked << " inputs");
  CHECK(log.bad == 0);
  CHECK(log.checked > 0);
}

template <class F>
void check_cb(oracle::mismatch_log& log, float x) {
  const unsigned want = oracle::codebook_nearest(F::values, x);
  const unsigned gs = encode<F>(x, overflow::saturate), gp = encode<F>(x, overflow::propagate);
  log.add(gs == want, "codebook saturate", x, gs, want);
  log.add(gp == want, "codebook propagate", x, gp, want);
}
}  // namespace

TEST_CASE("§4 codebook tables are the published ones", "[format][codebook][published]") {
  const double nf4_table[16] = {-1.0,
                                -0.6961928009986877,
                                -0.5250730514526367,
                                -0.39491748809814453,
                                -0.28444138169288635,
                                -0.18477343022823334,
                                -0.09105003625154495,
                                0.0,
                                0.07958029955625534,
                                0.16093020141124725,
                                0.24611230194568634,
                                0.33791524171829224,
                                0.44070982933044434,
                                0.5626170039176941,
                                0.7229568362236023,
                                1.0};
  const int iq4[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
  const double bnb_raw[8] = {0, 0.0625, 8, 12, 4, 6, 2, 3};
  for (unsigned c = 0; c < 16; ++c) {
    INFO("code " << c);
    CHECK(decode<nf4>(static_cast<std::uint8_t>(c)) == static_cast<float>(nf4_table[c]));
    CHECK(static_cast<double>(decode<nf4>(static_cast<std::uint8_t>(c))) == nf4_table[c]);  // all are fp32
    CHECK(decode<iq4_nl>(static_cast<std::uint8_t>(c)) == static_cast<float>(iq4[c]));
    const float b = static_cast<float>(bnb_raw[c & 7]) / 12.0f;
    CHECK(decode<bnb_fp4>(static_cast<std::uint8_t>(c)) == (c & 8 ? -b : b));
    CHECK(std::signbit(decode<bnb_fp4>(static_cast<std::uint8_t>(c))) == ((c & 8) != 0));  // code 8 is -0
  }
  // bnb magnitudes after normalisation: {0, 1/192, 1/6, 1/4, 1/3, 1/2, 2/3, 1}
  CHECK(decode<bnb_fp4>(1) == 1.0f / 192.0f);
  CHECK(decode<bnb_fp4>(3) == 1.0f);
  CHECK(decode<bnb_fp4>(2) == 8.0f / 12.0f);
  CHECK(nf4::bits == 4);
  CHECK(iq4_nl::bits == 4);
  CHECK(bnb_fp4::bits == 4);
  CHECK(my_cb::bits == 3);
  CHECK(codebook<sign_table>::bits == 1);
  CHECK(codebook<wide_table>::bits == 8);
}

TEMPLATE_LIST_TEST_CASE("codebook decode is the table, upper bits ignored", "[format][codebook][decode]",
                        all_codebooks) {
  using F = TestType;
  const unsigned n = 1u << F::bits;
  for (unsigned c = 0; c < 256; ++c) {
    const float v = decode<F>(static_cast<std::uint8_t>(c));
    CHECK(oracle::bits_of(v) == oracle::bits_of(F::values[c % n]));
  }
}

TEMPLATE_LIST_TEST_CASE("codebook encode(decode(c)) is c, or the lowest code of an equal entry",
                        "[format][codebook][roundtrip]", all_codebooks) {
  using F = TestType;
  const unsigned n = 1u << F::bits;
  for (unsigned c = 0; c < n; ++c) {
    unsigned want = c;
    for (unsigned j = 0; j < c; ++j)
      if (F::values[j] == F::values[c]) {  // duplicates, and +0 / -0
        want = j;
        break;
      }
    INFO("code " << c);
    CHECK(encode<F>(decode<F>(static_cast<std::uint8_t>(c)), overflow::saturate) == want);
    CHECK(encode<F>(decode<F>(static_cast<std::uint8_t>(c)), overflow::propagate) == want);
  }
}

TEMPLATE_LIST_TEST_CASE("codebook encode equals the exact brute-force nearest search", "[format][codebook][oracle]",
                        all_codebooks) {
  using F = TestType;
  constexpr std::size_t n = F::values.size();
  oracle::mismatch_log log;
  float lo = F::values[0], hi = F::values[0];
  for (float v : F::values) lo = v < lo ? v : lo, hi = v > hi ? v : hi;
  // every midpoint of every pair of entries (rounded to fp32) and its neighbours
  auto around_midpoint = [&](double a, double b) {
    const auto mid = static_cast<float>((a + b) / 2);
    for (float x : {mid, next_up(mid), next_down(mid), next_up(next_up(mid)), next_down(next_down(mid))})
      check_cb<F>(log, x);
  };
  if constexpr (n <= 16) {  // every pair (for unsorted tables the adjacent ones are not obvious)
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = i; j < n; ++j) around_midpoint(F::values[i], F::values[j]);
  } else {  // adjacent values in sorted order
    std::array<float, n> sorted = F::values;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 0; i + 1 < n; ++i) around_midpoint(sorted[i], sorted[i + 1]);
  }
  for (std::size_t i = 0; i < n; ++i)
    for (float x : {F::values[i], next_up(F::values[i]), next_down(F::values[i])}) check_cb<F>(log, x);
  // specials and extremes
  for (float x : {0.0f, -0.0f, inf, -inf, f32(0x7fc00000u), f32(0xffc00000u), f32(0x7f800001u),
                  std::numeric_limits<float>::max(), -std::numeric_limits<float>::max(), 1e30f, -1e30f, 1e20f,
                  -1e20f, 0x1p-149f, -0x1p-149f, 1e-20f, -1e-20f, 1e-30f, -1e-30f, 0x1p-126f})
    check_cb<F>(log, x);
  // random values in and around the table's range, and random bit patterns
  std::mt19937 rng(12345);
  const double span = static_cast<double>(hi) - lo;
  std::uniform_real_distribution<double> in_range(lo - span / 2, hi + span / 2);
  const int count = n <= 16 ? 20000 : 2000;
  for (int i = 0; i < count; ++i) check_cb<F>(log, static_cast<float>(in_range(rng)));
  for (int i = 0; i < count; ++i) check_cb<F>(log, f32(static_cast<std::uint32_t>(rng())));
  // a strided sweep over all fp32 patterns
  oracle::strided_sweep(n <= 16 ? 1000003u : 10000019u, 7, [&](float x) { check_cb<F>(log, x); });
  report(log);
}

TEST_CASE("§4.1 NF4 thresholds: at the midpoint -> lower code, just above -> upper code",
          "[format][codebook][published][ties]") {
  const double t[15] = {-0.8480964004993439, -0.6106329262256622, -0.4599952697753906, -0.33967943489551544,
                        -0.23460740596055984, -0.13791173323988914, -0.045525018125772476, 0.03979014977812767,
                        0.1202552504837513,  0.2035212516784668,  0.2920137718319893,  0.3893125355243683,
                        0.5016634166240692,  0.6427869200706482,  0.8614784181118011};
  int exact_ties = 0;
  for (unsigned k = 0; k < 15; ++k) {
    INFO("threshold " << k << " = " << t[k]);
    // the published thresholds are the exact (double) midpoints of adjacent table entries
    CHECK(t[k] == (static_cast<double>(decode<nf4>(static_cast<std::uint8_t>(k))) +
                   static_cast<double>(decode<nf4>(static_cast<std::uint8_t>(k + 1)))) /
                      2);
    // largest fp32 <= t and the next fp32 above it
    auto f_lo = static_cast<float>(t[k]);
    if (static_cast<double>(f_lo) > t[k]) f_lo = next_down(f_lo);
    const float f_hi = next_up(f_lo);
    REQUIRE(static_cast<double>(f_lo) <= t[k]);
    REQUIRE(static_cast<double>(f_hi) > t[k]);
    exact_ties += static_cast<double>(f_lo) == t[k];
    for (overflow o : {overflow::saturate, overflow::propagate}) {
      CHECK(encode<nf4>(f_lo, o) == k);  // n > t_k is false: lower code (ties included)
      CHECK(encode<nf4>(f_hi, o) == k + 1);
      CHECK(encode<nf4>(next_down(f_lo), o) == k);
      CHECK(encode<nf4>(next_up(f_hi), o) == k + 1);
    }
  }
  CHECK(exact_ties == 6);  // thresholds 2, 6, 7, 9, 11, 13 are fp32 numbers: exact ties
  // beyond [-1, 1]: the end codes
  CHECK(encode<nf4>(-1.5f) == 0);
  CHECK(encode<nf4>(1.5f) == 15);
  CHECK(encode<nf4>(0.0f) == 7);
  CHECK(encode<nf4>(-0.0f) == 7);
}

TEST_CASE("a user codebook with an unsorted table", "[format][codebook]") {
  // values: 0:0.5 1:-3 2:2 3:-0.25 4:2 5:7 6:-1 7:0
  CHECK(encode<my_cb>(2.0f) == 2);     // duplicate entry: lowest code
  CHECK(encode<my_cb>(2.1f) == 2);
  CHECK(encode<my_cb>(1.25f) == 0);    // tie between 0.5 (code 0) and 2 (code 2): lowest code
  CHECK(encode<my_cb>(next_up(1.25f)) == 2);
  CHECK(encode<my_cb>(-0.125f) == 3);  // tie between -0.25 (code 3) and 0 (code 7)
  CHECK(encode<my_cb>(next_up(-0.125f)) == 7);
  CHECK(encode<my_cb>(0.25f) == 0);    // tie between 0 (code 7) and 0.5 (code 0)
  CHECK(encode<my_cb>(-2.0f) == 1);    // tie between -3 (code 1) and -1 (code 6)
  CHECK(encode<my_cb>(4.5f) == 2);     // tie between 2 and 7
  CHECK(encode<my_cb>(100.0f) == 5);
  CHECK(encode<my_cb>(inf) == 5);
  CHECK(encode<my_cb>(-inf) == 1);
  CHECK(encode<my_cb>(std::numeric_limits<float>::quiet_NaN()) == 7);  // NaN -> nearest to 0
  CHECK(decode<my_cb>(5) == 7.0f);
  CHECK(decode<my_cb>(5 | 8) == 7.0f);  // upper bits ignored
  using T = format_traits<my_cb>;
  CHECK(T::bits == 3);
  CHECK(T::num_codes == 8);
  CHECK(T::max_finite == 7.0f);
  CHECK(T::lowest == -3.0f);
  CHECK(T::min_subnormal == 0.25f);  // smallest positive magnitude
  CHECK(T::finite_codes == 8);
  CHECK(T::finite_values == 7);
  CHECK_FALSE(T::has_inf);
  CHECK_FALSE(T::has_nan);
  CHECK_FALSE(T::has_negative_zero);
}

TEST_CASE("codebook: huge inputs and inputs much smaller than the entries", "[format][codebook]") {
  // The nearest entry to a huge x is the largest entry: distances must not all round to x.
  CHECK(encode<iq4_nl>(1e30f) == 15);
  CHECK(encode<iq4_nl>(inf) == 15);
  CHECK(encode<iq4_nl>(std::numeric_limits<float>::max()) == 15);
  CHECK(encode<iq4_nl>(-1e30f) == 0);
  CHECK(encode<iq4_nl>(-inf) == 0);
  CHECK(encode<nf4>(1e20f) == 15);
  CHECK(encode<nf4>(inf) == 15);
  CHECK(encode<nf4>(-inf) == 0);
  CHECK(encode<bnb_fp4>(inf) == 3);   // +1.0
  CHECK(encode<bnb_fp4>(-inf) == 11); // -1.0
  CHECK(encode<my_cb>(1e30f) == 5);
  // A tiny x between two symmetric entries is nearer to the one of its own sign, although
  // 0.25 - 1e-20 and 0.25 + 1e-20 are the same double.
  CHECK(encode<codebook<doc_table>>(1e-20f) == 2);
  CHECK(encode<codebook<doc_table>>(-1e-20f) == 1);
  CHECK(encode<codebook<doc_table>>(0.0f) == 1);  // exact tie -> lowest code
  CHECK(encode<codebook<doc_table>>(0x1p-149f) == 2);
  CHECK(encode<codebook<sign_table>>(1e-30f) == 1);
  CHECK(encode<codebook<sign_table>>(-1e-30f) == 0);
  CHECK(encode<codebook<sign_table>>(0.0f) == 0);
  CHECK(encode<codebook<wide_range_table>>(0x1p-149f) == 3);  // -2^-149 is 2^-148 away, 1e-30 much farther
  CHECK(encode<codebook<wide_range_table>>(6e-31f) == 1);
  CHECK(encode<codebook<wide_range_table>>(-1e-45f) == 3);
  CHECK(encode<codebook<wide_range_table>>(1e29f) == 1);
  CHECK(encode<codebook<wide_range_table>>(6e29f) == 2);
  // bnb_fp4: -0.0 and +0.0 are both entries; both encode to the lowest, code 0
  CHECK(encode<bnb_fp4>(-0.0f) == 0);
  CHECK(encode<bnb_fp4>(0.0f) == 0);
}

TEST_CASE("format_traits of the named codebooks", "[format][codebook][traits]") {
  CHECK(format_traits<nf4>::max_finite == 1.0f);
  CHECK(format_traits<nf4>::lowest == -1.0f);
  CHECK(format_traits<nf4>::min_subnormal == 0.07958029955625534f);
  CHECK(format_traits<nf4>::finite_codes == 16);
  CHECK(format_traits<nf4>::finite_values == 16);
  CHECK_FALSE(format_traits<nf4>::has_negative_zero);
  CHECK(format_traits<iq4_nl>::max_finite == 113.0f);
  CHECK(format_traits<iq4_nl>::lowest == -127.0f);
  CHECK(format_traits<iq4_nl>::min_subnormal == 1.0f);
  CHECK(format_traits<iq4_nl>::finite_values == 16);
  CHECK(format_traits<bnb_fp4>::max_finite == 1.0f);
  CHECK(format_traits<bnb_fp4>::lowest == -1.0f);
  CHECK(format_traits<bnb_fp4>::min_subnormal == 0.0625f / 12);
  CHECK(format_traits<bnb_fp4>::finite_codes == 16);
  CHECK(format_traits<bnb_fp4>::finite_values == 15);  // +0 and -0 are one value
  CHECK(format_traits<bnb_fp4>::has_negative_zero);
  CHECK(format_traits<codebook<wide_table>>::finite_values == 255);
  CHECK(format_traits<codebook<wide_table>>::max_finite == 255 * 0.375f - 48.0f);
  CHECK(format_traits<codebook<wide_table>>::lowest == -48.0f);
  CHECK_FALSE(format_traits<nf4>::has_inf);
  CHECK_FALSE(format_traits<nf4>::has_nan);
  CHECK_FALSE(format_traits<iq4_nl>::has_nan);
  CHECK_FALSE(format_traits<bnb_fp4>::has_inf);
}
