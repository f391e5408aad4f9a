// Boundary checks shared by the calibrators: shapes, finiteness, importance vectors.
#pragma once
#include <cstddef>
#include <span>
#include <string>

#include "../error.hpp"
#include "../format/detail/float_bits.hpp"

MIXQ_BEGIN_NAMESPACE
namespace detail {

inline void check_weights(const char* fn, const float* w, std::size_t rows, std::size_t cols) {
  if (w == nullptr) throw error(std::string(fn) + ": weights pointer is null");
  if (rows == 0 || cols == 0)
    throw error(std::string(fn) + ": shape " + std::to_string(rows) + " x " + std::to_string(cols) +
                " is empty; expected rows > 0 and cols > 0");
  for (std::size_t i = 0; i < rows * cols; ++i)
    if (!is_finite(w[i]))
      throw error(std::string(fn) + ": weight [" + std::to_string(i / cols) + "][" + std::to_string(i % cols) +
                  "] is " + std::to_string(w[i]) + "; weights must be finite");
}

inline void check_importance(const char* fn, std::span<const float> imp, std::size_t cols) {
  if (imp.empty()) return;
  if (imp.size() != cols)
    throw error(std::string(fn) + ": importance has " + std::to_string(imp.size()) +
                " entries; expected one per input column (" + std::to_string(cols) + ")");
  for (std::size_t j = 0; j < cols; ++j)
    if (!is_finite(imp[j]) || imp[j] < 0)
      throw error(std::string(fn) + ": importance[" + std::to_string(j) + "] is " + std::to_string(imp[j]) +
                  "; expected a finite value >= 0");
}

}  // namespace detail
MIXQ_END_NAMESPACE
