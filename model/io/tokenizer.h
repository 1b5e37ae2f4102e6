// Tokenizers: text <-> token ids. Two kinds: "bytes" (id = byte value, vocab 256) and
// "gpt2" (the official GPT-2 byte-level BPE, vocab 50257, see tokenizer_gpt2.h).
// Invariant: decode(encode(s)) == s for every byte string s (valid UTF-8 or not).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ss::io {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Not const: implementations may cache work (GPT-2's word -> tokens cache), so one
  // Tokenizer must not be shared between threads.
  virtual std::vector<uint32_t> encode(std::string_view text) = 0;
  // Throws std::out_of_range for an id >= vocab_size().
  virtual std::string decode(std::span<const uint32_t> ids) const = 0;
  virtual uint32_t vocab_size() const = 0;
  virtual std::string name() const = 0;
};

class BytesTokenizer final : public Tokenizer {
 public:
  std::vector<uint32_t> encode(std::string_view text) override;
  std::string decode(std::span<const uint32_t> ids) const override;
  uint32_t vocab_size() const override { return 256; }
  std::string name() const override { return "bytes"; }
};

// Default location of the GPT-2 files: <repo>/data/gpt2 (scripts/fetch-gpt2-vocab.sh).
std::filesystem::path default_gpt2_dir();

// "bytes" or "gpt2" (gpt2 reads encoder.json + vocab.bpe from gpt2_dir). Unknown name or
// missing/corrupt vocabulary files -> ss::InputError saying how to fix it.
std::unique_ptr<Tokenizer> make_tokenizer(std::string_view name,
                                          const std::filesystem::path& gpt2_dir);

}  // namespace ss::io
