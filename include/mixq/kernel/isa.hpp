// Compile-time choice of the kernel path from the translation unit's flags:
//   avx512 : AVX-512 F+BW+DQ+VL (VNNI and VBMI used when also enabled)
//   avx2   : AVX2 + FMA (F16C used when enabled)
//   generic: portable C++ and xsimd (any target; no intrinsics)
// Define MIXQ_KERNEL_FORCE_GENERIC (or MIXQ_KERNEL_FORCE_AVX2) to cap it.
#pragma once
#include "arch/generic.hpp"
#include "arch/avx2.hpp"
#include "arch/avx512.hpp"

MIXQ_BEGIN_NAMESPACE
namespace kernel_detail {
#if MIXQ_KERNEL_HAS_AVX512
using best_tag = avx512_tag;
#elif MIXQ_KERNEL_HAS_AVX2
using best_tag = avx2_tag;
#else
using best_tag = generic_tag;
#endif
}  // namespace kernel_detail

/// Name of the kernel path this translation unit compiled: "avx512", "avx2" or "generic"
/// (with "+vnni" when AVX-512 VNNI / AVX-VNNI dot products are used).
inline const char* kernel_isa() noexcept {
#if MIXQ_KERNEL_HAS_AVX512 && MIXQ_KERNEL_HAS_VNNI512
  return "avx512+vnni";
#elif MIXQ_KERNEL_HAS_AVX512
  return "avx512";
#elif MIXQ_KERNEL_HAS_AVX2
  return "avx2";
#else
  return "generic";
#endif
}
MIXQ_END_NAMESPACE
