// Calls one of mixq's ggml search routines the way the golden generators called ggml's
// (tests/data/ggml/README.md): routine ids, flags and the IQ4_NL weight/re-rounding convention.
#pragma once
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <mixq/calibrate/ggml_search.hpp>

// Inputs and weights must be computed exactly as the generator did: no FMA contraction.
MIXQ_GGML_EXACT_FP_BEGIN
namespace ggml_search_runner {

enum routine : std::uint32_t { qx = 0, q3 = 1, qkx2 = 2, qkx3 = 3, qp = 4, iq4nl = 5 };
inline constexpr std::uint32_t has_weights = 1, use_mad = 2;
inline const char* const routine_names[] = {"make_qx_quants",   "make_q3_quants", "make_qkx2_quants",
                                            "make_qkx3_quants", "make_qp_quants", "iq4_nl_search"};

struct result {
  float ret = 0, neg_min = 0;
  std::uint8_t L[32] = {};
};

inline result run(std::uint32_t r, int n, int nmax, std::uint32_t flags, float rmin, float rdelta, int nstep,
                  const float* x, const float* w) {
  namespace mg = mixq::ggml;
  result out;
  std::int8_t Ls[32] = {};
  std::uint8_t scratch[32];
  const float* wp = (flags & has_weights) ? w : nullptr;
  switch (r) {
    case qx:
      out.ret = mg::make_qx_quants(n, nmax, x, Ls, wp);
      for (int i = 0; i < n; ++i) out.L[i] = static_cast<std::uint8_t>(Ls[i]);
      break;
    case q3:
      out.ret = mg::make_q3_quants(n, nmax, x, Ls);
      for (int i = 0; i < n; ++i) out.L[i] = static_cast<std::uint8_t>(Ls[i]);
      break;
    case qkx2:
      out.ret = mg::make_qkx2_quants(n, nmax, x, w, out.L, &out.neg_min, scratch, rmin, rdelta, nstep, flags & use_mad);
      break;
    case qkx3:
      out.ret =
          mg::make_qkx3_quants(n, nmax, x, wp, out.L, &out.neg_min, scratch, rmin, rdelta, nstep, flags & use_mad);
      break;
    case qp: out.ret = mg::make_qp_quants(n, nmax, x, out.L, w); break;
    case iq4nl: {
      // Weights as quantize_row_iq4_nl_impl forms them, then ggml's final re-rounding for ntry > 0.
      float wt[32];
      float sigma2 = 0;
      for (int j = 0; j < n; ++j) sigma2 += x[j] * x[j];
      sigma2 *= 2.0f / static_cast<float>(n);
      for (int j = 0; j < n; ++j) wt[j] = wp ? wp[j] * std::sqrt(sigma2 + x[j] * x[j]) : x[j] * x[j];
      out.ret = mg::iq4_nl_search(n, x, wt, mg::iq4_nl_levels.data(), out.L, nstep);
      if (nstep > 0) {
        const float id = out.ret != 0.0f ? 1 / out.ret : 0.0f;
        for (int j = 0; j < n; ++j)
          out.L[j] = static_cast<std::uint8_t>(mg::best_index_int8(16, mg::iq4_nl_levels.data(), id * x[j]));
      }
      break;
    }
    default: FAIL("unknown routine " << r);
  }
  return out;
}

}  // namespace ggml_search_runner
MIXQ_GGML_EXACT_FP_END
