// Kernel tables of the test schemes built for ISA "generic" (flags: cmake/mixqDispatch.cmake).
#include "kernels.inc"
