// Eigen fp32 GEMV/GEMM peer. Built with explicit AVX-512 flags on x86 (bench/CMakeLists.txt) so
// the comparison is against Eigen's best path on this CPU, not its SSE2 baseline.
// GCC PR105593: -Wall warns from inside avx512fintrin.h when Eigen's AVX-512 code is inlined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Core>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "peers.hpp"

namespace mixq_bench {
using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

void eigen_gemv(const float* W, std::size_t M, std::size_t K, const float* x, float* y, std::size_t r0, std::size_t r1) {
  (void)M;
  Eigen::Map<const RowMajor> w(W + r0 * K, static_cast<Eigen::Index>(r1 - r0), static_cast<Eigen::Index>(K));
  Eigen::Map<const Eigen::VectorXf> xv(x, static_cast<Eigen::Index>(K));
  Eigen::Map<Eigen::VectorXf> yv(y + r0, static_cast<Eigen::Index>(r1 - r0));
  yv.noalias() = w * xv;
}

void eigen_gemm(const float* W, std::size_t M, std::size_t K, const float* X, std::size_t N, float* Y, std::size_t r0,
                std::size_t r1) {
  Eigen::Map<const RowMajor> w(W + r0 * K, static_cast<Eigen::Index>(r1 - r0), static_cast<Eigen::Index>(K));
  Eigen::Map<const RowMajor> x(X, static_cast<Eigen::Index>(N), static_cast<Eigen::Index>(K));
  Eigen::Map<RowMajor, 0, Eigen::OuterStride<>> y(Y + r0, static_cast<Eigen::Index>(N), static_cast<Eigen::Index>(r1 - r0),
                                                  Eigen::OuterStride<>(static_cast<Eigen::Index>(M)));
  y.noalias() = x * w.transpose();
}

const char* eigen_simd() { return Eigen::SimdInstructionSetsInUse(); }

float read_sum(const float* a, std::size_t n) {
  std::size_t i = 0;
  float rest = 0;
#if defined(__AVX512F__)
  // 64-byte loads in four chains: memory-bound, not add-latency-bound (a = 64-byte aligned)
  __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  for (; i + 64 <= n; i += 64) {
    s0 = _mm512_add_ps(s0, _mm512_load_ps(a + i));
    s1 = _mm512_add_ps(s1, _mm512_load_ps(a + i + 16));
    s2 = _mm512_add_ps(s2, _mm512_load_ps(a + i + 32));
    s3 = _mm512_add_ps(s3, _mm512_load_ps(a + i + 48));
  }
  rest = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
#else
  rest = Eigen::Map<const Eigen::ArrayXf>(a, static_cast<Eigen::Index>(n)).sum();
  i = n;
#endif
  for (; i < n; ++i) rest += a[i];
  return rest;
}

bool eigen_runnable() {
#if defined(__AVX512F__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma");
#else
  return true;
#endif
}
}  // namespace mixq_bench
