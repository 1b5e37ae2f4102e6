// GPT-2 byte-level BPE (see tokenizer.h), following OpenAI's encoder.py:
//  1. the pre-tokenizer regex splits text into pieces (PCRE2, UTF + UCP);
//  2. each byte of a piece becomes one printable unicode symbol (bytes_to_unicode), so
//     the vocabulary's strings never contain raw control bytes or spaces;
//  3. adjacent symbol pairs are merged lowest-rank first (rank = line in vocab.bpe) until
//     no ranked pair is left; each final symbol is one encoder.json entry.
// Pieces repeat a lot in text, so piece -> ids is cached.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <fmt/core.h>
#include <pcre2.h>

#include <array>
#include <climits>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <unordered_map>

#include "model/io/tokenizer.h"
#include "ss/error.h"

namespace ss::io {
namespace {

// GPT-2's pre-tokenizer, verbatim (encoder.py / Encoder.js).
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// Bounds the word cache (a corpus of unusual pieces must not grow it without limit).
constexpr size_t kMaxCachedPieces = 1 << 20;

// bytes_to_unicode(): the 188 printable Latin-1 bytes map to themselves, the other 68 to
// code points 256, 257, ... in byte order.
std::array<uint32_t, 256> byte_to_codepoint() {
  std::array<uint32_t, 256> map{};
  std::array<bool, 256> printable{};
  for (int b = '!'; b <= '~'; ++b) printable[b] = true;
  for (int b = 0xA1; b <= 0xAC; ++b) printable[b] = true;
  for (int b = 0xAE; b <= 0xFF; ++b) printable[b] = true;
  uint32_t next = 256;
  for (int b = 0; b < 256; ++b) map[b] = printable[b] ? static_cast<uint32_t>(b) : next++;
  return map;
}

// The code points here are < 0x800, so one or two UTF-8 bytes.
std::string utf8_of(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

struct CodeFree {
  void operator()(pcre2_code* code) const { pcre2_code_free(code); }
};
struct MatchDataFree {
  void operator()(pcre2_match_data* md) const { pcre2_match_data_free(md); }
};

std::string pcre2_message(int code) {
  std::array<PCRE2_UCHAR, 256> buf{};
  pcre2_get_error_message(code, buf.data(), buf.size());
  return reinterpret_cast<const char*>(buf.data());
}

class Gpt2Tokenizer final : public Tokenizer {
 public:
  Gpt2Tokenizer(const std::filesystem::path& encoder_json, const std::filesystem::path& vocab_bpe) {
    const auto cps = byte_to_codepoint();
    std::unordered_map<std::string, uint8_t> symbol_to_byte;
    for (int b = 0; b < 256; ++b) {
      byte_symbol_[b] = utf8_of(cps[b]);
      symbol_to_byte[byte_symbol_[b]] = static_cast<uint8_t>(b);
    }
    load_encoder(encoder_json, symbol_to_byte);
    load_merges(vocab_bpe);
    compile_regex();
  }

  std::vector<uint32_t> encode(std::string_view text) override {
    std::vector<uint32_t> ids;
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    size_t pos = 0;
    while (pos < text.size()) {
      const int rc = pcre2_match(re_.get(), subject, text.size(), pos, 0, md_.get(), nullptr);
      if (rc == PCRE2_ERROR_NOMATCH) {
        // Only invalid UTF-8 can be left unmatched: every valid character matches an
        // alternative. Such bytes are their own piece, so nothing is dropped.
        append_piece(text.substr(pos), ids);
        break;
      }
      if (rc < 0) {
        throw std::runtime_error(fmt::format("pcre2_match failed at byte {}: {} ({}:{})", pos,
                                             pcre2_message(rc), __FILE__, __LINE__));
      }
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md_.get());
      if (ov[1] <= ov[0]) {
        throw std::logic_error("GPT-2 pre-tokenizer produced an empty match");
      }
      if (ov[0] > pos) append_piece(text.substr(pos, ov[0] - pos), ids);
      append_piece(text.substr(ov[0], ov[1] - ov[0]), ids);
      pos = ov[1];
    }
    return ids;
  }

  std::string decode(std::span<const uint32_t> ids) const override {
    std::string out;
    for (uint32_t id : ids) {
      if (id >= id_bytes_.size()) {
        throw std::out_of_range(
            fmt::format("gpt2 tokenizer: id {} >= vocab size {}", id, id_bytes_.size()));
      }
      out += id_bytes_[id];
    }
    return out;
  }

  uint32_t vocab_size() const override { return static_cast<uint32_t>(id_bytes_.size()); }
  std::string name() const override { return "gpt2"; }

 private:
  void load_encoder(const std::filesystem::path& path,
                    const std::unordered_map<std::string, uint8_t>& symbol_to_byte) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      throw ss::InputError(fmt::format(
          "gpt2 vocabulary {}: cannot open it; run scripts/fetch-gpt2-vocab.sh", path.string()));
    }
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      throw ss::InputError(
          fmt::format("gpt2 vocabulary {}: not valid JSON ({}); run "
                      "scripts/fetch-gpt2-vocab.sh",
                      path.string(), e.what()));
    }
    if (!j.is_object() || j.empty()) {
      throw ss::InputError(
          fmt::format("gpt2 vocabulary {}: expected a non-empty JSON object of token -> id; run "
                      "scripts/fetch-gpt2-vocab.sh",
                      path.string()));
    }
    id_bytes_.assign(j.size(), std::string());
    std::vector<bool> seen(j.size(), false);
    for (const auto& [token, value] : j.items()) {
      if (!value.is_number_unsigned() || value.get<uint64_t>() >= j.size() ||
          seen[value.get<uint64_t>()]) {
        throw ss::InputError(fmt::format(
            "gpt2 vocabulary {}: token '{}' has id {} (ids must be distinct and 0..{}); run "
            "scripts/fetch-gpt2-vocab.sh",
            path.string(), token, value.dump(), j.size() - 1));
      }
      const auto id = static_cast<uint32_t>(value.get<uint64_t>());
      seen[id] = true;
      encoder_[token] = id;
      // Token string -> raw bytes: split into UTF-8 characters, map each back to a byte.
      std::string raw;
      for (size_t i = 0; i < token.size();) {
        const size_t len = (static_cast<unsigned char>(token[i]) & 0x80) == 0 ? 1 : 2;
        const auto it = symbol_to_byte.find(token.substr(i, len));
        if (it == symbol_to_byte.end()) {
          throw ss::InputError(
              fmt::format("gpt2 vocabulary {}: token '{}' holds a character outside GPT-2's byte "
                          "alphabet; run scripts/fetch-gpt2-vocab.sh",
                          path.string(), token));
        }
        raw += static_cast<char>(it->second);
        i += len;
      }
      id_bytes_[id] = std::move(raw);
    }
    for (int b = 0; b < 256; ++b) {
      if (!encoder_.contains(byte_symbol_[b])) {
        throw ss::InputError(fmt::format(
            "gpt2 vocabulary {}: byte {} has no token, so some text could not be encoded; run "
            "scripts/fetch-gpt2-vocab.sh",
            path.string(), b));
      }
    }
  }

  void load_merges(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      throw ss::InputError(fmt::format(
          "gpt2 merges {}: cannot open it; run scripts/fetch-gpt2-vocab.sh", path.string()));
    }
    std::string line;
    int line_no = 0;
    int rank = 0;
    while (std::getline(in, line)) {
      ++line_no;
      if (line_no == 1 && line.starts_with("#version")) continue;
      if (line.empty()) continue;
      const size_t space = line.find(' ');
      if (space == std::string::npos || space == 0 || space + 1 == line.size() ||
          line.find(' ', space + 1) != std::string::npos) {
        throw ss::InputError(
            fmt::format("gpt2 merges {}:{}: expected 'A B' (two symbols and one space); run "
                        "scripts/fetch-gpt2-vocab.sh",
                        path.string(), line_no));
      }
      ranks_.emplace(line, rank++);
    }
    if (rank == 0) {
      throw ss::InputError(fmt::format(
          "gpt2 merges {}: no merges found; run scripts/fetch-gpt2-vocab.sh", path.string()));
    }
  }

  void compile_regex() {
    int err = 0;
    PCRE2_SIZE err_offset = 0;
    re_.reset(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kGpt2Pattern), PCRE2_ZERO_TERMINATED,
                            PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &err_offset,
                            nullptr));
    if (!re_) {
      throw std::runtime_error(
          fmt::format("pcre2_compile of the GPT-2 pattern failed at {}: {} "
                      "({}:{})",
                      err_offset, pcre2_message(err), __FILE__, __LINE__));
    }
    // JIT is an optimisation: a PCRE2 built without it still matches (interpreted).
    (void)pcre2_jit_compile(re_.get(), PCRE2_JIT_COMPLETE);
    md_.reset(pcre2_match_data_create_from_pattern(re_.get(), nullptr));
    if (!md_) throw std::runtime_error("pcre2_match_data_create_from_pattern failed");
  }

  void append_piece(std::string_view piece, std::vector<uint32_t>& ids) {
    const std::string key(piece);
    auto it = cache_.find(key);
    if (it == cache_.end()) {
      if (cache_.size() >= kMaxCachedPieces) cache_.clear();
      it = cache_.emplace(key, bpe(piece)).first;
    }
    ids.insert(ids.end(), it->second.begin(), it->second.end());
  }

  std::vector<uint32_t> bpe(std::string_view piece) const {
    std::vector<std::string> word;
    word.reserve(piece.size());
    for (char c : piece) word.push_back(byte_symbol_[static_cast<unsigned char>(c)]);
    std::string key;
    while (word.size() > 1) {
      // The lowest-ranked adjacent pair; all its occurrences merge left to right.
      int best_rank = INT_MAX;
      size_t best = 0;
      for (size_t i = 0; i + 1 < word.size(); ++i) {
        key.assign(word[i]).append(" ").append(word[i + 1]);
        const auto r = ranks_.find(key);
        if (r != ranks_.end() && r->second < best_rank) {
          best_rank = r->second;
          best = i;
        }
      }
      if (best_rank == INT_MAX) break;
      const std::string first = word[best];
      const std::string second = word[best + 1];
      std::vector<std::string> merged;
      merged.reserve(word.size());
      for (size_t i = 0; i < word.size();) {
        if (i + 1 < word.size() && word[i] == first && word[i + 1] == second) {
          merged.push_back(first + second);
          i += 2;
        } else {
          merged.push_back(std::move(word[i]));
          i += 1;
        }
      }
      word = std::move(merged);
    }
    std::vector<uint32_t> ids;
    ids.reserve(word.size());
    for (const auto& symbol : word) {
      const auto e = encoder_.find(symbol);
      if (e == encoder_.end()) {
        throw std::logic_error(
            fmt::format("gpt2: merged symbol '{}' is not in encoder.json", symbol));
      }
      ids.push_back(e->second);
    }
    return ids;
  }

  std::array<std::string, 256> byte_symbol_;  // byte -> UTF-8 of its GPT-2 symbol
  std::unordered_map<std::string, uint32_t> encoder_;
  std::vector<std::string> id_bytes_;           // id -> the raw bytes it stands for
  std::unordered_map<std::string, int> ranks_;  // "A B" -> merge rank
  std::unordered_map<std::string, std::vector<uint32_t>> cache_;
  std::unique_ptr<pcre2_code, CodeFree> re_;
  std::unique_ptr<pcre2_match_data, MatchDataFree> md_;
};

}  // namespace

std::unique_ptr<Tokenizer> make_gpt2_tokenizer(const std::filesystem::path& encoder_json,
                                               const std::filesystem::path& vocab_bpe) {
  return std::make_unique<Gpt2Tokenizer>(encoder_json, vocab_bpe);
}

}  // namespace ss::io
