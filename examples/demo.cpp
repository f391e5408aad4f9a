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

// One row of the scheme table: quantize a weight matrix with outliers, report exact stored bits
// per weight, RMS error relative to the weights' RMS, and SQNR.
template <class S>
void scheme_row(const char* name, const std::vector<float>& w, std::size_t rows, std::size_t cols,
                mixq::rtn_method method = mixq::rtn_method::minmax) {
  mixq::rtn_options o;
  o.method = method;
  const auto q = mixq::quantize<S>(w.data(), rows, cols, o);
  std::vector<float> d(w.size());
  mixq::dequantize_reference(q, d.data());
  double num = 0, den = 0;
  for (std::size_t i = 0; i < w.size(); ++i) num += double(d[i] - w[i]) * (d[i] - w[i]), den += double(w[i]) * w[i];
  const char* m = method == mixq::rtn_method::minmax ? "min-max" : method == mixq::rtn_method::mse_clip ? "mse-clip" : "weighted-ls";
  std::printf("%-16s %-11s %-42s %8.4f %10.5f %8.2f\n", name, m, mixq::scheme_name<S>().c_str(), q.bits_per_weight(),
              std::sqrt(num / den), 10 * std::log10(den / num));
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

  // Schemes on a 256 x 1024 N(0, 0.02^2) matrix with 0.5% outliers of 10x.
  const std::size_t rows = 256, cols = 1024;
  std::vector<float> w(rows * cols);
  std::uniform_real_distribution<float> u01(0.f, 1.f);
  for (float& v : w) v = 0.02f * nd(rng) * (u01(rng) < 0.005f ? 10.f : 1.f);
  std::printf("\nschemes on a %zu x %zu N(0, 0.02^2) matrix with 0.5%% outliers (x10)\n\n", rows, cols);
  std::printf("%-16s %-11s %-42s %8s %10s %8s\n", "preset", "method", "scheme", "bits/w", "rel rms", "SQNR dB");
  scheme_row<int8_per_channel>("int8_per_channel", w, rows, cols);
  scheme_row<mxint8>("mxint8", w, rows, cols);
  scheme_row<mxfp8_e4m3>("mxfp8_e4m3", w, rows, cols);
  scheme_row<mxfp6_e2m3>("mxfp6_e2m3", w, rows, cols);
  scheme_row<mxfp6_e3m2>("mxfp6_e3m2", w, rows, cols);
  scheme_row<int4_g128_asym>("int4_g128_asym", w, rows, cols);
  scheme_row<int4_g128_asym>("int4_g128_asym", w, rows, cols, rtn_method::mse_clip);
  scheme_row<int4_g128_sym>("int4_g128_sym", w, rows, cols);
  scheme_row<int4_g128_sym>("int4_g128_sym", w, rows, cols, rtn_method::weighted_ls);
  scheme_row<int4_g32_asym>("int4_g32_asym", w, rows, cols);
  scheme_row<nf4_g64>("nf4_g64", w, rows, cols);
  scheme_row<scheme<iq4_nl, group<32>, fp16, sym::signed_extreme>>("(iq4_nl g32)", w, rows, cols);
  scheme_row<mxfp4>("mxfp4", w, rows, cols);
  scheme_row<mxfp4>("mxfp4", w, rows, cols, rtn_method::mse_clip);
  scheme_row<nvfp4>("nvfp4", w, rows, cols);
  scheme_row<scheme<uint_format<3>, group<64>, bf16, asym::int_zero<>>>("(3b g64 bf16)", w, rows, cols);
  scheme_row<int3_g128_asym>("int3_g128_asym", w, rows, cols);
  scheme_row<int3_g128_asym>("int3_g128_asym", w, rows, cols, rtn_method::mse_clip);
  scheme_row<int2_g64_asym>("int2_g64_asym", w, rows, cols);
  scheme_row<int2_g64_asym>("int2_g64_asym", w, rows, cols, rtn_method::mse_clip);
  // Two-level k-quant schemes (ggml Q2_K..Q6_K meanings); weighted_ls is ggml's search.
  scheme_row<kq6>("kq6", w, rows, cols, rtn_method::weighted_ls);
  scheme_row<kq5>("kq5", w, rows, cols, rtn_method::weighted_ls);
  scheme_row<kq4>("kq4", w, rows, cols);
  scheme_row<kq4>("kq4", w, rows, cols, rtn_method::weighted_ls);
  scheme_row<kq3>("kq3", w, rows, cols, rtn_method::weighted_ls);
  scheme_row<kq2>("kq2", w, rows, cols, rtn_method::weighted_ls);
  scheme_row<scheme<uint_format<3>, group<32>, uint_format<6>, asym::sub_min<uint_format<6>>, super_block<256, fp16>>>(
      "(3b k-quant)", w, rows, cols, rtn_method::weighted_ls);
  return 0;
}
