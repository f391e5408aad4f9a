// Schemes the kernel benchmarks cover (shared by the bench TU and the per-ISA kernel TUs).
#pragma once
#include <mixq/kernel.hpp>

namespace mixq_bench {
using namespace mixq;
using int4_g128_sym = mixq::int4_g128_sym;
using int4_g128_asym = mixq::int4_g128_asym;
using int4_g32_asym = mixq::int4_g32_asym;
using int8_per_channel = mixq::int8_per_channel;
using int8_g128_sym = scheme<int_sym<8>, group<128>, fp16>;
using int3_g128_asym = mixq::int3_g128_asym;
using int2_g64_asym = mixq::int2_g64_asym;
using int2_g128_asym = scheme<uint_format<2>, group<128>, fp16, asym::int_zero<true>>;
using int3_g128_sym = scheme<int3, group<128>, fp16>;
using int6_g64_asym = scheme<uint_format<6>, group<64>, fp16, asym::int_zero<true>>;
using mxfp4 = mixq::mxfp4;
using nf4_g64 = mixq::nf4_g64;
using fp8_e4m3_per_channel = mixq::fp8_e4m3_per_channel;
using mxfp6_e2m3 = mixq::mxfp6_e2m3;
using mxfp8_e4m3 = mixq::mxfp8_e4m3;
using nvfp4 = mixq::nvfp4;
using kq4 = mixq::kq4;  // ggml Q4_K's meaning as a mixq scheme
}  // namespace mixq_bench

#define MIXQ_BENCH_SCHEMES(X)                                                                                 \
  X(int4_g128_sym) X(int4_g128_asym) X(int4_g32_asym) X(int8_per_channel) X(int8_g128_sym) X(int3_g128_asym) \
  X(int2_g64_asym) X(int2_g128_asym) X(int3_g128_sym) X(int6_g64_asym) X(mxfp4) X(nf4_g64) X(fp8_e4m3_per_channel)  \
  X(mxfp6_e2m3) X(mxfp8_e4m3) X(nvfp4) X(kq4)

// ggml block types (kernel/ggml_rows.hpp), benchmarked as scheme "ggml_<type>".
#define MIXQ_BENCH_GGML_TYPES(X) \
  X(q4_0) X(q4_1) X(q5_0) X(q5_1) X(q8_0) X(q2_k) X(q3_k) X(q4_k) X(q5_k) X(q6_k) X(iq4_nl) X(mxfp4)
