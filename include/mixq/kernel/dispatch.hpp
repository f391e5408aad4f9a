// Runtime dispatch over per-ISA translation units.
//
// Compile one .cpp per ISA you want to ship, each with its own flags (cmake/mixqDispatch.cmake
// has them), containing only mixq kernel headers and
//     MIXQ_DEFINE_KERNELS(my_scheme)            // once per scheme the program uses
// Then anywhere (baseline flags):
//     auto k = mixq::dispatch::select<my_scheme, mixq::dispatch::isa::avx512_vnni,
//                                     mixq::dispatch::isa::avx2, mixq::dispatch::isa::generic>();
//     k.gemv(m.base, m.rows(), m.cols(), x, y, 0, m.rows());
// select() returns the first listed ISA this CPU (and OS) supports. The table holds plain
// function pointers over plain data, so it is the same type in every TU, while all the inline
// code behind it lives in the ISA-named inline namespace of the TU that compiled it
// (config.hpp): no two TUs share an inline function (scripts/check_weak_symbols.sh checks).
// Keep Eigen and other inline-heavy headers out of the per-ISA TUs.
#pragma once
#include <cstddef>

#include "../config.hpp"
#include "../layout/quantized_matrix.hpp"
#include "activation_q8.hpp"
#include "dequantize.hpp"
#include "gemm.hpp"
#include "gemv.hpp"
#include "isa.hpp"

namespace mixq::dispatch {

/// Kernel builds, from least to most capable.
enum class isa : int {
  generic = 0,      ///< portable C++ / xsimd (any CPU)
  avx2 = 1,         ///< AVX2 + FMA + F16C
  avx512 = 2,       ///< AVX-512 F, CD, BW, DQ, VL (+ FMA, F16C)
  avx512_vnni = 3,  ///< avx512 + VNNI + VBMI
};

/// The kernels of scheme S from one ISA build. q8 entries are null when the scheme has no
/// int8-activation path. Arguments mirror mixq::dequantize / gemv / gemm / gemv_q8 / gemm_q8,
/// with the matrix given as (data, rows, cols) in matrix_layout<S>'s canonical layout.
template <class S>
struct kernels {
  using dequantize_fn = void (*)(const void* data, std::size_t rows, std::size_t cols, float* out, std::size_t r0,
                                 std::size_t r1);
  using gemv_fn = void (*)(const void* data, std::size_t rows, std::size_t cols, const float* x, float* y,
                           std::size_t r0, std::size_t r1);
  using gemm_fn = void (*)(const void* data, std::size_t rows, std::size_t cols, const float* X, std::size_t N,
                           std::size_t ldx, float* Y, std::size_t ldy, std::size_t r0, std::size_t r1);
  dequantize_fn dequantize = nullptr;
  gemv_fn gemv = nullptr;
  gemm_fn gemm = nullptr;
  gemv_fn gemv_q8 = nullptr;
  gemm_fn gemm_q8 = nullptr;
  isa built_for = isa::generic;
  const char* name = "";  ///< kernel_isa() of the TU that built it
};

/// Defined by MIXQ_DEFINE_KERNELS(S) in the TU built for ISA I; link error if no TU did.
template <class S, isa I>
kernels<S> get_kernels();

}  // namespace mixq::dispatch

// Code-carrying helpers also live in the TU's ISA-named inline namespace.
namespace mixq::dispatch {
inline namespace MIXQ_ISA_NS {

/// True when this CPU and OS can run the kernels built for i.
inline bool cpu_supports(::mixq::dispatch::isa i) noexcept {
  using ::mixq::dispatch::isa;
  if (i == isa::generic) return true;
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (i == isa::avx2) return avx2;
  const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
                      __builtin_cpu_supports("avx512cd");
  if (i == isa::avx512) return avx512;
  if (i == isa::avx512_vnni)
    return avx512 && __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vbmi");
  return false;
#else
  return false;
#endif
}

/// The kernels of the first ISA in Isas (list them best first) that this CPU supports; the
/// last entry should be isa::generic.
template <class S, ::mixq::dispatch::isa... Isas>
::mixq::dispatch::kernels<S> select() {
  ::mixq::dispatch::kernels<S> k{};
  bool found = false;
  ((!found && cpu_supports(Isas) ? (k = ::mixq::dispatch::get_kernels<S, Isas>(), found = true) : false), ...);
  if (!found) throw error("mixq::dispatch::select: none of the listed ISA builds runs on this CPU");
  return k;
}

}  // namespace MIXQ_ISA_NS
}  // namespace mixq::dispatch

MIXQ_BEGIN_NAMESPACE
namespace kernel_detail {
template <Scheme S>
struct dispatch_entry {
  static quantized_matrix_view<S> view(const void* data, std::size_t rows, std::size_t cols) {
    return {matrix_layout<S>::make(rows, cols), static_cast<const std::uint8_t*>(data)};
  }
  static void dequantize(const void* d, std::size_t rows, std::size_t cols, float* out, std::size_t r0, std::size_t r1) {
    ::mixq::dequantize(view(d, rows, cols), out, r0, r1);
  }
  static void gemv(const void* d, std::size_t rows, std::size_t cols, const float* x, float* y, std::size_t r0,
                   std::size_t r1) {
    ::mixq::gemv(view(d, rows, cols), x, y, r0, r1);
  }
  static void gemm(const void* d, std::size_t rows, std::size_t cols, const float* X, std::size_t N, std::size_t ldx,
                   float* Y, std::size_t ldy, std::size_t r0, std::size_t r1) {
    ::mixq::gemm(view(d, rows, cols), X, N, ldx, Y, ldy, r0, r1);
  }
  static void gemv_q8(const void* d, std::size_t rows, std::size_t cols, const float* x, float* y, std::size_t r0,
                      std::size_t r1) {
    if constexpr (supports_q8<S>) ::mixq::gemv_q8(view(d, rows, cols), x, y, r0, r1);
  }
  static void gemm_q8(const void* d, std::size_t rows, std::size_t cols, const float* X, std::size_t N,
                      std::size_t ldx, float* Y, std::size_t ldy, std::size_t r0, std::size_t r1) {
    if constexpr (supports_q8<S>) ::mixq::gemm_q8(view(d, rows, cols), X, N, ldx, Y, ldy, r0, r1);
  }
};

template <Scheme S>
::mixq::dispatch::kernels<S> make_kernel_table(::mixq::dispatch::isa i) {
  ::mixq::dispatch::kernels<S> k;
  k.dequantize = &dispatch_entry<S>::dequantize;
  k.gemv = &dispatch_entry<S>::gemv;
  k.gemm = &dispatch_entry<S>::gemm;
  if constexpr (supports_q8<S>) {
    k.gemv_q8 = &dispatch_entry<S>::gemv_q8;
    k.gemm_q8 = &dispatch_entry<S>::gemm_q8;
  }
  k.built_for = i;
  k.name = kernel_isa();
  return k;
}
}  // namespace kernel_detail
MIXQ_END_NAMESPACE

// The ISA this TU's kernels are built for (see isa.hpp for the kernel path it implies).
#if defined(MIXQ_KERNEL_FORCE_GENERIC)
#define MIXQ_DISPATCH_THIS_ISA ::mixq::dispatch::isa::generic
#elif defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512DQ__) && defined(__AVX512VL__) && \
    defined(__AVX512CD__) && defined(__FMA__) && defined(__AVX512VNNI__) && defined(__AVX512VBMI__) &&  \
    !defined(MIXQ_KERNEL_FORCE_AVX2)
#define MIXQ_DISPATCH_THIS_ISA ::mixq::dispatch::isa::avx512_vnni
#elif defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512DQ__) && defined(__AVX512VL__) && \
    defined(__AVX512CD__) && defined(__FMA__) && !defined(MIXQ_KERNEL_FORCE_AVX2)
#define MIXQ_DISPATCH_THIS_ISA ::mixq::dispatch::isa::avx512
#elif defined(__AVX2__) && defined(__FMA__)
#define MIXQ_DISPATCH_THIS_ISA ::mixq::dispatch::isa::avx2
#else
#define MIXQ_DISPATCH_THIS_ISA ::mixq::dispatch::isa::generic
#endif

/// In a per-ISA TU (after including <mixq/kernel.hpp>): defines the kernel table of the scheme
/// for this TU's ISA. Use once per scheme and ISA.
#define MIXQ_DEFINE_KERNELS(...)                                                                   \
  template <>                                                                                      \
  auto ::mixq::dispatch::get_kernels<__VA_ARGS__, MIXQ_DISPATCH_THIS_ISA>()->::mixq::dispatch::kernels<__VA_ARGS__> { \
    return ::mixq::kernel_detail::make_kernel_table<__VA_ARGS__>(MIXQ_DISPATCH_THIS_ISA);          \
  }
