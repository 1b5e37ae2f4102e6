// POSIX file helpers shared by model/io: an atomic writer (temp file in the same
// directory, write, fsync, rename, fsync of the directory) and a read-only mapping.
// Invariant: a reader of the final path sees either the old file or the complete new
// one, never a half-written file; an AtomicFile that is not committed leaves nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

namespace ss::io {

// Throws std::runtime_error "<what> <path>: <strerror(errno)> (<file>:<line>)".
// System failures (disk full, permissions) are not bad input: they exit 1.
[[noreturn]] void throw_errno(const char* what, const std::filesystem::path& path, const char* file,
                              int line);
#define SS_IO_CHECK_ERRNO(ok, what, path)                                 \
  do {                                                                    \
    if (!(ok)) ::ss::io::throw_errno((what), (path), __FILE__, __LINE__); \
  } while (0)

// Writes `final_path` atomically. Bytes go to a mkstemp() file next to it; commit()
// flushes, fsyncs, renames over final_path and fsyncs the directory.
class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path final_path);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();  // removes the temp file if commit() was not reached

  void write(const void* data, size_t bytes);
  // Overwrites bytes already written (used to patch a header once counts are known).
  void pwrite_at(uint64_t offset, const void* data, size_t bytes);
  uint64_t bytes_written() const { return bytes_written_; }
  const std::filesystem::path& temp_path() const { return temp_path_; }
  void commit();

 private:
  std::filesystem::path final_path_;
  std::filesystem::path temp_path_;
  int fd_ = -1;
  uint64_t bytes_written_ = 0;
  bool committed_ = false;
};

// fsync of a directory, so a rename inside it survives a crash.
void fsync_directory(const std::filesystem::path& dir);

// Read-only mmap of a whole file (an empty file maps to an empty span).
class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path);
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  size_t size() const { return size_; }

 private:
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace ss::io
