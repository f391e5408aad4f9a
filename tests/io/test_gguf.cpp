// GGUF: the format as published (hand-assembled bytes), exact round trips of every value type,
// float, ggml and mixq tensors, llama.cpp's layout rules, and views in place over mmapped files.
#include "common.hpp"

#include <mixq/mixq.hpp>

#include <cmath>
#include <limits>

using namespace io_test;
namespace gguf = mixq::gguf;

namespace {

/// What llama.cpp's gguf reader (ggml/src/gguf.cpp) demands beyond the format itself: names
/// shorter than 64 bytes, a u32 general.alignment if present, tensor offsets equal to the running
/// sum of the previous tensors' sizes padded to the alignment, and the padded data present.
void check_llama_cpp_rules(const gguf::file& f) {
  if (const auto* a = f.find("general.alignment")) CHECK(a->holds<std::uint32_t>());
  std::uint64_t expect = 0;
  for (const auto& t : f.tensors()) {
    CHECK(t.name.size() < 64);
    CHECK(t.offset == expect);
    expect += (t.n_bytes + f.alignment() - 1) / f.alignment() * f.alignment();
  }
  for (const auto& [k, v] : f.metadata()) CHECK(!k.empty());
  if (!f.tensors().empty()) {
    CHECK(f.data_offset() % f.alignment() == 0);
    CHECK(f.bytes().size() == f.data_offset() + expect);
  }
}

}  // namespace

TEST_CASE("gguf: the writer produces the published byte layout", "[io][gguf]") {
  // One u32 key, one string key, one 2 x 3 f32 tensor, default alignment 32 - assembled by hand
  // from the GGUF v3 specification.
  bytes_builder e;
  e.raw("GGUF").u32(3).u64(1).u64(2);
  e.str("general.architecture").u32(8).str("llama");
  e.str("test.n").u32(4).u32(7);
  e.str("w").u32(2).u64(3).u64(2).u32(0).u64(0);
  e.pad_to(32);
  for (int i = 0; i < 6; ++i) e.put<float>(static_cast<float>(i) + 0.5f);
  e.pad_to(32);

  gguf::writer w;
  w.set("general.architecture", gguf::value("llama"));
  w.set("test.n", gguf::value(std::uint32_t{7}));
  const float data[6] = {0.5f, 1.5f, 2.5f, 3.5f, 4.5f, 5.5f};
  w.add_float("w", data, 2, 3);
  CHECK(w.to_bytes() == e.b);

  const auto f = gguf::file::parse(e.b);
  CHECK(f.file_version() == 3);
  CHECK(f.alignment() == 32);
  CHECK(f.data_offset() % 32 == 0);
  CHECK(f.at("general.architecture").str() == "llama");
  CHECK(f.at("test.n").get<std::uint32_t>() == 7);
  const auto& t = f.tensor("w");
  CHECK(t.n_dims == 2);
  CHECK(t.ne[0] == 3);
  CHECK(t.ne[1] == 2);
  CHECK(t.rows() == 2);
  CHECK(t.cols() == 3);
  CHECK(f.to_float(t) == std::vector<float>(data, data + 6));
  check_llama_cpp_rules(f);
}

TEST_CASE("gguf: every metadata value type round-trips exactly", "[io][gguf]") {
  gguf::writer w;
  w.set("u8", gguf::value(std::uint8_t{200}));
  w.set("i8", gguf::value(std::int8_t{-100}));
  w.set("u16", gguf::value(std::uint16_t{60000}));
  w.set("i16", gguf::value(std::int16_t{-30000}));
  w.set("u32", gguf::value(std::uint32_t{4000000000u}));
  w.set("i32", gguf::value(std::int32_t{-2000000000}));
  w.set("f32", gguf::value(-1.25f));
  w.set("f32.nan", gguf::value(std::numeric_limits<float>::quiet_NaN()));
  w.set("bool.t", gguf::value(true));
  w.set("bool.f", gguf::value(false));
  w.set("str", gguf::value("h\xc3\xa9llo \xf0\x9f\x98\x80"));
  w.set("str.empty", gguf::value(""));
  w.set("u64", gguf::value(std::numeric_limits<std::uint64_t>::max()));
  w.set("i64", gguf::value(std::numeric_limits<std::int64_t>::min()));
  w.set("f64", gguf::value(3.141592653589793));
  w.set("a.u8", gguf::value::array(std::vector<std::uint8_t>{1, 2, 255}));
  w.set("a.i8", gguf::value::array(std::vector<std::int8_t>{-1, 0, 127}));
  w.set("a.u16", gguf::value::array(std::vector<std::uint16_t>{1, 65535}));
  w.set("a.i16", gguf::value::array(std::vector<std::int16_t>{-32768}));
  w.set("a.u32", gguf::value::array(std::vector<std::uint32_t>{}));
  w.set("a.i32", gguf::value::array(std::vector<std::int32_t>{-5, 5}));
  w.set("a.f32", gguf::value::array(std::vector<float>{1.f, -0.f, std::numeric_limits<float>::infinity()}));
  w.set("a.bool", gguf::value::array(std::vector<bool>{true, false, true}));
  w.set("a.str", gguf::value::array(std::vector<std::string>{"a", "", "tokens \n\t"}));
  w.set("a.u64", gguf::value::array(std::vector<std::uint64_t>{0, ~0ull}));
  w.set("a.i64", gguf::value::array(std::vector<std::int64_t>{-1}));
  w.set("a.f64", gguf::value::array(std::vector<double>{1e300, -1e-300}));
  w.set("replaced", gguf::value(std::uint32_t{1}));
  w.set("replaced", gguf::value("now a string"));
  const auto bytes = w.to_bytes();
  const auto f = gguf::file::parse(bytes);
  REQUIRE(f.metadata().size() == w.metadata().size());
  for (std::size_t i = 0; i < f.metadata().size(); ++i) {
    CHECK(f.metadata()[i].first == w.metadata()[i].first);
    CHECK(f.metadata()[i].second == w.metadata()[i].second);
  }
  CHECK(f.tensors().empty());
  CHECK(f.at("replaced").str() == "now a string");
  CHECK(f.at("a.bool").array<bool>() == std::vector<bool>{true, false, true});
  CHECK(f.at("a.str").array<std::string>()[2] == "tokens \n\t");
  CHECK(f.at("u16").as_uint() == 60000u);
  CHECK_FALSE(f.at("i8").as_uint().has_value());
  CHECK(std::isnan(f.at("f32.nan").get<float>()));
  CHECK(f.at("a.u32").describe_type() == "array of 0 u32");
  // Wrong-type access says what the value is.
  CHECK(contains(error_of([&] { (void)f.at("u8").get<std::uint32_t>(); }), "the value is u8; requested u32"));
  CHECK(contains(error_of([&] { (void)f.at("a.u8").str(); }), "array of 3 u8"));
  CHECK(contains(error_of([&] { (void)f.at("no.such.key"); }), "no metadata key 'no.such.key'"));
  // Re-writing what was read gives the same bytes.
  gguf::writer w2;
  for (const auto& [k, v] : f.metadata()) w2.set(k, v);
  CHECK(w2.to_bytes() == bytes);
}

TEST_CASE("gguf: f32, f16 and bf16 tensors, 1-D to 4-D", "[io][gguf]") {
  const auto x = random_matrix(4 * 96, 1);
  gguf::writer w;
  w.add_float("f32", x.data(), 4, 96);
  w.add_float("f16", x.data(), 4, 96, gguf::type_f16);
  w.add_float("bf16", x.data(), 4, 96, gguf::type_bf16);
  w.add_float("vec", x.data(), 1, 96);
  std::vector<std::byte> raw(x.size() * 4);
  std::memcpy(raw.data(), x.data(), raw.size());
  const std::uint64_t ne4[4] = {8, 3, 4, 4};
  w.add_tensor("t4d", gguf::type_f32, ne4, raw);
  const std::uint64_t ne0[1] = {1};
  w.add_tensor("scalar", gguf::type_f32, std::span<const std::uint64_t>(ne0, 0), std::span(raw).first(4));
  const auto f = gguf::file::parse(w.to_bytes());
  check_llama_cpp_rules(f);
  CHECK(f.to_float(f.tensor("f32")) == x);
  const auto in_place = f.f32(f.tensor("f32"));
  CHECK(std::vector<float>(in_place.begin(), in_place.end()) == x);
  CHECK(contains(error_of([&] { (void)f.f32(f.tensor("f16")); }), "has ggml type f16; expected f32"));
  CHECK(f.tensor("vec").n_dims == 1);
  CHECK(f.tensor("scalar").n_dims == 0);
  CHECK(f.tensor("scalar").n_elements == 1);
  const auto& t4 = f.tensor("t4d");
  CHECK(t4.n_dims == 4);
  CHECK(t4.rows() == 48);
  CHECK(f.to_float(t4) == x);
  const auto h = f.to_float(f.tensor("f16"));
  const auto b = f.to_float(f.tensor("bf16"));
  for (std::size_t i = 0; i < x.size(); ++i) {
    REQUIRE(h[i] == mixq::decode<mixq::fp16>(mixq::encode<mixq::fp16>(x[i])));
    REQUIRE(b[i] == mixq::decode<mixq::bf16>(mixq::encode<mixq::bf16>(x[i])));
  }
}

TEST_CASE("gguf: the ggml type table agrees with the ggml block codecs", "[io][gguf]") {
  auto check = [](auto tag) {
    using T = decltype(tag);
    const auto* info = gguf::find_ggml_type(static_cast<std::uint32_t>(T::type_id));
    REQUIRE(info != nullptr);
    CHECK(info->block_elems == T::block_elems);
    CHECK(info->block_bytes == T::block_bytes);
    CHECK(gguf::find_ggml_type(T::name) == info);
  };
  check(mixq::ggml::q4_0{});
  check(mixq::ggml::q4_1{});
  check(mixq::ggml::q5_0{});
  check(mixq::ggml::q5_1{});
  check(mixq::ggml::q8_0{});
  check(mixq::ggml::q2_k{});
  check(mixq::ggml::q3_k{});
  check(mixq::ggml::q4_k{});
  check(mixq::ggml::q5_k{});
  check(mixq::ggml::q6_k{});
  check(mixq::ggml::iq4_nl{});
  check(mixq::ggml::mxfp4{});
  // Ids of ggml.h, including the types mixq only parses.
  CHECK(gguf::find_ggml_type("bf16")->id == 30);
  CHECK(gguf::find_ggml_type("iq4_xs")->block_bytes == 136);
  CHECK(gguf::find_ggml_type("tq1_0")->block_bytes == 54);
  CHECK(gguf::find_ggml_type(4) == nullptr);  // removed Q4_2
  CHECK(gguf::find_ggml_type(43) == nullptr);
}

TEMPLATE_TEST_CASE("gguf: ggml block tensors round-trip bit-exactly and decode as ggml does", "[io][gguf]",
                   mixq::ggml::q4_0, mixq::ggml::q4_1, mixq::ggml::q5_0, mixq::ggml::q5_1, mixq::ggml::q8_0,
                   mixq::ggml::q2_k, mixq::ggml::q3_k, mixq::ggml::q4_k, mixq::ggml::q5_k, mixq::ggml::q6_k,
                   mixq::ggml::iq4_nl, mixq::ggml::mxfp4) {
  using T = TestType;
  const std::size_t rows = 3, cols = 512;
  const auto x = random_matrix(rows * cols, 7);
  const std::size_t rb = mixq::ggml::row_size<T>(cols);
  std::vector<std::byte> expect(rows * rb);
  for (std::size_t r = 0; r < rows; ++r) mixq::ggml::quantize_row_model<T>(x.data() + r * cols, cols, expect.data() + r * rb);

  gguf::writer w;
  w.quantize_ggml<T>("blk.0.w", x.data(), rows, cols);
  w.add_float("norm", x.data(), 1, cols);
  const std::string path = temp_path(std::string("ggml_") + T::name + ".gguf");
  w.write(path);
  const auto f = gguf::file::open(path);
  check_llama_cpp_rules(f);
  const auto& t = f.tensor("blk.0.w");
  CHECK(t.type == static_cast<std::uint32_t>(T::type_id));
  CHECK(t.ne[0] == cols);
  CHECK(t.ne[1] == rows);
  const auto d = f.data(t);
  REQUIRE(d.size() == expect.size());
  CHECK(std::memcmp(d.data(), expect.data(), d.size()) == 0);
  // A view in place, no copy: it points into the mapping.
  const auto v = f.ggml_view<T>("blk.0.w");
  CHECK(reinterpret_cast<const std::byte*>(v.base) == d.data());
  CHECK(v.rows == rows);
  CHECK(v.row_bytes() == rb);
  std::vector<float> y(cols);
  const auto all = f.to_float(t);
  for (std::size_t r = 0; r < rows; ++r) {
    mixq::ggml::dequantize_row<T>(v.row(r), cols, y.data());
    for (std::size_t c = 0; c < cols; ++c) REQUIRE(std::memcmp(&y[c], &all[r * cols + c], 4) == 0);
  }
  CHECK(contains(error_of([&] { (void)f.ggml_view<mixq::ggml::q6_k>("norm"); }),
                 std::string("has ggml type f32; requested ") + mixq::ggml::q6_k::name));
}

namespace {
struct odd_levels {
  static constexpr std::array<float, 4> values{-1.f, -0.3f, 0.2f, 1.f};
};
struct odd_levels2 {
  static constexpr std::array<float, 4> values{-1.f, -0.25f, 0.25f, 1.f};
};
}  // namespace

TEMPLATE_TEST_CASE("gguf: mixq schemes round-trip exactly, as views in place over the mapping", "[io][gguf]",
                   mixq::int4_g128_sym, mixq::int4_g128_asym, mixq::int3_g128_asym, mixq::int2_g64_asym,
                   mixq::int8_per_channel, mixq::int4_per_channel_gptq, mixq::nf4_g64, mixq::fp8_e4m3_per_channel,
                   mixq::mxfp4, mixq::mxfp6_e3m2, mixq::mxint8, mixq::nvfp4,
                   (mixq::scheme<mixq::uint_format<1>, mixq::group<8>, mixq::fp16, mixq::asym::int_zero<>>),
                   (mixq::scheme<mixq::int_sym<2>, mixq::per_tensor, mixq::fp32>),
                   (mixq::scheme<mixq::int3, mixq::group<24>, mixq::bf16>),
                   (mixq::scheme<mixq::uint4, mixq::group<64>, mixq::fp16, mixq::asym::float_zero<>>),
                   (mixq::scheme<mixq::uint_format<5>, mixq::group<48>, mixq::bf16, mixq::asym::int_zero<>>),
                   (mixq::scheme<mixq::iq4_nl, mixq::group<32>, mixq::fp16, mixq::sym::signed_extreme>),
                   (mixq::scheme<mixq::codebook<odd_levels>, mixq::group<16>, mixq::fp16>)) {
  using S = TestType;
  const std::size_t rows = 5, cols = 384;
  const auto x = random_matrix(rows * cols, 11);
  auto q = mixq::quantize<S>(x.data(), rows, cols);
  const auto raw = std::vector<std::byte>(q.raw().begin(), q.raw().end());
  std::vector<float> dq(rows * cols);
  mixq::dequantize_reference(q, dq.data());

  gguf::writer w;
  w.add_float("tok_embd", x.data(), rows, cols);
  w.add_matrix("blk.0.attn_q", q);
  w.add_matrix("blk.0.attn_k", std::move(q));
  const std::string path = temp_path("mixq_scheme.gguf");
  w.write(path);

  const auto f = gguf::file::open(path);
  check_llama_cpp_rules(f);
  CHECK(f.alignment() == 64);
  CHECK(f.scheme_of("blk.0.attn_q") == gguf::scheme_id<S>());
  CHECK(f.scheme_of("tok_embd").empty());
  const auto v = f.matrix_view<S>("blk.0.attn_q");
  CHECK(reinterpret_cast<const std::byte*>(v.base) == f.data(f.tensor("blk.0.attn_q")).data());  // no copy
  CHECK(v.rows() == rows);
  CHECK(v.cols() == cols);
  REQUIRE(v.bytes() == raw.size());
  CHECK(std::memcmp(v.base, raw.data(), raw.size()) == 0);
  std::vector<float> got(rows * cols);
  mixq::dequantize_reference(v, got.data(), 0, rows);
  CHECK(std::memcmp(got.data(), dq.data(), got.size() * 4) == 0);
  // The owning copy, from an unaligned in-memory image.
  std::vector<std::byte> image(f.bytes().begin(), f.bytes().end());
  std::vector<std::byte> shifted(image.size() + 1);
  std::memcpy(shifted.data() + 1, image.data(), image.size());
  const auto g = gguf::file::parse(std::span<const std::byte>(shifted).subspan(1));
  const auto m = g.matrix<S>("blk.0.attn_k");
  CHECK(std::memcmp(m.raw().data(), raw.data(), raw.size()) == 0);
  CHECK(contains(error_of([&] { (void)g.matrix_view<S>("blk.0.attn_k"); }), "is not 64-byte aligned"));
  // to_float refuses scheme blobs, and the wrong scheme is named.
  CHECK(contains(error_of([&] { (void)f.to_float(f.tensor("blk.0.attn_q")); }), "holds mixq scheme"));
  using other = std::conditional_t<std::is_same_v<S, mixq::int4_g128_sym>, mixq::int4_g32_asym, mixq::int4_g128_sym>;
  const auto err = error_of([&] { (void)f.matrix_view<other>("blk.0.attn_q"); });
  CHECK(contains(err, gguf::scheme_id<S>()));
  CHECK(contains(err, "requested '" + gguf::scheme_id<other>() + "'"));
  CHECK(contains(error_of([&] { (void)f.matrix_view<S>("tok_embd"); }), "not a mixq scheme tensor"));
}

TEST_CASE("gguf: user codebooks of the same width are told apart", "[io][gguf]") {
  using A = mixq::scheme<mixq::codebook<odd_levels>, mixq::group<16>, mixq::fp16>;
  using B = mixq::scheme<mixq::codebook<odd_levels2>, mixq::group<16>, mixq::fp16>;
  CHECK(mixq::scheme_name<A>() == mixq::scheme_name<B>());
  CHECK(gguf::scheme_id<A>() != gguf::scheme_id<B>());
  CHECK(gguf::scheme_id<mixq::nf4_g64>() == mixq::scheme_name<mixq::nf4_g64>());
}

TEST_CASE("gguf: mixq scheme metadata is checked before use", "[io][gguf]") {
  using S = mixq::int4_g32_asym;
  const auto x = random_matrix(2 * 64, 3);
  auto build = [&](auto&& edit) {
    gguf::writer w;
    w.add_matrix("m", mixq::quantize<S>(x.data(), 2, 64));
    edit(w);
    return w.to_bytes();
  };
  auto err = [&](auto&& edit) {
    const auto b = build(edit);
    const auto f = gguf::file::parse(b);
    return error_of([&] { (void)f.template matrix<S>("m"); });
  };
  CHECK(err([](gguf::writer&) {}).empty());
  CHECK(contains(err([](gguf::writer& w) { w.set("mixq.shape.m", gguf::value::array(std::vector<std::uint64_t>{4, 64})); }),
                 "blob has"));
  CHECK(contains(err([](gguf::writer& w) { w.set("mixq.shape.m", gguf::value::array(std::vector<std::uint64_t>{2, 48})); }),
                 "not a multiple of the group size"));
  CHECK(contains(err([](gguf::writer& w) { w.set("mixq.shape.m", gguf::value::array(std::vector<std::uint64_t>{1ull << 41, 64})); }),
                 "out of range"));
  CHECK(contains(err([](gguf::writer& w) { w.set("mixq.shape.m", gguf::value::array(std::vector<std::uint64_t>{~0ull, ~0ull})); }),
                 "out of range"));
  CHECK(contains(err([](gguf::writer& w) { w.set("mixq.shape.m", gguf::value::array(std::vector<std::uint64_t>{1ull << 40, 1ull << 40})); }),
                 "out of range"));  // each in range, the product is not (and would overflow 64 bits)
  CHECK(contains(err([](gguf::writer& w) { w.set("mixq.shape.m", gguf::value::array(std::vector<std::uint32_t>{2, 64})); }),
                 "expected an array of 2 u64"));
  CHECK(contains(err([](gguf::writer& w) { w.set("mixq.layout", gguf::value(std::uint32_t{2})); }), "mixq.layout"));
  CHECK(contains(err([](gguf::writer& w) { w.set("mixq.scheme.m", gguf::value(std::uint32_t{2})); }), "expected a string"));
}

TEST_CASE("gguf: the writer keeps to what llama.cpp loads", "[io][gguf]") {
  gguf::writer w;
  const float x[32] = {};
  CHECK(contains(error_of([&] { w.add_float(std::string(64, 'n'), x, 1, 32); }), "at most 63"));
  w.add_float(std::string(63, 'n'), x, 1, 32);
  CHECK(contains(error_of([&] { w.add_float(std::string(63, 'n'), x, 1, 32); }), "already added"));
  CHECK(contains(error_of([&] { w.set("", gguf::value(1.f)); }), "key length 0"));
  CHECK(contains(error_of([&] { w.set("general.alignment", gguf::value(std::uint64_t{32})); }), "must be a u32"));
  CHECK(contains(error_of([&] { w.set("general.alignment", gguf::value(std::uint32_t{48})); }), "power of two"));
  CHECK(contains(error_of([&] { gguf::writer bad(0); }), "power of two"));
  const std::uint64_t ne[2] = {31, 1};
  CHECK(contains(error_of([&] { w.add_tensor("q", gguf::type_q4_0, ne, std::vector<std::byte>(18)); }),
                 "not a multiple of the q4_0 block size 32"));
  const std::uint64_t ne2[2] = {32, 2};
  CHECK(contains(error_of([&] { w.add_tensor("q", gguf::type_q4_0, ne2, std::vector<std::byte>(18)); }), "need 36"));
  const std::uint64_t ne0[2] = {32, 0};
  CHECK(contains(error_of([&] { w.add_tensor("q", gguf::type_q4_0, ne0, std::vector<std::byte>{}); }), "empty tensor"));
  CHECK(contains(error_of([&] { w.add_tensor("q", 5, ne2, std::vector<std::byte>(36)); }), "unknown"));
  // Alignments other than 32 are recorded, and tensors still follow each other padded.
  gguf::writer w2(256);
  w2.add_float("a", x, 1, 32);
  w2.add_float("b", x, 1, 7);
  w2.add_float("c", x, 1, 32);
  const auto f = gguf::file::parse(w2.to_bytes());
  CHECK(f.at("general.alignment").get<std::uint32_t>() == 256);
  CHECK(f.tensor("b").offset == 256);
  CHECK(f.tensor("c").offset == 512);
  check_llama_cpp_rules(f);
}

TEST_CASE("gguf: mapping errors name the path", "[io][gguf]") {
  CHECK(contains(error_of([] { (void)gguf::file::open("/nonexistent/x.gguf"); }), "'/nonexistent/x.gguf'"));
  CHECK(contains(error_of([] { (void)gguf::file::open(temp_dir().string()); }), "not a regular file"));
  const std::string empty = temp_path("empty.gguf");
  write_file(empty, {});
  CHECK(contains(error_of([&] { (void)gguf::file::open(empty); }), "a GGUF header needs 24"));
  CHECK(contains(error_of([&] { gguf::writer().write("/nonexistent/dir/out.gguf"); }), "cannot create"));
}
