// mixq: header-only low-bit weight quantization for CPUs. Includes everything.
#pragma once
#include "config.hpp"
#include "error.hpp"
#include "format.hpp"
#include "scheme.hpp"
#include "layout.hpp"
#include "calibrate.hpp"
#include "kernel.hpp"
#include "allocate.hpp"
#include "io.hpp"
