// Tokenizers: text <-> token ids. Two implementations:
//  - "bytes": each byte is its own id (vocab 256); lossless for any input.
//  - "gpt2": OpenAI's GPT-2 byte-level BPE (vocab 50257) from the official encoder.json +
//    vocab.bpe (scripts/fetch-gpt2-vocab.sh puts them in data/gpt2/). The pre-tokenizer is
//    GPT-2's regex run by PCRE2 with UTF and UCP (Unicode \p{L}, \p{N}, \s); bytes that are
//    not valid UTF-8 form pieces of their own, so encode->decode is lossless for ANY bytes.
// Invariant: decode(encode(s)) == s, and every id < vocab_size() (<= 65536, so ids fit the
// uint16 token shards).
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
  // Not const and not thread-safe: the gpt2 tokenizer caches word -> ids as it encodes.
  virtual std::vector<uint32_t> encode(std::string_view text) = 0;
  // Throws std::out_of_range for an id >= vocab_size().
  virtual std::string decode(std::span<const uint32_t> ids) const = 0;
  virtual uint32_t vocab_size() const = 0;
  virtual std::string name() const = 0;
};

std::unique_ptr<Tokenizer> make_bytes_tokenizer();

// Reads the two official GPT-2 files. Throws ss::InputError naming the file if one is
// missing or malformed (fix: run scripts/fetch-gpt2-vocab.sh).
std::unique_ptr<Tokenizer> make_gpt2_tokenizer(const std::filesystem::path& encoder_json,
                                               const std::filesystem::path& vocab_bpe);

// "bytes" or "gpt2" (reading gpt2_dir/encoder.json and gpt2_dir/vocab.bpe). Throws
// ss::InputError for any other name.
std::unique_ptr<Tokenizer> make_tokenizer(std::string_view name,
                                          const std::filesystem::path& gpt2_dir = "data/gpt2");

}  // namespace ss::io
