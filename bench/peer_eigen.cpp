// Eigen fp32 GEMV/GEMM peer. Built with explicit AVX-512 flags on x86 (bench/CMakeLists.txt) so
// the comparison is against Eigen's best path on this CPU, not its SSE2 baseline.
// GCC PR105593: -Wall warns from inside avx512fintrin.h when Eigen's AVX-512 code is inlined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Core>

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

bool eigen_runnable() {
#if defined(__AVX512F__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma");
#else
  return true;
#endif
}
}  // namespace mixq_bench
