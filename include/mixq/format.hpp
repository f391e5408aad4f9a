// format/: how ONE number is stored in b bits.
#pragma once
#include "format/code.hpp"
#include "format/codebook.hpp"
#include "format/codec.hpp"
#include "format/e8m0.hpp"
#include "format/int_format.hpp"
#include "format/minifloat.hpp"
#include "format/overflow.hpp"
#include "format/traits.hpp"
