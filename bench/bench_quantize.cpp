// RTN quantization throughput (GB/s of fp32 input) on 4096 x 4096, against a plain scalar loop
// (per-group absmax, divide, round, clamp, no packing) in the same binary.
// Arguments: method (0 min-max, 1 mse-clip, 2 weighted-ls), threads.
#include <benchmark/benchmark.h>

#include <mixq/mixq.hpp>

#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr std::size_t kRows = 4096, kCols = 4096;

const std::vector<float>& weights() {
  static const std::vector<float> w = [] {
    std::vector<float> v(kRows * kCols);
    std::mt19937 rng(1);
    std::normal_distribution<float> nd(0.f, 0.02f);
    for (float& x : v) x = nd(rng);
    return v;
  }();
  return w;
}

template <class S>
void BM_quantize(benchmark::State& state) {
  const auto& w = weights();
  mixq::rtn_options o;
  o.method = static_cast<mixq::rtn_method>(state.range(0));
  o.threads = static_cast<unsigned>(state.range(1));
  for (auto _ : state) {
    auto q = mixq::quantize<S>(w.data(), kRows, kCols, o);
    benchmark::DoNotOptimize(q.raw().data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(w.size() * sizeof(float)));
  const char* method = o.method == mixq::rtn_method::minmax     ? " min-max"
                       : o.method == mixq::rtn_method::mse_clip ? " mse-clip"
                                                                : " weighted-ls";
  state.SetLabel(mixq::scheme_name<S>() + method + ", " + std::to_string(o.threads) + "t");
}

// The peer: what an engine author writes by hand for int4 symmetric g128, one byte per code.
void BM_quantize_scalar_loop(benchmark::State& state) {
  const auto& w = weights();
  std::vector<std::int8_t> q(w.size());
  std::vector<float> s(w.size() / 128);
  for (auto _ : state) {
    for (std::size_t g = 0; g < w.size() / 128; ++g) {
      float a = 0;
      for (std::size_t i = 0; i < 128; ++i) a = std::max(a, std::fabs(w[g * 128 + i]));
      const float d = a / 7, id = d ? 1 / d : 0;
      s[g] = d;
      for (std::size_t i = 0; i < 128; ++i)
        q[g * 128 + i] = static_cast<std::int8_t>(std::clamp(std::nearbyint(w[g * 128 + i] * id), -8.f, 7.f));
    }
    benchmark::DoNotOptimize(q.data());
    benchmark::DoNotOptimize(s.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(w.size() * sizeof(float)));
  state.SetLabel("hand-written int4 g128 sym, unpacked");
}

}  // namespace

BENCHMARK(BM_quantize_scalar_loop)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_quantize, mixq::int4_g128_sym)->Args({0, 1})->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_quantize, mixq::int4_g128_asym)->Args({0, 1})->Args({1, 1})->Args({1, 2})->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_quantize, mixq::mxfp4)->Args({0, 1})->Args({1, 1})->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_quantize, mixq::nvfp4)->Args({0, 1})->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_quantize, mixq::mxfp8_e4m3)->Args({0, 1})->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_quantize, mixq::nf4_g64)->Args({0, 1})->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_quantize, mixq::kq4)->Args({0, 1})->Args({1, 1})->Args({2, 1})->Args({2, 2})->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_quantize, mixq::kq6)->Args({0, 1})->Args({2, 1})->Args({2, 2})->Unit(benchmark::kMillisecond);
