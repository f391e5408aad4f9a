// The blocked exact GEMV (kernel/arch/avx512_gemv.inc on AVX-512; the portable path elsewhere):
// every bit width and unit length against the definition, K ragged against the block (16 P
// columns) and the vector width, exactly sized x / y (ASan sees over-reads), and fp8 weights
// holding NaN / inf codes, which the bit-pattern decoder hands to a table lookup.
#include <catch2/catch.hpp>

#include <mixq/mixq.hpp>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "schemes.hpp"

using namespace mixq;
namespace md = mixq::dispatch;

namespace {

constexpr double u32 = 5.9604644775390625e-08;       // 2^-24
constexpr double tiny_abs = 1.4012984643248171e-45;  // 2^-149

template <class S>
quantized_matrix<S> random_matrix(std::size_t M, std::size_t K, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  std::vector<float> w(M * K);
  for (auto& v : w) v = nd(rng);
  return quantize<S>(w.data(), M, K);
}

// y (rows r0..r1 of a gemv through `gemv_fn`) against the reference weights, with the exact-path bound.
template <class S, class F>
void check_gemv(const quantized_matrix<S>& qm, F&& gemv_fn, unsigned seed, const std::string& what) {
  const std::size_t M = qm.rows(), K = qm.cols();
  std::vector<float> ref(M * K);
  dequantize_reference(qm.view(), ref.data(), 0, M);
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  std::vector<float> x(K), y(M, -7.0f);
  for (auto& v : x) v = nd(rng);
  gemv_fn(qm.view(), x.data(), y.data());
  for (std::size_t r = 0; r < M; ++r) {
    double s = 0, mag = 0, xs = 0;
    for (std::size_t c = 0; c < K; ++c) {
      s += static_cast<double>(ref[r * K + c]) * x[c];
      mag += std::fabs(static_cast<double>(ref[r * K + c]) * x[c]);
      xs += std::fabs(x[c]);
    }
    INFO(what << " M=" << M << " K=" << K << " r=" << r << " got " << y[r] << " ref " << s);
    if (std::isnan(s)) {
      CHECK(std::isnan(y[r]));
    } else if (std::isinf(s)) {
      CHECK(y[r] == static_cast<float>(s));
    } else {
      const double bound = (static_cast<double>(K) + 3) * u32 * mag + (static_cast<double>(K) + 1 + xs) * tiny_abs +
                           static_cast<double>(K) * 2.3e-16 * mag;
      CHECK(std::fabs(static_cast<double>(y[r]) - s) <= bound);
    }
  }
}

template <class S>
void check_shapes(std::initializer_list<std::size_t> Ks) {
  unsigned seed = 11;
  for (const std::size_t K : Ks)
    for (const std::size_t M : {std::size_t{1}, std::size_t{6}}) {
      const auto qm = random_matrix<S>(M, K, seed++);
      check_gemv(qm, [](const auto& m, const float* x, float* y) { gemv(m, x, y); }, seed, scheme_name<S>());
    }
}

}  // namespace

TEST_CASE("blocked gemv: every bit width, whole-row units, K ragged against the block", "[kernel][gemv]") {
  // Blocks are 128 columns (1..4 bits) or 64 (5..8 bits); K around them and the vector width.
  const auto Ks = {std::size_t{1}, std::size_t{15}, std::size_t{17}, std::size_t{64}, std::size_t{127},
                   std::size_t{129}, std::size_t{300}};
  check_shapes<scheme<uint_format<1>, per_channel, fp32, asym::int_zero<>>>(Ks);
  check_shapes<scheme<int_format<2>, per_channel, fp16>>(Ks);
  check_shapes<scheme<int3, per_channel, fp16>>(Ks);
  check_shapes<scheme<uint_format<3>, per_tensor, fp32, asym::int_zero<>>>(Ks);
  check_shapes<scheme<int4, per_channel, bf16>>(Ks);
  check_shapes<scheme<uint_format<5>, per_channel, fp16, asym::int_zero<>>>(Ks);
  check_shapes<scheme<int5, per_tensor, fp32>>(Ks);
  check_shapes<scheme<fp6_e2m3fn, per_channel, fp32>>(Ks);
  check_shapes<scheme<uint_format<6>, per_channel, fp16, asym::float_zero<>>>(Ks);
  check_shapes<scheme<int_format<7>, per_channel, fp32>>(Ks);
  check_shapes<scheme<uint_format<7>, per_channel, fp32, asym::int_zero<>>>(Ks);
  check_shapes<scheme<fp8_e5m2, per_channel, fp32>>(Ks);
  check_shapes<scheme<fp8_e4m3fnuz, per_channel, fp32>>(Ks);
}

TEST_CASE("blocked gemv: unit lengths below, at and above the block", "[kernel][gemv]") {
  check_shapes<scheme<uint_format<2>, group<16>, fp16, asym::int_zero<>>>({16, 48, 272});
  check_shapes<scheme<uint_format<2>, group<64>, fp16, asym::int_zero<>>>({64, 320});
  check_shapes<scheme<uint_format<3>, group<128>, fp16, asym::int_zero<>>>({128, 384});
  check_shapes<scheme<int3, group<56>, fp16>>({56, 392});  // 56 columns: 3 blocks of 16 + 8
  check_shapes<scheme<int4, group<32>, fp16>>({32, 96});
  check_shapes<scheme<uint4, group<96>, fp16, asym::int_zero<>>>({96, 288});
  check_shapes<scheme<fp6_e3m2fn, group<32>, e8m0fnu>>({32, 160});
  check_shapes<scheme<uint_format<6>, group<24>, bf16, asym::int_zero<>>>({24, 120});
  check_shapes<scheme<fp8_e4m3fn, group<32>, e8m0fnu>>({32, 224});
  check_shapes<scheme<fp8_e4m3fn, group<128>, fp16>>({128, 384});
}

TEST_CASE("blocked gemv: NaN and inf codes of fp8 weights propagate as in the reference", "[kernel][gemv]") {
  auto run = [](auto tag, unsigned bad_code, std::size_t K) {
    using S = decltype(tag);
    auto qm = random_matrix<S>(6, K, 3);
    qm.set_code(1, K / 2, bad_code);      // one special code in a block of ordinary codes
    qm.set_code(4, K - 1, bad_code);      // in the last (ragged) block
    const std::string what = scheme_name<S>() + " code " + std::to_string(bad_code);
    check_gemv(qm, [](const auto& m, const float* x, float* y) { gemv(m, x, y); }, 5, what);
#if MIXQ_TEST_DISPATCH
    for (const md::isa i : {md::isa::generic, md::isa::avx2, md::isa::avx512, md::isa::avx512_vnni}) {
      if (!md::cpu_supports(i)) continue;
      md::kernels<S> k;
      switch (i) {
        case md::isa::generic: k = md::get_kernels<S, md::isa::generic>(); break;
        case md::isa::avx2: k = md::get_kernels<S, md::isa::avx2>(); break;
        case md::isa::avx512: k = md::get_kernels<S, md::isa::avx512>(); break;
        case md::isa::avx512_vnni: k = md::get_kernels<S, md::isa::avx512_vnni>(); break;
      }
      check_gemv(
          qm, [&](const auto& m, const float* x, float* y) { k.gemv(m.base, m.rows(), m.cols(), x, y, 0, m.rows()); }, 5,
          what + " " + k.name);
    }
#endif
  };
  // e4m3fn: 0x7f / 0xff are NaN. e5m2: 0x7c = +inf, 0xfc = -inf, 0x7e = NaN.
  run(mixq_test::s_fp8_channel{}, 0x7fu, 200);
  run(mixq_test::s_fp8_channel{}, 0xffu, 200);
  run(mixq_test::s_mxfp8_e5m2{}, 0x7cu, 96);
  run(mixq_test::s_mxfp8_e5m2{}, 0xfcu, 96);
  run(mixq_test::s_mxfp8_e5m2{}, 0x7eu, 96);
}

#if defined(__SSE__) || defined(_M_X64)
TEST_CASE("exact kernels: subnormal fp8 codes count under denormals-are-zero (MXCSR.DAZ)", "[kernel][gemv]") {
  // Each row: one large weight (so the scale makes the others fp8 subnormals) whose column x
  // zeroes, then small weights. The sum is the subnormal codes' alone; a decoder that builds
  // them as fp32 subnormals loses them all under DAZ. The reference (table of normal floats,
  // summed in double without DAZ) is the truth; the kernels run with DAZ and FTZ set.
  auto run = [](auto tag, std::size_t K) {
    using S = decltype(tag);
    const std::size_t M = 6, N = 24;
    std::vector<float> w(M * K), x(N * K, 1.0f), ref(M * K), y(N * M, -7.0f);
    for (std::size_t r = 0; r < M; ++r)
      for (std::size_t c = 0; c < K; ++c) w[r * K + c] = c % 32 == 0 ? 448.0f : 0.004f * static_cast<float>(1 + (r + c) % 5);
    for (std::size_t n = 0; n < N; ++n)
      for (std::size_t c = 0; c < K; c += 32) x[n * K + c] = 0.0f;
    const auto qm = quantize<S>(w.data(), M, K);
    dequantize_reference(qm.view(), ref.data(), 0, M);
    std::size_t subnormal_codes = 0;
    for (std::size_t c = 1; c < K; ++c) subnormal_codes += (qm.view().code(0, c) & 0x78u) == 0 && (qm.view().code(0, c) & 7u) != 0;
    REQUIRE(subnormal_codes > K / 2);  // the case this test is about
    const unsigned csr = _mm_getcsr();
    _mm_setcsr(csr | 0x8040u);  // DAZ | FTZ
    gemv(qm.view(), x.data(), y.data());
    gemm(qm.view(), x.data(), 3, K, y.data() + M, M);               // fused small-N path
    gemm(qm.view(), x.data(), N - 4, K, y.data() + 4 * M, M);       // panel path
    const unsigned after = _mm_getcsr();
    _mm_setcsr(csr);
    CHECK(after == (csr | 0x8040u));  // the caller's MXCSR is left as it was
    for (std::size_t n = 0; n < N; ++n)
      for (std::size_t r = 0; r < M; ++r) {
        double s = 0, mag = 0;
        for (std::size_t c = 0; c < K; ++c) {
          s += static_cast<double>(ref[r * K + c]) * x[n * K + c];
          mag += std::fabs(static_cast<double>(ref[r * K + c]) * x[n * K + c]);
        }
        INFO(scheme_name<S>() << " K=" << K << " n=" << n << " r=" << r << " got " << y[n * M + r] << " ref " << s);
        CHECK(std::fabs(static_cast<double>(y[n * M + r]) - s) <= (static_cast<double>(K) + 3) * u32 * mag);
      }
  };
  run(mixq_test::s_fp8_channel{}, 256);
  run(mixq_test::s_fp8_channel{}, 200);
  run(mixq_test::s_mxfp8_e4m3{}, 256);
  run(scheme<fp8_e4m3fn, group<128>, fp16>{}, 384);
}
#endif

namespace {
/// The unpacker of this TU's best ISA (VBMI multishift, AVX-512 nibble split, ...) against the
/// scalar bit-stream reader, for any start and length, including starts off a byte boundary.
template <int B>
void check_unpack_matches_scalar() {
  std::mt19937 rng(100 + B);
  std::vector<std::uint8_t> stream(4096);
  for (auto& b : stream) b = static_cast<std::uint8_t>(rng());
  for (const std::size_t c0 : {0, 3, 8, 64, 200, 517})
    for (const std::size_t n : {1, 7, 8, 63, 64, 65, 130, 1000}) {
      std::vector<std::uint8_t> got(n + 64, 0xAA), want(n + 64, 0xAA);
      mixq::kernel_detail::unpack<B>(mixq::kernel_detail::best_tag{}, stream.data(), c0, n, got.data());
      mixq::kernel_detail::unpack_codes_scalar<B>(stream.data(), c0, n, want.data());
      INFO("B=" << B << " c0=" << c0 << " n=" << n);
      CHECK(got == want);  // also: nothing written past n
    }
}
}  // namespace

TEST_CASE("unpack of 1..8-bit codes matches the scalar bit-stream reader", "[kernel][unpack]") {
  check_unpack_matches_scalar<1>();
  check_unpack_matches_scalar<2>();
  check_unpack_matches_scalar<3>();
  check_unpack_matches_scalar<4>();
  check_unpack_matches_scalar<5>();
  check_unpack_matches_scalar<6>();
  check_unpack_matches_scalar<7>();
  check_unpack_matches_scalar<8>();
}
