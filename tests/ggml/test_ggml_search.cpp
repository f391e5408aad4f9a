// ggml's search routines (calibrate/ggml_search.hpp) against golden vectors from ggml's own
// make_qx_quants / make_q3_quants / make_qkx2_quants / make_qkx3_quants / make_qp_quants and the
// IQ4_NL block search: the fp32 scale and min (before any fp16 rounding) and the levels must be
// identical, which pins the evaluation order far more tightly than the packed blocks can.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mixq/calibrate/ggml_search.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "golden.hpp"
#include "search_runner.hpp"

using namespace ggml_search_runner;

TEST_CASE("ggml search routines: scale, min and levels equal ggml's bit for bit", "[ggml][golden][search]") {
  const std::string path = std::string(MIXQ_TEST_DATA_DIR) + "/ggml/search.bin";
  std::ifstream in(path, std::ios::binary);
  INFO("golden file " << path);
  REQUIRE(in.good());  // a missing golden file is a failure, not a skip
  ggml_golden::reader r(std::vector<char>(std::istreambuf_iterator<char>(in), {}));
  char magic[8];
  r.bytes(magic, 8);
  REQUIRE(std::memcmp(magic, "MIXQGS01", 8) == 0);
  const std::uint32_t nrec = r.u32();
  REQUIRE(nrec > 0);
  std::size_t per_routine[6] = {};
  std::size_t mismatches = 0;
  std::string first;
  for (std::uint32_t k = 0; k < nrec; ++k) {
    const std::uint32_t rt = r.u32();
    const int n = static_cast<int>(r.u32());
    const int nmax = static_cast<int>(r.u32());
    const std::uint32_t flags = r.u32();
    const float rmin = r.floats(1)[0], rdelta = r.floats(1)[0];
    const int nstep = static_cast<int>(r.u32());
    REQUIRE(rt < 6);
    REQUIRE(n > 0);
    REQUIRE(n <= 32);
    const std::vector<float> x = r.floats(static_cast<std::size_t>(n));
    const std::vector<float> w = (flags & has_weights) ? r.floats(static_cast<std::size_t>(n)) : std::vector<float>{};
    const float ret = r.floats(1)[0], neg_min = r.floats(1)[0];
    const std::vector<std::uint8_t> L = r.raw(static_cast<std::size_t>(n));
    const result got = run(rt, n, nmax, flags, rmin, rdelta, nstep, x.data(), w.empty() ? nullptr : w.data());
    ++per_routine[rt];
    const bool same = ggml_golden::bits(got.ret) == ggml_golden::bits(ret) &&
                      ggml_golden::bits(got.neg_min) == ggml_golden::bits(neg_min) &&
                      std::memcmp(got.L, L.data(), static_cast<std::size_t>(n)) == 0;
    if (!same) {
      ++mismatches;
      if (first.empty()) {
        std::ostringstream s;
        s.precision(9);
        s << "record " << k << " " << routine_names[rt] << "(n " << n << ", nmax " << nmax << ", flags " << flags
          << ", nstep " << nstep << "): mixq " << got.ret << " / " << got.neg_min << ", ggml " << ret << " / "
          << neg_min;
        first = s.str();
      }
    }
  }
  REQUIRE(r.done());
  INFO(first);
  CHECK(mismatches == 0);
  for (std::size_t rt = 0; rt < 6; ++rt) {
    INFO(routine_names[rt]);
    CHECK(per_routine[rt] > 0);
  }
}

TEST_CASE("ggml nearest_int and best_index_int8 tie rules", "[ggml][search]") {
  namespace mg = mixq::ggml;
  CHECK(mg::nearest_int(2.5f) == 2);
  CHECK(mg::nearest_int(3.5f) == 4);
  CHECK(mg::nearest_int(-2.5f) == -2);
  CHECK(mg::nearest_int(-0.5f) == 0);
  CHECK(mg::nearest_int(4194303.0f) == 4194303);
  CHECK(mg::nearest_int(-4194303.0f) == -4194303);
  const std::int8_t* v = mg::iq4_nl_levels.data();
  CHECK(mg::best_index_int8(16, v, -4.5f) == 8);  // midpoint of -10 and 1: the upper entry
  CHECK(mg::best_index_int8(16, v, -4.5000005f) == 7);
  CHECK(mg::best_index_int8(16, v, -1000.0f) == 0);
  CHECK(mg::best_index_int8(16, v, 1000.0f) == 15);
  CHECK(mg::best_index_int8(16, v, 0.0f) == 8);
}
