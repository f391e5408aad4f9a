// The exact allocator: DP == brute force, budgets, constraints, resolution, the Lagrangian
// approximation, and the HAWQ-V3 ResNet18 fixture of ALGORITHMS.md 4.5.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "common.hpp"

using namespace mixq;

namespace {

std::vector<item> random_items(std::mt19937_64& rng, std::size_t L, std::size_t Kmax, std::uint64_t unit) {
  std::vector<item> items(L);
  std::uniform_int_distribution<std::size_t> nk(1, Kmax);
  std::uniform_int_distribution<std::uint64_t> cost(1, 60);
  std::uniform_real_distribution<double> err(0.0, 10.0);
  for (std::size_t i = 0; i < L; ++i) {
    items[i].name = "item" + std::to_string(i);
    items[i].weights = 100;
    const std::size_t K = nk(rng);
    const std::uint64_t meta = 7 * (rng() % 5);  // a per-item constant (flags, indices)
    for (std::size_t k = 0; k < K; ++k)
      items[i].options.push_back({"opt" + std::to_string(k), meta + unit * cost(rng), err(rng)});
  }
  return items;
}

std::pair<std::uint64_t, std::uint64_t> range(const std::vector<item>& items) {
  std::uint64_t lo = 0, hi = 0;
  for (const auto& it : items) {
    std::uint64_t a = UINT64_MAX, b = 0;
    for (const auto& o : it.options) a = std::min(a, o.bits), b = std::max(b, o.bits);
    lo += a, hi += b;
  }
  return {lo, hi};
}

}  // namespace

TEST_CASE("DP equals brute force on random instances", "[allocate][knapsack]") {
  std::mt19937_64 rng(42);
  for (int trial = 0; trial < 150; ++trial) {
    const std::size_t L = 1 + rng() % 8;
    const std::uint64_t unit = (trial % 3 == 0) ? 1 : (trial % 3 == 1 ? 8 : 24);
    const auto items = random_items(rng, L, 4, unit);
    const auto [lo, hi] = range(items);
    const std::uint64_t B = lo + (hi > lo ? rng() % (hi - lo + 1) : 0);
    const auto a = solve_exact(items, B);
    const auto bf = alloc_test::brute_force(items, B);
    INFO("trial " << trial << " L " << L << " budget " << B);
    REQUIRE(a.optimal);
    REQUIRE(a.method == "exact DP");
    CHECK(a.bits <= B);
    CHECK(a.error == Approx(bf.error).epsilon(1e-12).margin(1e-12));
    // Every bit counted: the reported bits are the sum of the chosen options' bits.
    std::uint64_t bits = 0;
    double e = 0;
    for (std::size_t i = 0; i < L; ++i) bits += items[i].options[a.choice[i]].bits, e += items[i].options[a.choice[i]].error;
    CHECK(bits == a.bits);
    CHECK(e == Approx(a.error).epsilon(1e-15));
    // The Lagrangian is feasible and never better.
    const auto lg = solve_lagrangian(items, B);
    CHECK(lg.bits <= B);
    CHECK_FALSE(lg.optimal);
    CHECK(lg.error >= a.error - 1e-9);
  }
}

TEST_CASE("exact-budget mode hits the budget whenever it is reachable", "[allocate][knapsack]") {
  std::mt19937_64 rng(7);
  int reachable = 0, unreachable = 0;
  for (int trial = 0; trial < 100; ++trial) {
    const auto items = random_items(rng, 1 + rng() % 6, 4, 3);
    const auto [lo, hi] = range(items);
    const std::uint64_t B = lo + (hi > lo ? rng() % (hi - lo + 1) : 0);
    const auto bf = alloc_test::brute_force(items, B);
    solver_options o;
    o.mode = budget_mode::exactly;
    if (bf.exact_reachable) {
      ++reachable;
      const auto a = solve_exact(items, B, {}, o);
      CHECK(a.bits == B);
      // Optimal among allocations of exactly B bits.
      double best = 1e300;
      std::vector<std::size_t> c(items.size(), 0);
      for (;;) {
        std::uint64_t b = 0;
        double e = 0;
        for (std::size_t i = 0; i < items.size(); ++i) b += items[i].options[c[i]].bits, e += items[i].options[c[i]].error;
        if (b == B) best = std::min(best, e);
        std::size_t i = 0;
        while (i < items.size() && ++c[i] == items[i].options.size()) c[i++] = 0;
        if (i == items.size()) break;
      }
      CHECK(a.error == Approx(best).epsilon(1e-12).margin(1e-12));
    } else {
      ++unreachable;
      CHECK_THROWS_AS(solve_exact(items, B, {}, o), mixq::error);
    }
  }
  CHECK(reachable > 10);
  CHECK(unreachable > 0);
}

TEST_CASE("ties and minimum bits match brute force", "[allocate][knapsack]") {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 60; ++trial) {
    const std::size_t L = 4 + rng() % 4;
    auto items = random_items(rng, L, 3, 5);
    for (auto& it : items) {  // equal option counts so that any two items can be tied
      while (it.options.size() < 3) it.options.push_back({"pad", it.options.back().bits + 5, it.options.back().error / 2});
    }
    allocation_constraints con;
    con.ties = {{"item0", "item2"}, {"item1", "item3"}};
    const double mb = static_cast<double>(items[L - 1].options[1].bits) / 100.0;
    con.minimum = {{"item" + std::to_string(L - 1), mb}};
    std::uint64_t lo = 0, hi = 0;
    {
      // cheapest / richest under the constraints, by brute force over everything
      const auto all = alloc_test::brute_force(items, UINT64_MAX, {{0, 2}, {1, 3}}, {{L - 1, mb}});
      (void)all;
      auto [a, b] = range(items);
      lo = a, hi = b;
    }
    const std::uint64_t B = lo + rng() % (hi - lo + 1);
    const auto bf = alloc_test::brute_force(items, B, {{0, 2}, {1, 3}}, {{L - 1, mb}});
    INFO("trial " << trial);
    if (!std::isfinite(bf.error)) {
      CHECK_THROWS_AS(solve_exact(items, B, con), mixq::error);
      continue;
    }
    allocation a;
    try {
      a = solve_exact(items, B, con);
    } catch (const mixq::error& e) {
      // Budgets above the richest *constrained* allocation are rejected; brute force agrees it
      // is feasible, so check that this is the reason.
      CHECK(std::string(e.what()).find("above the richest") != std::string::npos);
      continue;
    }
    CHECK(a.error == Approx(bf.error).epsilon(1e-12).margin(1e-12));
    CHECK(a.choice[0] == a.choice[2]);
    CHECK(a.choice[1] == a.choice[3]);
    CHECK(static_cast<double>(items[L - 1].options[a.choice[L - 1]].bits) >= mb * 100 * (1 - 1e-12));
  }
}

TEST_CASE("coarse resolution stays within the budget and reports itself", "[allocate][knapsack]") {
  std::mt19937_64 rng(3);
  for (int trial = 0; trial < 40; ++trial) {
    const auto items = random_items(rng, 2 + rng() % 6, 4, 1);
    const auto [lo, hi] = range(items);
    const std::uint64_t B = lo + rng() % (hi - lo + 1);
    solver_options o;
    o.resolution = 16;
    const auto a = solve_exact(items, B, {}, o);
    CHECK(a.bits <= B);
    CHECK(a.resolution == 16);
    const auto exact = solve_exact(items, B);
    CHECK(a.error >= exact.error - 1e-12);
    // Automatic coarsening when the exact DP would need too many cells.
    solver_options small;
    small.max_cells = 64;
    const auto c = solve_exact(items, B, {}, small);
    CHECK(c.bits <= B);
    CHECK(c.error >= exact.error - 1e-12);
    if (!c.optimal) {
      CHECK(c.resolution > 1);
      CHECK(c.method.find("rounded up") != std::string::npos);
    }
  }
}

TEST_CASE("Pareto frontier agrees with the DP at every budget", "[allocate][knapsack]") {
  std::mt19937_64 rng(5);
  const auto items = random_items(rng, 6, 4, 2);
  const auto front = pareto_frontier(items);
  REQUIRE(front.size() >= 2);
  for (std::size_t i = 1; i < front.size(); ++i) {
    CHECK(front[i].bits > front[i - 1].bits);
    CHECK(front[i].error < front[i - 1].error);
  }
  const auto [lo, hi] = range(items);
  for (std::uint64_t B = lo; B <= hi; B += 3) {
    const auto a = solve_exact(items, B);
    double best = 1e300;
    for (const auto& p : front)
      if (p.bits <= B) best = std::min(best, p.error);
    CHECK(a.error == Approx(best).epsilon(1e-12).margin(1e-12));
  }
}

TEST_CASE("Lagrangian equals the DP at a convex-hull vertex", "[allocate][knapsack]") {
  // Convex curves (decreasing marginal gains): the Lagrangian solutions are exactly the hull
  // vertices; a budget equal to one of them is solved optimally.
  std::vector<item> items;
  for (int i = 0; i < 5; ++i) {
    item it{"layer" + std::to_string(i), 1000, {}};
    for (int b = 2; b <= 8; b += 2)
      it.options.push_back({"int" + std::to_string(b), static_cast<std::uint64_t>(1000 * b), (i + 1) * std::pow(4.0, -b)});
    items.push_back(it);
  }
  const auto lg = solve_lagrangian(items, 5 * 1000 * 5);
  const auto dp = solve_exact(items, lg.bits);
  CHECK(lg.error == Approx(dp.error).epsilon(1e-12));
  CHECK(lg.method == "Lagrangian (approximate)");
}

namespace {
// HAWQ's ILP.ipynb, ResNet18 (19 layers): Hutchinson trace / #params, ||W - Q8(W)||^2,
// ||W - Q4(W)||^2, parameter counts. Ties x4 = x6, x9 = x11, x14 = x16.
const double kTrace[19] = {0.06857826, 0.03162379, 0.03298575, 0.01205663, 0.02222431, 0.00596336, 0.06931772,
                           0.00807129, 0.00372905, 0.00530698, 0.00209011, 0.00737569, 0.00210454, 0.00151197,
                           0.00158041, 0.00078146, 0.00451841, 0.00098745, 0.00072944};
const double kDelta8[19] = {0.0235, 0.0125, 0.0102, 0.0082, 0.0145, 0.0344, 0.0023, 0.0287, 0.0148, 0.0333,
                            0.0682, 0.0027, 0.0448, 0.0336, 0.0576, 0.1130, 0.0102, 0.0947, 0.0532};
const double kDelta4[19] = {6.7430, 3.9691, 3.3281, 2.6796, 4.7277, 10.5966, 0.6827, 9.0942, 4.8857, 10.7599,
                            21.7546, 0.8603, 14.5324, 10.9651, 18.7706, 36.4044, 3.1572, 29.6994, 17.4016};
const std::uint64_t kParams[19] = {36864,  36864,  36864,  36864,  73728,   147456,  8192,   147456,  147456, 294912,
                                   589824, 32768,  589824, 589824, 1179648, 2359296, 131072, 2359296, 2359296};

std::vector<item> resnet18_items() {
  std::vector<item> items;
  for (int i = 0; i < 19; ++i) {
    item it{"layer" + std::to_string(i), kParams[i], {}};
    it.options.push_back({"int4", kParams[i] * 4, kTrace[i] * kDelta4[i]});  // Omega_i(b) = trace_i * Delta_i(b)
    it.options.push_back({"int8", kParams[i] * 8, kTrace[i] * kDelta8[i]});
    items.push_back(it);
  }
  return items;
}
}  // namespace

TEST_CASE("HAWQ-V3 ResNet18 fixture: the published optima at 25/50/75% budgets", "[allocate][knapsack][hawq]") {
  const auto items = resnet18_items();
  allocation_constraints con;
  con.ties = {{"layer4", "layer6"}, {"layer9", "layer11"}, {"layer14", "layer16"}};
  std::uint64_t P = 0;
  for (auto p : kParams) P += p;
  struct row {
    double f;
    double dp, lagrange;
    std::vector<int> bits;
  };
  const std::vector<row> rows = {
      {0.25, 0.118300, 0.134828, {8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 4, 4, 4, 4, 4}},
      {0.50, 0.074506, 0.074506, {8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 4, 8, 4, 4}},
      {0.75, 0.033441, 0.045273, {8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 4, 8, 8, 8, 8, 4}},
  };
  for (const auto& r : rows) {
    // S = size4 + f (size8 - size4), in bits: 4P + f 4P.
    const auto B = static_cast<std::uint64_t>(4 * P + r.f * 4 * P);
    const auto a = solve_exact(items, B, con);
    INFO("f = " << r.f);
    CHECK(a.optimal);
    CHECK(a.error == Approx(r.dp).margin(5e-7));
    std::vector<int> bits;
    for (auto c : a.choice) bits.push_back(c == 0 ? 4 : 8);
    CHECK(bits == r.bits);
    CHECK(a.bits <= B);
    // Brute force over the 2^16 free choices agrees.
    const auto bf = alloc_test::brute_force(items, B, {{4, 6}, {9, 11}, {14, 16}});
    CHECK(bf.error == Approx(a.error).epsilon(1e-12));
    // The Lagrangian (approximate) reproduces ALGORITHMS.md's numbers: 14% and 35% worse.
    const auto lg = solve_lagrangian(items, B, con);
    CHECK(lg.error == Approx(r.lagrange).margin(5e-7));
    CHECK(lg.bits <= B);
    // Size in MB over the 19 layers, as the notebook counts it.
    const double mb = static_cast<double>(a.bits) / 8 / 1024 / 1024;
    if (r.f == 0.25) CHECK(mb == Approx(6.640625));
    if (r.f == 0.50) CHECK(mb == Approx(7.265625));
    if (r.f == 0.75) CHECK(mb == Approx(9.234375));
  }
}

TEST_CASE("bad input gives clear errors", "[allocate][knapsack][errors]") {
  auto msg = [](auto&& f) {
    try {
      f();
    } catch (const mixq::error& e) {
      return std::string(e.what());
    }
    return std::string("no exception");
  };
  std::vector<item> items = {{"a", 10, {{"lo", 20, 1.0}, {"hi", 40, 0.5}}}, {"b", 10, {{"lo", 20, 2.0}, {"hi", 40, 0.1}}}};
  CHECK_THAT(msg([&] { solve_exact({}, 100); }), Catch::Contains("empty"));
  CHECK_THAT(msg([&] { solve_exact(items, 39); }), Catch::Contains("below the cheapest allocation, 40 bits"));
  CHECK_THAT(msg([&] { solve_exact(items, 81); }), Catch::Contains("above the richest allocation, 80 bits"));
  CHECK_THAT(msg([&] { solve_lagrangian(items, 39); }), Catch::Contains("below the cheapest"));
  auto bad = items;
  bad[1].options[0].error = std::nan("");
  CHECK_THAT(msg([&] { solve_exact(bad, 60); }), Catch::Contains("item 1 ('b') option 0 ('lo') has error nan"));
  bad = items;
  bad[0].options[1].error = -1;
  CHECK_THAT(msg([&] { solve_exact(bad, 60); }), Catch::Contains("finite and >= 0"));
  bad = items;
  bad[0].options.clear();
  CHECK_THAT(msg([&] { solve_exact(bad, 60); }), Catch::Contains("has no options"));
  bad = items;
  bad[1].name = "a";
  CHECK_THAT(msg([&] { solve_exact(bad, 60); }), Catch::Contains("appears twice"));
  bad = items;
  bad[0].weights = 0;
  CHECK_THAT(msg([&] { solve_exact(bad, 60); }), Catch::Contains("weights = 0"));
  allocation_constraints con;
  con.minimum = {{"c", 3.0}};
  CHECK_THAT(msg([&] { solve_exact(items, 60, con); }), Catch::Contains("names item 'c'"));
  con.minimum = {{"a", 5.0}};
  CHECK_THAT(msg([&] { solve_exact(items, 60, con); }), Catch::Contains("satisfies its minimum-bits"));
  con.minimum = {{"a", 3.0}};
  CHECK(solve_exact(items, 60, con).choice == std::vector<std::size_t>{1, 0});
  allocation_constraints tie;
  auto three = items;
  three[1].options.push_back({"x", 80, 0.0});
  tie.ties = {{"a", "b"}};
  CHECK_THAT(msg([&] { solve_exact(three, 60, tie); }), Catch::Contains("equally many options"));
  CHECK_THAT(msg([&] { budget_for(items, std::nan("")); }), Catch::Contains("bits_per_weight"));
  CHECK(budget_for(items, 3.0) == 60);
}
