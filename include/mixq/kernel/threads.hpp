// Threading without owning threads: every kernel takes an output row range [r0, r1), so an
// engine's own pool splits the rows. parallel_rows is the small helper for users without a pool.
#pragma once
#include <cstddef>
#include <exception>
#include <thread>
#include <vector>

#include "../config.hpp"

MIXQ_BEGIN_NAMESPACE

/// Calls f(r0, r1) on `threads` std::threads (the caller's thread runs the first range) over
/// disjoint ranges covering [0, rows), each a multiple of `align` rows except the last.
/// threads == 0 means std::thread::hardware_concurrency(). Rethrows the first exception.
template <class F>
void parallel_rows(std::size_t rows, unsigned threads, F&& f, std::size_t align = 16) {
  if (threads == 0) threads = std::thread::hardware_concurrency();
  if (threads == 0) threads = 1;
  if (align == 0) align = 1;
  const std::size_t blocks = (rows + align - 1) / align;
  if (threads > blocks) threads = static_cast<unsigned>(blocks ? blocks : 1);
  if (threads <= 1) {
    f(std::size_t{0}, rows);
    return;
  }
  auto range = [&](unsigned t, std::size_t& a, std::size_t& b) {
    const std::size_t b0 = blocks * t / threads, b1 = blocks * (t + 1) / threads;
    a = b0 * align < rows ? b0 * align : rows;
    b = b1 * align < rows ? b1 * align : rows;
  };
  std::vector<std::exception_ptr> errors(threads);
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (unsigned t = 1; t < threads; ++t)
    pool.emplace_back([&, t] {
      try {
        std::size_t a, b;
        range(t, a, b);
        if (a < b) f(a, b);
      } catch (...) {
        errors[t] = std::current_exception();
      }
    });
  try {
    std::size_t a, b;
    range(0, a, b);
    if (a < b) f(a, b);
  } catch (...) {
    errors[0] = std::current_exception();
  }
  for (auto& th : pool) th.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

MIXQ_END_NAMESPACE
