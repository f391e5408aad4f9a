// Kernel tables of the benchmark schemes built for ISA "avx512_vnni".
#include "../schemes.hpp"

#define MIXQ_BENCH_DEFINE(S) MIXQ_DEFINE_KERNELS(mixq_bench::S)
MIXQ_BENCH_SCHEMES(MIXQ_BENCH_DEFINE)

#define MIXQ_BENCH_DEFINE_GGML(T) MIXQ_DEFINE_GGML_KERNELS(mixq::ggml::T)
MIXQ_BENCH_GGML_TYPES(MIXQ_BENCH_DEFINE_GGML)
