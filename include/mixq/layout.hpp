// layout/: how a quantized matrix lies in memory.
#pragma once
#include "layout/aligned_buffer.hpp"
#include "layout/bitpack.hpp"
#include "layout/quantized_matrix.hpp"
