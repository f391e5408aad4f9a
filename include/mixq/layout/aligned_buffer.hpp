// A 64-byte aligned, zero-initialised byte buffer.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>

#include "../config.hpp"

MIXQ_BEGIN_NAMESPACE
namespace detail {

inline constexpr std::size_t buffer_alignment = 64;

constexpr std::size_t round_up(std::size_t n, std::size_t a) noexcept { return (n + a - 1) / a * a; }

struct aligned_delete {
  void operator()(std::uint8_t* p) const noexcept { ::operator delete[](p, std::align_val_t{buffer_alignment}); }
};

class aligned_buffer {
 public:
  aligned_buffer() = default;
  explicit aligned_buffer(std::size_t n)
      : p_(n ? static_cast<std::uint8_t*>(::operator new[](n, std::align_val_t{buffer_alignment})) : nullptr), n_(n) {
    if (n) std::memset(p_.get(), 0, n);
  }
  aligned_buffer(const aligned_buffer& o) : aligned_buffer(o.n_) {
    if (n_) std::memcpy(p_.get(), o.p_.get(), n_);
  }
  aligned_buffer& operator=(const aligned_buffer& o) {
    if (this != &o) *this = aligned_buffer(o);
    return *this;
  }
  aligned_buffer(aligned_buffer&&) noexcept = default;
  aligned_buffer& operator=(aligned_buffer&&) noexcept = default;

  std::uint8_t* data() noexcept { return p_.get(); }
  const std::uint8_t* data() const noexcept { return p_.get(); }
  std::size_t size() const noexcept { return n_; }

 private:
  std::unique_ptr<std::uint8_t[], aligned_delete> p_;
  std::size_t n_ = 0;
};

}  // namespace detail
MIXQ_END_NAMESPACE
