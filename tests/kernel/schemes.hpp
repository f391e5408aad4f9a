// The schemes the kernel tests cover, shared by the test TU and the per-ISA kernel TUs (which
// must not include Catch2 or Eigen). One family per row: every format kind, granularity, zero
// policy, scale format and bit width 1..8.
#pragma once
#include <mixq/kernel.hpp>

namespace mixq_test {
using namespace mixq;
using s_int1_g8 = scheme<uint_format<1>, group<8>, fp16, asym::int_zero<>>;
using s_uint2_g64_asym = int2_g64_asym;
using s_int2_sym_tensor = scheme<int_sym<2>, per_tensor, fp32>;
using s_uint3_g128_asym = int3_g128_asym;
using s_int3_g24_bf16 = scheme<int3, group<24>, bf16>;
using s_int4_g128_sym = int4_g128_sym;
using s_int4_g128_asym = int4_g128_asym;
using s_int4_g32_asym = int4_g32_asym;
using s_int4_channel_gptq = int4_per_channel_gptq;
using s_int4_g16_extreme = scheme<int4, group<16>, fp16, sym::signed_extreme>;
using s_uint4_g64_hqq = scheme<uint4, group<64>, fp16, asym::float_zero<>>;
using s_int4_g256_fp8 = scheme<int4, group<256>, fp8_e4m3fn>;
using s_uint5_g48_bf16 = scheme<uint_format<5>, group<48>, bf16, asym::int_zero<>>;
using s_int5_channel = scheme<int5, per_channel, fp32>;
using s_int6_g64_asym = scheme<uint_format<6>, group<64>, fp16, asym::int_zero<>>;
using s_int6_g32_sym = scheme<int6, group<32>, bf16>;
using s_int7_tensor = scheme<int_format<7>, per_tensor, fp32>;
using s_int8_channel = int8_per_channel;
using s_uint8_g128_asym = scheme<uint8, group<128>, fp16, asym::int_zero<>>;
using s_int8_g40_hqq = scheme<uint8, group<40>, bf16, asym::float_zero<>>;
using s_nf4_g64 = nf4_g64;
using s_iq4_g32 = scheme<iq4_nl, group<32>, fp16, sym::signed_extreme>;
using s_mxfp4 = mxfp4;
using s_mxfp6_e3m2 = mxfp6_e3m2;
using s_mxfp6_e2m3 = mxfp6_e2m3;
// 7-bit minifloat (values x 16 are integers up to 124): a 128-entry int8-path table, not a sign flip
using s_fp7_e2m4_g64 = scheme<minifloat<2, 4, flavor::finite>, group<64>, e8m0fnu>;
using s_mxfp8_e4m3 = mxfp8_e4m3;
using s_mxfp8_e5m2 = mxfp8_e5m2;
using s_mxint8 = mxint8;
using s_fp8_channel = fp8_e4m3_per_channel;
using s_fp4_g16_fp8 = scheme<fp4_e2m1fn, group<16>, fp8_e4m3fn>;
using s_nvfp4 = nvfp4;  // fp8 e4m3 block scales under an fp32 tensor scale
using s_int4_g32_e5m2 = scheme<int4, group<32>, fp8_e5m2>;
// Two-level k-quant schemes: ggml's Q2_K..Q6_K meanings and two nobody named.
using s_kq2 = kq2;
using s_kq3 = kq3;
using s_kq4 = kq4;
using s_kq5 = kq5;
using s_kq6 = kq6;
using s_kq3_asym_g32_bf16 = scheme<uint_format<3>, group<32>, uint_format<6>, asym::sub_min<uint_format<6>>, super_block<256, bf16>>;
using s_kq4_sym_fp8_sub = scheme<int4, group<32>, fp8_e4m3fn, sym::restricted, super_block<128, fp16>>;
// Mins added after scaling (ggml Q4_1's meaning; 5 bits with bf16 for the integer decode path).
using s_uint4_g32_fmin = scheme<uint4, group<32>, fp16, asym::float_min<>>;
using s_uint5_g64_fmin_bf16 = scheme<uint_format<5>, group<64>, bf16, asym::float_min<>>;
}  // namespace mixq_test

// X-macro over the list above (for MIXQ_DEFINE_KERNELS and the test cases).
#define MIXQ_TEST_SCHEMES(X)                                                                                        \
  X(s_int1_g8) X(s_uint2_g64_asym) X(s_int2_sym_tensor) X(s_uint3_g128_asym) X(s_int3_g24_bf16) X(s_int4_g128_sym) \
  X(s_int4_g128_asym) X(s_int4_g32_asym) X(s_int4_channel_gptq) X(s_int4_g16_extreme) X(s_uint4_g64_hqq)          \
  X(s_int4_g256_fp8) X(s_uint5_g48_bf16) X(s_int5_channel) X(s_int6_g64_asym) X(s_int6_g32_sym) X(s_int7_tensor)  \
  X(s_int8_channel) X(s_uint8_g128_asym) X(s_int8_g40_hqq) X(s_nf4_g64) X(s_iq4_g32) X(s_mxfp4) X(s_mxfp6_e3m2)   \
  X(s_mxfp6_e2m3) X(s_fp7_e2m4_g64) X(s_mxfp8_e4m3) X(s_mxfp8_e5m2) X(s_mxint8) X(s_fp8_channel) X(s_fp4_g16_fp8) X(s_nvfp4) X(s_int4_g32_e5m2) \
  X(s_kq2) X(s_kq3) X(s_kq4) X(s_kq5) X(s_kq6) X(s_kq3_asym_g32_bf16) X(s_kq4_sym_fp8_sub) \
  X(s_uint4_g32_fmin) X(s_uint5_g64_fmin_bf16)

// The ggml block types (kernel/ggml_rows.hpp), by their name in mixq::ggml.
#define MIXQ_TEST_GGML_TYPES(X) \
  X(q4_0) X(q4_1) X(q5_0) X(q5_1) X(q8_0) X(q2_k) X(q3_k) X(q4_k) X(q5_k) X(q6_k) X(iq4_nl) X(mxfp4)
