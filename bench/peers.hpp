// Peers measured in the same binary: Eigen fp32 (its own TU, built with AVX-512 flags when the
// compiler targets x86) and OpenBLAS sgemv/sgemm (Debian's libopenblas, optional).
#pragma once
#include <cstddef>

namespace mixq_bench {
/// y[r0..r1) = W[r0..r1) x, W row-major M x K fp32.
void eigen_gemv(const float* W, std::size_t M, std::size_t K, const float* x, float* y, std::size_t r0, std::size_t r1);
/// Y (N x M, ldy = M) columns [r0, r1) = X (N x K) W^T.
void eigen_gemm(const float* W, std::size_t M, std::size_t K, const float* X, std::size_t N, float* Y, std::size_t r0,
                std::size_t r1);
const char* eigen_simd();
bool eigen_runnable();  ///< the CPU supports the ISA the Eigen TU was built for
/// Sum of a[0..n) with the Eigen TU's widest loads (the read-bandwidth baseline); a 64-byte aligned.
float read_sum(const float* a, std::size_t n);

bool have_openblas();
void openblas_threads(int n);
const char* openblas_core();
void openblas_gemv(const float* W, std::size_t M, std::size_t K, const float* x, float* y);
void openblas_gemm(const float* W, std::size_t M, std::size_t K, const float* X, std::size_t N, float* Y);
}  // namespace mixq_bench
