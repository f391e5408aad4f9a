// Mixed per-group matrices (allocate/mixed_matrix.hpp) against the uniform kernels of their
// schemes, in the same run, on 8192 x 8192. A mixed matrix whose column groups (g = 128 or 32)
// use scheme S_k on a fraction f_k of the columns should take the bandwidth-proportional time
//     T_expected = sum_k f_k T_uniform(S_k)      (T_uniform: the same M x K matrix, all S_k)
// because each column slab runs S_k's uniform kernel over its share of the bytes.
//
//   mixed_gemv/<set>, uniform_gemv<scheme>, mixed_gemm/<set>, uniform_gemm<scheme> (N = 16)
//   mixed_ratio/<gemv|gemm>_<set>: interleaved rounds of the mixed kernel and every uniform
//     kernel of its schemes, medians of thread CPU time; counters mixed_us, expected_us and
//     ratio = mixed_us / expected_us (target <= 1.10).
// Kernels are the compile-time path of this TU: configure with -DMIXQ_NATIVE=ON for AVX-512/AVX2.
//   mixq_bench --benchmark_filter='mixed_ratio'
#include <benchmark/benchmark.h>

#include <mixq/mixq.hpp>

#include <algorithm>
#include <ctime>
#include <cstdlib>
#include <memory>
#include <utility>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace {

// 8192 x 8192: every matrix of >= 4 bits exceeds a 32 MiB L3, and the interleaved ratio runs
// stream from DRAM (the bandwidth-bound regime the target is about).
constexpr std::size_t kM = 8192, kK = 8192;

using u2 = mixq::scheme<mixq::uint_format<2>, mixq::group<128>, mixq::fp16, mixq::asym::int_zero<true>>;
using u3 = mixq::int3_g128_asym;
using u4 = mixq::int4_g128_asym;
using u5 = mixq::scheme<mixq::uint_format<5>, mixq::group<128>, mixq::fp16, mixq::asym::int_zero<true>>;
using u8 = mixq::scheme<mixq::uint8, mixq::group<128>, mixq::fp16, mixq::asym::int_zero<true>>;
using i4s = mixq::scheme<mixq::int4, mixq::group<32>, mixq::fp16, mixq::sym::restricted>;
using f4s = mixq::scheme<mixq::fp4_e2m1fn, mixq::group<32>, mixq::fp16, mixq::sym::restricted>;

const std::vector<float>& weights() {
  static const std::vector<float> w = [] {
    std::vector<float> v(kM * kK);
    std::mt19937 rng(1);
    std::normal_distribution<float> nd(0.f, 0.02f);
    for (float& x : v) x = nd(rng);
    return v;
  }();
  return w;
}
const std::vector<float>& activations() {
  static const std::vector<float> x = [] {
    std::vector<float> v(16 * kK);
    std::mt19937 rng(2);
    std::normal_distribution<float> nd;
    for (float& a : v) a = nd(rng);
    return v;
  }();
  return x;
}

/// A shuffled group map with the given share (in quarters) of groups per scheme.
std::vector<std::uint8_t> group_map(std::size_t g, const std::vector<std::size_t>& quarters) {
  std::vector<std::uint8_t> m;
  for (std::size_t k = 0; k < quarters.size(); ++k)
    m.insert(m.end(), quarters[k] * (kK / g) / 4, static_cast<std::uint8_t>(k));
  if (m.size() != kK / g) std::abort();
  std::mt19937 rng(3);
  std::shuffle(m.begin(), m.end(), rng);
  return m;
}

template <class... Ss>
struct mixed_set {
  mixq::mixed_matrix<Ss...> m;
  std::tuple<mixq::quantized_matrix<Ss>...> uniform;
  std::vector<double> frac;
  std::string name;
};

template <class... Ss>
const mixed_set<Ss...>& make_set(const char* name, std::size_t g, std::vector<std::size_t> counts /* quarters of the groups per scheme */) {
  static std::vector<std::unique_ptr<mixed_set<Ss...>>> cache;
  for (const auto& s : cache)
    if (s->name == name) return *s;
  auto s = std::make_unique<mixed_set<Ss...>>();
  s->name = name;
  const auto gm = group_map(g, counts);
  s->m = mixq::mixed_matrix<Ss...>::quantize(weights().data(), kM, kK, g, gm);
  s->uniform = std::make_tuple(mixq::quantize<Ss>(weights().data(), kM, kK)...);
  for (auto c : counts) s->frac.push_back(static_cast<double>(c) / 4.0);
  cache.push_back(std::move(s));
  return *cache.back();
}

const auto& set_345() { return make_set<u3, u4, u5>("int3/4/5 g128 avg 4", 128, {1, 2, 1}); }
const auto& set_234() { return make_set<u2, u3, u4>("int2/3/4 g128 avg 3", 128, {1, 2, 1}); }
const auto& set_48() { return make_set<u4, u8>("int4/8 g128 avg 6", 128, {2, 2}); }
const auto& set_intfp() { return make_set<i4s, f4s>("int4|fp4 g32 flag", 32, {2, 2}); }

template <class Set>
void mixed_gemv(benchmark::State& state, const Set& (*get)()) {
  const auto& s = get();
  std::vector<float> y(kM);
  for (auto _ : state) {
    mixq::gemv(s.m, activations().data(), y.data());
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(s.m.bytes()));
  state.counters["bits_per_weight"] = s.m.bits_per_weight();
  state.SetLabel(s.name + std::string(" ") + mixq::kernel_isa());
}

template <class Set>
void mixed_gemm(benchmark::State& state, const Set& (*get)()) {
  const auto& s = get();
  const std::size_t N = 16;
  std::vector<float> Y(N * kM);
  for (auto _ : state) {
    mixq::gemm(s.m, activations().data(), N, kK, Y.data(), kM);
    benchmark::DoNotOptimize(Y.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(s.m.bytes()));
  state.SetLabel(s.name + std::string(" N=16 ") + mixq::kernel_isa());
}

template <class S>
void uniform_gemv(benchmark::State& state) {
  static const auto q = mixq::quantize<S>(weights().data(), kM, kK);
  std::vector<float> y(kM);
  for (auto _ : state) {
    mixq::gemv(q.view(), activations().data(), y.data());
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(q.bytes()));
  state.counters["bits_per_weight"] = q.bits_per_weight();
  state.SetLabel(mixq::scheme_name<S>() + " " + mixq::kernel_isa());
}

template <class S>
void uniform_gemm(benchmark::State& state) {
  static const auto q = mixq::quantize<S>(weights().data(), kM, kK);
  const std::size_t N = 16;
  std::vector<float> Y(N * kM);
  for (auto _ : state) {
    mixq::gemm(q.view(), activations().data(), N, kK, Y.data(), kM);
    benchmark::DoNotOptimize(Y.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(q.bytes()));
  state.SetLabel(mixq::scheme_name<S>() + " N=16 " + mixq::kernel_isa());
}

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

/// Interleaved rounds: the mixed GEMV, then each uniform GEMV; medians over rounds.
template <class Set>
void mixed_ratio(benchmark::State& state, const Set& (*get)(), bool use_gemm) {
  const auto& s = get();
  const std::size_t N = use_gemm ? 16 : 1;
  std::vector<float> y(N * kM);
  // Thread CPU time: robust against preemption on a shared machine.
  auto now_us = [] {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) * 1e-3;
  };
  auto time = [&](auto&& f) {
    const double t0 = now_us();
    f();
    benchmark::ClobberMemory();
    return now_us() - t0;
  };
  auto run = [&](const auto& m) {
    if (use_gemm) mixq::gemm(m, activations().data(), N, kK, y.data(), kM);
    else mixq::gemv(m, activations().data(), y.data());
  };
  constexpr std::size_t K = std::tuple_size_v<decltype(s.uniform)>;
  std::vector<double> tm;
  std::vector<std::vector<double>> tu(K);
  for (auto _ : state) {
    tm.push_back(time([&] { run(s.m); }));
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((tu[I].push_back(time([&] { run(std::get<I>(s.uniform).view()); }))), ...);
    }(std::make_index_sequence<K>{});
  }
  double expected = 0;
  for (std::size_t k = 0; k < K; ++k) expected += s.frac[k] * median(tu[k]);
  const double mixed = median(tm);
  state.counters["mixed_us"] = mixed;
  state.counters["expected_us"] = expected;
  state.counters["ratio"] = mixed / expected;
  state.SetLabel(s.name + (use_gemm ? " gemm N=16 " : " gemv ") + mixq::kernel_isa());
}

}  // namespace

BENCHMARK_CAPTURE(mixed_gemv, int345, set_345)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(mixed_gemv, int234, set_234)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(mixed_gemv, int48, set_48)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(mixed_gemv, intfp, set_intfp)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(uniform_gemv, u2)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(uniform_gemv, u3)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(uniform_gemv, u4)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(uniform_gemv, u5)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(uniform_gemv, u8)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(uniform_gemv, i4s)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(uniform_gemv, f4s)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(mixed_gemm, int345, set_345)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(mixed_gemm, int48, set_48)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(uniform_gemm, u3)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(uniform_gemm, u4)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(uniform_gemm, u5)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(uniform_gemm, u8)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(mixed_ratio, gemv_int345, set_345, false)->Iterations(25)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(mixed_ratio, gemv_int234, set_234, false)->Iterations(25)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(mixed_ratio, gemv_int48, set_48, false)->Iterations(100)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(mixed_ratio, gemv_intfp, set_intfp, false)->Iterations(100)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(mixed_ratio, gemm_int345, set_345, true)->Iterations(12)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(mixed_ratio, gemm_int48, set_48, true)->Iterations(12)->Unit(benchmark::kMicrosecond);
