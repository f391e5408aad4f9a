// Kernel tables of the test schemes built for ISA "avx512" (flags: cmake/mixqDispatch.cmake).
#include "kernels.inc"
