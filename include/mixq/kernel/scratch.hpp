// Per-thread scratch memory for kernels (unpacked codes, permuted or quantized activations,
// dequantized tiles). Grows on demand, never shrinks, freed at thread exit. No std containers:
// their inline members would be shared between per-ISA translation units (see config.hpp).
#pragma once
#include <cstddef>
#include <type_traits>
#include <new>

#include "../config.hpp"

// Full unrolling of the short loops over register blocks (so accumulator arrays stay in registers).
#if defined(__GNUC__) || defined(__clang__)
#define MIXQ_UNROLL _Pragma("GCC unroll 16")
#else
#define MIXQ_UNROLL
#endif

// Forced inlining, for helpers whose only effect is a prefetch: GCC deems such a function
// const and deletes calls to it that it has not inlined (IPA pure-const).
#if defined(__GNUC__) || defined(__clang__)
#define MIXQ_ALWAYS_INLINE [[gnu::always_inline]] inline
#else
#define MIXQ_ALWAYS_INLINE inline
#endif

MIXQ_BEGIN_NAMESPACE
namespace kernel_detail {

inline constexpr std::size_t scratch_slots = 8;

struct scratch_arena {
  void* p[scratch_slots] = {};
  std::size_t n[scratch_slots] = {};
  scratch_arena() = default;
  scratch_arena(const scratch_arena&) = delete;
  scratch_arena& operator=(const scratch_arena&) = delete;
  ~scratch_arena() {
    for (std::size_t i = 0; i < scratch_slots; ++i)
      if (p[i]) ::operator delete(p[i], std::align_val_t{64});
  }
};

/// A 64-byte aligned buffer of at least `bytes` bytes for this thread; slot picks one of a
/// few independent buffers. Contents are unspecified.
inline void* scratch(std::size_t slot, std::size_t bytes) {
  thread_local scratch_arena a;
  if (a.n[slot] < bytes) {
    if (a.p[slot]) ::operator delete(a.p[slot], std::align_val_t{64});
    a.p[slot] = nullptr;
    a.n[slot] = 0;
    const std::size_t sz = (bytes + 4095) / 4096 * 4096;
    a.p[slot] = ::operator new(sz, std::align_val_t{64});
    a.n[slot] = sz;
  }
  return a.p[slot];
}

template <class T>
inline T* scratch_as(std::size_t slot, std::size_t count) {
  return static_cast<T*>(scratch(slot, count * sizeof(T)));
}

inline constexpr std::size_t min_sz(std::size_t a, std::size_t b) noexcept { return a < b ? a : b; }
inline constexpr std::size_t max_sz(std::size_t a, std::size_t b) noexcept { return a < b ? b : a; }

/// f(std::integral_constant<int, k>{}) with k = n clamped to [1, Max]: a run-time count of rows
/// or vectors turned into the template parameter of a register-blocked kernel.
template <int Max, class F>
inline decltype(auto) with_count(std::size_t n, F&& f) {
  if constexpr (Max > 1) {
    if (n >= static_cast<std::size_t>(Max)) return f(std::integral_constant<int, Max>{});
    return with_count<Max - 1>(n, f);
  } else {
    (void)n;
    return f(std::integral_constant<int, 1>{});
  }
}

}  // namespace kernel_detail
MIXQ_END_NAMESPACE
