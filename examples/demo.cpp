// mixq demo: every named number format, its range, and how well it stores a normal sample.
#include <mixq/mixq.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace {

// RMS relative error of encoding N(0,1) samples scaled so the sample's absolute maximum maps
// to the format's largest finite magnitude (the absmax scaling a block quantizer would use).
template <class F>
void row(const std::vector<float>& x, float amax) {
  using T = mixq::format_traits<F>;
  const float top = std::min(T::max_finite, T::lowest < 0 ? -T::lowest : T::max_finite);
  const float scale = top / amax;
  double num = 0, den = 0;
  for (float v : x) {
    const float y = mixq::decode<F>(mixq::encode<F>(v * scale)) / scale;
    num += double(y - v) * (y - v);
    den += double(v) * v;
  }
  std::printf("%-14s %4d %14.7g %14.7g %14.7g %7zu %5s %5s %10.4f%%\n", mixq::format_name<F>().c_str(),
              T::bits, double(T::lowest), double(T::max_finite), double(T::min_subnormal), T::finite_values,
              T::has_inf ? "yes" : "no", T::has_nan ? "yes" : "no", 100.0 * std::sqrt(num / den));
}

}  // namespace

int main() {
  std::mt19937 rng(42);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> x(1 << 16);
  float amax = 0;
  for (float& v : x) v = nd(rng), amax = std::max(amax, std::fabs(v));

  std::printf("mixq %d.%d.%d number formats; RMS relative error of %zu N(0,1) samples, absmax-scaled\n\n",
              MIXQ_VERSION_MAJOR, MIXQ_VERSION_MINOR, MIXQ_VERSION_PATCH, x.size());
  std::printf("%-14s %4s %14s %14s %14s %7s %5s %5s %11s\n", "format", "bits", "lowest", "max", "min>0",
              "values", "inf", "nan", "rms err");
  using namespace mixq;
  row<fp16>(x, amax);
  row<bf16>(x, amax);
  row<fp8_e4m3fn>(x, amax);
  row<fp8_e4m3fnuz>(x, amax);
  row<fp8_e5m2>(x, amax);
  row<fp8_e5m2fnuz>(x, amax);
  row<minifloat<3, 4, flavor::fn>>(x, amax);
  row<fp6_e2m3fn>(x, amax);
  row<fp6_e3m2fn>(x, amax);
  row<fp4_e2m1fn>(x, amax);
  row<minifloat<2, 2, flavor::finite>>(x, amax);
  row<int8>(x, amax);
  row<int_sym<8>>(x, amax);
  row<int6>(x, amax);
  row<int5>(x, amax);
  row<int4>(x, amax);
  row<int_sym<4>>(x, amax);
  row<int3>(x, amax);
  row<int2>(x, amax);
  row<nf4>(x, amax);
  row<iq4_nl>(x, amax);
  row<bnb_fp4>(x, amax);
  row<e8m0fnu>(x, amax);
  std::printf("\n(e8m0fnu is a scale format: powers of two only, no zero, no sign.)\n");
  return 0;
}
