// Codebook (lookup-table) formats: 2^b codes, each standing for one table entry.
#pragma once
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "code.hpp"
#include "detail/float_bits.hpp"
#include "overflow.hpp"

namespace mixq {

/// A format whose code c means Table::values[c]. `Table` is any type with a
/// `static constexpr std::array<float, N> values` where N is a power of two (2..256):
///
///     struct my_levels { static constexpr std::array<float, 4> values{-1.f, -0.25f, 0.25f, 1.f}; };
///     using my_format = mixq::codebook<my_levels>;
///
/// encode picks the entry nearest to x; ties (equal distance, and duplicate entries) go to the
/// lowest code. +-inf encode as the entry nearest to +-FLT_MAX; NaN as the entry nearest to 0.
/// The table need not be sorted. Values are unscaled: schemes multiply them by a block scale.
template <class Table>
struct codebook {
  static constexpr std::size_t size = Table::values.size();
  static_assert(size >= 2 && size <= 256 && std::has_single_bit(size),
                "codebook: the table must have 2^b entries, 1 <= b <= 8");
  static constexpr int bits = std::countr_zero(size);
  static constexpr const std::array<float, size>& values = Table::values;
};

namespace tables {
/// bitsandbytes NormalFloat4: quantiles of N(0,1) scaled to [-1, 1] (functional.py / kernels.cu).
struct nf4 {
  static constexpr std::array<float, 16> values{
      -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
      -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
      0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
      0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f};
};
/// ggml kvalues_iq4nl (int8 levels; a block scale multiplies them).
struct iq4_nl {
  static constexpr std::array<float, 16> values{-127.f, -104.f, -83.f, -65.f, -49.f, -35.f, -22.f, -10.f,
                                                1.f,    13.f,   25.f,  38.f,  53.f,  69.f,  89.f,  113.f};
};
/// bitsandbytes "fp4" (not OCP E2M1): bit 3 is the sign, magnitudes {0, 0.0625, 8, 12, 4, 6, 2, 3}/12.
struct bnb_fp4 {
  static constexpr std::array<float, 16> values{
      0.0f,         0.0625f / 12, 8.0f / 12,  12.0f / 12,  4.0f / 12,  6.0f / 12,  2.0f / 12,  3.0f / 12,
      -0.0f,        -0.0625f / 12, -8.0f / 12, -12.0f / 12, -4.0f / 12, -6.0f / 12, -2.0f / 12, -3.0f / 12};
};
}  // namespace tables

using nf4 = codebook<tables::nf4>;
using iq4_nl = codebook<tables::iq4_nl>;
using bnb_fp4 = codebook<tables::bnb_fp4>;

}  // namespace mixq

MIXQ_BEGIN_NAMESPACE
namespace detail {

template <class Table>
struct codebook_codec {
  using F = codebook<Table>;
  using code = code_t<F>;

  /// |x - v| exactly, as the unevaluated sum hi + lo (TwoSum). x - v rounded to double can merge
  /// distinct distances (1e30 - 113 and 1e30 + 127; 0.25 - 1e-20 and 0.25 + 1e-20) into a false
  /// tie; hi = fl(|x - v|) is monotonic in the true distance and lo breaks equal hi exactly.
  struct distance {
    double hi, lo;
  };
  static constexpr distance dist(double x, double v) noexcept {
    const double s = x - v;
    const double bb = s - x;
    const double lo = (x - (s - bb)) + (-v - bb);
    return s < 0 ? distance{-s, -lo} : distance{s, lo};  // s == 0 implies lo == 0
  }
  // The entries sorted by value (duplicates keep only their lowest code) and the midpoints
  // between neighbours, kept exactly as (sum_hi + sum_lo) / 2 with sum_lo the rounding error of
  // the double sum (TwoSum): nearest-entry search becomes a binary search that is exact even for
  // tables whose entries differ by 2^200, and a tie at a midpoint goes to the lower code.
  struct sorted_table {
    std::array<double, F::size> value{};
    std::array<double, F::size> sum_hi{};  // value[i] + value[i+1], rounded
    std::array<double, F::size> sum_lo{};  // its exact rounding error
    std::array<code, F::size> code_of{};
    std::size_t n = 0;
  };
  static constexpr sorted_table make_sorted() noexcept {
    sorted_table t{};
    std::array<std::size_t, F::size> idx{};
    for (std::size_t i = 0; i < F::size; ++i) idx[i] = i;
    for (std::size_t i = 1; i < F::size; ++i)  // insertion sort by (value, code): stable, constexpr
      for (std::size_t j = i; j > 0 && F::values[idx[j]] < F::values[idx[j - 1]]; --j) {
        const std::size_t k = idx[j];
        idx[j] = idx[j - 1];
        idx[j - 1] = k;
      }
    for (std::size_t i = 0; i < F::size; ++i) {
      const double v = F::values[idx[i]];
      if (t.n > 0 && t.value[t.n - 1] == v) continue;  // +0 and -0 compare equal too: lowest code kept
      t.value[t.n] = v;
      t.code_of[t.n] = static_cast<code>(idx[i]);
      ++t.n;
    }
    for (std::size_t i = 0; i + 1 < t.n; ++i) {
      const double a = t.value[i], b = t.value[i + 1];
      const double s = a + b, bb = s - a;
      t.sum_hi[i] = s;
      t.sum_lo[i] = (a - (s - bb)) + (b - bb);
    }
    return t;
  }
  // Sign of 2x - (sum_hi + sum_lo), exactly: where 2x is within a factor 2 of sum_hi the
  // subtraction is exact (Sterbenz); elsewhere |2x - sum_hi| > |sum_hi|/2 dwarfs sum_lo.
  static constexpr int side(double x, std::size_t m) noexcept {
    const double d = 2 * x - table.sum_hi[m];
    return d < table.sum_lo[m] ? -1 : (d > table.sum_lo[m] ? 1 : 0);
  }
  static constexpr sorted_table table = make_sorted();

  static constexpr code nearest(double x) noexcept {
    std::size_t lo = 0, hi = table.n - 1;  // answer in [lo, hi]
    while (lo < hi) {
      const std::size_t m = (lo + hi) / 2;  // decide between entry m and m + 1 at mid[m]
      const int sd = side(x, m);
      if (sd < 0) hi = m;
      else if (sd > 0) lo = m + 1;
      else return table.code_of[m] < table.code_of[m + 1] ? table.code_of[m] : table.code_of[m + 1];
    }
    return table.code_of[lo];
  }
  static constexpr code encode(float x, overflow) noexcept {
    if (is_nan(x)) return nearest(0.0);
    const double lim = std::numeric_limits<float>::max();
    double v = x;
    v = v > lim ? lim : (v < -lim ? -lim : v);
    return nearest(v);
  }
  static constexpr float decode(code c) noexcept { return F::values[c & (F::size - 1)]; }
};

}  // namespace detail
MIXQ_END_NAMESPACE
