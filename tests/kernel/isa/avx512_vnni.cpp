// Kernel tables of the test schemes built for ISA "avx512_vnni" (flags: cmake/mixqDispatch.cmake).
#include "kernels.inc"
