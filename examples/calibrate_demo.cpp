// mixq calibrate demo: one synthetic linear layer with correlated inputs and a few outlier input
// channels, quantized by every calibrator of calibrate/ at 4, 3 and 2 bits. Prints the relative
// layer-output error ||(W - What) X||^2 / ||W X||^2 on the calibration tokens.
#include <mixq/calibrate.hpp>

#include <Eigen/Core>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr std::size_t M = 512, K = 1024, N = 8192;  // outputs, inputs, calibration tokens

struct layer {
  std::vector<float> w;  // M x K row-major
  mixq::layer_stats stats{K};
  Eigen::MatrixXd sigma;
  double norm = 0;  // tr(W Sigma W^T)
  std::size_t outliers = 0;
};

// ALGORITHMS.md Appendix A: W ~ N(0, 0.02^2); x = diag(sigma) (sqrt(0.9) A z / sqrt(k) + sqrt(0.1) e)
// with A K x K/8, sigma_j ~ LogNormal(0, 0.5), 1% of the channels scaled by 20.
layer make_layer() {
  layer L;
  std::mt19937 rng(2024);
  std::normal_distribution<float> nd;
  L.w.resize(M * K);
  for (auto& v : L.w) v = 0.02f * nd(rng);
  const std::size_t k = K / 8;
  Eigen::MatrixXf A(K, k);
  for (Eigen::Index i = 0; i < A.size(); ++i) A.data()[i] = nd(rng);
  std::lognormal_distribution<float> ln(0.0f, 0.5f);
  std::vector<float> sig(K);
  for (auto& s : sig) s = ln(rng);
  std::vector<std::size_t> idx(K);
  std::iota(idx.begin(), idx.end(), 0);
  std::shuffle(idx.begin(), idx.end(), rng);
  L.outliers = K / 100;
  for (std::size_t i = 0; i < L.outliers; ++i) sig[idx[i]] *= 20;
  const float a = std::sqrt(0.9f / static_cast<float>(k)), b = std::sqrt(0.1f);
  constexpr std::size_t batch = 512;  // tokens per add_batch call, as an engine would stream them
  std::vector<float> x(batch * K);
  Eigen::VectorXf z(static_cast<Eigen::Index>(k)), xa(static_cast<Eigen::Index>(K));
  for (std::size_t t0 = 0; t0 < N; t0 += batch) {
    for (std::size_t t = 0; t < batch; ++t) {
      for (auto& v : z) v = nd(rng);
      xa.noalias() = A * z;
      for (std::size_t j = 0; j < K; ++j) x[t * K + j] = sig[j] * (a * xa(static_cast<Eigen::Index>(j)) + b * nd(rng));
    }
    L.stats.add_batch(x.data(), batch);
  }
  L.sigma = L.stats.sigma();
  const Eigen::Map<const Eigen::Matrix<float, -1, -1, Eigen::RowMajor>> W(L.w.data(), M, K);
  const Eigen::MatrixXd Wd = W.cast<double>();
  L.norm = (Wd * L.sigma * Wd.transpose()).trace();
  return L;
}

// Relative output error of What (row-major M x K): tr(dW Sigma dW^T) / tr(W Sigma W^T).
double rel_error(const layer& L, const std::vector<float>& wh) {
  Eigen::MatrixXd dW(M, K);
  for (std::size_t r = 0; r < M; ++r)
    for (std::size_t c = 0; c < K; ++c) dW(r, c) = static_cast<double>(L.w[r * K + c]) - wh[r * K + c];
  return (dW * L.sigma * dW.transpose()).trace() / L.norm;
}

template <class S>
std::vector<float> dequant(const mixq::quantized_matrix<S>& q, std::span<const std::uint32_t> g_idx = {}) {
  std::vector<float> out(M * K);
  mixq::dequantize_reference(q, g_idx, out.data());
  return out;
}

struct cell {
  double err = 0, bpw = 0, seconds = 0;
};
constexpr int n_methods = 9;
const char* const method_names[n_methods] = {"RTN (min-max)", "RTN + MSE clip search", "HQQ", "AWQ", "AWQ + clip",
                                             "GPTQ", "GPTQ + act-order", "OWQ (1% fp16 cols)", "SpQR-style (tau 2)"};

// What each method stores, dequantized (the reference dequantize), and its bits per weight.
struct result {
  std::vector<float> wh;
  double bpw = 0;
};

template <class S>
void run(const layer& L, cell (&out)[n_methods]) {
  using clock = std::chrono::steady_clock;
  auto timed = [&](int i, auto&& method) {  // times the method and its dequantize, not the scoring
    const auto t0 = clock::now();
    const result r = method();
    out[i].seconds = std::chrono::duration<double>(clock::now() - t0).count();
    out[i].err = rel_error(L, r.wh);
    out[i].bpw = r.bpw;
  };
  timed(0, [&] {
    const auto q = mixq::quantize<S>(L.w.data(), M, K);
    return result{dequant(q), q.bits_per_weight()};
  });
  timed(1, [&] {
    mixq::rtn_options o;
    o.method = mixq::rtn_method::mse_clip;
    const auto q = mixq::quantize<S>(L.w.data(), M, K, o);
    return result{dequant(q), q.bits_per_weight()};
  });
  timed(2, [&] {
    const auto h = mixq::hqq<S>(L.w.data(), M, K);
    return result{dequant(h.q), h.q.bits_per_weight()};
  });
  for (int clip = 0; clip < 2; ++clip)
    timed(3 + clip, [&] {
      mixq::awq_options o;
      o.clip = clip == 1;
      const auto a = mixq::awq<S>(L.w.data(), M, K, L.stats, o);
      auto wh = dequant(a.q);
      for (std::size_t i = 0; i < wh.size(); ++i) wh[i] /= a.scales[i % K];  // 1/s is folded into the previous op
      return result{std::move(wh), a.q.bits_per_weight()};
    });
  for (int act = 0; act < 2; ++act)
    timed(5 + act, [&] {
      mixq::gptq_options o;
      o.order = act ? mixq::act_order::static_groups : mixq::act_order::none;
      const auto g = mixq::gptq<S>(L.w.data(), M, K, L.stats, o);
      return result{dequant(g.q), g.q.bits_per_weight()};
    });
  timed(7, [&] {
    mixq::gptq_options o;
    o.order = mixq::act_order::static_groups;
    const std::size_t k = (K / 100 + 2) / 2 * 2;  // ceil(1% of K), rounded up to even (OWQ)
    const auto r = mixq::owq<S>(L.w.data(), M, K, L.stats, k, o);
    std::vector<float> wh(M * K);
    mixq::dequantize_reference(r.m, wh.data());
    return result{std::move(wh), r.m.bits_per_weight()};
  });
  timed(8, [&] {
    mixq::gptq_options o;
    o.order = mixq::act_order::static_groups;
    const auto r = mixq::spqr<S>(L.w.data(), M, K, L.stats, 2.0, o);
    std::vector<float> wh(M * K);
    mixq::dequantize_reference(r.m, wh.data());
    return result{std::move(wh), r.m.bits_per_weight()};
  });
}

template <template <int> class Scheme>
void table(const layer& L, const char* title) {
  cell c4[n_methods], c3[n_methods], c2[n_methods];
  run<Scheme<4>>(L, c4);
  run<Scheme<3>>(L, c3);
  run<Scheme<2>>(L, c2);
  std::printf("\n%s\n", title);
  std::printf("%-24s %10s %10s %10s   %-20s %s\n", "method", "4 bit", "3 bit", "2 bit", "bits/weight 4/3/2", "seconds 4/3/2");
  for (int i = 0; i < n_methods; ++i)
    std::printf("%-24s %10.3e %10.3e %10.3e   %5.3f %5.3f %5.3f  %5.2f %5.2f %5.2f\n", method_names[i], c4[i].err, c3[i].err,
                c2[i].err, c4[i].bpw, c3[i].bpw, c2[i].bpw, c4[i].seconds, c3[i].seconds, c2[i].seconds);
}

template <int B>
using int_zero_g128 = mixq::scheme<mixq::uint_format<B>, mixq::group<128>, mixq::fp16, mixq::asym::int_zero<true>>;
template <int B>
using float_zero_g128 = mixq::scheme<mixq::uint_format<B>, mixq::group<128>, mixq::fp16, mixq::asym::float_zero<false>>;

}  // namespace

int main() {
  const auto t0 = std::chrono::steady_clock::now();
  const layer L = make_layer();
  std::printf("mixq calibrate demo: %zu x %zu layer, %zu calibration tokens of correlated inputs, %zu outlier channels (x20)\n",
              M, K, N, L.outliers);
  std::printf("relative layer-output error ||(W - What) X||^2 / ||W X||^2 (lower is better); statistics %.2f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  table<int_zero_g128>(L, "scheme uint<b> g128, fp16 scale, integer zero, range widened to 0 (GPTQ/AutoGPTQ layout)\n"
                          "  HQQ rounds its zero to an integer here; AWQ's scales fold into the previous op at no cost");
  table<float_zero_g128>(L, "scheme uint<b> g128, fp16 scale, fp16 float zero, raw min-max range (HQQ/SpQR convention)");
  std::printf("\nGPTQ/OWQ/SpQR: 1%% damping, block 128; act-order = static groups (plain layout, any kernel runs it).\n");
  return 0;
}
