// The schemes this program dispatches over. Included by main.cpp (baseline flags) and by every
// per-ISA translation unit; it names types only, so it is safe to share.
#pragma once
#include <mixq/kernel.hpp>

namespace app {
using w4 = mixq::int4_g128_asym;  // 4-bit weights, groups of 128, fp16 scales, integer zeros
using w8 = mixq::int8_per_channel;
}  // namespace app
