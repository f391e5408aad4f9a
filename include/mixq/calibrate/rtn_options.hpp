// Options of the calibrators that need no data (rtn.hpp, kquant.hpp).
#pragma once
#include <span>

#include "../config.hpp"

MIXQ_BEGIN_NAMESPACE

enum class rtn_method {
  minmax,       ///< plain min-max grid
  mse_clip,     ///< shrink the range by p = 1 - k/grid, keep the p with least sum w_i |err|^norm
  weighted_ls,  ///< symmetric schemes: 19 candidate scales, least-squares scale of the best level set
                ///< (ALGORITHMS.md 1.3 (i)); asymmetric and MX schemes fall back to mse_clip with norm 2.
                ///< K-quant (super_block) schemes: ggml's searches (make_qkx2/3_quants with mins,
                ///< make_qx_quants without; make_qp_quants for the sub-scales with importance)
};

struct rtn_options {
  rtn_method method = rtn_method::minmax;
  float norm = 2.4f;        ///< mse_clip: error exponent (GPTQ's default 2.4)
  int grid = 100;           ///< mse_clip: steps per unit range
  float max_shrink = 0.8f;  ///< mse_clip: candidates p = 1, 1 - 1/grid, ... (floor(max_shrink*grid) of them)
  /// Optional per-input-column importance (e.g. mean x^2, llama.cpp's imatrix); weights the
  /// error of mse_clip and weighted_ls. Empty = uniform (weighted_ls: w^2, as ggml).
  std::span<const float> importance = {};
  /// Threads over rows (std::threads started and joined inside the call; 0 = all hardware
  /// threads). The result does not depend on it.
  unsigned threads = 1;
};

MIXQ_END_NAMESPACE
