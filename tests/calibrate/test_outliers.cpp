// Dense-and-sparse storage (OWQ weak columns, SpQR-style outliers): the tests of ALGORITHMS.md
// 6.1 and 6.2, the reference dequantize / gemv, and bad input.
#include <catch2/catch.hpp>

#include "common.hpp"

using namespace mixq;
using caltest::cached_layer;

namespace {
using S3 = scheme<uint_format<3>, group<32>, fp16, asym::int_zero<true>>;      // represents 0 exactly
using S3raw = scheme<uint_format<3>, group<32>, fp16, asym::float_zero<false>>; // may not
using S4c = scheme<int4, per_channel, fp16, sym::restricted>;

template <class S>
std::vector<float> dq(const outlier_matrix<S>& m) {
  std::vector<float> out(m.rows() * m.cols());
  dequantize_reference(m, out.data());
  return out;
}
}  // namespace

TEMPLATE_TEST_CASE("outliers: k = 0 and tau = inf give exactly GPTQ", "[outliers]", S3, S3raw, S4c) {
  const auto& L = cached_layer(24, 128, 512, 31);
  for (act_order ao : {act_order::none, act_order::static_groups}) {
    outlier_options o;
    o.gptq.order = ao;
    const auto r = gptq_outliers<TestType>(L.w.data(), L.m, L.n, L.stats, o);
    const auto g = gptq<TestType>(L.w.data(), L.m, L.n, L.stats, o.gptq);
    CHECK(caltest::same_bytes(r.m.dense, g.q));
    CHECK(r.m.sparse.nnz() == 0);
    CHECK(r.loss == g.loss);
    CHECK(r.m.bits_per_weight() == g.q.bits_per_weight());
  }
}

TEMPLATE_TEST_CASE("OWQ: weak columns are the most sensitive, stored error-updated in fp16", "[outliers][owq]", S3,
                   S3raw, S4c) {
  const auto& L = cached_layer(32, 256, 1024, 32);
  const std::size_t k = 6;
  outlier_options o;
  o.weak_columns = k;
  o.gptq.precision = calib_precision::fp64;
  const auto r = gptq_outliers<TestType>(L.w.data(), L.m, L.n, L.stats, o);
  REQUIRE(r.weak_columns.size() == k);
  CHECK(r.m.sparse.column_index == r.weak_columns);
  CHECK(std::is_sorted(r.weak_columns.begin(), r.weak_columns.end()));
  // sensitivity H_jj ||W - RTN(W)||^2 of every weak column >= that of every other column
  const auto rtn = caltest::dequant(quantize<TestType>(L.w.data(), L.m, L.n));
  const Eigen::MatrixXd H = L.stats.hessian();
  std::vector<double> sens(L.n);
  for (std::size_t j = 0; j < L.n; ++j) {
    double e = 0;
    for (std::size_t i = 0; i < L.m; ++i) e += std::pow(static_cast<double>(L.w[i * L.n + j]) - rtn[i * L.n + j], 2);
    sens[j] = H(j, j) * e;
  }
  double min_weak = INFINITY, max_other = 0;
  for (std::size_t j = 0; j < L.n; ++j) {
    const bool weak = std::binary_search(r.weak_columns.begin(), r.weak_columns.end(), static_cast<std::uint32_t>(j));
    if (weak) min_weak = std::min(min_weak, sens[j]);
    else max_other = std::max(max_other, sens[j]);
  }
  CHECK(min_weak >= max_other);
  // weak columns are quantized last and the dense part carries the code nearest 0 there
  for (std::size_t t = 0; t < k; ++t) CHECK(r.perm[L.n - k + t] == r.weak_columns[t]);
  const auto dense = caltest::dequant(r.m.dense);
  if constexpr (!std::is_same_v<TestType, S3raw>)
    for (std::uint32_t j : r.weak_columns)
      for (std::size_t i = 0; i < L.m; ++i) CHECK(dense[i * L.n + j] == 0.0f);
  // reconstruction = dense + sparse; weak values are the error-updated ones, not the originals:
  // on the damped H GPTQ used, restoring the original fp16 values can only be worse (6.1 test 2)
  const auto wh = dq(r.m);
  std::vector<float> restored = wh;
  double moved = 0;
  for (std::uint32_t j : r.weak_columns)
    for (std::size_t i = 0; i < L.m; ++i) {
      const float orig = decode<fp16>(encode<fp16>(L.w[i * L.n + j]));
      moved += std::fabs(wh[i * L.n + j] - orig);
      restored[i * L.n + j] = orig;
    }
  CHECK(moved > 0);
  Eigen::MatrixXd Hd = H;
  Hd.diagonal().array() += r.damp;
  const double with_updated = caltest::quad_error(L.w, wh, L.m, L.n, Hd);
  const double with_original = caltest::quad_error(L.w, restored, L.m, L.n, Hd);
  CHECK(with_updated < with_original);
  // the accumulated loss is the objective with the weak columns at their unrounded optimum; their
  // fp16 rounding can only add to it (about 1% here: the weak columns meet the largest H_jj)
  CHECK(r.loss <= 0.5 * with_updated * (1 + 1e-9));
  // storage: 16 bits per weak value plus a 32-bit index per weak column
  CHECK(r.m.bits_per_weight() ==
        Approx(r.m.dense.bits_per_weight() + (16.0 * k * L.m + 32.0 * k) / (L.m * L.n)).epsilon(1e-12));
}

TEST_CASE("OWQ: 1% weak columns halve the error on the outlier generator (seeded)", "[outliers][owq][seeded]") {
  // ALGORITHMS.md 6.1 test 3 ([M] 0.25x at 3 bits).
  using S = scheme<uint_format<3>, per_channel, fp16, asym::int_zero<true>>;
  for (unsigned seed : {1u, 2u, 3u}) {
    const auto& L = cached_layer(128, 512, 4096, seed);
    const auto g = gptq<S>(L.w.data(), L.m, L.n, L.stats);
    const auto w = owq<S>(L.w.data(), L.m, L.n, L.stats, 6);  // ceil(1% of 512) rounded up to even
    const double e0 = caltest::rel_output_error(L, caltest::dequant(g.q)), e1 = caltest::rel_output_error(L, dq(w.m));
    INFO("seed " << seed << " GPTQ " << e0 << " OWQ(6) " << e1);
    CHECK(e1 <= 0.5 * e0);
  }
}

TEMPLATE_TEST_CASE("SpQR-style outliers: dense + sparse, fp16 at the outliers, fewer with higher tau", "[outliers][spqr]",
                   S3, S3raw, S4c) {
  // heavy-tailed weights make real outliers
  const auto& L = cached_layer(32, 256, 1024, 33);
  std::vector<float> w = L.w;
  std::mt19937 rng(4);
  std::uniform_int_distribution<std::size_t> pick(0, w.size() - 1);
  for (int i = 0; i < 60; ++i) w[pick(rng)] *= 12;
  const auto g = gptq<TestType>(w.data(), L.m, L.n, L.stats);
  std::size_t prev = SIZE_MAX;
  for (double tau : {0.5, 1.0, 2.0, 4.0, 8.0}) {
    const auto r = spqr<TestType>(w.data(), L.m, L.n, L.stats, tau);
    INFO("tau " << tau << " outliers " << r.outliers);
    CHECK(r.outliers > 0);
    CHECK(r.outliers <= prev);  // seeded: monotone on this layer
    prev = r.outliers;
    const auto& sp = r.m.sparse;
    REQUIRE(sp.row_ptr.size() == L.m + 1);
    CHECK(sp.row_ptr.back() == r.outliers);
    const auto dense = caltest::dequant(r.m.dense);
    const auto wh = dq(r.m);
    for (std::size_t i = 0; i < L.m; ++i)
      for (std::uint32_t k = sp.row_ptr[i]; k < sp.row_ptr[i + 1]; ++k) {
        if (k > sp.row_ptr[i]) CHECK(sp.col_idx[k - 1] < sp.col_idx[k]);
        const std::size_t j = sp.col_idx[k];
        if constexpr (!std::is_same_v<TestType, S3raw>) CHECK(dense[i * L.n + j] == 0.0f);
        CHECK(wh[i * L.n + j] == dense[i * L.n + j] + decode<fp16>(sp.values[k]));
      }
    CHECK(r.loss < g.loss);
    CHECK(caltest::rel_output_error(L, wh) < caltest::rel_output_error(L, caltest::dequant(g.q)));
  }
}

TEST_CASE("dense-and-sparse reference gemv equals the dequantized product, row ranges compose", "[outliers]") {
  const auto& L = cached_layer(20, 128, 512, 34);
  outlier_options o;
  o.weak_columns = 4;
  o.outlier_threshold = 1.0;
  const auto r = gptq_outliers<S3>(L.w.data(), L.m, L.n, L.stats, o);
  REQUIRE(r.m.sparse.column_values.size() == 4 * L.m);
  REQUIRE(r.outliers > 0);
  std::vector<float> x(L.n);
  std::mt19937 rng(5);
  std::normal_distribution<float> nd;
  for (auto& v : x) v = nd(rng);
  const auto wh = dq(r.m);
  std::vector<float> y(L.m, NAN), y2(L.m, NAN);
  gemv_reference(r.m, x.data(), y.data());
  gemv_reference(r.m, x.data(), y2.data(), 0, 7);
  gemv_reference(r.m, x.data(), y2.data(), 7, L.m);
  for (std::size_t i = 0; i < L.m; ++i) {
    double ref = 0, mag = 0;
    for (std::size_t j = 0; j < L.n; ++j) ref += static_cast<double>(wh[i * L.n + j]) * x[j], mag += std::fabs(wh[i * L.n + j] * x[j]);
    CHECK(std::fabs(y[i] - ref) <= 1e-5 * mag);
    CHECK(y2[i] == y[i]);
  }
  // the sparse add alone on a slice of rows
  std::vector<float> part(5 * L.n, 0.0f);
  sparse_add_reference(r.m.sparse, part.data(), 10, 15);
  const auto dense = caltest::dequant(r.m.dense);
  for (std::size_t i = 10; i < 15; ++i)
    for (std::size_t j = 0; j < L.n; ++j) CHECK(dense[i * L.n + j] + part[(i - 10) * L.n + j] == wh[i * L.n + j]);
}

TEST_CASE("outliers bad input", "[outliers][errors]") {
  const auto& L = cached_layer(8, 64, 128, 35);
  outlier_options o;
  o.weak_columns = 65;
  CHECK_THROWS_WITH(gptq_outliers<S3>(L.w.data(), 8, 64, L.stats, o), Catch::Matchers::Contains("weak_columns = 65"));
  o = {};
  o.outlier_threshold = -1;
  CHECK_THROWS_WITH(gptq_outliers<S3>(L.w.data(), 8, 64, L.stats, o), Catch::Matchers::Contains("outlier_threshold"));
  o = {};
  o.gptq.order = act_order::g_idx;
  CHECK_THROWS_WITH(gptq_outliers<S3>(L.w.data(), 8, 64, L.stats, o), Catch::Matchers::Contains("g_idx"));
  layer_stats other(32);
  other.add_batch(std::vector<float>(32, 1.0f).data(), 1);
  CHECK_THROWS_WITH(owq<S3>(L.w.data(), 8, 64, other, 2), Catch::Matchers::Contains("K = 32"));
  // every column weak: the dense part is all codes of 0, the sparse part the whole layer
  o = {};
  o.weak_columns = 64;
  const auto all = gptq_outliers<S3>(L.w.data(), 8, 64, L.stats, o);
  const auto wh = dq(all.m);
  for (std::size_t i = 0; i < wh.size(); ++i) CHECK(wh[i] == decode<fp16>(encode<fp16>(L.w[i])));
  CHECK(all.loss == 0);
}

TEST_CASE("outliers on per-tensor schemes and fully weak groups", "[outliers]") {
  const auto& L = cached_layer(12, 64, 256, 36);
  using T3 = scheme<int_sym<3>, per_tensor, fp32, sym::restricted>;
  using G4 = scheme<uint_format<3>, group<4>, fp16, asym::int_zero<true>>;
  // per-tensor: weak columns and outliers together
  outlier_options o;
  o.weak_columns = 3;
  o.outlier_threshold = 1.0;
  const auto t = gptq_outliers<T3>(L.w.data(), L.m, L.n, L.stats, o);
  CHECK(t.m.sparse.column_index.size() == 3);
  for (float v : dq(t.m)) CHECK(std::isfinite(v));
  // make columns 0..3 (group 0) the most sensitive by H_jj alone: the whole group is weak
  Eigen::MatrixXd H = L.stats.hessian();
  const double top = H.diagonal().maxCoeff();
  for (Eigen::Index j = 0; j < 4; ++j) H(j, j) += 1e3 * top;  // still positive semi-definite
  o = {};
  o.weak_columns = 4;
  o.weak_by_error = false;
  for (act_order ao : {act_order::none, act_order::static_groups}) {
    o.gptq.order = ao;
    const auto r = gptq_outliers<G4>(L.w.data(), L.m, L.n, H, o);
    CHECK(r.weak_columns == std::vector<std::uint32_t>{0, 1, 2, 3});
    const auto dense = caltest::dequant(r.m.dense);
    for (std::size_t i = 0; i < L.m; ++i)
      for (std::size_t j = 0; j < 4; ++j) CHECK(dense[i * L.n + j] == 0.0f);
    for (float v : dq(r.m)) CHECK(std::isfinite(v));
  }
}

TEST_CASE("outliers Eigen front end equals the pointer front end", "[outliers]") {
  const auto& L = cached_layer(8, 64, 128, 37);
  const Eigen::Map<const caltest::RowMatF> W(L.w.data(), 8, 64);
  outlier_options o;
  o.weak_columns = 2;
  const auto a = gptq_outliers<S3>(W, L.stats, o), b = gptq_outliers<S3>(L.w.data(), 8, 64, L.stats, o);
  CHECK(caltest::same_bytes(a.m.dense, b.m.dense));
  CHECK(a.m.sparse.column_values == b.m.sparse.column_values);
}
