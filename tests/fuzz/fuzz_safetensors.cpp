// libFuzzer target: the safetensors reader (and its JSON parser) on arbitrary bytes.
//
// Properties: parse() returns or throws mixq::error (under ASan+UBSan); everything accepted is
// usable; the tensors tile the data exactly; and accepted content round-trips through the
// writer (same tensors, bytes and metadata; writing again gives the same bytes).
#include <mixq/io/safetensors.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace st = mixq::safetensors;

namespace {

volatile unsigned sink;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_safetensors: property violated: %s\n", what);
  std::abort();
}

std::vector<std::byte> rewrite(const st::file& f) {
  st::writer w;
  for (const auto& [k, v] : f.metadata()) w.set_metadata(k, v);
  for (const auto& t : f.tensors()) w.add_view(t.name, t.type, t.shape, f.data(t));
  return w.to_bytes();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  try {
    const auto f = st::file::parse(bytes);
    std::uint64_t covered = 0;
    for (const auto& t : f.tensors()) {
      if (f.find(t.name) != &t) fail("tensor lookup");
      const auto d = f.data(t);
      covered += d.size();
      if (!d.empty()) {
        if (d.data() < bytes.data() || d.data() + d.size() > bytes.data() + bytes.size()) fail("tensor outside input");
        sink = sink + static_cast<unsigned>(d.front());
      }
      if (t.n_elements <= (1u << 16)) {
        try {
          const auto v = f.to_float(t);
          if (v.size() != t.n_elements) fail("to_float size");
        } catch (const mixq::error&) {
        }
      }
    }
    if (covered != size - f.data_offset()) fail("tensors do not tile the data");
    std::vector<std::byte> again;
    try {
      again = rewrite(f);
    } catch (const mixq::error&) {
      return 0;  // e.g. a tensor named "__metadata__"... which the reader never yields; or a too-large header
    }
    const st::file g = [&] {
      try {
        return st::file::parse(again);
      } catch (const mixq::error& e) {
        std::fprintf(stderr, "%s\n", e.what());
        fail("a file written from parsed content does not parse");
      }
    }();
    if (g.tensors().size() != f.tensors().size() || g.metadata() != f.metadata()) fail("content differs");
    for (const auto& t : f.tensors()) {
      const auto* u = g.find(t.name);
      if (!u || u->type != t.type || u->shape != t.shape) fail("tensor info differs");
      const auto a = f.data(t), b = g.data(*u);
      if (a.size() != b.size() || (a.size() && std::memcmp(a.data(), b.data(), a.size()) != 0)) fail("tensor data differs");
    }
    if (rewrite(g) != again) fail("writing is not idempotent");
  } catch (const mixq::error&) {
  }
  return 0;
}
