// Argument checks at the kernel API boundary (none inside the loops). Messages are formatted
// with snprintf, so per-ISA translation units instantiate no std::string code for them.
#pragma once
#include <cstddef>
#include <cstdio>

#include "../error.hpp"
#include "../layout/quantized_matrix.hpp"

MIXQ_BEGIN_NAMESPACE
namespace kernel_detail {

template <Scheme S>
inline void check_rows(const char* fn, const quantized_matrix_view<S>& m, std::size_t r0, std::size_t r1) {
  char msg[256];
  if (m.base == nullptr) {
    std::snprintf(msg, sizeof msg, "%s: the matrix view is empty (base is null)", fn);
    throw error(msg);
  }
  if (r0 > r1 || r1 > m.rows()) {
    std::snprintf(msg, sizeof msg, "%s: row range [%zu, %zu) is not inside [0, %zu)", fn, r0, r1, m.rows());
    throw error(msg);
  }
}

inline void check_ptr(const char* fn, const char* what, const void* p) {
  if (p == nullptr) {
    char msg[256];
    std::snprintf(msg, sizeof msg, "%s: %s is null", fn, what);
    throw error(msg);
  }
}

inline void check_ld(const char* fn, const char* what, std::size_t ld, std::size_t min) {
  if (ld < min) {
    char msg[256];
    std::snprintf(msg, sizeof msg, "%s: %s = %zu is smaller than the row length %zu", fn, what, ld, min);
    throw error(msg);
  }
}

}  // namespace kernel_detail
MIXQ_END_NAMESPACE
