// End to end: the tinylm forward pass against the model card, fp32 and quantized.
#include <catch2/catch.hpp>

#include "tinylm.hpp"

#include <fstream>
#include <iterator>

namespace {
const std::string dir = TINYLM_DATA_DIR;

std::vector<unsigned char> val_text() {
  std::ifstream f(dir + "/val.txt", std::ios::binary);
  REQUIRE(f);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}
const tinylm::fp32_weights& weights() {
  static const tinylm::fp32_weights w{mixq::safetensors::file::open(dir + "/model.safetensors")};
  return w;
}
tinylm::linear fp32_linear(const std::string&, std::vector<float> v, std::size_t o, std::size_t i) {
  return tinylm::make_fp32_linear(std::move(v), o, i);
}
}  // namespace

TEST_CASE("tinylm fp32 matches the model card's logits and window losses", "[tinylm]") {
  const auto val = val_text();
  const auto m = tinylm::load(weights(), fp32_linear);
  const auto logits = tinylm::forward_window(m, val.data(), 8);
  // Model card section 6: logit of the target byte at positions 0..7 (printed to 1e-4), the
  // sum of the 256 logits at position 0, and logits_0[0..3].
  const float target[8] = {1.5934f, 3.1643f, 4.2008f, 2.3718f, 7.3681f, 3.7524f, 4.9192f, 9.5487f};
  for (std::size_t t = 0; t < 8; ++t) CHECK(logits[t * 256 + val[t + 1]] == Approx(target[t]).margin(1.5e-4));
  double sum0 = 0;
  for (std::size_t i = 0; i < 256; ++i) sum0 += logits[i];
  CHECK(sum0 == Approx(-1849.1895).margin(2e-2));
  CHECK(logits[0] == Approx(-9.5542).margin(1.5e-4));
  CHECK(logits[3] == Approx(-10.3067).margin(1.5e-4));
  // Section 5: window 0 loss sum 503.4194 nats (the card's own fp32 and float64 passes agree to ~1e-5 relative).
  CHECK(tinylm::window_nll(m, val.data(), 256) == Approx(503.4194).epsilon(2e-5));
}

TEST_CASE("tinylm decode path (GEMV + KV cache) equals the prompt path (GEMM)", "[tinylm]") {
  const auto val = val_text();
  const auto m = tinylm::load(weights(), [](const std::string&, std::vector<float> v, std::size_t o, std::size_t i) {
    return tinylm::make_linear(mixq::quantize<mixq::int4_g128_asym>(v.data(), o, i));
  });
  const std::size_t T = 24;
  const auto prompt = tinylm::forward_window(m, val.data(), T);
  tinylm::decoder dec(m);
  for (std::size_t t = 0; t < T; ++t) {
    const auto& z = dec.step(val[t]);
    for (std::size_t i = 0; i < 256; ++i) REQUIRE(z[i] == Approx(prompt[t * 256 + i]).margin(1e-3));
  }
}

TEST_CASE("tinylm on 8-bit and 4-bit weights stays within a band of fp32 perplexity", "[tinylm]") {
  const auto val = val_text();
  const std::size_t windows = 8;
  const auto fp32 = tinylm::load(weights(), fp32_linear);
  const double p32 = tinylm::perplexity(fp32, val, windows);
  auto make = []<class S>(std::type_identity<S>) {
    return [](const std::string&, std::vector<float> v, std::size_t o, std::size_t i) {
      return tinylm::make_linear(mixq::quantize<S>(v.data(), o, i));
    };
  };
  const auto q8 = tinylm::load(weights(), make(std::type_identity<mixq::scheme<mixq::int_sym<8>, mixq::per_channel, mixq::fp16>>{}));
  const auto q4 = tinylm::load(weights(), make(std::type_identity<mixq::int4_g128_asym>{}));
  const double p8 = tinylm::perplexity(q8, val, windows), p4 = tinylm::perplexity(q4, val, windows);
  // 8-bit per-channel RTN: within 0.2% of fp32; 4-bit g128: worse than fp32 but within 3%.
  CHECK(std::fabs(p8 / p32 - 1) < 2e-3);
  CHECK(p4 > p32 * (1 - 2e-3));
  CHECK(p4 < p32 * 1.03);
}
