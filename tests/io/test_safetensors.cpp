// safetensors: the reference implementation's own byte vectors, every dtype, JSON details, and
// corrupt headers.
#include "common.hpp"

#include <mixq/mixq.hpp>

#include <cmath>

using namespace io_test;
namespace st = mixq::safetensors;

namespace {

std::vector<std::byte> to_bytes(std::initializer_list<int> v) {
  std::vector<std::byte> b;
  for (int x : v) b.push_back(static_cast<std::byte>(x));
  return b;
}

/// A file from a header text (padded with spaces to 8) and `data_bytes` bytes of data.
std::vector<std::byte> with_header(std::string h, std::size_t data_bytes = 0, bool pad = true) {
  if (pad) h.append((8 - h.size() % 8) % 8, ' ');
  bytes_builder b;
  b.u64(h.size()).raw(h);
  b.b.resize(b.b.size() + data_bytes, std::byte{0x3c});
  return b.b;
}

std::string parse_error(const std::vector<std::byte>& b) {
  return error_of([&] { (void)st::file::parse(b); });
}

void expect_error(const std::vector<std::byte>& b, std::initializer_list<std::string_view> parts) {
  const std::string e = parse_error(b);
  INFO("error: " << e);
  REQUIRE_FALSE(e.empty());
  CHECK(contains(e, "safetensors: <memory>: "));
  for (auto p : parts) CHECK(contains(e, p));
}

}  // namespace

TEST_CASE("safetensors: byte vectors of the reference implementation's tests", "[io][safetensors]") {
  // huggingface/safetensors tensor.rs, test_serialization: {"attn.0": F32 [1, 2, 3] = 0..5}.
  {
    st::writer w;
    const float v[6] = {0, 1, 2, 3, 4, 5};
    w.add_float("attn.0", {1, 2, 3}, v);
    const auto expect = to_bytes(
        {64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58,
         34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116,
         97, 95, 111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63,
         0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64});
    CHECK(w.to_bytes() == expect);
    const auto f = st::file::parse(expect);
    const auto& t = f.tensor("attn.0");
    CHECK(t.shape == std::vector<std::uint64_t>{1, 2, 3});
    CHECK(f.to_float(t) == std::vector<float>(v, v + 6));
  }
  // test_serialization_forced_alignement: "attn0", shape [1, 1, 2, 3], padded with 7 spaces.
  {
    st::writer w;
    const float v[6] = {0, 1, 2, 3, 4, 5};
    w.add_float("attn0", {1, 1, 2, 3}, v);
    const auto b = w.to_bytes();
    CHECK(b[0] == std::byte{72});
    const std::string tail(reinterpret_cast<const char*>(b.data()) + 8 + 65, 7);
    CHECK(tail == "       ");
    const auto f = st::file::parse(b);
    CHECK(f.data_offset() == 80);
    CHECK(f.f32(f.tensor("attn0")).size() == 6);  // in place: aligned
  }
  // test_empty: no tensors; then with __metadata__ {"framework": "pt"}.
  {
    st::writer w;
    CHECK(w.to_bytes() == to_bytes({8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32}));
    w.set_metadata("framework", "pt");
    const auto expect = to_bytes({40, 0,   0,   0,   0,   0,   0,   0,   123, 34,  95,  95,  109, 101,
                                  116, 97, 100, 97,  116, 97,  95,  95,  34,  58,  123, 34,  102, 114,
                                  97, 109, 101, 119, 111, 114, 107, 34,  58,  34,  112, 116, 34,  125,
                                  125, 32, 32,  32,  32,  32});
    CHECK(w.to_bytes() == expect);
    const auto f = st::file::parse(expect);
    CHECK(f.tensors().empty());
    REQUIRE(f.metadata("framework") != nullptr);
    CHECK(*f.metadata("framework") == "pt");
  }
}

TEST_CASE("safetensors: every dtype round-trips, laid out aligned", "[io][safetensors]") {
  st::writer w;
  std::mt19937 rng(3);
  std::vector<std::vector<std::byte>> payloads;
  for (const auto& d : st::dtypes) {
    const std::vector<std::uint64_t> shape = d.bits < 8 ? std::vector<std::uint64_t>{3, 8} : std::vector<std::uint64_t>{3, 5};
    const std::size_t bytes = static_cast<std::size_t>(st::byte_size(d.type, 3 * shape[1], "test"));
    std::vector<std::byte> p(bytes);
    for (auto& x : p) x = static_cast<std::byte>(rng());
    if (d.type == st::dtype::BOOL)
      for (auto& x : p) x &= std::byte{1};
    w.add(std::string("t_") + std::string(d.name), d.type, shape, p);
    payloads.push_back(p);
  }
  w.add("scalar", st::dtype::I64, {}, std::vector<std::byte>(8, std::byte{7}));
  w.add("empty", st::dtype::F32, {0, 4}, {});
  w.set_metadata("note", "\"quoted\" \\ \n \xc3\xa9");
  const std::string path = temp_path("all.safetensors");
  w.write(path);
  const auto f = st::file::open(path);
  CHECK(f.data_offset() % 8 == 0);
  CHECK(f.tensors().size() == st::dtypes.size() + 2);
  for (std::size_t i = 0; i < st::dtypes.size(); ++i) {
    const auto& d = st::dtypes[i];
    const auto& t = f.tensor(std::string("t_") + std::string(d.name));
    CHECK(t.type == d.type);
    const auto data = f.data(t);
    REQUIRE(data.size() == payloads[i].size());
    CHECK(std::memcmp(data.data(), payloads[i].data(), data.size()) == 0);
    const std::size_t elem = d.bits >= 8 ? d.bits / 8 : 1;
    CHECK(reinterpret_cast<std::uintptr_t>(data.data()) % elem == 0);
  }
  CHECK(f.tensor("scalar").n_elements == 1);
  CHECK(f.tensor("empty").n_bytes() == 0);
  CHECK(*f.metadata("note") == "\"quoted\" \\ \n \xc3\xa9");
  // Re-writing what was read gives a file that reads the same.
  st::writer w2;
  for (const auto& [k, v] : f.metadata()) w2.set_metadata(k, v);
  for (const auto& t : f.tensors()) w2.add_view(t.name, t.type, t.shape, f.data(t));
  CHECK(w2.to_bytes() == std::vector<std::byte>(f.bytes().begin(), f.bytes().end()));
}

TEST_CASE("safetensors: float conversions", "[io][safetensors]") {
  const auto x = random_matrix(48, 9);
  st::writer w;
  w.add_float("f32", {6, 8}, x);
  w.add_float("f16", {6, 8}, x, st::dtype::F16);
  w.add_float("bf16", {6, 8}, x, st::dtype::BF16);
  std::vector<double> d(x.begin(), x.end());
  w.add("f64", st::dtype::F64, {48}, std::as_bytes(std::span(d)));
  const std::int8_t i8[3] = {-128, 0, 127};
  w.add("i8", st::dtype::I8, {3}, std::as_bytes(std::span(i8)));
  const auto f = st::file::parse(w.to_bytes());
  CHECK(f.to_float(f.tensor("f32")) == x);
  CHECK(f.to_float(f.tensor("f64")) == x);
  CHECK(f.to_float(f.tensor("i8")) == std::vector<float>{-128.f, 0.f, 127.f});
  const auto h = f.to_float(f.tensor("f16"));
  const auto b = f.to_float(f.tensor("bf16"));
  for (std::size_t i = 0; i < x.size(); ++i) {
    CHECK(h[i] == mixq::decode<mixq::fp16>(mixq::encode<mixq::fp16>(x[i])));
    CHECK(b[i] == mixq::decode<mixq::bf16>(mixq::encode<mixq::bf16>(x[i])));
  }
  CHECK(contains(error_of([&] { (void)f.f32(f.tensor("f16")); }), "is F16; expected F32"));
  st::writer w4;
  w4.add("f4", st::dtype::F4, {4}, std::vector<std::byte>(2));
  const auto f4 = st::file::parse(w4.to_bytes());
  CHECK(contains(error_of([&] { (void)f4.to_float(f4.tensor("f4")); }), "does not convert"));
}

TEST_CASE("safetensors: JSON as other writers produce it", "[io][safetensors]") {
  // Whitespace, escapes, keys in any order, unknown keys and nested unknown values, tensors
  // listed out of offset order.
  const std::string h = "{ \"b\\u00e9\\ud83d\\ude00\\\"\" : { \"data_offsets\" : [ 4 , 8 ] , \"shape\":[1],"
                        " \"dtype\" : \"F32\", \"extra\": {\"x\": [1, -2.5e3, true, null, \"s\"]} },\n"
                        "\"a\":{\"dtype\":\"U8\",\"shape\":[2,2],\"data_offsets\":[0,4]},"
                        "\"__metadata__\":{\"k\":\"v\"}}";
  const auto f = st::file::parse(with_header(h, 8));
  REQUIRE(f.tensors().size() == 2);
  CHECK(f.tensors()[0].name == "b\xc3\xa9\xf0\x9f\x98\x80\"");
  CHECK(f.tensors()[1].name == "a");
  CHECK(f.tensor("a").shape == std::vector<std::uint64_t>{2, 2});
  CHECK(*f.metadata("k") == "v");
}

TEST_CASE("safetensors corrupt: header framing", "[io][safetensors][corrupt]") {
  expect_error(to_bytes({1, 2, 3}), {"the file has 3 bytes; expected at least 8"});
  expect_error(bytes_builder{}.u64(100).raw("{}").b, {"header length at offset 0", "only 2 follow"});
  expect_error(bytes_builder{}.u64(~0ull).raw("{}").b, {"exceeds the limit"});
  expect_error(bytes_builder{}.u64(100'000'001).b, {"exceeds the limit of 100000000"});
  expect_error(with_header("[]"), {"header at offset 8", "does not start with '{'"});
  expect_error(with_header(" {}"), {"does not start with '{'"});
  expect_error(with_header("{} x"), {"at offset 11", "unexpected text after the JSON object"});
  expect_error(with_header(std::string("{}\0", 3), 0, false), {"unexpected text"});
  expect_error(with_header("{", 0, false), {"unexpected end of the JSON text"});
  expect_error(with_header("{\"a\" 1}"), {"at offset 13", "found '1'; expected ':'"});
  expect_error(with_header("{\"__metadata__\":{},}"), {"expected a string"});
  expect_error(with_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4],}}", 4), {"expected a string"});
  expect_error(with_header("{\"\xff\":{}}"), {"invalid UTF-8"});
  expect_error(with_header("{\"\xc0\xaf\":{}}"), {"invalid UTF-8"});
  expect_error(with_header("{\"\\ud800\":{}}"), {"lone high surrogate"});
  expect_error(with_header("{\"\\udc00\":{}}"), {"lone low surrogate"});
  expect_error(with_header("{\"\\x\":{}}"), {"invalid escape"});
  expect_error(with_header("{\"a\tb\":{}}"), {"control character"});
  expect_error(with_header("{\"\\u12g4\":{}}"), {"invalid hex digit"});
  std::string deep = "{\"t\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[0,1],\"x\":";
  deep += std::string(100, '[') + std::string(100, ']') + "}}";
  expect_error(with_header(deep, 1), {"nesting deeper than 64 levels"});
  expect_error(with_header("{\"t\":{\"x\":tru}}"), {"invalid literal"});
  expect_error(with_header("{\"t\":{\"x\":-}}"), {"invalid value"});
  expect_error(with_header("{\"t\":{\"x\":1.}}"), {"no digits after '.'"});
  expect_error(with_header("{\"t\":{\"x\":1e}}"), {"no digits in the exponent"});
}

TEST_CASE("safetensors corrupt: tensor entries", "[io][safetensors][corrupt]") {
  auto one = [](std::string body, std::size_t data = 4) { return with_header("{\"t\":{" + body + "}}", data); };
  const std::string ok_tail = "\"shape\":[1],\"data_offsets\":[0,4]";
  CHECK(parse_error(one("\"dtype\":\"F32\"," + ok_tail)).empty());
  expect_error(one("\"dtype\":\"F31\"," + ok_tail), {"tensor 't' dtype at offset 22", "'F31' is unknown"});
  expect_error(one("\"dtype\":3," + ok_tail), {"expected a string"});
  expect_error(one(ok_tail), {"tensor 't'", "lacks \"dtype\""});
  expect_error(one("\"dtype\":\"F32\",\"data_offsets\":[0,4]"), {"lacks \"shape\""});
  expect_error(one("\"dtype\":\"F32\",\"shape\":[1]"), {"lacks \"data_offsets\""});
  expect_error(one("\"dtype\":\"F32\",\"dtype\":\"F32\"," + ok_tail), {"duplicate key 'dtype'"});
  expect_error(one("\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]"), {"expected a non-negative integer"});
  expect_error(one("\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]"), {"without fraction"});
  expect_error(one("\"dtype\":\"F32\",\"shape\":[01],\"data_offsets\":[0,4]"), {"leading zeros"});
  expect_error(one("\"dtype\":\"F32\",\"shape\":[18446744073709551616],\"data_offsets\":[0,4]"), {"does not fit in 64 bits"});
  expect_error(one("\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]"), {"overflows 64 bits"});
  expect_error(one("\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,4]"), {"overflows 64 bits"});
  expect_error(one("\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]"), {"has 1 elements; expected [begin, end]"});
  expect_error(one("\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]"), {"has 3 elements"});
  expect_error(one("\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]"), {"end 0 < begin 4"});
  expect_error(one("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]"), {"hold 4 bytes; shape and dtype F32 need 8"});
  expect_error(one("\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]", 2), {"do not fill whole bytes"});
  expect_error(one("\"dtype\":\"F32\"," + ok_tail, 8), {"cover 4 bytes of data but the file has 8", "no trailing bytes"});
  expect_error(one("\"dtype\":\"F32\"," + ok_tail, 3), {"cover 4 bytes", "truncated"});
  expect_error(one("\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]", 8), {"leave a gap"});
  expect_error(with_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                           "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                           8),
               {"overlap"});
  expect_error(with_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                           "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                           8),
               {"duplicate tensor name"});
  expect_error(with_header("{\"__metadata__\":{\"k\":1}}"), {"expected a string"});
  expect_error(with_header("{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}"), {"duplicate key 'k'"});
  expect_error(with_header("{\"__metadata__\":{},\"__metadata__\":{}}"), {"appears twice"});
  expect_error(with_header("{\"__metadata__\":[]}"), {"expected '{'"});
  expect_error(with_header("{\"t\":[]}"), {"expected '{'"});
}

TEST_CASE("safetensors: writer checks", "[io][safetensors]") {
  st::writer w;
  CHECK(contains(error_of([&] { w.add("t", st::dtype::F32, {2}, std::vector<std::byte>(4)); }), "need 8"));
  CHECK(contains(error_of([&] { w.add("__metadata__", st::dtype::U8, {1}, std::vector<std::byte>(1)); }), "reserved"));
  CHECK(contains(error_of([&] { w.add("\xff", st::dtype::U8, {1}, std::vector<std::byte>(1)); }), "not valid UTF-8"));
  CHECK(contains(error_of([&] { w.add("f4", st::dtype::F4, {3}, std::vector<std::byte>(2)); }), "whole bytes"));
  w.add("t", st::dtype::U8, {1}, std::vector<std::byte>(1));
  CHECK(contains(error_of([&] { w.add("t", st::dtype::U8, {1}, std::vector<std::byte>(1)); }), "already added"));
}

TEST_CASE("safetensors corrupt: truncation and random damage", "[io][safetensors][corrupt]") {
  st::writer w;
  const auto x = random_matrix(24, 2);
  w.add_float("a", {4, 6}, x);
  w.add_float("b", {24}, x, st::dtype::BF16);
  w.set_metadata("format", "pt");
  const auto good = w.to_bytes();
  REQUIRE(parse_error(good).empty());
  for (std::size_t n = 0; n < good.size(); ++n) {
    const std::vector<std::byte> cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    INFO("prefix " << n);
    REQUIRE_FALSE(parse_error(cut).empty());
  }
  std::mt19937 rng(99);
  int rejected = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    auto b = good;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < edits; ++k) {
      const std::size_t at = rng() % std::min<std::size_t>(b.size(), 8 + 160);  // mostly the header
      b[at] = (rng() % 2) ? static_cast<std::byte>(rng()) : b[at] ^ static_cast<std::byte>(1u << (rng() % 8));
    }
    try {
      const auto f = st::file::parse(b);
      for (const auto& t : f.tensors()) {
        const auto d = f.data(t);
        if (!d.empty()) REQUIRE(d.data() + d.size() <= b.data() + b.size());
        try {
          (void)f.to_float(t);
        } catch (const mixq::error&) {
        }
      }
    } catch (const mixq::error& e) {
      ++rejected;
      REQUIRE(contains(e.what(), "safetensors: "));
    }
  }
  CHECK(rejected > 1000);
}
