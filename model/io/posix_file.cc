// AtomicFile and MappedFile: see posix_file.h. Every POSIX call's result goes through
// SS_IO_CHECK_ERRNO so a failure names the call, the path and the source line.
#include "model/io/posix_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>
#include <vector>

#include <fmt/core.h>

namespace ss::io {

void throw_errno(const char* what, const std::filesystem::path& path, const char* file, int line) {
  const int err = errno;
  throw std::runtime_error(
      fmt::format("{} {}: {} ({}:{})", what, path.string(), std::strerror(err), file, line));
}

void fsync_directory(const std::filesystem::path& dir) {
  const std::filesystem::path d = dir.empty() ? std::filesystem::path(".") : dir;
  const int fd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  SS_IO_CHECK_ERRNO(fd >= 0, "open directory", d);
  const int rc = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  errno = saved;
  SS_IO_CHECK_ERRNO(rc == 0, "fsync directory", d);
}

AtomicFile::AtomicFile(std::filesystem::path final_path) : final_path_(std::move(final_path)) {
  std::string pattern = final_path_.string() + ".tmp-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  fd_ = ::mkstemp(buf.data());
  SS_IO_CHECK_ERRNO(fd_ >= 0, "create temp file for", final_path_);
  temp_path_ = buf.data();
  // mkstemp creates 0600; outputs (shards, checkpoints) are ordinary readable files.
  SS_IO_CHECK_ERRNO(::fchmod(fd_, 0644) == 0, "fchmod", temp_path_);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !temp_path_.empty()) ::unlink(temp_path_.c_str());
}

void AtomicFile::write(const void* data, size_t bytes) {
  const auto* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::write(fd_, p, bytes);
    if (n < 0 && errno == EINTR) continue;
    SS_IO_CHECK_ERRNO(n > 0, "write", temp_path_);
    p += n;
    bytes -= static_cast<size_t>(n);
    bytes_written_ += static_cast<uint64_t>(n);
  }
}

void AtomicFile::pwrite_at(uint64_t offset, const void* data, size_t bytes) {
  const auto* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::pwrite(fd_, p, bytes, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    SS_IO_CHECK_ERRNO(n > 0, "pwrite", temp_path_);
    p += n;
    offset += static_cast<uint64_t>(n);
    bytes -= static_cast<size_t>(n);
  }
}

void AtomicFile::commit() {
  SS_IO_CHECK_ERRNO(::fsync(fd_) == 0, "fsync", temp_path_);
  const int rc = ::close(fd_);
  fd_ = -1;
  SS_IO_CHECK_ERRNO(rc == 0, "close", temp_path_);
  SS_IO_CHECK_ERRNO(::rename(temp_path_.c_str(), final_path_.c_str()) == 0, "rename temp to",
                    final_path_);
  committed_ = true;
  fsync_directory(final_path_.parent_path());
}

MappedFile::MappedFile(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  SS_IO_CHECK_ERRNO(fd >= 0, "open", path);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int saved = errno;
    ::close(fd);
    errno = saved;
    SS_IO_CHECK_ERRNO(false, "fstat", path);
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    const int saved = errno;
    ::close(fd);
    errno = saved;
    SS_IO_CHECK_ERRNO(p != MAP_FAILED, "mmap", path);
    data_ = static_cast<const std::byte*>(p);
  } else {
    ::close(fd);
  }
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
}

}  // namespace ss::io
