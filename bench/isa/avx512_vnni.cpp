// Kernel tables of the benchmark schemes built for ISA "avx512_vnni", and the loops of BM_peak.
#include <immintrin.h>

#include "../schemes.hpp"

#define MIXQ_BENCH_DEFINE(S) MIXQ_DEFINE_KERNELS(mixq_bench::S)
MIXQ_BENCH_SCHEMES(MIXQ_BENCH_DEFINE)

#define MIXQ_BENCH_DEFINE_GGML(T) MIXQ_DEFINE_GGML_KERNELS(mixq::ggml::T)
MIXQ_BENCH_GGML_TYPES(MIXQ_BENCH_DEFINE_GGML)

// Arithmetic peaks of one core, for reading the GEMM rows as a fraction of what the core can
// do: 12 independent accumulator chains (enough to cover the instructions' latency on 2 pipes),
// each step one zmm FMA (32 fp32 FLOP) or one vpdpbusd (64 u8 x s8 products: 128 int8 ops).
// Kept in registers by naming each chain (an array of accumulators was spilled by GCC and
// measured half the vpdpbusd rate), with vpdpbusd in place (see dpbusd_into in the kernels).
#define MIXQ_BENCH_CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
namespace mixq_bench {
namespace {
/// `steps` rounds of a_i = step(a_i) on the 12 chains a_i = init(i); returns their sum.
template <class V, class Init, class Step, class Add>
V peak_chains(long steps, V zero, Init init, Step step, Add add) {
#define MIXQ_BENCH_DECL(i) V a##i = init(i);
#define MIXQ_BENCH_STEP(i) a##i = step(a##i);
#define MIXQ_BENCH_SUM(i) zero = add(zero, a##i);
  MIXQ_BENCH_CHAINS(MIXQ_BENCH_DECL)
  for (long k = 0; k < steps; ++k) {
    MIXQ_BENCH_CHAINS(MIXQ_BENCH_STEP)
  }
  MIXQ_BENCH_CHAINS(MIXQ_BENCH_SUM)
  return zero;
#undef MIXQ_BENCH_DECL
#undef MIXQ_BENCH_STEP
#undef MIXQ_BENCH_SUM
}
}  // namespace

float peak_fma_steps(long steps) {
  const __m512 m = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(1e-3f);
  return _mm512_reduce_add_ps(peak_chains(
      steps, _mm512_setzero_ps(), [](int i) { return _mm512_set1_ps(1.0f + static_cast<float>(i) * 1e-3f); },
      [&](__m512 a) { return _mm512_fmadd_ps(a, m, c); }, [](__m512 a, __m512 b) { return _mm512_add_ps(a, b); }));
}
int peak_dpbusd_steps(long steps) {
  const __m512i u = _mm512_set1_epi8(3), v = _mm512_set1_epi8(-2);
  return _mm512_reduce_add_epi32(peak_chains(
      steps, _mm512_setzero_si512(), [](int i) { return _mm512_set1_epi32(i); },
      [&](__m512i a) {  // in place: GCC copies the accumulator out and back around the intrinsic
        __asm__("vpdpbusd %2, %1, %0" : "+v"(a) : "v"(u), "v"(v));
        return a;
      }, [](__m512i a, __m512i b) { return _mm512_add_epi32(a, b); }));
}
}  // namespace mixq_bench
