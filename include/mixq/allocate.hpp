// allocate/: mixed precision, which bits where.
//
//   sensitivity.hpp   the Sensitivity concept (error of a weight perturbation) and its models:
//                     HAWQ-V2 Hessian trace (exact, or Hutchinson over a caller's HVP), the
//                     layer-output error tr(dW Sigma dW^T), diagonal / weight MSE; SliM-LLM
//                     salience; OWQ per-column sensitivity; power iteration
//   knapsack.hpp      the exact multiple-choice knapsack DP over stored bits (min-bits and tie
//                     constraints, Pareto frontier) and the Lagrangian approximation
//   plan.hpp          the printable, serialisable plan
//   layers.hpp        per-layer candidates -> items; a layer's result is a std::variant of the
//                     candidates' quantized_matrix types (layer_matrix<Ss...>)
//   mixed_matrix.hpp  per-group mixed matrices stored as column slabs of uniform schemes, with
//                     reference and kernel-backed dequantize / gemv / gemm
//   groups.hpp        per-group allocation: exact DP (incl. INT-vs-FP) and SliM-LLM's SBA
#pragma once
#include "allocate/sensitivity.hpp"
#include "allocate/knapsack.hpp"
#include "allocate/plan.hpp"
#include "allocate/layers.hpp"
#include "allocate/mixed_matrix.hpp"
#include "allocate/groups.hpp"
