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
using mxfp4 = mixq::mxfp4;
using nf4_g64 = mixq::nf4_g64;
using fp8_e4m3_per_channel = mixq::fp8_e4m3_per_channel;
}  // namespace mixq_bench

#define MIXQ_BENCH_SCHEMES(X)                                                                                 \
  X(int4_g128_sym) X(int4_g128_asym) X(int4_g32_asym) X(int8_per_channel) X(int8_g128_sym) X(int3_g128_asym) \
  X(int2_g64_asym) X(mxfp4) X(nf4_g64) X(fp8_e4m3_per_channel)
