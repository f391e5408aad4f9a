// Kernels built for ISA "avx2" (flags from cmake/mixqDispatch.cmake).
#include "kernels_isa.inc"
