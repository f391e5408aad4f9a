// Kernel tables of the benchmark schemes built for ISA "generic".
#include "../schemes.hpp"

#define MIXQ_BENCH_DEFINE(S) MIXQ_DEFINE_KERNELS(mixq_bench::S)
MIXQ_BENCH_SCHEMES(MIXQ_BENCH_DEFINE)
