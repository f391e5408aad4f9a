// Kernel benchmarks: mixq GEMV/GEMM (exact and int8-activation paths) against Eigen fp32,
// OpenBLAS sgemv/sgemm, the scalar reference and the machine's read bandwidth, in one binary.
//
// Names: BM_<op>/<scheme>/<M>x<K>/<N>/<threads>t/<hot|cold>, op in gemv, gemv_q8, gemm, gemm_q8,
// gemv_ref (scalar reference); peers use <scheme> = eigen_f32 / openblas_f32; ggml tensors
// (rows of ggml blocks, kernel/ggml_rows.hpp) use <scheme> = ggml_<type>, e.g. ggml_q4_k. Plus
// BM_read_bandwidth/<threads>t (SIMD sum of a 1 GiB float array) and, on AVX-512 VNNI CPUs,
// BM_peak/<fp32_fma|int8_vnni>/<threads>t (the arithmetic peak; int8 ops count 2 per product).
//   hot : one matrix reused (it stays in the caches when it fits)
//   cold: rotating through >= 1 GiB of copies, so weights stream from DRAM
// Shapes: 4096x4096, 11008x4096, 4096x11008; for GEMV also the small layers 256x256, 768x256
// and 256x768 (one thread, hot), where per-call overheads show.
// Counters: bytes_per_second = weight bytes read (the quantized matrix, scales included),
// FLOP/s = 2 M K N per iteration.
//
// The full sweep takes a long time; a quick run (what the README shows):
//   mixq_bench --benchmark_filter='(BM_read_bandwidth/1t|/4096x4096/1/1t/cold)'
// scripts/bench_report.py runs a sweep and writes a markdown table and a PNG.
// Kernels are called through runtime dispatch (bench/isa/*.cpp), so a baseline x86-64 build
// still runs the AVX-512 kernels on an AVX-512 CPU.
#include <benchmark/benchmark.h>

#include <mixq/mixq.hpp>
#include <xsimd/xsimd.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "peers.hpp"
#include "schemes.hpp"

namespace {
namespace md = mixq::dispatch;
using namespace mixq_bench;

constexpr std::size_t kGiB = std::size_t{1} << 30;

// ---- a persistent pool, the way an engine would run the row-range kernels ----------------
class pool {
 public:
  explicit pool(unsigned workers) {
    for (unsigned i = 0; i < workers; ++i) threads_.emplace_back([this, i] { loop(i + 1); });
  }
  ~pool() {
    {
      std::lock_guard<std::mutex> l(m_);
      stop_ = true;
      ++gen_;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  /// Runs f(t) for t in [0, n) (t = 0 on the calling thread) and waits.
  void run(unsigned n, const std::function<void(unsigned)>& f) {
    if (n <= 1) return f(0);
    {
      std::lock_guard<std::mutex> l(m_);
      job_ = &f;
      active_ = n;
      pending_.store(static_cast<int>(n - 1));
      ++gen_;
    }
    cv_.notify_all();
    f(0);
    while (pending_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
  }

 private:
  void loop(unsigned id) {
    std::uint64_t seen = 0;
    for (;;) {
      const std::function<void(unsigned)>* job;
      {
        std::unique_lock<std::mutex> l(m_);
        cv_.wait(l, [&] { return gen_ != seen; });
        seen = gen_;
        if (stop_) return;
        if (id >= active_) continue;
        job = job_;
      }
      (*job)(id);
      pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }
  std::vector<std::thread> threads_;
  std::mutex m_;
  std::condition_variable cv_;
  std::uint64_t gen_ = 0;
  bool stop_ = false;
  unsigned active_ = 0;
  const std::function<void(unsigned)>* job_ = nullptr;
  std::atomic<int> pending_{0};
};

pool& workers() {
  static pool p(1);  // + the calling thread = 2
  return p;
}

/// Row range of thread t of n, aligned to 16 rows.
void split(std::size_t M, unsigned t, unsigned n, std::size_t& r0, std::size_t& r1) {
  const std::size_t blocks = (M + 15) / 16;
  r0 = std::min(M, blocks * t / n * 16);
  r1 = std::min(M, blocks * (t + 1) / n * 16);
}

std::vector<float> randn(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  std::vector<float> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}

// ---- weights: one quantized master per (scheme, shape), copies for cold runs -------------
template <class S>
const quantized_matrix<S>& master(std::size_t M, std::size_t K) {
  static std::map<std::pair<std::size_t, std::size_t>, std::unique_ptr<quantized_matrix<S>>> cache;
  auto& p = cache[{M, K}];
  if (!p) {
    const auto w = randn(M * K, static_cast<unsigned>(M + K));
    p = std::make_unique<quantized_matrix<S>>(quantize<S>(w.data(), M, K));
  }
  return *p;
}

template <class T>
std::size_t copies_for(std::size_t bytes, bool cold) {
  return cold ? std::max<std::size_t>(2, (kGiB + bytes - 1) / bytes) : 1;
}

template <class S>
md::kernels<S> best_kernels() {
  using I = md::isa;
  (void)sizeof(I);
  return md::select<S
#if MIXQ_BENCH_HAVE_AVX512_VNNI
                    , I::avx512_vnni
#endif
#if MIXQ_BENCH_HAVE_AVX2
                    , I::avx2
#endif
                    , I::generic>();
}

void set_counters(benchmark::State& st, std::size_t weight_bytes, std::size_t M, std::size_t K, std::size_t N) {
  st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations()) * static_cast<std::int64_t>(weight_bytes));
  st.counters["FLOP/s"] =
      benchmark::Counter(2.0 * static_cast<double>(M) * static_cast<double>(K) * static_cast<double>(N),
                         benchmark::Counter::kIsIterationInvariantRate);
}

enum class op { gemv, gemv_q8, gemm, gemm_q8, gemv_ref };

template <class S>
void bm_mixq(benchmark::State& st, op o, std::size_t M, std::size_t K, std::size_t N, unsigned threads, bool cold) {
  const auto& m0 = master<S>(M, K);
  const std::size_t ncopy = copies_for<S>(m0.bytes(), cold);
  std::vector<quantized_matrix<S>> mats(ncopy, m0);
  const auto k = best_kernels<S>();
  const auto X = randn(N * K, 3);
  std::vector<float> Y(N * M);
  std::size_t it = 0;
  for (auto _ : st) {
    const auto& m = mats[it++ % ncopy];
    const void* base = m.raw().data();
    workers().run(threads, [&](unsigned t) {
      std::size_t r0, r1;
      split(M, t, threads, r0, r1);
      switch (o) {
        case op::gemv: k.gemv(base, M, K, X.data(), Y.data(), r0, r1); break;
        case op::gemv_q8: k.gemv_q8(base, M, K, X.data(), Y.data(), r0, r1); break;
        case op::gemm: k.gemm(base, M, K, X.data(), N, K, Y.data(), M, r0, r1); break;
        case op::gemm_q8: k.gemm_q8(base, M, K, X.data(), N, K, Y.data(), M, r0, r1); break;
        case op::gemv_ref: {
          // the definition: dequantize_reference row by row, scalar dot in fp32
          std::vector<float> w(K);
          for (std::size_t r = r0; r < r1; ++r) {
            dequantize_reference(m.view(), w.data(), r, r + 1);
            float acc = 0;
            for (std::size_t c = 0; c < K; ++c) acc += w[c] * X[c];
            Y[r] = acc;
          }
          break;
        }
      }
    });
    benchmark::DoNotOptimize(Y.data());
    benchmark::ClobberMemory();
  }
  set_counters(st, m0.bytes(), M, K, N);
  st.SetLabel(k.name);
}

// ---- ggml tensors: rows of ggml blocks, quantized with ggml's reference quantizer ----------
template <class T>
const std::vector<std::uint8_t>& ggml_master(std::size_t M, std::size_t K) {
  static std::map<std::pair<std::size_t, std::size_t>, std::vector<std::uint8_t>> cache;
  auto& d = cache[{M, K}];
  if (d.empty()) {
    const auto w = randn(M * K, static_cast<unsigned>(M + K));
    const std::size_t rb = mixq::ggml::row_size<T>(K);
    d.resize(M * rb);
    for (std::size_t r = 0; r < M; ++r) mixq::ggml::quantize_row<T>(w.data() + r * K, K, d.data() + r * rb);
  }
  return d;
}

template <class T>
void bm_ggml(benchmark::State& st, op o, std::size_t M, std::size_t K, std::size_t N, unsigned threads, bool cold) {
  const auto& d0 = ggml_master<T>(M, K);
  const std::size_t ncopy = copies_for<T>(d0.size(), cold);
  std::vector<std::vector<std::uint8_t>> mats(ncopy, d0);
  const auto k = best_kernels<T>();
  const auto X = randn(N * K, 3);
  std::vector<float> Y(N * M);
  std::size_t it = 0;
  for (auto _ : st) {
    const void* base = mats[it++ % ncopy].data();
    workers().run(threads, [&](unsigned t) {
      std::size_t r0, r1;
      split(M, t, threads, r0, r1);
      switch (o) {
        case op::gemv: k.gemv(base, M, K, X.data(), Y.data(), r0, r1); break;
        case op::gemv_q8: k.gemv_q8(base, M, K, X.data(), Y.data(), r0, r1); break;
        case op::gemm: k.gemm(base, M, K, X.data(), N, K, Y.data(), M, r0, r1); break;
        case op::gemm_q8: k.gemm_q8(base, M, K, X.data(), N, K, Y.data(), M, r0, r1); break;
        case op::gemv_ref: {
          // the definition: ggml's scalar dequantize_row, then a scalar fp32 dot
          std::vector<float> w(K);
          const std::size_t rb = mixq::ggml::row_size<T>(K);
          for (std::size_t r = r0; r < r1; ++r) {
            mixq::ggml::dequantize_row<T>(static_cast<const std::uint8_t*>(base) + r * rb, K, w.data());
            float acc = 0;
            for (std::size_t c = 0; c < K; ++c) acc += w[c] * X[c];
            Y[r] = acc;
          }
          break;
        }
      }
    });
    benchmark::DoNotOptimize(Y.data());
    benchmark::ClobberMemory();
  }
  set_counters(st, d0.size(), M, K, N);
  st.SetLabel(k.name);
}

void bm_peer(benchmark::State& st, bool eigen, std::size_t M, std::size_t K, std::size_t N, unsigned threads, bool cold) {
  const std::size_t bytes = M * K * sizeof(float);
  const std::size_t ncopy = copies_for<float>(bytes, cold);
  std::vector<std::vector<float>> W;
  W.reserve(ncopy);
  W.push_back(randn(M * K, 7));
  for (std::size_t i = 1; i < ncopy; ++i) W.push_back(W[0]);
  const auto X = randn(N * K, 3);
  std::vector<float> Y(N * M);
  if (!eigen) openblas_threads(static_cast<int>(threads));
  std::size_t it = 0;
  for (auto _ : st) {
    const float* w = W[it++ % ncopy].data();
    if (eigen) {
      workers().run(threads, [&](unsigned t) {
        std::size_t r0, r1;
        split(M, t, threads, r0, r1);
        if (N == 1) eigen_gemv(w, M, K, X.data(), Y.data(), r0, r1);
        else eigen_gemm(w, M, K, X.data(), N, Y.data(), r0, r1);
      });
    } else {
      if (N == 1) openblas_gemv(w, M, K, X.data(), Y.data());
      else openblas_gemm(w, M, K, X.data(), N, Y.data());
    }
    benchmark::DoNotOptimize(Y.data());
    benchmark::ClobberMemory();
  }
  set_counters(st, bytes, M, K, N);
  st.SetLabel(eigen ? std::string("eigen ") + eigen_simd() : std::string("openblas core ") + openblas_core());
}

#if MIXQ_BENCH_HAVE_AVX512_VNNI
}  // namespace
namespace mixq_bench {  // bench/isa/avx512_vnni.cpp
float peak_fma_steps(long steps);
int peak_dpbusd_steps(long steps);
}  // namespace mixq_bench
namespace {
/// BM_peak/<fp32_fma|int8_vnni>/<threads>t: the arithmetic peak, FLOP/s (int8: multiplies and
/// adds, 2 per product), so GEMM rows can be read as a fraction of it.
void bm_peak(benchmark::State& st, bool vnni, unsigned threads) {
  constexpr long steps = 1L << 20;
  for (auto _ : st) {
    workers().run(threads, [&](unsigned) {
      if (vnni) benchmark::DoNotOptimize(mixq_bench::peak_dpbusd_steps(steps));
      else benchmark::DoNotOptimize(mixq_bench::peak_fma_steps(steps));
    });
  }
  st.counters["FLOP/s"] = benchmark::Counter(static_cast<double>(steps) * 12.0 * (vnni ? 128.0 : 32.0) * threads,
                                             benchmark::Counter::kIsIterationInvariantRate);
  st.SetLabel(vnni ? "12 vpdpbusd zmm chains per thread" : "12 vfmadd zmm chains per thread");
}
#endif

void bm_read_bandwidth(benchmark::State& st, unsigned threads) {
  const std::size_t n = kGiB / sizeof(float);
  // 64-byte aligned: unaligned 64-byte loads straddle two lines and read slower
  struct free_deleter {
    void operator()(float* p) const noexcept { std::free(p); }
  };
  std::unique_ptr<float[], free_deleter> a(static_cast<float*>(std::aligned_alloc(64, n * sizeof(float))));
  if (!a) throw std::bad_alloc();
  workers().run(threads, [&](unsigned t) {  // first touch by the thread that reads it
    const std::size_t b = n * t / threads, e = n * (t + 1) / threads;
    for (std::size_t i = b; i < e; ++i) a[i] = 1.0f;
  });
  float sums[2] = {0, 0};
  const bool wide = eigen_runnable();
  for (auto _ : st) {
    workers().run(threads, [&](unsigned t) {
      // SIMD sums in 4 chains with the widest loads the CPU has (the Eigen TU's flags, when it
      // runs here; else this TU's xsimd batches). A scalar loop is bound by add latency, not by
      // memory: a plain 8-chain scalar loop read 12.8 GB/s here while Eigen's GEMV streamed 22 GB/s.
      const std::size_t b = n * t / threads, e = n * (t + 1) / threads;
      if (wide) {
        sums[t] = read_sum(a.get() + b, e - b);
        return;
      }
      using batch = xsimd::batch<float>;
      constexpr std::size_t W = batch::size;
      batch s0(0.0f), s1(0.0f), s2(0.0f), s3(0.0f);
      std::size_t i = b;
      for (; i + 4 * W <= e; i += 4 * W) {
        s0 += batch::load_aligned(a.get() + i);
        s1 += batch::load_aligned(a.get() + i + W);
        s2 += batch::load_aligned(a.get() + i + 2 * W);
        s3 += batch::load_aligned(a.get() + i + 3 * W);
      }
      float rest = 0;
      for (; i < e; ++i) rest += a[i];
      sums[t] = xsimd::hadd((s0 + s1) + (s2 + s3)) + rest;
    });
    benchmark::DoNotOptimize(sums);
  }
  st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations()) * static_cast<std::int64_t>(n * sizeof(float)));
}

struct shape {
  std::size_t M, K;
};
std::string shape_name(shape s) { return std::to_string(s.M) + "x" + std::to_string(s.K); }
/// Layers of a small transformer (d = 256, ffn 768), benchmarked for GEMV at one thread, hot.
constexpr shape small_shapes[] = {{256, 256}, {768, 256}, {256, 768}};

template <class S>
void register_scheme(const char* name, bool gemm_too, bool with_ref) {
  const shape shapes[] = {{4096, 4096}, {11008, 4096}, {4096, 11008}};
  for (const shape sh : shapes)
    for (const std::size_t N : {1, 8, 64, 512}) {
      if (N > 1 && !gemm_too) continue;
      for (const unsigned t : {1u, 2u})
        for (const bool cold : {false, true}) {
          const std::string tail = std::string("/") + name + "/" + shape_name(sh) + "/" + std::to_string(N) + "/" +
                                   std::to_string(t) + "t/" + (cold ? "cold" : "hot");
          const op exact = N == 1 ? op::gemv : op::gemm, fast = N == 1 ? op::gemv_q8 : op::gemm_q8;
          benchmark::RegisterBenchmark((std::string(N == 1 ? "BM_gemv" : "BM_gemm") + tail).c_str(),
                                       [=](benchmark::State& st) { bm_mixq<S>(st, exact, sh.M, sh.K, N, t, cold); })
              ->UseRealTime()
              ->Unit(benchmark::kMicrosecond);
          if constexpr (supports_q8<S>)
            benchmark::RegisterBenchmark((std::string(N == 1 ? "BM_gemv_q8" : "BM_gemm_q8") + tail).c_str(),
                                         [=](benchmark::State& st) { bm_mixq<S>(st, fast, sh.M, sh.K, N, t, cold); })
                ->UseRealTime()
                ->Unit(benchmark::kMicrosecond);
          if (with_ref && N == 1 && t == 1 && !cold && sh.M == 4096 && sh.K == 4096)
            benchmark::RegisterBenchmark((std::string("BM_gemv_ref") + tail).c_str(),
                                         [=](benchmark::State& st) { bm_mixq<S>(st, op::gemv_ref, sh.M, sh.K, N, t, cold); })
                ->UseRealTime()
                ->Unit(benchmark::kMicrosecond);
        }
    }
  // Small layers (a small transformer's decode step): GEMV only, one thread, hot.
  for (const shape sh : small_shapes) {
    const std::string tail = std::string("/") + name + "/" + shape_name(sh) + "/1/1t/hot";
    benchmark::RegisterBenchmark(("BM_gemv" + tail).c_str(),
                                 [=](benchmark::State& st) { bm_mixq<S>(st, op::gemv, sh.M, sh.K, 1, 1, false); })
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
    if constexpr (supports_q8<S>)
      benchmark::RegisterBenchmark(("BM_gemv_q8" + tail).c_str(),
                                   [=](benchmark::State& st) { bm_mixq<S>(st, op::gemv_q8, sh.M, sh.K, 1, 1, false); })
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
  }
}

/// ggml_<type>: GEMV (exact and q8) on the three shapes, GEMM at N = 8 and 64 on 4096 x 4096, the
/// scalar ggml reference once.
template <class T>
void register_ggml(const char* type) {
  const shape shapes[] = {{4096, 4096}, {11008, 4096}, {4096, 11008}};
  const std::string name = std::string("ggml_") + type;
  for (const shape sh : shapes)
    for (const std::size_t N : {1, 8, 64}) {
      if (N > 1 && sh.M != 4096) continue;
      for (const unsigned t : {1u, 2u})
        for (const bool cold : {false, true}) {
          const std::string tail = "/" + name + "/" + shape_name(sh) + "/" + std::to_string(N) + "/" + std::to_string(t) +
                                   "t/" + (cold ? "cold" : "hot");
          const op exact = N == 1 ? op::gemv : op::gemm, fast = N == 1 ? op::gemv_q8 : op::gemm_q8;
          benchmark::RegisterBenchmark((std::string(N == 1 ? "BM_gemv" : "BM_gemm") + tail).c_str(),
                                       [=](benchmark::State& st) { bm_ggml<T>(st, exact, sh.M, sh.K, N, t, cold); })
              ->UseRealTime()
              ->Unit(benchmark::kMicrosecond);
          benchmark::RegisterBenchmark((std::string(N == 1 ? "BM_gemv_q8" : "BM_gemm_q8") + tail).c_str(),
                                       [=](benchmark::State& st) { bm_ggml<T>(st, fast, sh.M, sh.K, N, t, cold); })
              ->UseRealTime()
              ->Unit(benchmark::kMicrosecond);
          if (N == 1 && t == 1 && !cold && sh.M == 4096 && sh.K == 4096)
            benchmark::RegisterBenchmark((std::string("BM_gemv_ref") + tail).c_str(),
                                         [=](benchmark::State& st) { bm_ggml<T>(st, op::gemv_ref, sh.M, sh.K, N, t, cold); })
                ->UseRealTime()
                ->Unit(benchmark::kMicrosecond);
        }
    }
}

void register_peers() {
  const shape shapes[] = {{4096, 4096}, {11008, 4096}, {4096, 11008}};
  for (const shape sh : shapes)
    for (const std::size_t N : {1, 8, 64, 512})
      for (const unsigned t : {1u, 2u})
        for (const bool cold : {false, true})
          for (const bool eigen : {true, false}) {
            if (eigen && !eigen_runnable()) continue;
            if (!eigen && !have_openblas()) continue;
            const std::string name = std::string(N == 1 ? "BM_gemv/" : "BM_gemm/") +
                                     (eigen ? "eigen_f32/" : "openblas_f32/") + shape_name(sh) + "/" +
                                     std::to_string(N) + "/" + std::to_string(t) + "t/" + (cold ? "cold" : "hot");
            benchmark::RegisterBenchmark(name.c_str(),
                                         [=](benchmark::State& st) { bm_peer(st, eigen, sh.M, sh.K, N, t, cold); })
                ->UseRealTime()
                ->Unit(benchmark::kMicrosecond);
          }
  for (const shape sh : small_shapes)
    for (const bool eigen : {true, false}) {
      if (eigen && !eigen_runnable()) continue;
      if (!eigen && !have_openblas()) continue;
      const std::string name = std::string("BM_gemv/") + (eigen ? "eigen_f32/" : "openblas_f32/") + shape_name(sh) + "/1/1t/hot";
      benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& st) { bm_peer(st, eigen, sh.M, sh.K, 1, 1, false); })
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    }
}

const bool registered = [] {
  for (const unsigned t : {1u, 2u})
    benchmark::RegisterBenchmark(("BM_read_bandwidth/" + std::to_string(t) + "t").c_str(),
                                 [=](benchmark::State& st) { bm_read_bandwidth(st, t); })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
#if MIXQ_BENCH_HAVE_AVX512_VNNI
  if (mixq::dispatch::cpu_supports(mixq::dispatch::isa::avx512_vnni))
    for (const bool vnni : {false, true})
      for (const unsigned t : {1u, 2u})
        benchmark::RegisterBenchmark((std::string("BM_peak/") + (vnni ? "int8_vnni/" : "fp32_fma/") + std::to_string(t) + "t").c_str(),
                                     [=](benchmark::State& st) { bm_peak(st, vnni, t); })
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
#endif
  register_scheme<int4_g128_sym>("int4_g128_sym", true, true);
  register_scheme<int4_g128_asym>("int4_g128_asym", true, false);
  register_scheme<int8_per_channel>("int8_per_channel", true, true);
  register_scheme<int4_g32_asym>("int4_g32_asym", false, false);
  register_scheme<int8_g128_sym>("int8_g128_sym", false, false);
  register_scheme<int3_g128_asym>("int3_g128_asym", false, false);
  register_scheme<int2_g64_asym>("int2_g64_asym", false, false);
  register_scheme<mxfp4>("mxfp4", false, false);
  register_scheme<nf4_g64>("nf4_g64", false, false);
  register_scheme<fp8_e4m3_per_channel>("fp8_e4m3_per_channel", false, false);
  register_scheme<int2_g128_asym>("int2_g128_asym", false, false);
  register_scheme<int3_g128_sym>("int3_g128_sym", false, false);
  register_scheme<int6_g64_asym>("int6_g64_asym", false, false);
  register_scheme<mxfp6_e2m3>("mxfp6_e2m3", false, false);
  register_scheme<mxfp8_e4m3>("mxfp8_e4m3", false, false);
  register_scheme<nvfp4>("nvfp4", false, false);
  register_scheme<kq4>("kq4", false, false);
#define MIXQ_BENCH_REGISTER_GGML(T) register_ggml<mixq::ggml::T>(#T);
  MIXQ_BENCH_GGML_TYPES(MIXQ_BENCH_REGISTER_GGML)
#undef MIXQ_BENCH_REGISTER_GGML
  register_peers();
  return true;
}();

}  // namespace
