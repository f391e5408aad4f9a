// libFuzzer target: the GGUF reader on arbitrary bytes.
//
// Properties checked on every input: parse() returns or throws mixq::error (never crashes, reads
// out of bounds, overflows or leaks: the target runs under ASan+UBSan); everything it accepted
// can be used (metadata values, tensor bytes, decoding, mixq scheme views); and what it accepted
// round-trips: when the writer takes the parsed content, the file it writes parses to the same
// content, and writing that again gives the same bytes.
#include <mixq/io/gguf.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace gguf = mixq::gguf;

namespace {

volatile unsigned sink;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_gguf: property violated: %s\n", what);
  std::abort();
}

template <mixq::Scheme S>
void try_matrix(const gguf::file& f, const std::string& name) {
  try {
    const auto m = f.matrix<S>(name);
    sink = sink + m.rows() + m.cols() + static_cast<unsigned>(m.raw()[m.raw().size() - 1]);
  } catch (const mixq::error&) {
  }
}

void round_trip(const gguf::file& f) {
  // Padding is up to alignment - 1 bytes per tensor; keep the rewritten image small.
  if (static_cast<std::uint64_t>(f.alignment()) * (f.tensors().size() + 1) > (8u << 20)) return;
  std::vector<std::byte> again;
  try {
    gguf::writer w;
    for (const auto& [k, v] : f.metadata()) w.set(k, v);
    for (const auto& t : f.tensors())
      w.add_tensor_view(t.name, t.type, std::span<const std::uint64_t>(t.ne.data(), t.n_dims), f.data(t));
    again = w.to_bytes();
  } catch (const mixq::error&) {
    return;  // content the writer refuses (e.g. names llama.cpp would not load)
  }
  gguf::file g = [&] {
    try {
      return gguf::file::parse(again);
    } catch (const mixq::error& e) {
      std::fprintf(stderr, "%s\n", e.what());
      fail("a file written from parsed content does not parse");
    }
  }();
  if (g.metadata().size() != f.metadata().size() || g.tensors().size() != f.tensors().size()) fail("counts differ");
  for (std::size_t i = 0; i < f.metadata().size(); ++i)
    if (g.metadata()[i].first != f.metadata()[i].first || !(g.metadata()[i].second == f.metadata()[i].second))
      fail("metadata differs");
  if (g.alignment() != f.alignment()) fail("alignment differs");
  for (std::size_t i = 0; i < f.tensors().size(); ++i) {
    const auto &a = f.tensors()[i], &b = g.tensors()[i];
    if (a.name != b.name || a.type != b.type || a.n_dims != b.n_dims || a.ne != b.ne || a.n_bytes != b.n_bytes)
      fail("tensor info differs");
    const auto da = f.data(a), db = g.data(b);
    if (da.size() != db.size() || (da.size() && std::memcmp(da.data(), db.data(), da.size()) != 0)) fail("tensor data differs");
  }
  gguf::writer w2;
  for (const auto& [k, v] : g.metadata()) w2.set(k, v);
  for (const auto& t : g.tensors())
    w2.add_tensor_view(t.name, t.type, std::span<const std::uint64_t>(t.ne.data(), t.n_dims), g.data(t));
  if (w2.to_bytes() != again) fail("writing is not idempotent");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  try {
    const auto f = gguf::file::parse(bytes);
    for (const auto& [k, v] : f.metadata()) {
      sink = sink + static_cast<unsigned>(v.to_string(4).size()) + static_cast<unsigned>(v.size());
      (void)v.as_uint();
      if (f.find(k) != &v) fail("metadata lookup");
    }
    for (const auto& t : f.tensors()) {
      if (f.find_tensor(t.name) != &t) fail("tensor lookup");
      const auto d = f.data(t);
      if (d.size() != t.n_bytes) fail("tensor size");
      if (!d.empty()) {
        if (d.data() < bytes.data() || d.data() + d.size() > bytes.data() + bytes.size()) fail("tensor outside input");
        sink = sink + static_cast<unsigned>(d.front()) + static_cast<unsigned>(d.back());
      }
      if (t.n_elements <= (1u << 16)) {
        try {
          const auto v = f.to_float(t);
          if (v.size() != t.n_elements) fail("to_float size");
          if (!v.empty()) sink = sink + static_cast<unsigned>(v.back() == v.back());
        } catch (const mixq::error&) {
        }
      }
      try_matrix<mixq::int4_g32_asym>(f, t.name);
      try_matrix<mixq::nvfp4>(f, t.name);
      try_matrix<mixq::scheme<mixq::uint4, mixq::group<64>, mixq::fp16, mixq::asym::float_zero<>>>(f, t.name);
    }
    round_trip(f);
  } catch (const mixq::error&) {
  }
  return 0;
}
