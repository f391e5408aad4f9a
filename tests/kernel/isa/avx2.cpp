// Kernel tables of the test schemes built for ISA "avx2" (flags: cmake/mixqDispatch.cmake).
#include "kernels.inc"
