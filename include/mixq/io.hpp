// io/: files engines already use. GGUF (read/write, ggml-compatible blocks and mixq schemes
// recorded through metadata) and safetensors, both memory-mapped and hardened for untrusted input.
#pragma once
#include "io/checked.hpp"
#include "io/ggml_types.hpp"
#include "io/gguf.hpp"
#include "io/json.hpp"
#include "io/mmap.hpp"
#include "io/safetensors.hpp"
