// Kernels built for ISA "avx512_vnni" (flags from cmake/mixqDispatch.cmake).
#include "kernels_isa.inc"
