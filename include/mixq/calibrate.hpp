// calibrate/: choosing codes and scales.
#pragma once
#include "calibrate/awq.hpp"
#include "calibrate/gptq.hpp"
#include "calibrate/grid.hpp"
#include "calibrate/hqq.hpp"
#include "calibrate/layer_stats.hpp"
#include "calibrate/outliers.hpp"
#include "calibrate/rtn.hpp"
#include "calibrate/validate.hpp"
