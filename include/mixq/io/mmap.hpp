// mapped_file: a read-only file mapping (mmap on POSIX; a plain read elsewhere), and the
// file-writing helper the writers share (write to a temporary name, then rename).
#pragma once
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "../config.hpp"
#include "../error.hpp"
#include "checked.hpp"

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define MIXQ_IO_HAVE_MMAP 1
#else
#define MIXQ_IO_HAVE_MMAP 0
#endif

MIXQ_BEGIN_NAMESPACE

/// A whole file mapped read-only into memory. The bytes stay valid as long as the object (or a
/// shared_ptr to it) lives; readers keep one so that tensor views outlive nothing they point into.
/// The mapping is private and read-only: a file changed by another process while mapped may
/// change the bytes seen (as with any mmap), but never the parsed sizes, which are checked once;
/// a file truncated while mapped makes reads past its new end fault (SIGBUS), as with any mmap.
class mapped_file {
 public:
  /// Maps `path`; throws mixq::error naming the path and the system error on failure.
  static std::shared_ptr<const mapped_file> open(const std::string& path) {
    return std::shared_ptr<const mapped_file>(new mapped_file(path));
  }

  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;
  ~mapped_file() {
#if MIXQ_IO_HAVE_MMAP
    if (mapped_) ::munmap(const_cast<std::byte*>(data_), size_);
#endif
  }

  std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }
  const std::byte* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  const std::string& path() const noexcept { return path_; }

 private:
  explicit mapped_file(const std::string& path) : path_(path) {
#if MIXQ_IO_HAVE_MMAP
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("cannot open");
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      const int e = errno;
      ::close(fd);
      errno = e;
      fail("cannot stat");
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      throw error("mixq::mapped_file: '" + path + "' is not a regular file");
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ == 0) {  // mmap of 0 bytes fails; an empty file is an empty span
      ::close(fd);
      data_ = reinterpret_cast<const std::byte*>(&empty_);
      return;
    }
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    const int e = errno;
    ::close(fd);
    if (p == MAP_FAILED) {
      errno = e;
      fail("cannot mmap");
    }
    data_ = static_cast<const std::byte*>(p);
    mapped_ = true;
#else
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) fail("cannot open");
    std::vector<std::byte> buf;
    std::byte chunk[1 << 16];
    std::size_t got;
    while ((got = std::fread(chunk, 1, sizeof chunk, f)) > 0) io_detail::append_bytes(buf, chunk, got);
    const bool bad = std::ferror(f) != 0;
    std::fclose(f);
    if (bad) fail("cannot read");
    copy_ = std::move(buf);
    data_ = copy_.empty() ? reinterpret_cast<const std::byte*>(&empty_) : copy_.data();
    size_ = copy_.size();
#endif
  }

  [[noreturn]] void fail(const char* what) const {
    throw error(std::string("mixq::mapped_file: ") + what + " '" + path_ + "': " + std::strerror(errno));
  }

  std::string path_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  bool mapped_ = false;
  alignas(64) std::uint64_t empty_ = 0;
#if !MIXQ_IO_HAVE_MMAP
  std::vector<std::byte> copy_;
#endif
};

namespace io_detail {

/// Writes a file through a temporary name in the same directory and renames it into place, so a
/// failed or interrupted write never leaves a truncated file under the final name.
class file_sink {
 public:
  explicit file_sink(std::string path) : path_(std::move(path)), tmp_(path_ + ".mixq-tmp") {
    f_ = std::fopen(tmp_.c_str(), "wb");
    if (!f_) throw error("mixq: cannot create '" + tmp_ + "': " + std::strerror(errno));
  }
  file_sink(const file_sink&) = delete;
  file_sink& operator=(const file_sink&) = delete;
  ~file_sink() {
    if (f_) {
      std::fclose(f_);
      std::remove(tmp_.c_str());
    }
  }

  void write(const void* p, std::size_t n) {
    if (n && std::fwrite(p, 1, n, f_) != n) throw error("mixq: cannot write '" + tmp_ + "': " + std::strerror(errno));
    written_ += n;
  }
  void zeros(std::size_t n) {
    static constexpr char z[64] = {};
    while (n) {
      const std::size_t k = n < sizeof z ? n : sizeof z;
      write(z, k);
      n -= k;
    }
  }
  std::uint64_t written() const noexcept { return written_; }

  /// Flushes, closes and renames into place.
  void commit() {
    std::FILE* f = f_;
    f_ = nullptr;
    const bool ok = std::fflush(f) == 0;
    const int e = errno;
    if (std::fclose(f) != 0 || !ok) {
      std::remove(tmp_.c_str());
      throw error("mixq: cannot write '" + tmp_ + "': " + std::strerror(ok ? errno : e));
    }
    if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
      const int e2 = errno;
      std::remove(tmp_.c_str());
      throw error("mixq: cannot rename '" + tmp_ + "' to '" + path_ + "': " + std::strerror(e2));
    }
  }

 private:
  std::string path_, tmp_;
  std::FILE* f_ = nullptr;
  std::uint64_t written_ = 0;
};

/// A sink that appends to memory (for to_bytes() and tests).
class memory_sink {
 public:
  void write(const void* p, std::size_t n) {
    append_bytes(buf_, p, n);
  }
  void zeros(std::size_t n) { buf_.resize(buf_.size() + n, std::byte{0}); }
  std::uint64_t written() const noexcept { return buf_.size(); }
  std::vector<std::byte> take() { return std::move(buf_); }

 private:
  std::vector<std::byte> buf_;
};

/// What the file parsers (gguf::file, safetensors::file) share: the image bytes, the owner
/// that keeps them alive (the mapping, or an owned buffer), the name used in error messages,
/// and the three ways to make one. Derived provides `void parse_all()` (a friend of this base).
template <class Derived>
class parsed_image {
 public:
  /// Maps and parses `path`. Throws mixq::error on I/O errors and on any malformed content.
  static Derived open(const std::string& path) {
    auto m = mapped_file::open(path);
    auto bytes = m->bytes();
    return parse(bytes, std::move(m), path);
  }
  /// Parses an image in memory (no copy: `bytes` must outlive the result unless `owner` keeps
  /// it alive). `name` prefixes error messages.
  static Derived parse(std::span<const std::byte> bytes, std::shared_ptr<const void> owner = {},
                       std::string name = "<memory>") {
    Derived f;
    f.bytes_ = bytes;
    f.owner_ = std::move(owner);
    f.name_ = std::move(name);
    f.parse_all();
    return f;
  }
  /// Parses an image it takes ownership of (so that parse(writer.to_bytes()) is safe).
  static Derived parse(std::vector<std::byte>&& bytes, std::string name = "<memory>") {
    auto owned = std::make_shared<const std::vector<std::byte>>(std::move(bytes));
    const std::span<const std::byte> view(*owned);
    return parse(view, std::move(owned), std::move(name));
  }

  const std::string& name() const noexcept { return name_; }
  /// The whole image.
  std::span<const std::byte> bytes() const noexcept { return bytes_; }

 protected:
  std::span<const std::byte> bytes_;
  std::shared_ptr<const void> owner_;
  std::string name_;
};

/// What the file writers share: the file in memory, or written through a temporary name
/// renamed into place when complete. Derived provides `template <class Sink> void
/// write_to(Sink&) const` (a friend of this base).
template <class Derived>
class image_writer {
 public:
  /// The whole file in memory.
  std::vector<std::byte> to_bytes() const {
    memory_sink s;
    static_cast<const Derived&>(*this).write_to(s);
    return s.take();
  }
  /// Writes the file (through a temporary name, renamed into place when complete).
  void write(const std::string& path) const {
    file_sink s(path);
    static_cast<const Derived&>(*this).write_to(s);
    s.commit();
  }
};

}  // namespace io_detail
MIXQ_END_NAMESPACE
