// mixq_tinylm: the tinylm model on quantized weights; validation perplexity for every method.
//   mixq_tinylm [--data DIR] [--windows N] [--threads T] [--check]
// --check runs only the fp32 numerical check against the model card (logits and window sums).
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

std::vector<unsigned char> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw mixq::error("cannot open " + path);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

struct row {
  std::string method;
  double bpw, ppl, tok_s;
};

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

template <class S>
tinylm::linear_factory rtn(mixq::rtn_method method = mixq::rtn_method::minmax) {
  return [method](const std::string&, std::vector<float> w, std::size_t out, std::size_t in) {
    mixq::rtn_options o;
    o.method = method;
    return tinylm::make_linear(mixq::quantize<S>(w.data(), out, in, o));
  };
}

}  // namespace

int main(int argc, char** argv) try {
  std::string dir = TINYLM_DATA_DIR;
  std::size_t windows = 256;
  unsigned threads = 2;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--data" && i + 1 < argc) dir = argv[++i];
    else if (a == "--windows" && i + 1 < argc) windows = std::stoul(argv[++i]);
    else if (a == "--threads" && i + 1 < argc) threads = static_cast<unsigned>(std::stoul(argv[++i]));
    else if (a == "--check") check_only = true;
    else {
      std::fprintf(stderr, "usage: %s [--data DIR] [--windows N (1..256)] [--threads T] [--check]\n", argv[0]);
      return 2;
    }
  }
  const tinylm::fp32_weights w{mixq::safetensors::file::open(dir + "/model.safetensors")};
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

  using namespace mixq;
  struct method {
    std::string name;
    tinylm::linear_factory make;
  };
  std::vector<method> methods = {
      {"rtn int8 per-channel", rtn<scheme<int_sym<8>, per_channel, fp16>>()},
      {"rtn int8 g128", rtn<scheme<int_sym<8>, group<128>, fp16>>()},
      {"mxint8", rtn<mxint8>()},
      {"fp8 e4m3 per-channel", rtn<fp8_e4m3_per_channel>()},
      {"mxfp8 e4m3", rtn<mxfp8_e4m3>()},
      {"mxfp6 e2m3", rtn<mxfp6_e2m3>()},
      {"rtn int4 per-channel asym", rtn<scheme<uint4, per_channel, fp16, asym::int_zero<>>>()},
      {"rtn int4 g128 asym", rtn<int4_g128_asym>()},
      {"rtn int4 g128 sym", rtn<int4_g128_sym>()},
      {"clip int4 g128 asym", rtn<int4_g128_asym>(rtn_method::mse_clip)},
      {"nf4 g64", rtn<nf4_g64>()},
      {"mxfp4", rtn<mxfp4>()},
      {"nvfp4", rtn<nvfp4>()},
      {"rtn int3 per-channel asym", rtn<scheme<uint_format<3>, per_channel, fp16, asym::int_zero<>>>()},
      {"rtn int3 g128 asym", rtn<int3_g128_asym>()},
      {"clip int3 g128 asym", rtn<int3_g128_asym>(rtn_method::mse_clip)},
      {"rtn int2 per-channel asym", rtn<scheme<uint_format<2>, per_channel, fp16, asym::int_zero<>>>()},
      {"rtn int2 g128 asym", rtn<scheme<uint_format<2>, group<128>, fp16, asym::int_zero<>>>()},
      {"clip int2 g128 asym", rtn<scheme<uint_format<2>, group<128>, fp16, asym::int_zero<>>>(rtn_method::mse_clip)},
  };

  std::printf("\nvalidation perplexity per byte, %zu windows of 256 bytes (README protocol), %u threads\n\n", windows, threads);
  std::printf("%-30s %8s %12s %10s %12s\n", "method", "bits/w", "perplexity", "vs fp32", "decode tok/s");
  const double ppl32 = tinylm::perplexity(fp32, val, windows, threads);
  std::printf("%-30s %8.3f %12.4f %9.2f%% %12.0f\n", "fp32", fp32.linear_bits_per_weight(), ppl32, 0.0,
              decode_tokens_per_second(fp32, val));
  for (const auto& me : methods) {
    const tinylm::model q = tinylm::load(w, me.make);
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
