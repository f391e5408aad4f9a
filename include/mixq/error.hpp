// mixq::error: the one exception type thrown at API boundaries.
#pragma once
#include <stdexcept>
#include <string>

#include "config.hpp"

namespace mixq {

/// Thrown by public functions on invalid input (shapes, group sizes, non-finite values,
/// corrupt files). The message names the argument, its value and what was expected.
/// Defined outside the ISA namespace so one `catch (mixq::error&)` works in every TU.
class error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

}  // namespace mixq
