// The ggml tensor types a GGUF file can hold: id, name, block size and block bytes.
//
// Ids are GGML_TYPE_* of ggml.h (ggml-org/ggml; removed ids 4, 5, 31-33, 36-38 are absent), sizes
// from the block structs of ggml-common.h (FORMATS.md 7). The parser needs only these facts to
// check and locate any tensor; decoding is available for the types mixq reproduces
// (scheme/ggml: q4_0 ... q6_k, iq4_nl, mxfp4) and for f32, f16, bf16 and f64.
#pragma once
#include <array>
#include <cstdint>
#include <string_view>

#include "../config.hpp"

namespace mixq::gguf {

/// GGML_TYPE_* ids used by mixq itself.
enum ggml_type_id : std::uint32_t {
  type_f32 = 0,
  type_f16 = 1,
  type_q4_0 = 2,
  type_q4_1 = 3,
  type_q5_0 = 6,
  type_q5_1 = 7,
  type_q8_0 = 8,
  type_q8_1 = 9,
  type_q2_k = 10,
  type_q3_k = 11,
  type_q4_k = 12,
  type_q5_k = 13,
  type_q6_k = 14,
  type_q8_k = 15,
  type_iq4_nl = 20,
  type_i8 = 24,
  type_i16 = 25,
  type_i32 = 26,
  type_i64 = 27,
  type_f64 = 28,
  type_bf16 = 30,
  type_mxfp4 = 39,
};

/// One ggml tensor type: `block_elems` values are stored in `block_bytes` bytes; a row of
/// ne[0] values must hold whole blocks.
struct ggml_type_info {
  std::uint32_t id;
  std::string_view name;  ///< ggml_type_name()
  std::uint32_t block_elems;
  std::uint32_t block_bytes;
};

/// Every type of ggml.h that GGUF files may contain (GGML_TYPE_COUNT = 43 at ggml commit d99724f).
inline constexpr std::array<ggml_type_info, 35> ggml_types{{
    {0, "f32", 1, 4},        {1, "f16", 1, 2},         {2, "q4_0", 32, 18},     {3, "q4_1", 32, 20},
    {6, "q5_0", 32, 22},     {7, "q5_1", 32, 24},      {8, "q8_0", 32, 34},     {9, "q8_1", 32, 36},
    {10, "q2_K", 256, 84},   {11, "q3_K", 256, 110},   {12, "q4_K", 256, 144},  {13, "q5_K", 256, 176},
    {14, "q6_K", 256, 210},  {15, "q8_K", 256, 292},   {16, "iq2_xxs", 256, 66}, {17, "iq2_xs", 256, 74},
    {18, "iq3_xxs", 256, 98}, {19, "iq1_s", 256, 50},  {20, "iq4_nl", 32, 18},  {21, "iq3_s", 256, 110},
    {22, "iq2_s", 256, 82},  {23, "iq4_xs", 256, 136}, {24, "i8", 1, 1},        {25, "i16", 1, 2},
    {26, "i32", 1, 4},       {27, "i64", 1, 8},        {28, "f64", 1, 8},       {29, "iq1_m", 256, 56},
    {30, "bf16", 1, 2},      {34, "tq1_0", 256, 54},   {35, "tq2_0", 256, 66},  {39, "mxfp4", 32, 17},
    {40, "nvfp4", 64, 36},   {41, "q1_0", 128, 18},    {42, "q2_0", 64, 18},
}};

inline namespace MIXQ_ISA_NS {

/// The type with this id, or nullptr for ids ggml does not define.
constexpr const ggml_type_info* find_ggml_type(std::uint32_t id) noexcept {
  for (const auto& t : ggml_types)
    if (t.id == id) return &t;
  return nullptr;
}

/// The type with this ggml name (case-insensitive: "q4_k" finds q4_K), or nullptr.
constexpr const ggml_type_info* find_ggml_type(std::string_view name) noexcept {
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  for (const auto& t : ggml_types) {
    if (t.name.size() != name.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < name.size() && same; ++i) same = lower(t.name[i]) == lower(name[i]);
    if (same) return &t;
  }
  return nullptr;
}

static_assert(find_ggml_type(12)->block_bytes == 144 && find_ggml_type("Q6_K")->id == 14);

}  // namespace MIXQ_ISA_NS
}  // namespace mixq::gguf
