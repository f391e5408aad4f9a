// ggml / llama.cpp block formats, byte-identical to ggml's reference quantizers: the tags
// mixq::ggml::{q4_0, q4_1, q5_0, q5_1, q8_0, q2_k, q3_k, q4_k, q5_k, q6_k, iq4_nl, mxfp4} and
// mixq::ggml::row_size / quantize_row / quantize_row_model / dequantize_row.
#pragma once
#include "ggml/common.hpp"
#include "ggml/iq4_nl.hpp"
#include "ggml/mxfp4.hpp"
#include "ggml/q2_k.hpp"
#include "ggml/q3_k.hpp"
#include "ggml/q4_0.hpp"
#include "ggml/q4_1.hpp"
#include "ggml/q4_k.hpp"
#include "ggml/q5_0.hpp"
#include "ggml/q5_1.hpp"
#include "ggml/q5_k.hpp"
#include "ggml/q6_k.hpp"
#include "ggml/q8_0.hpp"
