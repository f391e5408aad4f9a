// Calibration cost on an LLM-sized layer: GPTQ (target: at most 2x the time Eigen takes for a
// square sgemm of the same size, both single-threaded, in the same run), AWQ and HQQ.
//
//   mixq_bench --benchmark_filter=calibrate            (4096: minutes; 1024: seconds)
//   mixq_bench --benchmark_filter='calibrate.*/1024'
//
// The x_sgemm counters are CPU time over the CPU time of an n x n x n Eigen sgemm measured in the
// same process (CPU time, so that other load on the machine does not skew the ratio). Everything
// is single-threaded (Eigen is not built with OpenMP here).
#include <benchmark/benchmark.h>

#include <mixq/calibrate.hpp>

#include <Eigen/Core>

#include <ctime>
#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <vector>

namespace {

double cpu_seconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

using gptq_scheme = mixq::int4_g128_asym;  // uint4, groups of 128, fp16 scales, integer zero
using hqq_scheme = mixq::scheme<mixq::uint4, mixq::group<64>, mixq::fp16, mixq::asym::float_zero<false>>;

/// A synthetic n x n layer: W ~ N(0, 0.02^2); Sigma the covariance of correlated inputs with a
/// few outlier channels (the generator of ALGORITHMS.md Appendix A, taken in expectation:
/// Sigma = D (0.9 A A^T / k + 0.1 I) D), mean|x| = sqrt(2/pi) sqrt(Sigma_jj) (Gaussian inputs).
struct bench_layer {
  std::size_t n = 0;
  std::vector<float> w;
  Eigen::MatrixXd sigma, hessian;
  Eigen::VectorXd mean_abs;
};

const bench_layer& layer(std::size_t n) {
  static std::map<std::size_t, std::unique_ptr<bench_layer>> cache;
  auto& p = cache[n];
  if (p) return *p;
  p = std::make_unique<bench_layer>();
  p->n = n;
  std::mt19937 rng(1);
  std::normal_distribution<double> nd;
  p->w.resize(n * n);
  for (auto& v : p->w) v = static_cast<float>(0.02 * nd(rng));
  const auto N = static_cast<Eigen::Index>(n), k = static_cast<Eigen::Index>(n / 8);
  Eigen::MatrixXd A(N, k);
  for (Eigen::Index i = 0; i < A.size(); ++i) A.data()[i] = nd(rng);
  Eigen::VectorXd d(N);
  std::lognormal_distribution<double> ln(0.0, 0.5);
  for (Eigen::Index j = 0; j < N; ++j) d(j) = ln(rng) * (j % 100 == 37 ? 20.0 : 1.0);
  p->sigma.noalias() = (0.9 / static_cast<double>(k)) * A * A.transpose();
  p->sigma.diagonal().array() += 0.1;
  p->sigma = d.asDiagonal() * p->sigma * d.asDiagonal();
  p->hessian = 2 * p->sigma;
  p->mean_abs = (p->sigma.diagonal().array().sqrt() * std::sqrt(2.0 / 3.141592653589793)).matrix();
  return *p;
}

/// Seconds Eigen takes for C = A B with n x n floats (measured once per n and process).
double sgemm_seconds(std::size_t n) {
  static std::map<std::size_t, double> cache;
  auto it = cache.find(n);
  if (it != cache.end()) return it->second;
  const auto N = static_cast<Eigen::Index>(n);
  const Eigen::MatrixXf A = Eigen::MatrixXf::Random(N, N), B = Eigen::MatrixXf::Random(N, N);
  Eigen::MatrixXf C(N, N);
  double best = INFINITY;
  for (int rep = 0; rep < 2; ++rep) {
    const double t0 = cpu_seconds();
    C.noalias() = A * B;
    benchmark::DoNotOptimize(C.data());
    best = std::min(best, cpu_seconds() - t0);
  }
  return cache[n] = best;
}

void BM_calibrate_sgemm_eigen(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto N = static_cast<Eigen::Index>(n);
  const Eigen::MatrixXf A = Eigen::MatrixXf::Random(N, N), B = Eigen::MatrixXf::Random(N, N);
  Eigen::MatrixXf C(N, N);
  for (auto _ : state) {
    C.noalias() = A * B;
    benchmark::DoNotOptimize(C.data());
  }
  state.counters["GFLOPS"] = benchmark::Counter(2.0 * static_cast<double>(n) * static_cast<double>(n) *
                                                    static_cast<double>(n) * 1e-9 * static_cast<double>(state.iterations()),
                                                benchmark::Counter::kIsRate);
}

void BM_calibrate_gptq_int4_g128(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const bench_layer& L = layer(n);
  const double ref = sgemm_seconds(n);
  mixq::gptq_options o;  // block 128, 1% damping, fp32 loop
  double seconds = 0;
  for (auto _ : state) {
    const double t0 = cpu_seconds();
    auto r = mixq::gptq<gptq_scheme>(L.w.data(), n, n, L.hessian, o);
    seconds += cpu_seconds() - t0;
    benchmark::DoNotOptimize(r.loss);
  }
  state.counters["x_sgemm"] = seconds / static_cast<double>(state.iterations()) / ref;
  state.counters["sgemm_s"] = ref;
}

void BM_calibrate_gptq_act_order_int4_g128(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const bench_layer& L = layer(n);
  const double ref = sgemm_seconds(n);
  mixq::gptq_options o;
  o.order = mixq::act_order::static_groups;
  double seconds = 0;
  for (auto _ : state) {
    const double t0 = cpu_seconds();
    auto r = mixq::gptq<gptq_scheme>(L.w.data(), n, n, L.hessian, o);
    seconds += cpu_seconds() - t0;
    benchmark::DoNotOptimize(r.loss);
  }
  state.counters["x_sgemm"] = seconds / static_cast<double>(state.iterations()) / ref;
}

void BM_calibrate_awq_int4_g128(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const bench_layer& L = layer(n);
  const double ref = sgemm_seconds(n);
  double seconds = 0;
  for (auto _ : state) {
    const double t0 = cpu_seconds();
    auto r = mixq::awq<gptq_scheme>(L.w.data(), n, n, L.mean_abs, L.sigma);
    seconds += cpu_seconds() - t0;
    benchmark::DoNotOptimize(r.loss);
  }
  state.counters["x_sgemm"] = seconds / static_cast<double>(state.iterations()) / ref;
}

void BM_calibrate_hqq_uint4_g64(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const bench_layer& L = layer(n);
  const double ref = sgemm_seconds(n);
  double seconds = 0;
  for (auto _ : state) {
    const double t0 = cpu_seconds();
    auto r = mixq::hqq<hqq_scheme>(L.w.data(), n, n);
    seconds += cpu_seconds() - t0;
    benchmark::DoNotOptimize(r.error);
  }
  state.counters["x_sgemm"] = seconds / static_cast<double>(state.iterations()) / ref;
}

}  // namespace

BENCHMARK(BM_calibrate_sgemm_eigen)->Arg(1024)->Arg(4096)->Unit(benchmark::kSecond)->Iterations(1);
BENCHMARK(BM_calibrate_gptq_int4_g128)->Arg(1024)->Arg(4096)->Unit(benchmark::kSecond)->Iterations(1);
BENCHMARK(BM_calibrate_gptq_act_order_int4_g128)->Arg(1024)->Arg(4096)->Unit(benchmark::kSecond)->Iterations(1);
BENCHMARK(BM_calibrate_awq_int4_g128)->Arg(1024)->Arg(4096)->Unit(benchmark::kSecond)->Iterations(1);
BENCHMARK(BM_calibrate_hqq_uint4_g64)->Arg(1024)->Arg(4096)->Unit(benchmark::kSecond)->Iterations(1);
