// Kernels built for ISA "avx512" (flags from cmake/mixqDispatch.cmake).
#include "kernels_isa.inc"
