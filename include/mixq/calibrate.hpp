// calibrate/: choosing codes and scales.
#pragma once
#include "calibrate/grid.hpp"
#include "calibrate/rtn.hpp"
#include "calibrate/validate.hpp"
