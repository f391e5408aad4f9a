// Helpers shared by the io tests: temporary files, random data, hand-assembled byte images.
#pragma once
#include <catch2/catch.hpp>

#include <mixq/io.hpp>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

namespace io_test {

inline std::filesystem::path temp_dir() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("mixq_test_io_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

inline std::string temp_path(const std::string& name) { return (temp_dir() / name).string(); }

inline void write_file(const std::string& path, const std::vector<std::byte>& b) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

inline std::vector<float> random_matrix(std::size_t n, unsigned seed, float outliers = 0.01f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.f, 0.02f);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::vector<float> w(n);
  for (auto& v : w) v = nd(rng) * (u(rng) < outliers ? 20.f : 1.f);
  return w;
}

/// Little-endian byte builder for hand-assembled files.
struct bytes_builder {
  std::vector<std::byte> b;
  template <class T>
  bytes_builder& put(T v) {
    mixq::io_detail::append_bytes(b, &v, sizeof(T));
    return *this;
  }
  bytes_builder& u8(std::uint8_t v) { return put(v); }
  bytes_builder& u32(std::uint32_t v) { return put(v); }
  bytes_builder& u64(std::uint64_t v) { return put(v); }
  bytes_builder& raw(std::string_view s) {
    mixq::io_detail::append_bytes(b, s.data(), s.size());
    return *this;
  }
  bytes_builder& str(std::string_view s) { return u64(s.size()).raw(s); }
  bytes_builder& pad_to(std::size_t align) {
    while (b.size() % align) b.push_back(std::byte{0});
    return *this;
  }
};

/// Runs f and returns the mixq::error message ("" when nothing was thrown).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const mixq::error& e) {
    return e.what();
  }
  return "";
}

inline bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

}  // namespace io_test
