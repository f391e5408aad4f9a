// mixq_tinylm: the tinylm model on quantized weights; validation perplexity for every method.
//   mixq_tinylm [--data DIR] [--windows N] [--calib-windows N] [--threads T] [--only SUBSTR] [--check]
// --check runs only the fp32 numerical check against the model card (logits and window sums).
//
// Calibration (GPTQ, AWQ, the allocators' statistics, the ggml imatrix) uses the first windows
// of data/calib_emma.txt: the start of *Emma*, one of the model's training novels. val.txt
// (*Persuasion*, held out from training) is only ever evaluated.
#include "tinylm.hpp"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#ifndef TINYLM_DATA_DIR
#define TINYLM_DATA_DIR "examples/tinylm/data"
#endif

namespace {

using namespace mixq;

std::vector<unsigned char> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw mixq::error("cannot open " + path);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

double decode_tokens_per_second(const tinylm::model& m, const std::vector<unsigned char>& text) {
  tinylm::decoder dec(m);
  const auto t0 = std::chrono::steady_clock::now();
  std::size_t n = 0;
  for (int rep = 0; rep < 2; ++rep) {
    dec.reset();
    for (std::size_t t = 0; t < m.cfg.max_seq; ++t, ++n) dec.step(text[t]);
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return static_cast<double>(n) / s;
}

// Schemes of the table beyond the library's presets.
template <unsigned B>
using uint_g128 = scheme<uint_format<B>, group<128>, fp16, asym::int_zero<>>;
template <unsigned B>
using uint_g64 = scheme<uint_format<B>, group<64>, fp16, asym::int_zero<>>;
template <unsigned B>
using uint_pc = scheme<uint_format<B>, per_channel, fp16, asym::int_zero<>>;
template <unsigned B>
using hqq_g128 = scheme<uint_format<B>, group<128>, fp16, asym::float_zero<>>;

struct context {
  const tinylm::fp32_weights& w;
  const tinylm::stats_map& stats;
  const layer_stats& at(const std::string& name) const { return stats.at(name); }
};

template <class S>
tinylm::linear_factory rtn(rtn_method method = rtn_method::minmax) {
  return [method](const std::string&, std::vector<float> w, std::size_t out, std::size_t in) {
    rtn_options o;
    o.method = method;
    return tinylm::make_linear(quantize<S>(w.data(), out, in, o));
  };
}

template <class S>
tinylm::linear_factory hqq_factory() {
  return [](const std::string&, std::vector<float> w, std::size_t out, std::size_t in) {
    return tinylm::make_linear(hqq<S>(w.data(), out, in).q);
  };
}

template <class S>
tinylm::linear_factory gptq_factory(const context& c, act_order order = act_order::none) {
  return [&c, order](const std::string& name, std::vector<float> w, std::size_t out, std::size_t in) {
    gptq_options o;
    o.order = order;
    return tinylm::make_linear(gptq<S>(w.data(), out, in, c.at(name), o).q);
  };
}

template <class S>
tinylm::linear_factory awq_factory(const context& c) {
  return [&c](const std::string& name, std::vector<float> w, std::size_t out, std::size_t in) {
    awq_options o;
    o.clip = true;  // llm-awq: scale search, then clip search
    auto r = awq<S>(w.data(), out, in, c.at(name), o);
    return tinylm::with_input_scales(tinylm::make_linear(std::move(r.q)), std::move(r.scales));
  };
}

/// ggml block types: quantized row by row with mixq::ggml (byte-identical to ggml's quantizers,
/// optionally with the calibration imatrix) and run by mixq's ggml block kernels.
template <class T>
tinylm::linear_factory ggml_factory(const context& c, bool imatrix) {
  return [&c, imatrix](const std::string& name, std::vector<float> w, std::size_t out, std::size_t in) {
    const std::size_t rs = ggml::row_size<T>(in);
    std::vector<std::uint8_t> blocks(rs * out);
    const std::vector<float> imp = imatrix ? c.at(name).importance() : std::vector<float>{};
    for (std::size_t r = 0; r < out; ++r) ggml::quantize_row<T>(&w[r * in], in, &blocks[r * rs], imatrix ? imp.data() : nullptr);
    return tinylm::make_ggml_linear<T>(std::move(blocks), out, in);
  };
}

// ------------------------------------------------------------------------------------------
// Mixed precision.

/// Per-layer plans: one allocator item per linear layer, options = the candidates below
/// quantized with `quant`, errors from a sensitivity built from the layer's statistics; the
/// exact knapsack picks one candidate per layer under the budget.
using L2 = uint_g128<2>;
using L3 = uint_g128<3>;
using L4 = uint_g128<4>;
using L8 = uint_g128<8>;

enum class layer_sens { hessian_trace, output_error };

template <class Quant>
std::vector<item> layer_items(const context& c, layer_sens kind, const Quant& quant) {
  std::vector<item> items;
  for (const auto& name : tinylm::linear_names(tinylm::config{})) {
    const std::vector<float> w = c.w.get(name);
    const layer_stats& s = c.at(name);
    const std::size_t in = s.channels(), out = w.size() / in;
    auto q = quant(name);
    if (kind == layer_sens::hessian_trace)
      items.push_back(evaluate_layer<L2, L3, L4, L8>(name, w.data(), out, in, hessian_trace_sensitivity::exact(s), q).item);
    else
      items.push_back(evaluate_layer<L2, L3, L4, L8>(name, w.data(), out, in, output_error_sensitivity(s), q).item);
  }
  return items;
}

struct rtn_by_name {
  rtn_quantizer operator()(const std::string&) const { return {}; }
};
struct gptq_by_name {
  const context* c;
  auto operator()(const std::string& name) const {
    const layer_stats* s = &c->at(name);
    return [s]<class S>(std::type_identity<S>, const float* w, std::size_t r, std::size_t k) { return gptq<S>(w, r, k, *s).q; };
  }
};

template <class Quant>
tinylm::linear_factory layer_plan_factory(const std::vector<item>& items, double bpw, const Quant& quant) {
  const allocation a = solve_exact(items, budget_for(items, bpw));
  auto choice = std::make_shared<std::map<std::string, std::size_t>>();
  for (std::size_t i = 0; i < items.size(); ++i) (*choice)[items[i].name] = a.choice[i];
  return [choice, quant](const std::string& name, std::vector<float> w, std::size_t out, std::size_t in) {
    return tinylm::make_linear(materialize<L2, L3, L4, L8>(choice->at(name), w.data(), out, in, quant(name)));
  };
}

/// SliM-LLM salience-determined allocation inside each layer: column groups of 64, the least
/// salient at B-1 bits and as many of the most salient at B+1 (average exactly B code bits).
template <unsigned B>
tinylm::linear_factory slim_factory(const context& c) {
  return [&c](const std::string& name, std::vector<float> w, std::size_t out, std::size_t in) {
    auto r = slim_allocate<uint_g64<B - 1>, uint_g64<B>, uint_g64<B + 1>>(w.data(), out, in, 64, c.at(name).sigma());
    return tinylm::make_linear(std::move(r.matrix));
  };
}

/// Exact per-group allocation inside each layer (column groups of 64; 2, 3 or 4 bits each; error
/// = the group's layer-output error) under `bpw` stored bits per weight, group indices included.
tinylm::linear_factory group_dp_factory(const context& c, double bpw) {
  return [&c, bpw](const std::string& name, std::vector<float> w, std::size_t out, std::size_t in) {
    const auto budget = static_cast<std::uint64_t>(bpw * static_cast<double>(out * in));
    auto r = allocate_groups<uint_g64<2>, uint_g64<3>, uint_g64<4>>(w.data(), out, in, 64, output_error_sensitivity(c.at(name)),
                                                                    budget);
    return tinylm::make_linear(std::move(r.matrix));
  };
}

}  // namespace

int main(int argc, char** argv) try {
  std::string dir = TINYLM_DATA_DIR, only;
  std::size_t windows = 256, calib_windows = 128;
  unsigned threads = 2;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--data" && i + 1 < argc) dir = argv[++i];
    else if (a == "--windows" && i + 1 < argc) windows = std::stoul(argv[++i]);
    else if (a == "--calib-windows" && i + 1 < argc) calib_windows = std::stoul(argv[++i]);
    else if (a == "--threads" && i + 1 < argc) threads = static_cast<unsigned>(std::stoul(argv[++i]));
    else if (a == "--only" && i + 1 < argc) only = argv[++i];
    else if (a == "--check") check_only = true;
    else {
      std::fprintf(stderr,
                   "usage: %s [--data DIR] [--windows N (1..256)] [--calib-windows N (1..256)] [--threads T] "
                   "[--only SUBSTR] [--check]\n",
                   argv[0]);
      return 2;
    }
  }
  const tinylm::fp32_weights w{safetensors::file::open(dir + "/model.safetensors")};
  const auto val = read_bytes(dir + "/val.txt");

  const tinylm::model fp32 = tinylm::load(w, [](const std::string&, std::vector<float> v, std::size_t o, std::size_t i) {
    return tinylm::make_fp32_linear(std::move(v), o, i);
  });

  // Numerical check against the model card: logits of "Persuasi" and window sums.
  {
    const auto logits = tinylm::forward_window(fp32, val.data(), 8);
    const float expect_target[8] = {1.5934f, 3.1643f, 4.2008f, 2.3718f, 7.3681f, 3.7524f, 4.9192f, 9.5487f};
    double max_err = 0;
    for (std::size_t t = 0; t < 8; ++t) max_err = std::max(max_err, std::fabs(double(logits[t * 256 + val[t + 1]]) - expect_target[t]));
    const double w0 = tinylm::window_nll(fp32, val.data(), 256);
    const double w255 = tinylm::window_nll(fp32, val.data() + 255 * 256, 256);
    std::printf("fp32 check: max |logit - card| over 8 targets %.2e (card rounds to 1e-4); window 0 NLL %.4f (card 503.4194), "
                "window 255 %.4f (card 315.2739)\n", max_err, w0, w255);
    if (check_only) return max_err < 2e-4 && std::fabs(w0 - 503.4194) < 0.01 && std::fabs(w255 - 315.2739) < 0.01 ? 0 : 1;
  }

  const auto t_cal = std::chrono::steady_clock::now();
  const tinylm::stats_map stats = tinylm::collect_stats(w, read_bytes(dir + "/calib_emma.txt"), calib_windows);
  std::printf("calibration: %zu windows of data/calib_emma.txt (Emma, training text), %zu tokens per layer, %.1f s\n",
              std::min<std::size_t>(calib_windows, 256), static_cast<std::size_t>(stats.begin()->second.tokens()),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t_cal).count());
  const context c{w, stats};

  struct method {
    std::string name;
    std::function<tinylm::linear_factory()> make;  // deferred: plans are solved only when run
  };
  auto now = [](tinylm::linear_factory f) { return [f] { return f; }; };
  auto trace_items = [&c, cache = std::shared_ptr<std::vector<item>>()]() mutable -> const std::vector<item>& {
    if (!cache) cache = std::make_shared<std::vector<item>>(layer_items(c, layer_sens::hessian_trace, rtn_by_name{}));
    return *cache;
  };
  auto out_items = [&c, cache = std::shared_ptr<std::vector<item>>()]() mutable -> const std::vector<item>& {
    if (!cache) cache = std::make_shared<std::vector<item>>(layer_items(c, layer_sens::output_error, rtn_by_name{}));
    return *cache;
  };
  auto gptq_items = [&c, cache = std::shared_ptr<std::vector<item>>()]() mutable -> const std::vector<item>& {
    if (!cache) cache = std::make_shared<std::vector<item>>(layer_items(c, layer_sens::output_error, gptq_by_name{&c}));
    return *cache;
  };

  std::vector<method> methods = {
      {"rtn int8 per-channel", now(rtn<scheme<int_sym<8>, per_channel, fp16>>())},
      {"rtn int8 g128", now(rtn<scheme<int_sym<8>, group<128>, fp16>>())},
      {"mxint8", now(rtn<mxint8>())},
      {"fp8 e4m3 per-channel", now(rtn<fp8_e4m3_per_channel>())},
      {"mxfp8 e4m3", now(rtn<mxfp8_e4m3>())},
      {"mxfp6 e2m3", now(rtn<mxfp6_e2m3>())},
      {"rtn int4 per-channel", now(rtn<uint_pc<4>>())},
      {"rtn int4 g128", now(rtn<int4_g128_asym>())},
      {"rtn int4 g128 sym", now(rtn<int4_g128_sym>())},
      {"clip int4 g128", now(rtn<int4_g128_asym>(rtn_method::mse_clip))},
      {"hqq int4 g128", now(hqq_factory<hqq_g128<4>>())},
      {"awq int4 g128", [&c] { return awq_factory<int4_g128_asym>(c); }},
      {"gptq int4 g128", [&c] { return gptq_factory<int4_g128_asym>(c); }},
      {"gptq int4 g128 act-order", [&c] { return gptq_factory<int4_g128_asym>(c, act_order::static_groups); }},
      {"nf4 g64", now(rtn<nf4_g64>())},
      {"mxfp4", now(rtn<mxfp4>())},
      {"nvfp4", now(rtn<nvfp4>())},
      {"ggml q4_0", [&c] { return ggml_factory<ggml::q4_0>(c, false); }},
      {"ggml q4_k", [&c] { return ggml_factory<ggml::q4_k>(c, false); }},
      {"ggml q4_k imatrix", [&c] { return ggml_factory<ggml::q4_k>(c, true); }},
      {"rtn int3 per-channel", now(rtn<uint_pc<3>>())},
      {"rtn int3 g128", now(rtn<int3_g128_asym>())},
      {"clip int3 g128", now(rtn<int3_g128_asym>(rtn_method::mse_clip))},
      {"hqq int3 g128", now(hqq_factory<hqq_g128<3>>())},
      {"awq int3 g128", [&c] { return awq_factory<int3_g128_asym>(c); }},
      {"gptq int3 g128", [&c] { return gptq_factory<int3_g128_asym>(c); }},
      {"gptq int3 g128 act-order", [&c] { return gptq_factory<int3_g128_asym>(c, act_order::static_groups); }},
      {"ggml q3_k", [&c] { return ggml_factory<ggml::q3_k>(c, false); }},
      {"rtn int2 per-channel", now(rtn<uint_pc<2>>())},
      {"rtn int2 g128", now(rtn<uint_g128<2>>())},
      {"clip int2 g128", now(rtn<uint_g128<2>>(rtn_method::mse_clip))},
      {"hqq int2 g128", now(hqq_factory<hqq_g128<2>>())},
      {"awq int2 g128", [&c] { return awq_factory<uint_g128<2>>(c); }},
      {"gptq int2 g128", [&c] { return gptq_factory<uint_g128<2>>(c); }},
      {"gptq int2 g128 act-order", [&c] { return gptq_factory<uint_g128<2>>(c, act_order::static_groups); }},
      {"ggml q2_k", [&c] { return ggml_factory<ggml::q2_k>(c, false); }},
      {"ggml q2_k imatrix", [&c] { return ggml_factory<ggml::q2_k>(c, true); }},
  };
  for (double b : {2.5, 3.0, 4.0}) {
    char bs[8];
    std::snprintf(bs, sizeof bs, "%.1f", b);
    methods.push_back({std::string("plan hessian-trace ") + bs, [&trace_items, b] { return layer_plan_factory(trace_items(), b, rtn_by_name{}); }});
    methods.push_back({std::string("plan output-error ") + bs, [&out_items, b] { return layer_plan_factory(out_items(), b, rtn_by_name{}); }});
    methods.push_back({std::string("plan output-error+gptq ") + bs,
                       [&gptq_items, &c, b] { return layer_plan_factory(gptq_items(), b, gptq_by_name{&c}); }});
    methods.push_back({std::string("groups exact DP ") + bs, [&c, b] { return group_dp_factory(c, b); }});
  }
  methods.push_back({"groups slim-llm 3 (2/3/4)", [&c] { return slim_factory<3>(c); }});
  methods.push_back({"groups slim-llm 4 (3/4/5)", [&c] { return slim_factory<4>(c); }});

  std::printf("\nvalidation perplexity per byte, %zu windows of 256 bytes (README protocol), %u threads\n\n", windows, threads);
  std::printf("%-30s %8s %12s %10s %12s\n", "method", "bits/w", "perplexity", "vs fp32", "decode tok/s");
  const double ppl32 = tinylm::perplexity(fp32, val, windows, threads);
  std::printf("%-30s %8.3f %12.4f %9.2f%% %12.0f\n", "fp32", fp32.linear_bits_per_weight(), ppl32, 0.0,
              decode_tokens_per_second(fp32, val));
  for (const auto& me : methods) {
    if (!only.empty() && me.name.find(only) == std::string::npos) continue;
    const tinylm::model q = tinylm::load(w, me.make());
    const double ppl = tinylm::perplexity(q, val, windows, threads);
    std::printf("%-30s %8.3f %12.4f %+9.2f%% %12.0f\n", me.name.c_str(), q.linear_bits_per_weight(), ppl,
                100.0 * (ppl / ppl32 - 1.0), decode_tokens_per_second(q, val));
    std::fflush(stdout);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "mixq_tinylm: %s\n", e.what());
  return 1;
}
