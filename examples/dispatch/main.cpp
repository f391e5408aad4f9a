// Runtime dispatch: one binary built for baseline x86-64 that runs the best kernels the CPU
// has. The per-ISA TUs (kernels_<isa>.cpp) define the kernel tables; this TU picks one.
//   mixq_dispatch_example            prints the chosen ISA and checks it against the reference
#include <mixq/mixq.hpp>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "kernels.hpp"

int main() {
  namespace md = mixq::dispatch;
  using md::isa;
  const auto k4 = md::select<app::w4, isa::avx512_vnni, isa::avx512, isa::avx2, isa::generic>();

  const std::size_t M = 256, K = 1024;
  std::mt19937 rng(1);
  std::normal_distribution<float> nd;
  std::vector<float> w(M * K), x(K);
  for (auto& v : w) v = nd(rng);
  for (auto& v : x) v = nd(rng);
  const auto m = mixq::quantize<app::w4>(w.data(), M, K);

  // The engine splits rows over its own threads; here: two halves, on std::threads.
  std::vector<float> y(M), yq(M);
  mixq::parallel_rows(M, 2, [&](std::size_t r0, std::size_t r1) {
    k4.gemv(m.view().base, M, K, x.data(), y.data(), r0, r1);
    k4.gemv_q8(m.view().base, M, K, x.data(), yq.data(), r0, r1);
  });

  std::vector<float> ref(M * K);
  mixq::dequantize_reference(m, ref.data());
  double err = 0, errq = 0, mag = 0;
  for (std::size_t r = 0; r < M; ++r) {
    double s = 0;
    for (std::size_t c = 0; c < K; ++c) s += double(ref[r * K + c]) * x[c], mag += std::fabs(ref[r * K + c] * x[c]);
    err = std::fmax(err, std::fabs(s - y[r]));
    errq = std::fmax(errq, std::fabs(s - yq[r]));
  }
  mag /= static_cast<double>(M);  // mean sum_c |w x| of a row
  std::printf("dispatch: %s kernels (this TU compiled for %s); max |err| / mean sum|w x|: exact %.2g, int8 path %.2g\n",
              k4.name, mixq::kernel_isa(), err / mag, errq / mag);
  return err / mag < 1e-5 && errq / mag < 0.05 ? 0 : 1;
}
