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
// measured half the vpdpbusd rate).
#define MIXQ_BENCH_CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
namespace mixq_bench {
float peak_fma_steps(long steps) {
  const __m512 m = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(1e-3f);
#define MIXQ_BENCH_DECL(i) __m512 a##i = _mm512_set1_ps(1.0f + (i) * 1e-3f);
#define MIXQ_BENCH_STEP(i) a##i = _mm512_fmadd_ps(a##i, m, c);
#define MIXQ_BENCH_SUM(i) s = _mm512_add_ps(s, a##i);
  MIXQ_BENCH_CHAINS(MIXQ_BENCH_DECL)
  for (long k = 0; k < steps; ++k) {
    MIXQ_BENCH_CHAINS(MIXQ_BENCH_STEP)
  }
  __m512 s = _mm512_setzero_ps();
  MIXQ_BENCH_CHAINS(MIXQ_BENCH_SUM)
  return _mm512_reduce_add_ps(s);
#undef MIXQ_BENCH_DECL
#undef MIXQ_BENCH_STEP
#undef MIXQ_BENCH_SUM
}
int peak_dpbusd_steps(long steps) {
  const __m512i u = _mm512_set1_epi8(3), v = _mm512_set1_epi8(-2);
#define MIXQ_BENCH_DECL(i) __m512i a##i = _mm512_set1_epi32(i);
#define MIXQ_BENCH_STEP(i) a##i = _mm512_dpbusd_epi32(a##i, u, v);
#define MIXQ_BENCH_SUM(i) s = _mm512_add_epi32(s, a##i);
  MIXQ_BENCH_CHAINS(MIXQ_BENCH_DECL)
  for (long k = 0; k < steps; ++k) {
    MIXQ_BENCH_CHAINS(MIXQ_BENCH_STEP)
  }
  __m512i s = _mm512_setzero_si512();
  MIXQ_BENCH_CHAINS(MIXQ_BENCH_SUM)
  return _mm512_reduce_add_epi32(s);
#undef MIXQ_BENCH_DECL
#undef MIXQ_BENCH_STEP
#undef MIXQ_BENCH_SUM
}
}  // namespace mixq_bench
