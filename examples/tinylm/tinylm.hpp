// tinylm: a byte-level Llama-style transformer (see data/MODEL_README.md) running on mixq
// quantized weights. Written the way an engine author would: one struct of weights, a prompt
// path (GEMM over a whole window) and a decode path (GEMV per token with a KV cache).
#pragma once
#include <mixq/io/safetensors.hpp>
#include <mixq/mixq.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace tinylm {

struct config {
  std::size_t vocab = 256, dim = 256, layers = 4, heads = 4, head_dim = 64, hidden = 768, max_seq = 256;
  float norm_eps = 1e-5f;
  double rope_theta = 10000.0;
};

/// A linear layer y = W x with W of shape out x in, whatever its storage: the model only needs
/// GEMV (decode) and GEMM (prompt: X is n x in row-major, Y is n x out row-major).
struct linear {
  std::size_t out = 0, in = 0;
  double stored_bits = 0;  ///< bits of the stored weight (codes, scales, zeros)
  std::function<void(const float* x, float* y)> gemv;
  std::function<void(const float* X, std::size_t n, float* Y)> gemm;
};

/// A linear layer over a mixq quantized matrix, run by mixq's kernels.
template <class S>
linear make_linear(mixq::quantized_matrix<S> q) {
  auto m = std::make_shared<mixq::quantized_matrix<S>>(std::move(q));
  linear l;
  l.out = m->rows();
  l.in = m->cols();
  l.stored_bits = m->bits_per_weight() * static_cast<double>(m->rows() * m->cols());
  l.gemv = [m](const float* x, float* y) { mixq::gemv(m->view(), x, y); };
  l.gemm = [m](const float* X, std::size_t n, float* Y) { mixq::gemm(m->view(), X, n, m->cols(), Y, m->rows()); };
  return l;
}

/// A linear layer over a mixq mixed-precision matrix (per column group schemes), run by the
/// mixed kernels (each slab with its own scheme's kernel).
template <class... Ss>
linear make_linear(mixq::mixed_matrix<Ss...> q) {
  auto m = std::make_shared<mixq::mixed_matrix<Ss...>>(std::move(q));
  linear l;
  l.out = m->rows();
  l.in = m->cols();
  l.stored_bits = static_cast<double>(m->stored_bits());
  l.gemv = [m](const float* x, float* y) { mixq::gemv(*m, x, y); };
  l.gemm = [m](const float* X, std::size_t n, float* Y) { mixq::gemm(*m, X, n, m->cols(), Y, m->rows()); };
  return l;
}

/// A linear layer over a ggml tensor (rows of ggml blocks, as llama.cpp stores them), run by
/// mixq's ggml block kernels.
template <class T>
linear make_ggml_linear(std::vector<std::uint8_t> blocks, std::size_t out, std::size_t in) {
  auto data = std::make_shared<std::vector<std::uint8_t>>(std::move(blocks));
  const mixq::ggml_matrix_view<T> v{data->data(), out, in};
  if (data->size() != v.bytes())
    throw mixq::error("tinylm::make_ggml_linear: " + std::to_string(data->size()) + " bytes for a " + std::to_string(out) +
                      " x " + std::to_string(in) + " tensor; expected " + std::to_string(v.bytes()));
  linear l;
  l.out = out;
  l.in = in;
  l.stored_bits = 8.0 * static_cast<double>(v.bytes());
  l.gemv = [data, v](const float* x, float* y) { mixq::gemv(v, x, y); };
  l.gemm = [data, v](const float* X, std::size_t n, float* Y) { mixq::gemm(v, X, n, v.cols, Y, v.rows); };
  return l;
}

/// A per-layer plan's result: whichever candidate the allocator chose.
template <class... Ss>
linear make_linear(mixq::layer_matrix<Ss...> q) {
  return std::visit([](auto& m) { return make_linear(std::move(m)); }, q);
}

/// AWQ: the stored matrix is Q(W diag(s)), so the layer computes Q(W diag(s)) (x / s). An
/// engine folds 1/s into the operation that produces x (mixq::fold_awq_scales_into_norm); here
/// q, k and v share one RMSNorm but have their own s, so the division stays in the layer
/// (K multiplies per token, next to K x out multiply-adds).
inline linear with_input_scales(linear base, std::vector<float> s) {
  auto inv = std::make_shared<std::vector<float>>(s.size());
  for (std::size_t j = 0; j < s.size(); ++j) (*inv)[j] = 1.0f / s[j];
  linear l = base;
  l.gemv = [base, inv](const float* x, float* y) {
    std::vector<float> xs(base.in);
    for (std::size_t j = 0; j < base.in; ++j) xs[j] = x[j] * (*inv)[j];
    base.gemv(xs.data(), y);
  };
  l.gemm = [base, inv](const float* X, std::size_t n, float* Y) {
    std::vector<float> xs(n * base.in);
    for (std::size_t t = 0; t < n; ++t)
      for (std::size_t j = 0; j < base.in; ++j) xs[t * base.in + j] = X[t * base.in + j] * (*inv)[j];
    base.gemm(xs.data(), n, Y);
  };
  return l;
}

/// The fp32 baseline: plain row-major weights, Eigen products.
inline linear make_fp32_linear(std::vector<float> w, std::size_t out, std::size_t in) {
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  auto W = std::make_shared<RowMajor>(Eigen::Map<const RowMajor>(w.data(), static_cast<Eigen::Index>(out),
                                                                   static_cast<Eigen::Index>(in)));
  linear l;
  l.out = out;
  l.in = in;
  l.stored_bits = 32.0 * static_cast<double>(out * in);
  l.gemv = [W](const float* x, float* y) {
    Eigen::Map<Eigen::VectorXf>(y, W->rows()).noalias() = *W * Eigen::Map<const Eigen::VectorXf>(x, W->cols());
  };
  l.gemm = [W](const float* X, std::size_t n, float* Y) {
    const auto N = static_cast<Eigen::Index>(n);
    Eigen::Map<RowMajor>(Y, N, W->rows()).noalias() = Eigen::Map<const RowMajor>(X, N, W->cols()) * W->transpose();
  };
  return l;
}

/// fp32 weights as read from the file, by tensor name.
struct fp32_weights {
  mixq::safetensors::file file;
  std::vector<float> get(const std::string& name) const {
    const auto& t = file.tensor(name);
    return file.to_float(t);
  }
};

/// The names of the 29 linear layers, in a fixed order (per layer q k v o w1 w2 w3, then output).
inline std::vector<std::string> linear_names(const config& c) {
  std::vector<std::string> names;
  for (std::size_t l = 0; l < c.layers; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    for (const char* n : {"attention.wq", "attention.wk", "attention.wv", "attention.wo", "feed_forward.w1",
                          "feed_forward.w2", "feed_forward.w3"})
      names.push_back(p + n + ".weight");
  }
  names.push_back("output.weight");
  return names;
}

struct model {
  config cfg;
  std::vector<float> tok_embeddings, final_norm;
  std::vector<std::vector<float>> attention_norm, ffn_norm;
  struct layer {
    linear wq, wk, wv, wo, w1, w2, w3;
  };
  std::vector<layer> layers;
  linear output;
  std::vector<float> rope_cos, rope_sin;  // [max_seq][head_dim/2]

  /// Bits per weight over all linear layers (the embedding table stays fp32, as a lookup).
  double linear_bits_per_weight() const {
    double bits = output.stored_bits, n = static_cast<double>(output.out * output.in);
    for (const auto& L : layers)
      for (const linear* l : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w1, &L.w2, &L.w3})
        bits += l->stored_bits, n += static_cast<double>(l->out * l->in);
    return bits / n;
  }
};

/// Builds the model; `make` turns (name, fp32 weights, out, in) into a linear layer.
using linear_factory = std::function<linear(const std::string&, std::vector<float>, std::size_t, std::size_t)>;

inline model load(const fp32_weights& w, const linear_factory& make, const config& c = {}) {
  model m;
  m.cfg = c;
  m.tok_embeddings = w.get("tok_embeddings.weight");
  m.final_norm = w.get("norm.weight");
  for (std::size_t l = 0; l < c.layers; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    m.attention_norm.push_back(w.get(p + "attention_norm.weight"));
    m.ffn_norm.push_back(w.get(p + "ffn_norm.weight"));
    auto lin = [&](const std::string& n, std::size_t out, std::size_t in) { return make(p + n, w.get(p + n), out, in); };
    m.layers.push_back({lin("attention.wq.weight", c.dim, c.dim), lin("attention.wk.weight", c.dim, c.dim),
                        lin("attention.wv.weight", c.dim, c.dim), lin("attention.wo.weight", c.dim, c.dim),
                        lin("feed_forward.w1.weight", c.hidden, c.dim), lin("feed_forward.w2.weight", c.dim, c.hidden),
                        lin("feed_forward.w3.weight", c.hidden, c.dim)});
  }
  m.output = make("output.weight", w.get("output.weight"), c.vocab, c.dim);
  // Rotary angles in double, rounded to fp32 (as the model card describes).
  const std::size_t half = c.head_dim / 2;
  m.rope_cos.resize(c.max_seq * half);
  m.rope_sin.resize(c.max_seq * half);
  for (std::size_t t = 0; t < c.max_seq; ++t)
    for (std::size_t j = 0; j < half; ++j) {
      const double angle = static_cast<double>(t) * std::pow(c.rope_theta, -2.0 * static_cast<double>(j) / static_cast<double>(c.head_dim));
      m.rope_cos[t * half + j] = static_cast<float>(std::cos(angle));
      m.rope_sin[t * half + j] = static_cast<float>(std::sin(angle));
    }
  return m;
}

namespace ops {
inline void rmsnorm(const float* v, const float* g, float* out, std::size_t d, float eps) {
  double ss = 0;
  for (std::size_t i = 0; i < d; ++i) ss += static_cast<double>(v[i]) * v[i];
  const float inv = 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(d)) + eps);
  for (std::size_t i = 0; i < d; ++i) out[i] = g[i] * (v[i] * inv);
}
// Rotate-half pairing: element j with j + hd/2.
inline void rope(float* x, const float* c, const float* s, std::size_t hd) {
  const std::size_t h = hd / 2;
  for (std::size_t j = 0; j < h; ++j) {
    const float a = x[j], b = x[j + h];
    x[j] = a * c[j] - b * s[j];
    x[j + h] = b * c[j] + a * s[j];
  }
}
inline float silu(float z) { return z / (1.0f + std::exp(-z)); }
}  // namespace ops

/// Prompt path: logits (T x vocab, row-major) of a window of T <= max_seq bytes, every linear
/// layer run as one GEMM over the T positions.
inline std::vector<float> forward_window(const model& m, const unsigned char* bytes, std::size_t T) {
  const config& c = m.cfg;
  const std::size_t d = c.dim, F = c.hidden, hd = c.head_dim, half = hd / 2;
  std::vector<float> h(T * d), a(T * d), q(T * d), k(T * d), v(T * d), o(T * d), tmp(T * d);
  std::vector<float> g(T * F), u(T * F), p(T);
  for (std::size_t t = 0; t < T; ++t) std::copy_n(&m.tok_embeddings[bytes[t] * d], d, &h[t * d]);
  const float inv_sqrt_hd = 1.0f / std::sqrt(static_cast<float>(hd));
  for (std::size_t l = 0; l < c.layers; ++l) {
    const auto& L = m.layers[l];
    for (std::size_t t = 0; t < T; ++t) ops::rmsnorm(&h[t * d], m.attention_norm[l].data(), &a[t * d], d, c.norm_eps);
    L.wq.gemm(a.data(), T, q.data());
    L.wk.gemm(a.data(), T, k.data());
    L.wv.gemm(a.data(), T, v.data());
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t n = 0; n < c.heads; ++n) {
        ops::rope(&q[t * d + n * hd], &m.rope_cos[t * half], &m.rope_sin[t * half], hd);
        ops::rope(&k[t * d + n * hd], &m.rope_cos[t * half], &m.rope_sin[t * half], hd);
      }
    for (std::size_t n = 0; n < c.heads; ++n)
      for (std::size_t t = 0; t < T; ++t) {
        const float* qt = &q[t * d + n * hd];
        float mx = -INFINITY;
        for (std::size_t s = 0; s <= t; ++s) {
          float dot = 0;
          for (std::size_t i = 0; i < hd; ++i) dot += qt[i] * k[s * d + n * hd + i];
          p[s] = dot * inv_sqrt_hd;
          mx = std::max(mx, p[s]);
        }
        float sum = 0;
        for (std::size_t s = 0; s <= t; ++s) sum += (p[s] = std::exp(p[s] - mx));
        float* ot = &o[t * d + n * hd];
        std::fill_n(ot, hd, 0.0f);
        for (std::size_t s = 0; s <= t; ++s)
          for (std::size_t i = 0; i < hd; ++i) ot[i] += (p[s] / sum) * v[s * d + n * hd + i];
      }
    L.wo.gemm(o.data(), T, tmp.data());
    for (std::size_t i = 0; i < T * d; ++i) h[i] += tmp[i];
    for (std::size_t t = 0; t < T; ++t) ops::rmsnorm(&h[t * d], m.ffn_norm[l].data(), &a[t * d], d, c.norm_eps);
    L.w1.gemm(a.data(), T, g.data());
    L.w3.gemm(a.data(), T, u.data());
    for (std::size_t i = 0; i < T * F; ++i) g[i] = ops::silu(g[i]) * u[i];
    L.w2.gemm(g.data(), T, tmp.data());
    for (std::size_t i = 0; i < T * d; ++i) h[i] += tmp[i];
  }
  for (std::size_t t = 0; t < T; ++t) ops::rmsnorm(&h[t * d], m.final_norm.data(), &a[t * d], d, c.norm_eps);
  std::vector<float> logits(T * c.vocab);
  m.output.gemm(a.data(), T, logits.data());
  return logits;
}

/// Decode path: one token at a time with a KV cache, every linear layer a GEMV.
class decoder {
 public:
  explicit decoder(const model& m)
      : m_(m), k_(m.cfg.layers, std::vector<float>(m.cfg.max_seq * m.cfg.dim)),
        v_(m.cfg.layers, std::vector<float>(m.cfg.max_seq * m.cfg.dim)) {}

  void reset() { pos_ = 0; }
  std::size_t position() const { return pos_; }

  /// Feeds one byte, returns the logits for the next one (vocab floats, valid until the next call).
  const std::vector<float>& step(unsigned char byte) {
    const config& c = m_.cfg;
    const std::size_t d = c.dim, hd = c.head_dim, half = hd / 2, t = pos_;
    if (t >= c.max_seq) throw mixq::error("tinylm::decoder: context of " + std::to_string(c.max_seq) + " bytes is full");
    h_.assign(&m_.tok_embeddings[byte * d], &m_.tok_embeddings[byte * d] + d);
    a_.resize(d), q_.resize(d), o_.resize(d), tmp_.resize(d), g_.resize(c.hidden), u_.resize(c.hidden), p_.resize(c.max_seq);
    const float inv_sqrt_hd = 1.0f / std::sqrt(static_cast<float>(hd));
    for (std::size_t l = 0; l < c.layers; ++l) {
      const auto& L = m_.layers[l];
      float* kt = &k_[l][t * d];
      float* vt = &v_[l][t * d];
      ops::rmsnorm(h_.data(), m_.attention_norm[l].data(), a_.data(), d, c.norm_eps);
      L.wq.gemv(a_.data(), q_.data());
      L.wk.gemv(a_.data(), kt);
      L.wv.gemv(a_.data(), vt);
      for (std::size_t n = 0; n < c.heads; ++n) {
        ops::rope(&q_[n * hd], &m_.rope_cos[t * half], &m_.rope_sin[t * half], hd);
        ops::rope(&kt[n * hd], &m_.rope_cos[t * half], &m_.rope_sin[t * half], hd);
      }
      for (std::size_t n = 0; n < c.heads; ++n) {
        float mx = -INFINITY;
        for (std::size_t s = 0; s <= t; ++s) {
          float dot = 0;
          for (std::size_t i = 0; i < hd; ++i) dot += q_[n * hd + i] * k_[l][s * d + n * hd + i];
          p_[s] = dot * inv_sqrt_hd;
          mx = std::max(mx, p_[s]);
        }
        float sum = 0;
        for (std::size_t s = 0; s <= t; ++s) sum += (p_[s] = std::exp(p_[s] - mx));
        std::fill_n(&o_[n * hd], hd, 0.0f);
        for (std::size_t s = 0; s <= t; ++s)
          for (std::size_t i = 0; i < hd; ++i) o_[n * hd + i] += (p_[s] / sum) * v_[l][s * d + n * hd + i];
      }
      L.wo.gemv(o_.data(), tmp_.data());
      for (std::size_t i = 0; i < d; ++i) h_[i] += tmp_[i];
      ops::rmsnorm(h_.data(), m_.ffn_norm[l].data(), a_.data(), d, c.norm_eps);
      L.w1.gemv(a_.data(), g_.data());
      L.w3.gemv(a_.data(), u_.data());
      for (std::size_t i = 0; i < c.hidden; ++i) g_[i] = ops::silu(g_[i]) * u_[i];
      L.w2.gemv(g_.data(), tmp_.data());
      for (std::size_t i = 0; i < d; ++i) h_[i] += tmp_[i];
    }
    ops::rmsnorm(h_.data(), m_.final_norm.data(), a_.data(), d, c.norm_eps);
    logits_.resize(c.vocab);
    m_.output.gemv(a_.data(), logits_.data());
    ++pos_;
    return logits_;
  }

 private:
  const model& m_;
  std::vector<std::vector<float>> k_, v_;
  std::vector<float> h_, a_, q_, o_, tmp_, g_, u_, p_, logits_;
  std::size_t pos_ = 0;
};

/// Sum of -log softmax(logits_t)[x_{t+1}] over t = 0 .. T-2 of one window (the README protocol).
inline double window_nll(const model& m, const unsigned char* bytes, std::size_t T) {
  const auto logits = forward_window(m, bytes, T);
  double sum = 0;
  const std::size_t V = m.cfg.vocab;
  for (std::size_t t = 0; t + 1 < T; ++t) {
    const float* z = &logits[t * V];
    double mx = z[0];
    for (std::size_t i = 1; i < V; ++i) mx = std::max(mx, static_cast<double>(z[i]));
    double se = 0;
    for (std::size_t i = 0; i < V; ++i) se += std::exp(static_cast<double>(z[i]) - mx);
    sum += (mx + std::log(se)) - z[bytes[t + 1]];
  }
  return sum;
}

/// Calibration statistics of every linear layer's input (mixq::layer_stats: Sigma = X X^T / N,
/// mean |x|, mean x^2), from the fp32 model run over `windows` 256-byte windows of `text`
/// (the training-side text, never val.txt). The recording model's linear layers are the fp32
/// ones with a hook in the prompt path; the forward passes run one after another.
using stats_map = std::map<std::string, mixq::layer_stats>;

inline stats_map collect_stats(const fp32_weights& w, const std::vector<unsigned char>& text, std::size_t windows,
                               const config& c = {}) {
  auto stats = std::make_shared<stats_map>();
  const model rec = load(w, [stats](const std::string& name, std::vector<float> v, std::size_t out, std::size_t in) {
    linear l = make_fp32_linear(std::move(v), out, in);
    auto [it, fresh] = stats->try_emplace(name, in);
    (void)fresh;
    mixq::layer_stats* s = &it->second;
    l.gemm = [inner = l.gemm, s, in](const float* X, std::size_t n, float* Y) {
      s->add_batch(X, n);
      inner(X, n, Y);
    };
    return l;
  }, c);
  windows = std::min(windows, text.size() / c.max_seq);
  if (windows == 0) throw mixq::error("tinylm::collect_stats: the calibration text is shorter than one window");
  for (std::size_t k = 0; k < windows; ++k) (void)forward_window(rec, &text[k * c.max_seq], c.max_seq);
  return std::move(*stats);
}

/// Perplexity per byte over the first `windows` 256-byte windows of `text` (README section 5).
inline double perplexity(const model& m, const std::vector<unsigned char>& text, std::size_t windows,
                         unsigned threads = 1) {
  const std::size_t W = m.cfg.max_seq;
  windows = std::min(windows, text.size() / W);
  std::vector<double> nll(windows);
  mixq::parallel_rows(windows, threads, [&](std::size_t a, std::size_t b) {
    for (std::size_t k = a; k < b; ++k) nll[k] = window_nll(m, &text[k * W], W);
  }, 1);
  double sum = 0;
  for (double x : nll) sum += x;
  return std::exp(sum / static_cast<double>(windows * (W - 1)));
}

}  // namespace tinylm
