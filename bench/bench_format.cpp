// Scalar encode/decode throughput of the format layer (the definition, not the kernels).
#include <benchmark/benchmark.h>

#include <mixq/mixq.hpp>

#include <random>
#include <vector>

namespace {
template <class F>
void BM_encode(benchmark::State& state) {
  std::vector<float> x(4096);
  std::mt19937 rng(1);
  std::normal_distribution<float> nd;
  for (float& v : x) v = nd(rng);
  std::vector<mixq::code_t<F>> c(x.size());
  for (auto _ : state) {
    mixq::encode<F>(std::span<const float>(x), std::span<mixq::code_t<F>>(c));
    benchmark::DoNotOptimize(c.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(x.size()));
  state.SetLabel(mixq::format_name<F>());
}
}  // namespace

BENCHMARK_TEMPLATE(BM_encode, mixq::fp8_e4m3fn);
BENCHMARK_TEMPLATE(BM_encode, mixq::fp4_e2m1fn);
BENCHMARK_TEMPLATE(BM_encode, mixq::fp16);
BENCHMARK_TEMPLATE(BM_encode, mixq::int4);
BENCHMARK_TEMPLATE(BM_encode, mixq::nf4);
