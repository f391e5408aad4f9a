// OpenBLAS sgemv/sgemm peer (Debian libopenblas-dev; optional). Its kernels are chosen at load
// time from OPENBLAS_CORETYPE or cpuid; on AMD Zen 4 0.3.21 picks "Zen" (AVX2 Haswell kernels)
// unless OPENBLAS_CORETYPE=SkylakeX is set (scripts/bench_report.py runs both).
#include "peers.hpp"

#if MIXQ_BENCH_OPENBLAS
#include <cblas.h>
#endif

namespace mixq_bench {
#if MIXQ_BENCH_OPENBLAS
bool have_openblas() { return true; }
void openblas_threads(int n) { openblas_set_num_threads(n); }
const char* openblas_core() { return openblas_get_corename(); }
void openblas_gemv(const float* W, std::size_t M, std::size_t K, const float* x, float* y) {
  cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(M), static_cast<int>(K), 1.0f, W, static_cast<int>(K), x, 1,
              0.0f, y, 1);
}
void openblas_gemm(const float* W, std::size_t M, std::size_t K, const float* X, std::size_t N, float* Y) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(N), static_cast<int>(M), static_cast<int>(K),
              1.0f, X, static_cast<int>(K), W, static_cast<int>(K), 0.0f, Y, static_cast<int>(M));
}
#else
bool have_openblas() { return false; }
void openblas_threads(int) {}
const char* openblas_core() { return "none"; }
void openblas_gemv(const float*, std::size_t, std::size_t, const float*, float*) {}
void openblas_gemm(const float*, std::size_t, std::size_t, const float*, std::size_t, float*) {}
#endif
}  // namespace mixq_bench
