// mixq's ggml block formats against golden vectors produced by ggml's own reference code
// (tests/data/ggml/README.md): quantized bytes and dequantized floats must be identical.
#include <catch2/catch.hpp>
#include <cstdio>
#include <mixq/scheme/ggml.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "golden.hpp"

namespace {

using ggml_golden::bits;

struct stats {
  std::size_t blocks = 0;        // blocks compared on this path
  std::size_t byte_diff = 0;     // blocks whose bytes differ
  std::size_t value_diff = 0;    // blocks whose dequantized floats differ
  std::size_t zero_skipped = 0;  // IQ4_NL all-zero blocks: code bytes not compared (uninitialised in ggml)
  std::string first;             // description of the first difference
  void note(const std::string& s) {
    if (first.empty()) first = s;
  }
};

struct type_stats {
  stats ref, importance, model, dequant;
};

std::string where(const ggml_golden::record& r, std::size_t rec, std::size_t blk) {
  std::ostringstream s;
  s << "record " << rec << " (" << ggml_golden::family_names[r.family] << ", n = " << r.n << ") block " << blk;
  return s.str();
}

// Block-by-block byte comparison. With skip_zero_codes, blocks whose input is all zero compare only
// the fp16 scale (ggml's quantize_row_iq4_nl_ref leaves their code bytes uninitialised).
template <class T>
void compare_bytes(const char* path, const ggml_golden::record& r, std::size_t rec,
                   const std::vector<std::uint8_t>& got, const std::vector<std::uint8_t>& want, bool skip_zero_codes,
                   stats& st) {
  const std::size_t nb = r.n / T::block_elems;
  for (std::size_t b = 0; b < nb; ++b) {
    ++st.blocks;
    const std::uint8_t* g = got.data() + b * T::block_bytes;
    const std::uint8_t* w = want.data() + b * T::block_bytes;
    std::size_t len = T::block_bytes;
    if (skip_zero_codes && mixq::ggml::detail::is_zero_group(r.x.data() + b * T::block_elems, T::block_elems)) {
      len = 2;
      ++st.zero_skipped;
    }
    for (std::size_t k = 0; k < len; ++k) {
      if (g[k] != w[k]) {
        ++st.byte_diff;
        std::ostringstream s;
        s << path << ": " << where(r, rec, b) << " byte " << k << ": mixq 0x" << std::hex << int(g[k]) << ", ggml 0x"
          << int(w[k]);
        st.note(s.str());
        break;
      }
    }
  }
}

// Block-by-block float comparison, bit for bit (so -0 != +0 and NaN payloads count), or by value
// (==) for IQ4_NL all-zero blocks, whose ggml codes are garbage and only the zero value is defined.
template <class T>
void compare_floats(const char* path, const ggml_golden::record& r, std::size_t rec, const std::vector<float>& got,
                    const std::vector<float>& want, bool zero_by_value, stats& st) {
  const std::size_t nb = r.n / T::block_elems;
  for (std::size_t b = 0; b < nb; ++b) {
    const bool by_value =
        zero_by_value && mixq::ggml::detail::is_zero_group(r.x.data() + b * T::block_elems, T::block_elems);
    for (std::size_t k = b * T::block_elems; k < (b + 1) * T::block_elems; ++k) {
      if (by_value ? got[k] != want[k] : bits(got[k]) != bits(want[k])) {
        ++st.value_diff;
        std::ostringstream s;
        s.precision(9);
        s << path << ": " << where(r, rec, b) << " value " << k << ": mixq " << got[k] << ", ggml " << want[k];
        st.note(s.str());
        break;
      }
    }
  }
}

template <class T>
type_stats run_golden() {
  namespace mg = mixq::ggml;
  const ggml_golden::file f = ggml_golden::load(T::name);  // throws (test fails) if missing
  REQUIRE(f.type_id == static_cast<std::uint32_t>(T::type_id));
  REQUIRE(f.block_elems == T::block_elems);
  REQUIRE(f.block_bytes == T::block_bytes);
  REQUIRE(!f.records.empty());
  REQUIRE(((f.flags & ggml_golden::flag_importance) != 0) == T::takes_importance);
  constexpr bool is_iq4 = std::is_same_v<T, mg::iq4_nl>;
  type_stats ts;
  for (std::size_t k = 0; k < f.records.size(); ++k) {
    const auto& r = f.records[k];
    const std::size_t rs = mg::row_size<T>(r.n);
    REQUIRE(r.q.size() == rs);
    std::vector<std::uint8_t> q(rs + 1, 0xa5);
    std::vector<float> y(r.n);

    // Reference quantizer (importance == nullptr). Written at an odd address on purpose.
    mg::quantize_row<T>(r.x.data(), r.n, q.data() + 1, nullptr);
    const std::vector<std::uint8_t> mine(q.begin() + 1, q.end());
    compare_bytes<T>("quantize_row_ref", r, k, mine, r.q, is_iq4, ts.ref);
    // Dequantizer on ggml's bytes: bit-identical floats.
    mg::dequantize_row<T>(r.q.data(), r.n, y.data());
    compare_floats<T>("dequantize_row(ggml bytes)", r, k, y, r.y, false, ts.dequant);
    // Dequantized own bytes equal ggml's values (covers the skipped IQ4_NL code bytes).
    mg::dequantize_row<T>(mine.data(), r.n, y.data());
    compare_floats<T>("dequantize_row(mixq bytes)", r, k, y, r.y, is_iq4, ts.ref);

    if constexpr (T::takes_importance) {
      std::vector<std::uint8_t> qi(rs);
      mg::quantize_row<T>(r.x.data(), r.n, qi.data(), r.w.data());
      compare_bytes<T>("quantize_row_importance", r, k, qi, r.qi, false, ts.importance);
      mg::dequantize_row<T>(r.qi.data(), r.n, y.data());
      compare_floats<T>("dequantize_row(ggml importance bytes)", r, k, y, r.yi, false, ts.dequant);
      std::vector<std::uint8_t> qm(rs);
      mg::quantize_row_model<T>(r.x.data(), r.n, qm.data(), r.w.data());
      compare_bytes<T>("quantize_row_model(importance)", r, k, qm, r.qi, false, ts.importance);
    } else {
      // ggml's quantize_<type> ignores an imatrix for this type: any importance gives the reference.
      std::vector<float> w(r.n);
      for (std::size_t i = 0; i < r.n; ++i) w[i] = 0.25f + static_cast<float>(i % 7);
      std::vector<std::uint8_t> qi(rs);
      mg::quantize_row<T>(r.x.data(), r.n, qi.data(), w.data());
      compare_bytes<T>("quantize_row(ignored importance)", r, k, qi, r.q, false, ts.importance);
    }

    std::vector<std::uint8_t> qm(rs);
    mg::quantize_row_model<T>(r.x.data(), r.n, qm.data());
    if (f.flags & ggml_golden::flag_model_noimp) {
      compare_bytes<T>("quantize_row_model", r, k, qm, r.qm, false, ts.model);
      mg::dequantize_row<T>(r.qm.data(), r.n, y.data());
      compare_floats<T>("dequantize_row(ggml model bytes)", r, k, y, r.ym, false, ts.dequant);
    } else {
      compare_bytes<T>("quantize_row_model(== ref)", r, k, qm, r.q, is_iq4, ts.model);
    }
  }
  return ts;
}

void require_clean(const type_stats& ts) {
  for (const stats* s : {&ts.ref, &ts.importance, &ts.model, &ts.dequant}) {
    INFO(s->first);
    CHECK(s->byte_diff == 0);
    CHECK(s->value_diff == 0);
  }
  CHECK(ts.ref.blocks > 0);
}

}  // namespace

TEMPLATE_TEST_CASE("ggml golden vectors: bytes and values equal ggml's", "[ggml][golden]", mixq::ggml::q4_0,
                   mixq::ggml::q4_1, mixq::ggml::q5_0, mixq::ggml::q5_1, mixq::ggml::q8_0, mixq::ggml::q2_k,
                   mixq::ggml::q3_k, mixq::ggml::q4_k, mixq::ggml::q5_k, mixq::ggml::q6_k, mixq::ggml::iq4_nl,
                   mixq::ggml::mxfp4) {
  require_clean(run_golden<TestType>());
}

// Not run by default: prints the per-type block counts (`test_ggml "[summary]"`).
TEMPLATE_TEST_CASE("ggml golden vectors: summary", "[.][summary]", mixq::ggml::q4_0, mixq::ggml::q4_1, mixq::ggml::q5_0,
                   mixq::ggml::q5_1, mixq::ggml::q8_0, mixq::ggml::q2_k, mixq::ggml::q3_k, mixq::ggml::q4_k,
                   mixq::ggml::q5_k, mixq::ggml::q6_k, mixq::ggml::iq4_nl, mixq::ggml::mxfp4) {
  const type_stats ts = run_golden<TestType>();
  std::printf(
      "%-7s ref %4zu blocks (%zu differ, %zu iq4 zero blocks: scale only)  importance %4zu (%zu differ)  "
      "model %4zu (%zu differ)  dequant diffs %zu\n",
      TestType::name, ts.ref.blocks, ts.ref.byte_diff + ts.ref.value_diff, ts.ref.zero_skipped, ts.importance.blocks,
      ts.importance.byte_diff, ts.model.blocks, ts.model.byte_diff, ts.dequant.value_diff);
  require_clean(ts);
}
