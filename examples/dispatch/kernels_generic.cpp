// Kernels built for ISA "generic" (flags from cmake/mixqDispatch.cmake).
#include "kernels_isa.inc"
