// Writes the seed corpora of the fuzz targets: small valid files of every kind the readers
// accept (made by mixq's own writers), plus a few hand-made edge cases.
//   fuzz_make_seeds OUT_DIR   ->  OUT_DIR/gguf/*, OUT_DIR/safetensors/*
#include <mixq/calibrate/rtn.hpp>
#include <mixq/io.hpp>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace gguf = mixq::gguf;
namespace st = mixq::safetensors;

namespace {

std::string out_dir;
int count = 0;

void save(const std::string& kind, const std::string& name, const std::vector<std::byte>& b) {
  const auto dir = std::filesystem::path(out_dir) / kind;
  std::filesystem::create_directories(dir);
  std::ofstream f(dir / name, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  ++count;
}
void save_text(const std::string& kind, const std::string& name, const std::string& header) {
  std::string h = header;
  h.append((8 - h.size() % 8) % 8, ' ');
  std::vector<std::byte> b(8 + h.size());
  const std::uint64_t n = h.size();
  std::memcpy(b.data(), &n, 8);
  std::memcpy(b.data() + 8, h.data(), h.size());
  save(kind, name, b);
}

std::vector<float> ramp(std::size_t n) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<float>((i * 37) % 23) / 7.0f - 1.5f;
  return v;
}

void gguf_seeds() {
  save("gguf", "empty", gguf::writer().to_bytes());
  {
    gguf::writer w;
    w.set("general.architecture", gguf::value("llama"));
    w.set("u8", gguf::value(std::uint8_t{1}));
    w.set("i8", gguf::value(std::int8_t{-1}));
    w.set("u16", gguf::value(std::uint16_t{2}));
    w.set("i16", gguf::value(std::int16_t{-2}));
    w.set("u32", gguf::value(std::uint32_t{3}));
    w.set("i32", gguf::value(std::int32_t{-3}));
    w.set("f32", gguf::value(0.5f));
    w.set("bool", gguf::value(true));
    w.set("u64", gguf::value(std::uint64_t{4}));
    w.set("i64", gguf::value(std::int64_t{-4}));
    w.set("f64", gguf::value(0.25));
    w.set("tokens", gguf::value::array(std::vector<std::string>{"<s>", "a", ""}));
    w.set("scores", gguf::value::array(std::vector<float>{0.f, -1.f}));
    w.set("flags", gguf::value::array(std::vector<bool>{true, false}));
    w.set("ids", gguf::value::array(std::vector<std::int32_t>{1, 2, 3}));
    save("gguf", "metadata_all_types", w.to_bytes());
  }
  const auto x = ramp(512);
  {
    gguf::writer w;
    w.add_float("f32", x.data(), 2, 8);
    w.add_float("f16", x.data(), 1, 16, gguf::type_f16);
    w.add_float("bf16", x.data(), 4, 2, gguf::type_bf16);
    const std::uint64_t ne[4] = {2, 2, 2, 2};
    w.add_tensor("4d", gguf::type_f32, ne, std::as_bytes(std::span(x).first(16)));
    const std::uint64_t ne1[1] = {4};
    w.add_tensor("f64", gguf::type_f64, ne1, std::as_bytes(std::span(x).first(8)));
    w.add_tensor("i32", gguf::type_i32, ne1, std::as_bytes(std::span(x).first(4)));
    w.add_tensor("i8", gguf::type_i8, ne1, std::as_bytes(std::span(x).first(1)));
    save("gguf", "float_tensors", w.to_bytes());
  }
  {
    gguf::writer w(8);
    w.add_float("a", x.data(), 1, 3);
    w.add_float("b", x.data(), 1, 5);
    save("gguf", "alignment_8", w.to_bytes());
  }
  auto one = [&](auto tag, std::size_t cols) {
    using T = decltype(tag);
    gguf::writer w;
    w.quantize_ggml<T>(std::string("w.") + T::name, x.data(), 1, cols);
    save("gguf", std::string("ggml_") + T::name, w.to_bytes());
  };
  one(mixq::ggml::q4_0{}, 64);
  one(mixq::ggml::q4_1{}, 32);
  one(mixq::ggml::q5_0{}, 32);
  one(mixq::ggml::q5_1{}, 32);
  one(mixq::ggml::q8_0{}, 32);
  one(mixq::ggml::iq4_nl{}, 32);
  one(mixq::ggml::mxfp4{}, 32);
  one(mixq::ggml::q2_k{}, 256);
  one(mixq::ggml::q4_k{}, 256);
  one(mixq::ggml::q6_k{}, 256);
  {
    gguf::writer w;
    w.add_matrix("q", mixq::quantize<mixq::int4_g32_asym>(x.data(), 2, 32));
    save("gguf", "mixq_int4_g32_asym", w.to_bytes());
  }
  {
    gguf::writer w;
    w.add_matrix("q", mixq::quantize<mixq::nvfp4>(x.data(), 1, 32));
    save("gguf", "mixq_nvfp4", w.to_bytes());
  }
  {
    gguf::writer w;
    w.add_matrix("q", mixq::quantize<mixq::scheme<mixq::uint4, mixq::group<64>, mixq::fp16, mixq::asym::float_zero<>>>(
                          x.data(), 1, 64));
    save("gguf", "mixq_float_zero", w.to_bytes());
  }
}

void safetensors_seeds() {
  save("safetensors", "empty", st::writer().to_bytes());
  const auto x = ramp(64);
  {
    st::writer w;
    w.add_float("attn.0", {1, 2, 3}, std::span(x).first(6));
    save("safetensors", "reference_attn0", w.to_bytes());
  }
  {
    st::writer w;
    w.set_metadata("format", "pt");
    w.set_metadata("note", "\"quoted\" \\ \n \xc3\xa9 \xf0\x9f\x98\x80");
    for (const auto& d : st::dtypes) {
      const std::vector<std::uint64_t> shape = d.bits < 8 ? std::vector<std::uint64_t>{2, 4} : std::vector<std::uint64_t>{2};
      const auto n = st::byte_size(d.type, d.bits < 8 ? 8 : 2, "seed");
      std::vector<std::byte> p(static_cast<std::size_t>(n), std::byte{0x11});
      w.add(std::string("t.") + std::string(d.name), d.type, shape, p);
    }
    w.add("scalar", st::dtype::F32, {}, std::as_bytes(std::span(x).first(1)));
    w.add("zero", st::dtype::F32, {0, 3}, {});
    save("safetensors", "all_dtypes", w.to_bytes());
  }
  {
    st::writer w;
    w.add_float("w", {4, 8}, std::span(x).first(32), st::dtype::F16);
    w.add_float("b", {8}, std::span(x).first(8), st::dtype::BF16);
    save("safetensors", "half", w.to_bytes());
  }
  save_text("safetensors", "json_edges",
            "{ \"b\\u00e9\\ud83d\\ude00\\\"\" : { \"data_offsets\" : [ 0 , 4 ] , \"shape\":[1], \"dtype\" : \"F32\","
            " \"extra\": {\"x\": [1, -2.5e3, true, false, null, \"s\", {}]} }, \"__metadata__\":{\"k\":\"v\"}}");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_make_seeds OUT_DIR\n");
    return 2;
  }
  out_dir = argv[1];
  gguf_seeds();
  safetensors_seeds();
  std::printf("fuzz_make_seeds: wrote %d seeds to %s\n", count, out_dir.c_str());
  return 0;
}
