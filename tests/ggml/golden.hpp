// Reader for the ggml golden vectors in tests/data/ggml (format: tests/data/ggml/README.md).
#pragma once
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace ggml_golden {

inline constexpr std::uint32_t flag_importance = 1;
inline constexpr std::uint32_t flag_model_noimp = 2;

inline const char* const family_names[] = {"normal",    "uniform100", "eighths",  "sparse_tiny",
                                           "outliers",  "zeros",      "constant", "single",
                                           "subnormal", "small_int",  "huge",     "pow2_edge"};

struct record {
  std::uint32_t family = 0;
  std::uint32_t n = 0;
  std::vector<float> x;
  std::vector<std::uint8_t> q;   // quantize_row_<type>_ref
  std::vector<float> y;          // dequantize_row_<type>(q)
  std::vector<float> w;          // importance (flag_importance)
  std::vector<std::uint8_t> qi;  // quantize_<type>(x, 1 row, w)
  std::vector<float> yi;
  std::vector<std::uint8_t> qm;  // quantize_<type>(x, 1 row, NULL) (flag_model_noimp)
  std::vector<float> ym;
};

struct file {
  std::uint32_t type_id = 0, block_elems = 0, block_bytes = 0, flags = 0;
  std::vector<record> records;
};

class reader {
 public:
  explicit reader(std::vector<char> b) : buf_(std::move(b)) {}
  void bytes(void* dst, std::size_t n) {
    if (pos_ + n > buf_.size()) throw std::runtime_error("golden file truncated");
    std::memcpy(dst, buf_.data() + pos_, n);
    pos_ += n;
  }
  std::uint32_t u32() {
    std::uint8_t b[4];
    bytes(b, 4);
    return static_cast<std::uint32_t>(b[0] | (b[1] << 8) | (b[2] << 16)) | (static_cast<std::uint32_t>(b[3]) << 24);
  }
  std::vector<float> floats(std::size_t n) {
    std::vector<float> v(n);
    for (auto& f : v) {
      const std::uint32_t u = u32();
      std::memcpy(&f, &u, 4);
    }
    return v;
  }
  std::vector<std::uint8_t> raw(std::size_t n) {
    std::vector<std::uint8_t> v(n);
    bytes(v.data(), n);
    return v;
  }
  bool done() const { return pos_ == buf_.size(); }

 private:
  std::vector<char> buf_;
  std::size_t pos_ = 0;
};

/// Loads MIXQ_TEST_DATA_DIR/ggml/<name>.bin. Throws if the file is missing or malformed.
inline file load(const std::string& name) {
  const std::string path = std::string(MIXQ_TEST_DATA_DIR) + "/ggml/" + name + ".bin";
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("golden file missing: " + path);
  reader r(std::vector<char>(std::istreambuf_iterator<char>(in), {}));
  char magic[8];
  r.bytes(magic, 8);
  if (std::memcmp(magic, "MIXQGG01", 8) != 0) throw std::runtime_error("bad magic in " + path);
  file f;
  f.type_id = r.u32();
  f.block_elems = r.u32();
  f.block_bytes = r.u32();
  f.flags = r.u32();
  const std::uint32_t nrec = r.u32();
  for (std::uint32_t k = 0; k < nrec; ++k) {
    record rec;
    rec.family = r.u32();
    rec.n = r.u32();
    if (rec.n == 0 || rec.n % f.block_elems != 0) throw std::runtime_error("bad record length in " + path);
    const std::size_t rs = rec.n / f.block_elems * f.block_bytes;
    rec.x = r.floats(rec.n);
    rec.q = r.raw(rs);
    rec.y = r.floats(rec.n);
    if (f.flags & flag_importance) {
      rec.w = r.floats(rec.n);
      rec.qi = r.raw(rs);
      rec.yi = r.floats(rec.n);
    }
    if (f.flags & flag_model_noimp) {
      rec.qm = r.raw(rs);
      rec.ym = r.floats(rec.n);
    }
    f.records.push_back(std::move(rec));
  }
  if (!r.done()) throw std::runtime_error("trailing bytes in " + path);
  return f;
}

inline std::uint32_t bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

}  // namespace ggml_golden
