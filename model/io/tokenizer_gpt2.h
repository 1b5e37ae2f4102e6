// GPT-2 byte-level BPE (OpenAI's encoder.py), reading the official encoder.json (token
// string -> id) and vocab.bpe (merges, one per line, rank = line order).
//
// encode: the text is split by the GPT-2 pre-tokenizer regex (PCRE2, UTF + UCP); each
// piece's UTF-8 bytes become single-byte tokens which are merged pairwise, lowest merge
// rank first, until no ranked pair is left. Bytes the regex cannot match (invalid UTF-8)
// are encoded as their own piece, so every byte string round-trips.
// Work is on ids, not strings: merges are a hash map (id_a, id_b) -> (rank, merged id).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/io/tokenizer.h"

// PCRE2's opaque types (pcre2.h typedefs pcre2_code_8 / pcre2_match_data_8 to these).
struct pcre2_real_code_8;
struct pcre2_real_match_data_8;

namespace ss::io {

class Gpt2Tokenizer final : public Tokenizer {
 public:
  // Throws ss::InputError naming the file if encoder.json / vocab.bpe are missing or
  // inconsistent (a merge whose parts or result are not in the encoder).
  Gpt2Tokenizer(const std::filesystem::path& encoder_json, const std::filesystem::path& vocab_bpe);
  ~Gpt2Tokenizer() override;

  std::vector<uint32_t> encode(std::string_view text) override;
  std::string decode(std::span<const uint32_t> ids) const override;
  uint32_t vocab_size() const override { return static_cast<uint32_t>(id_to_bytes_.size()); }
  std::string name() const override { return "gpt2"; }

 private:
  struct Merge {
    uint32_t rank;
    uint32_t merged_id;
  };
  struct RegexDeleter {
    void operator()(pcre2_real_code_8* code) const;
  };
  struct MatchDataDeleter {
    void operator()(pcre2_real_match_data_8* data) const;
  };

  // The constructor's steps, in order.
  std::unordered_map<std::string, uint32_t> load_encoder(const std::filesystem::path& encoder_json);
  void load_merges(const std::filesystem::path& vocab_bpe,
                   const std::unordered_map<std::string, uint32_t>& str_to_id);
  void compile_pretokenizer();

  // Appends the BPE tokens of one pre-tokenized piece (raw bytes) to out, via the cache.
  void encode_piece(std::string_view piece, std::vector<uint32_t>& out);

  std::vector<std::string> id_to_bytes_;        // decoded raw bytes of each token
  std::array<uint32_t, 256> byte_to_id_{};      // single-byte tokens
  std::unordered_map<uint64_t, Merge> merges_;  // key = (id_a << 32) | id_b
  std::unique_ptr<pcre2_real_code_8, RegexDeleter> regex_;
  std::unique_ptr<pcre2_real_match_data_8, MatchDataDeleter> match_data_;
  std::unordered_map<std::string, std::vector<uint32_t>> cache_;  // piece -> tokens
};

}  // namespace ss::io
