// Per-layer plans: candidates -> items -> exact allocation -> plan -> std::variant matrices.
// Every bit counted, the uniform allocation never better, plans serialise exactly.
#include <catch2/catch.hpp>

#include <string>
#include <type_traits>
#include <vector>

#include "common.hpp"

using namespace mixq;

namespace {
using c2 = int2_g64_asym;
using c3 = int3_g128_asym;
using c4 = int4_g128_asym;
using c8 = scheme<uint8, group<128>, fp16, asym::int_zero<true>>;
using lm = layer_matrix<c2, c3, c4, c8>;

struct model {
  std::vector<alloc_test::layer_data> layers;
  std::vector<std::string> names;
};

const model& synthetic_model() {
  static const model m = [] {
    model m;
    const std::size_t shapes[4][2] = {{64, 256}, {96, 256}, {64, 384}, {128, 128}};
    for (std::size_t i = 0; i < 4; ++i) {
      m.layers.push_back(alloc_test::make_layer(shapes[i][0], shapes[i][1], 384, 100 + i));
      m.names.push_back("layer" + std::to_string(i));
    }
    // Different sensitivities: scale each layer's statistics.
    const double scale[4] = {1.0, 30.0, 0.05, 5.0};
    for (std::size_t i = 0; i < 4; ++i) m.layers[i].sigma *= scale[i];
    return m;
  }();
  return m;
}
}  // namespace

TEST_CASE("per-layer plan: budget met, every bit counted, uniform never better", "[allocate][plan]") {
  const auto& m = synthetic_model();
  for (cost_model cm : {cost_model::stored_bits, cost_model::allocated_bytes}) {
    std::vector<item> items;
    std::vector<layer_candidates<c2, c3, c4, c8>> cands;
    evaluate_options eo;
    eo.costs = cm;
    eo.keep_matrices = true;
    for (std::size_t i = 0; i < m.layers.size(); ++i) {
      const auto& L = m.layers[i];
      cands.push_back(evaluate_layer<c2, c3, c4, c8>(m.names[i], L.w.data(), L.rows, L.cols,
                                                     output_error_sensitivity(L.sigma), rtn_quantizer{}, eo));
      items.push_back(cands.back().item);
      REQUIRE(cands.back().matrices.size() == 4);
    }
    for (double bpw : {2.6, 3.0, 3.5, 4.0, 5.0}) {
      INFO("bits/weight " << bpw << " cost model " << static_cast<int>(cm));
      const std::uint64_t B = budget_for(items, bpw);
      std::uint64_t cheapest = 0;
      for (const auto& it : items) cheapest += it.options[0].bits;
      if (B < cheapest) {  // padding of small layers: the allocated-bytes model starts higher
        CHECK_THROWS_WITH(solve_exact(items, B), Catch::Contains("below the cheapest"));
        continue;
      }
      const auto a = solve_exact(items, B);
      CHECK(a.bits <= B);
      const plan p = make_plan(items, a);
      CHECK(p.total_bits() == a.bits);
      CHECK(p.total_error() == Approx(a.error));
      // Materialise: the variants hold exactly the planned schemes; plan bits == their bits.
      std::uint64_t stored = 0, allocated = 0;
      for (std::size_t i = 0; i < items.size(); ++i) {
        const auto& L = m.layers[i];
        const lm q = materialize<c2, c3, c4, c8>(p.entries[i].option, L.w.data(), L.rows, L.cols);
        CHECK(q.index() == p.entries[i].option);
        CHECK(scheme_name<c2>() == candidate_names<c2, c3, c4, c8>()[0]);
        CHECK(candidate_index<c2, c3, c4, c8>(p.entries[i].scheme) == p.entries[i].option);
        stored += matrix_bits(q, cost_model::stored_bits);
        allocated += std::visit([](const auto& x) { return static_cast<std::uint64_t>(x.bytes()) * 8; }, q);
        // The planned error is the error of this matrix.
        std::vector<float> dq(L.rows * L.cols);
        dequantize(q, dq.data(), 0, L.rows);
        CHECK(p.entries[i].error == Approx(alloc_test::output_error(L, dq.data())).epsilon(1e-9));
        // Same bytes as the kept candidate.
        const auto& kept = cands[i].matrices[p.entries[i].option];
        const auto ra = std::visit([](const auto& x) { return std::vector<std::byte>(x.raw().begin(), x.raw().end()); }, q);
        const auto rb = std::visit([](const auto& x) { return std::vector<std::byte>(x.raw().begin(), x.raw().end()); }, kept);
        CHECK(ra == rb);
      }
      CHECK(p.total_bits() == (cm == cost_model::stored_bits ? stored : allocated));
      // Uniform allocations that fit the budget are never better.
      for (std::size_t k = 0; k < 4; ++k) {
        const auto u = uniform_allocation(items, k);
        if (u.bits <= B) CHECK(a.error <= u.error * (1 + 1e-12));
      }
    }
  }
}

TEST_CASE("per-layer plan: sensitive layers get more bits", "[allocate][plan]") {
  const auto& m = synthetic_model();
  std::vector<item> items;
  for (std::size_t i = 0; i < m.layers.size(); ++i) {
    const auto& L = m.layers[i];
    items.push_back(evaluate_layer<c2, c3, c4, c8>(m.names[i], L.w.data(), L.rows, L.cols, output_error_sensitivity(L.sigma)).item);
  }
  const auto p = make_plan(items, solve_exact(items, budget_for(items, 3.5)));
  // layer1 has its statistics x30, layer2 x0.05.
  CHECK(p.entries[1].bits_per_weight() > p.entries[2].bits_per_weight());
  // Constraints: a minimum for layer2 and a tie between layer0 and layer3.
  allocation_constraints con;
  con.minimum = {{"layer2", 4.0}};
  con.ties = {{"layer0", "layer3"}};
  const auto a = solve_exact(items, budget_for(items, 4.5), con);
  CHECK(items[2].options[a.choice[2]].bits >= 4 * items[2].weights);
  CHECK(a.choice[0] == a.choice[3]);
}

TEST_CASE("per-layer candidates with a custom quantizer and other sensitivities", "[allocate][plan]") {
  const auto L = alloc_test::make_layer(32, 128, 256, 7);
  // GPTQ as the quantizer of every candidate.
  auto gptq_q = [&]<class S>(std::type_identity<S>, const float* w, std::size_t r, std::size_t c) {
    return gptq<S>(w, r, c, 2 * L.sigma).q;
  };
  const auto g = evaluate_layer<c2, c4>("l", L.w.data(), 32, 128, output_error_sensitivity(L.sigma), gptq_q);
  const auto r = evaluate_layer<c2, c4>("l", L.w.data(), 32, 128, output_error_sensitivity(L.sigma));
  CHECK(g.item.options[0].error < r.item.options[0].error);  // GPTQ beats RTN on its objective
  CHECK(g.item.options[0].bits == r.item.options[0].bits);
  const auto h = evaluate_layer<c2, c4>("l", L.w.data(), 32, 128, hessian_trace_sensitivity::exact(L.sigma));
  CHECK(h.item.options[0].error > h.item.options[1].error);
  // A layer_matrix runs the kernel of the scheme it holds.
  const lm q = materialize<c2, c3, c4, c8>(2, L.w.data(), 32, 128);
  std::vector<float> x(128, 0.5f), y1(32), y2(32);
  gemv(q, x.data(), y1.data());
  gemv(std::get<2>(q).view(), x.data(), y2.data());
  CHECK(y1 == y2);
  CHECK_THROWS_WITH((materialize<c2, c3>(2, L.w.data(), 32, 128)), Catch::Contains("out of range"));
  CHECK_THROWS_WITH((candidate_index<c2, c3>("nope")), Catch::Contains("'nope'"));
  std::vector<float> bad = L.w;
  bad[5] = std::nanf("");
  CHECK_THROWS_AS((evaluate_layer<c2, c3>("l", bad.data(), 32, 128, weight_mse_sensitivity{})), mixq::error);
}

TEST_CASE("plans print and round-trip through their text form", "[allocate][plan]") {
  std::vector<item> items = {{"attn.q", 4096, {{"int2 g64", 9000, 1.0 / 3}, {"int4 g128", 17000, 0.01}}},
                             {"mlp.up", 8192, {{"int2 g64", 18000, 0.5}, {"int4 g128", 34000, 2e-17}}}};
  const auto a = solve_exact(items, 40000);
  const plan p = make_plan(items, a);
  const std::string t = p.table();
  CHECK_THAT(t, Catch::Contains("attn.q"));
  CHECK_THAT(t, Catch::Contains("int4 g128"));
  CHECK_THAT(t, Catch::Contains("exact DP"));
  const std::string s = p.serialize();
  const plan q = plan::parse(s);
  REQUIRE(q.entries.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(q.entries[i].item == p.entries[i].item);
    CHECK(q.entries[i].option == p.entries[i].option);
    CHECK(q.entries[i].scheme == p.entries[i].scheme);
    CHECK(q.entries[i].weights == p.entries[i].weights);
    CHECK(q.entries[i].bits == p.entries[i].bits);
    CHECK(q.entries[i].error == p.entries[i].error);  // exact
  }
  CHECK(q.budget_bits == 40000);
  CHECK(q.method == p.method);
  CHECK(q.optimal == p.optimal);
  CHECK(q.resolution == p.resolution);
  CHECK(q.serialize() == s);
  CHECK(p.error_share(0) + p.error_share(1) == Approx(1.0));
  CHECK_THROWS_WITH(plan::parse("hello"), Catch::Contains("line 1"));
  std::string broken = s;
  broken.replace(broken.find("attn.q\t"), 7, "attn.q\tx");
  CHECK_THROWS_WITH(plan::parse(broken), Catch::Contains("line 7"));
  CHECK_THROWS_WITH(plan::parse(s.substr(0, s.size() - 20)), Catch::Contains("expected"));
  plan bad = p;
  bad.entries[0].item = "a\tb";
  CHECK_THROWS_WITH(bad.serialize(), Catch::Contains("tab"));
  allocation wrong = a;
  wrong.choice.pop_back();
  CHECK_THROWS_WITH(make_plan(items, wrong), Catch::Contains("choices for 2 items"));
}

TEST_CASE("OWQ-style items: the number of fp16 columns per layer", "[allocate][plan][owq]") {
  const auto d1 = alloc_test::make_layer(64, 256, 512, 21);
  const auto d2 = alloc_test::make_layer(64, 256, 512, 22);
  using s3 = scheme<uint_format<3>, per_channel, fp16, asym::int_zero<true>>;
  const std::vector<std::size_t> ks = {0, 2, 4, 8, 16};
  std::vector<item> items = {
      weak_column_item<s3>("a", d1.w.data(), 64, 256, d1.sigma, ks, output_error_sensitivity(d1.sigma)),
      weak_column_item<s3>("b", d2.w.data(), 64, 256, d2.sigma, ks, output_error_sensitivity(d2.sigma))};
  for (const auto& it : items) {
    REQUIRE(it.options.size() == ks.size());
    for (std::size_t i = 1; i < ks.size(); ++i) {
      CHECK(it.options[i].bits == it.options[0].bits + ks[i] * (16 * 64 + 32));
      CHECK(it.options[i].error <= it.options[i - 1].error);
    }
    // The outlier channels matter: 8 fp16 columns remove a large part of the error.
    CHECK(it.options[3].error < 0.7 * it.options[0].error);
  }
  // k = 0 is plain RTN.
  const auto q = quantize<s3>(d1.w.data(), 64, 256);
  std::vector<float> dq(64 * 256);
  dequantize_reference(q, dq.data());
  CHECK(items[0].options[0].error == Approx(alloc_test::output_error(d1, dq.data())).epsilon(1e-9));
  // Choose k per layer under a budget of 3.35 bits per weight (3-bit per-channel is 3.07).
  const auto a = solve_exact(items, budget_for(items, 3.35));
  CHECK(a.bits <= budget_for(items, 3.35));
  CHECK(a.error < items[0].options[0].error + items[1].options[0].error);
  CHECK_THROWS_WITH(weak_column_item<s3>("c", d1.w.data(), 64, 256, d1.sigma, {300}, weight_mse_sensitivity{}),
                    Catch::Contains("300 fp16 columns"));
}
