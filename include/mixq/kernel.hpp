// kernel/: computing with quantized weights.
//
// API (all in namespace mixq; S is any scheme; m a quantized_matrix_view<S>, i.e. m.view()):
//   dequantize(m, out, r0, r1)                rows [r0, r1) to fp32 (row r0 first), bit-identical
//                                             to dequantize_reference
//   gemv(m, x, y, r0, r1)                     y[r] = sum_c W[r][c] x[c], exact path
//   gemm(m, X, N, ldx, Y, ldy, r0, r1)        Y[n][r] = sum_c X[n][c] W[r][c], exact path
//   gemv_q8 / gemm_q8 (same arguments)        fast path: activations quantized to int8 per block
//   supports_q8<S>                            whether S has the int8 path (integer-valued codes)
//   kernel_isa()                              the path this TU compiled: avx512(+vnni), avx2, generic
//   parallel_rows(rows, threads, f)           f(r0, r1) on std::threads, for users without a pool
//   dispatch::select<S, isa...>()             runtime dispatch over per-ISA TUs (dispatch.hpp)
// Every kernel takes the output row range [r0, r1) so an engine's pool can split the work;
// results do not depend on the split. Overloads without r0, r1 do all rows.
//
// Paths. exact: fp32 activations; codes are decoded in registers (a per-scheme table of the 2^b
// code values, minus the unit's zero, looked up with vpermps / permutevar; integer formats of
// 6..8 bits by integer conversion) and multiplied with fused FMAs; unit scales are applied once
// per unit. 4-bit codes on AVX-512 look up a table of the unit's 16 reference weights instead
// (s (v - z), or s v - m with mins), so every product is w x with w exactly the reference weight.
// q8: activations are rounded to int8 per block of 128 / 32 / 16 columns (or the unit) and
// multiplied with the weight bytes in exact integer arithmetic (vpdpbusd with AVX-512 VNNI).
// Error bounds (u = 2^-24; derived in gemv.hpp, gemm.hpp, activation_q8.hpp; tested):
//   exact  |y - y_ref| <= (K + 3) u sum|w x| + (K + 1 + sum|x|) 2^-149
//   q8     |y - y_ref| <= sum_b (sx_b/2 + 4u amax_b) sum_b |w|
//                         + (nblocks + 6) u sum (|w| + 2|s|(V + |z|)) (|x| + sx_b) + (K + 1) 2^-149
//
// Coverage. Every scheme works on every arch: any bit width 1..8 (3/5/6/7-bit codes straddle
// bytes), per-tensor / per-channel / group<G> for any G dividing K / MX e8m0 scales, every zero
// policy, scale formats fp32 / fp16 / bf16 / e8m0 / fp8, fp32 tensor scales. Fast paths
// (AVX-512): fused GEMV and small-N GEMM for every scheme whose units start on a byte (the
// blocked kernel, kernel/arch/avx512_gemv.inc: any bit width, codes decoded in registers by
// table permutes, integer conversion or the minifloat bit pattern) and 8-bit integer codes (any
// unit); GEMM for N > 16 through
// dequantized 32-row panels and a 12 x 32 FMA micro-kernel; q8 GEMV / small-N GEMM fused for
// 4-bit (blocks of 16, 32 or 128) and 8-bit codes (32 or 128), K % 128 == 0, K-quant mins
// included, and a VNNI panel micro-kernel for any
// supported scheme at N > 8. Everything else runs the portable path with SIMD unpacking and
// table decoding (AVX2 / AVX-512 helpers) of one row segment at a time.
//
// Floating-point environment: the bounds assume round-to-nearest and no flush-to-zero. The
// minifloat bit-pattern decode builds subnormal codes as fp32 subnormals, so the blocked kernel
// clears MXCSR.DAZ for the duration of such a call when the caller has set it, and restores it.
//
// Memory: kernels read the codes of a row only up to its padded length (layout rows are padded
// to 64 bytes) and the activations only up to K (masked loads); scratch comes from per-thread
// buffers (kernel/scratch.hpp), so a call allocates only the first time a size is seen.
//
// ggml tensors (kernel/ggml_rows.hpp): the same five operations on rows of ggml blocks (q4_0 ..
// q6_k, iq4_nl, mxfp4) as llama.cpp stores them, through mixq::ggml_matrix_view<T>{data, rows,
// cols}; dequantize is bit-identical to ggml::dequantize_row, gemv_q8 / gemm_q8 round the
// activations to int8 per 32 columns. On AVX-512 the exact GEMV of q4_1, q8_0, q4_k, q5_k and
// q6_k reads the blocks in place and forms each reference weight in registers; q4_0 and iq4_nl
// read four blocks per step and scale each block's sum of v(q) x by its d; the other types
// decode a span of blocks first. MIXQ_DEFINE_GGML_KERNELS(T) builds their
// dispatch table.
#pragma once
#include "kernel/lut.hpp"
#include "kernel/unpack.hpp"
#include "kernel/isa.hpp"
#include "kernel/dequantize.hpp"
#include "kernel/gemv.hpp"
#include "kernel/gemm.hpp"
#include "kernel/activation_q8.hpp"
#include "kernel/threads.hpp"
#include "kernel/dispatch.hpp"
#include "kernel/ggml_rows.hpp"
