// scheme/: how codes and scales combine over a matrix.
#pragma once
#include "scheme/granularity.hpp"
#include "scheme/scale_format.hpp"
#include "scheme/scheme.hpp"
#include "scheme/zero_point.hpp"
#include "scheme/ggml.hpp"
