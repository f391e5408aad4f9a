// Many more inputs than the stored vectors can hold: ggml's outputs on deterministic generated
// inputs, folded into one FNV-1a hash per (type, path) and per search configuration
// (tests/data/ggml/hashes.txt, README.md there). A hash mismatch means some output bit differs;
// test_ggml_golden / test_ggml_search then show where.
#include <catch2/catch.hpp>
#include <cinttypes>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mixq/scheme/ggml.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "hash_inputs.hpp"
#include "search_runner.hpp"

namespace {

struct hash_file {
  std::map<std::string, std::pair<int, std::uint64_t>> blocks;  // "name path" -> (rows, hash)
  std::vector<std::string> search_lines;
};

hash_file load_hashes() {
  const std::string path = std::string(MIXQ_TEST_DATA_DIR) + "/ggml/hashes.txt";
  std::ifstream in(path);
  INFO("hash file " << path);
  REQUIRE(in.good());  // missing golden data fails
  hash_file f;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream s(line);
    std::string kind;
    s >> kind;
    if (kind == "block") {
      std::string name, p, hex;
      int rows = 0;
      s >> name >> p >> rows >> hex;
      REQUIRE(s);
      f.blocks[name + " " + p] = {rows, std::strtoull(hex.c_str(), nullptr, 16)};
    } else {
      REQUIRE(kind == "search");
      f.search_lines.push_back(line);
    }
  }
  return f;
}

std::string hex(std::uint64_t h) {
  char b[17];
  std::snprintf(b, sizeof b, "%016" PRIx64, h);
  return b;
}

template <class T>
void check_type() {
  namespace mg = mixq::ggml;
  const hash_file f = load_hashes();
  const auto find = [&](const char* p) {
    const auto it = f.blocks.find(std::string(T::name) + " " + p);
    INFO(T::name << " " << p);
    REQUIRE(it != f.blocks.end());
    return it->second;
  };
  const auto [rows, want_ref] = find("ref");
  const bool model = mg::detail::has_model_path<T>;
  const std::uint64_t want_imp = T::takes_importance ? find("importance").second : 0;
  const std::uint64_t want_model = model ? find("model").second : 0;

  constexpr int n = 256;
  const std::size_t rs = mg::row_size<T>(n);
  ggml_hash::rng r{0x68617368ull + static_cast<std::uint64_t>(T::type_id)};
  ggml_hash::fnv1a h_ref, h_imp, h_model;
  float x[n], w[n], y[n];
  std::vector<std::uint8_t> q(rs);
  for (int row = 0; row < rows; ++row) {
    for (int b = 0; b < n; b += static_cast<int>(T::block_elems)) ggml_hash::fill(r, row % 12, x + b, T::block_elems);
    ggml_hash::importance(r, w, n);
    mg::quantize_row<T>(x, n, q.data());
    mg::dequantize_row<T>(q.data(), n, y);
    h_ref.bytes(q.data(), rs);
    h_ref.floats(y, n);
    if constexpr (T::takes_importance) {
      mg::quantize_row<T>(x, n, q.data(), w);
      mg::dequantize_row<T>(q.data(), n, y);
      h_imp.bytes(q.data(), rs);
      h_imp.floats(y, n);
    }
    if (model) {
      mg::quantize_row_model<T>(x, n, q.data());
      mg::dequantize_row<T>(q.data(), n, y);
      h_model.bytes(q.data(), rs);
      h_model.floats(y, n);
    }
  }
  CHECK(hex(h_ref.h) == hex(want_ref));
  if (T::takes_importance) CHECK(hex(h_imp.h) == hex(want_imp));
  if (model) CHECK(hex(h_model.h) == hex(want_model));
}

}  // namespace

TEMPLATE_TEST_CASE("ggml hashed outputs on generated inputs equal ggml's", "[ggml][golden][hash]", mixq::ggml::q4_0,
                   mixq::ggml::q4_1, mixq::ggml::q5_0, mixq::ggml::q5_1, mixq::ggml::q8_0, mixq::ggml::q2_k,
                   mixq::ggml::q3_k, mixq::ggml::q4_k, mixq::ggml::q5_k, mixq::ggml::q6_k, mixq::ggml::iq4_nl,
                   mixq::ggml::mxfp4) {
  check_type<TestType>();
}

TEST_CASE("ggml search routines: hashed outputs on generated inputs equal ggml's", "[ggml][golden][hash][search]") {
  const hash_file f = load_hashes();
  REQUIRE(f.search_lines.size() == 19);
  for (std::size_t c = 0; c < f.search_lines.size(); ++c) {
    std::istringstream s(f.search_lines[c]);
    std::string kind, rmin_s, rdelta_s, hex_s;
    std::uint32_t routine = 0, flags = 0;
    int n = 0, nmax = 0, nstep = 0, calls = 0;
    s >> kind >> routine >> n >> nmax >> flags >> rmin_s >> rdelta_s >> nstep >> calls >> hex_s;
    REQUIRE(s);
    REQUIRE(n <= 32);
    const float rmin = std::strtof(rmin_s.c_str(), nullptr), rdelta = std::strtof(rdelta_s.c_str(), nullptr);
    ggml_hash::rng r{0x736561726368ull + c};
    ggml_hash::fnv1a h;
    float x[32], w[32];
    for (int k = 0; k < calls; ++k) {
      if (routine == ggml_search_runner::qp) {
        const float scale = (k % 3 == 0) ? 1e-3f : 1.0f;
        for (int i = 0; i < n; ++i) {
          const float u = r.u01();
          const float g = r.gauss();
          x[i] = (k % 12 == 5 || u < 0.1f) ? 0.0f : std::fabs(g) * scale;
        }
      } else {
        float tmp[32];
        ggml_hash::fill(r, k % 12, tmp, 32);
        std::memcpy(x, tmp, sizeof(float) * static_cast<std::size_t>(n));
      }
      ggml_hash::importance(r, w, n);
      const auto res = ggml_search_runner::run(routine, n, nmax, flags, rmin, rdelta, nstep, x, w);
      h.floats(&res.ret, 1);
      h.floats(&res.neg_min, 1);
      h.bytes(res.L, static_cast<std::size_t>(n));
    }
    INFO(f.search_lines[c]);
    CHECK(hex(h.h) == hex_s);
  }
}
