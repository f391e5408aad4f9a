// Mixed-precision allocation demo: a synthetic "model" of layers with different sensitivity.
// For budgets of 2.5, 3 and 4 bits per weight (everything counted: codes, scales, zeros) it
// prints the exact allocator's plan and the model's total layer-output error against the best
// uniform allocation that fits the same budget. Then one layer at the group level: SliM-LLM's
// salience allocation and the exact per-group DP against uniform 3-bit, run by the mixed GEMV.
#include <mixq/mixq.hpp>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace {

using c2 = mixq::scheme<mixq::uint_format<2>, mixq::group<128>, mixq::fp16, mixq::asym::int_zero<true>>;
using c3 = mixq::int3_g128_asym;
using c4 = mixq::int4_g128_asym;
using c5 = mixq::scheme<mixq::uint_format<5>, mixq::group<128>, mixq::fp16, mixq::asym::int_zero<true>>;
using c8 = mixq::scheme<mixq::uint8, mixq::group<128>, mixq::fp16, mixq::asym::int_zero<true>>;

struct layer {
  std::string name;
  std::size_t rows, cols;
  std::vector<float> w;
  Eigen::MatrixXd sigma;
};

// W ~ N(0, 0.02^2); inputs with correlated channels, log-normal channel scales, 1% outlier
// channels (x20) and a per-layer activation scale (how much the layer's error matters).
layer make_layer(std::string name, std::size_t rows, std::size_t cols, double act_scale, std::size_t group_cols,
                 std::uint64_t seed) {
  layer L{std::move(name), rows, cols, std::vector<float>(rows * cols), {}};
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> nd;
  for (auto& v : L.w) v = static_cast<float>(0.02 * nd(rng));
  const std::size_t k = cols / 8, tokens = 1024;
  Eigen::MatrixXd A(static_cast<Eigen::Index>(cols), static_cast<Eigen::Index>(k));
  for (Eigen::Index i = 0; i < A.size(); ++i) A.data()[i] = nd(rng);
  std::vector<double> s(cols);
  for (auto& v : s) v = act_scale * std::exp(0.5 * nd(rng));
  for (auto& v : s)
    if (rng() % 100 == 0) v *= 20;
  if (group_cols)
    for (std::size_t g0 = 0; g0 < cols; g0 += group_cols) {
      const double f = std::exp(0.8 * nd(rng));
      for (std::size_t j = g0; j < g0 + group_cols; ++j) s[j] *= f;
    }
  std::vector<float> x(tokens * cols);
  Eigen::VectorXd z(static_cast<Eigen::Index>(k));
  for (std::size_t t = 0; t < tokens; ++t) {
    for (Eigen::Index i = 0; i < z.size(); ++i) z(i) = nd(rng);
    const Eigen::VectorXd az = A * z / std::sqrt(static_cast<double>(k));
    for (std::size_t j = 0; j < cols; ++j)
      x[t * cols + j] = static_cast<float>(s[j] * (std::sqrt(0.9) * az(static_cast<Eigen::Index>(j)) + std::sqrt(0.1) * nd(rng)));
  }
  mixq::layer_stats st(cols);
  st.add_batch(x.data(), tokens);
  L.sigma = st.sigma();
  return L;
}

double output_error(const layer& L, const std::vector<float>& wq) {
  Eigen::MatrixXd D(static_cast<Eigen::Index>(L.rows), static_cast<Eigen::Index>(L.cols));
  for (std::size_t i = 0; i < L.rows * L.cols; ++i) D.data()[i] = 0;
  for (std::size_t r = 0; r < L.rows; ++r)
    for (std::size_t c = 0; c < L.cols; ++c)
      D(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(c)) = static_cast<double>(L.w[r * L.cols + c]) - wq[r * L.cols + c];
  return (D * L.sigma).cwiseProduct(D).sum();
}

}  // namespace

int main() {
  // ---- per-layer allocation ----------------------------------------------------------------
  std::vector<layer> model;
  model.push_back(make_layer("embed.proj", 256, 512, 0.2, 0, 11));
  model.push_back(make_layer("attn.qkv", 384, 512, 1.0, 0, 12));
  model.push_back(make_layer("attn.out", 256, 512, 3.0, 0, 13));
  model.push_back(make_layer("mlp.up", 512, 512, 0.6, 0, 14));
  model.push_back(make_layer("mlp.down", 256, 1024, 2.0, 0, 15));
  model.push_back(make_layer("lm_head", 256, 512, 6.0, 0, 16));

  std::vector<mixq::item> items;
  for (const auto& L : model)
    items.push_back(mixq::evaluate_layer<c2, c3, c4, c5, c8>(L.name, L.w.data(), L.rows, L.cols,
                                                             mixq::output_error_sensitivity(L.sigma))
                        .item);
  const auto names = mixq::candidate_names<c2, c3, c4, c5, c8>();
  std::printf("mixq allocate demo: %zu layers, candidates per layer:", model.size());
  for (const auto& n : names) std::printf(" [%s]", n.c_str());
  std::printf("\nerror = sum over layers of tr(dW Sigma dW^T) (layer-output MSE); bits count codes, scales and zeros\n\n");

  struct summary_row {
    double budget, plan_bpw, plan_err, uni_bpw, uni_err;
    std::string uni;
  };
  std::vector<summary_row> summary;
  for (double bpw : {2.5, 3.0, 4.0}) {
    const std::uint64_t B = mixq::budget_for(items, bpw);
    const auto a = mixq::solve_exact(items, B);
    const mixq::plan p = mixq::make_plan(items, a);
    std::printf("== budget %.2f bits/weight ==\n%s", bpw, p.table().c_str());
    // Check the plan against the matrices it describes.
    double err = 0;
    std::uint64_t bits = 0;
    for (std::size_t i = 0; i < model.size(); ++i) {
      const auto& L = model[i];
      const auto q = mixq::materialize<c2, c3, c4, c5, c8>(p.entries[i].option, L.w.data(), L.rows, L.cols);
      std::vector<float> dq(L.rows * L.cols);
      mixq::dequantize(q, dq.data(), 0, L.rows);
      err += output_error(L, dq);
      bits += mixq::matrix_bits(q);
    }
    // The best uniform allocation within the same budget.
    summary_row row{bpw, static_cast<double>(bits) / static_cast<double>(a.weights), err, 0, 0, "(none fits)"};
    for (std::size_t k = 0; k < names.size(); ++k) {
      const auto u = mixq::uniform_allocation(items, k);
      if (u.bits <= B && (row.uni_bpw == 0 || u.error < row.uni_err))
        row.uni = names[k], row.uni_bpw = u.bits_per_weight(), row.uni_err = u.error;
    }
    summary.push_back(row);
    std::printf("\n");
  }
  std::printf("== summary: plan vs the best uniform allocation within the same budget ==\n");
  std::printf("%-8s %-10s %-12s %-28s %-10s %-12s %s\n", "budget", "plan b/w", "plan error", "uniform", "unif b/w",
              "unif error", "error ratio");
  for (const auto& r : summary)
    std::printf("%-8.2f %-10.4f %-12.4e %-28s %-10.4f %-12.4e %.3f\n", r.budget, r.plan_bpw, r.plan_err, r.uni.c_str(),
                r.uni_bpw, r.uni_err, r.uni_err > 0 ? r.plan_err / r.uni_err : 0.0);
  // Uniform at the nominal bit widths (which cost more than the budget once scales are counted).
  std::printf("nominal uniform (over budget once scales/zeros count):");
  for (std::size_t k = 1; k <= 2; ++k) {
    const auto u = mixq::uniform_allocation(items, k);
    std::printf("  [%s] %.4f b/w error %.4e", names[k].c_str(), u.bits_per_weight(), u.error);
  }
  std::printf("\n\n");

  // ---- per-group allocation inside one layer (SliM-LLM) ------------------------------------
  using g2 = mixq::int2_g64_asym;
  using g3 = mixq::scheme<mixq::uint_format<3>, mixq::group<64>, mixq::fp16, mixq::asym::int_zero<true>>;
  using g4 = mixq::scheme<mixq::uint4, mixq::group<64>, mixq::fp16, mixq::asym::int_zero<true>>;
  const layer L = make_layer("mlp.gate (group-heterogeneous inputs)", 256, 1024, 1.0, 64, 21);
  const auto uni = mixq::quantize<g3>(L.w.data(), L.rows, L.cols);
  std::vector<float> dq(L.rows * L.cols);
  mixq::dequantize(uni.view(), dq.data());
  const double e_uni = output_error(L, dq);
  const auto s = mixq::slim_allocate<g2, g3, g4>(L.w.data(), L.rows, L.cols, 64, L.sigma);
  const auto ga = mixq::allocate_groups<g2, g3, g4>(L.w.data(), L.rows, L.cols, 64, mixq::output_error_sensitivity(L.sigma),
                                                    mixq::uniform_group_bits<g2, g3, g4>(1, L.rows, L.cols, 64));
  mixq::dequantize(ga.matrix, dq.data());
  const double e_dp = output_error(L, dq);
  std::printf("== one layer, 16 column groups of 64, average 3 bits (%s) ==\n", L.name.c_str());
  std::printf("uniform 3-bit g64        : %.4f b/w  output error %.4e\n", uni.bits_per_weight(), e_uni);
  std::printf("SliM-LLM SBA (salience)  : %.4f b/w  output error %.4e  (%zu groups at 2 bits, %zu at 4)  ratio %.3f\n",
              s.matrix.bits_per_weight(), s.error, s.pairs, s.pairs, s.error / e_uni);
  std::printf("exact per-group DP       : %.4f b/w  output error %.4e  ratio %.3f\n", ga.matrix.bits_per_weight(), e_dp,
              e_dp / e_uni);
  std::printf("group bits (SBA):");
  for (auto g : s.group_scheme) std::printf(" %d", 2 + g);
  std::printf("\ngroup bits (DP) :");
  for (auto g : ga.matrix.group_scheme()) std::printf(" %d", 2 + g);
  // The mixed matrix runs: one uniform kernel per column slab.
  std::vector<float> x(L.cols), y(L.rows), yr(L.rows);
  for (std::size_t j = 0; j < L.cols; ++j) x[j] = std::sin(0.1f * static_cast<float>(j));
  mixq::gemv(ga.matrix, x.data(), y.data());
  mixq::gemv_reference(ga.matrix, x.data(), yr.data(), 0, L.rows);
  double md = 0;
  for (std::size_t r = 0; r < L.rows; ++r) md = std::max(md, std::fabs(static_cast<double>(y[r]) - yr[r]));
  std::printf("\nmixed GEMV (%zu slabs, kernel path %s): max |y - reference| = %.2e\n", ga.matrix.slabs().size(),
              mixq::kernel_isa(), md);
  return 0;
}
