// Gpt2Tokenizer: see tokenizer_gpt2.h. Follows OpenAI's encoder.py (bytes_to_unicode,
// get_pairs/bpe) but on integer ids.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "model/io/tokenizer_gpt2.h"

#include <pcre2.h>

#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "ss/error.h"

namespace ss::io {

namespace {

// GPT-2's pre-tokenizer (contractions, letters, numbers, other symbols, whitespace).
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// Bound on the word cache so a huge corpus cannot grow it without limit.
constexpr size_t kMaxCacheEntries = 1 << 20;

// GPT-2's bytes_to_unicode: printable bytes map to themselves, the other 68 bytes to
// code points 256.. in byte order; returns code point per byte.
std::array<uint32_t, 256> bytes_to_unicode() {
  std::array<uint32_t, 256> cp{};
  std::array<bool, 256> printable{};
  for (int b = '!'; b <= '~'; ++b) printable[b] = true;
  for (int b = 0xA1; b <= 0xAC; ++b) printable[b] = true;
  for (int b = 0xAE; b <= 0xFF; ++b) printable[b] = true;
  uint32_t next = 256;
  for (int b = 0; b < 256; ++b) cp[b] = printable[b] ? static_cast<uint32_t>(b) : next++;
  return cp;
}

// Decodes UTF-8 (only code points < 0x800 occur in GPT-2 token strings); false if the
// string has other characters.
bool token_string_to_bytes(const std::string& s, const std::array<int, 512>& cp_to_byte,
                           std::string& out) {
  out.clear();
  for (size_t i = 0; i < s.size();) {
    const auto c0 = static_cast<unsigned char>(s[i]);
    uint32_t cp = 0;
    if (c0 < 0x80) {
      cp = c0;
      i += 1;
    } else if ((c0 & 0xE0) == 0xC0 && i + 1 < s.size()) {
      cp = ((c0 & 0x1Fu) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3Fu);
      i += 2;
    } else {
      return false;
    }
    if (cp >= cp_to_byte.size() || cp_to_byte[cp] < 0) return false;
    out.push_back(static_cast<char>(cp_to_byte[cp]));
  }
  return true;
}

[[noreturn]] void bad_vocab(const std::filesystem::path& path, const std::string& what) {
  throw ss::InputError(
      fmt::format("GPT-2 vocabulary {}: {}; run scripts/fetch-gpt2-vocab.sh", path.string(), what));
}

std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) bad_vocab(path, "cannot be opened (missing?)");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

void Gpt2Tokenizer::RegexDeleter::operator()(pcre2_real_code_8* code) const {
  pcre2_code_free_8(code);
}
void Gpt2Tokenizer::MatchDataDeleter::operator()(pcre2_real_match_data_8* data) const {
  pcre2_match_data_free_8(data);
}

Gpt2Tokenizer::~Gpt2Tokenizer() = default;

Gpt2Tokenizer::Gpt2Tokenizer(const std::filesystem::path& encoder_json,
                             const std::filesystem::path& vocab_bpe) {
  const auto str_to_id = load_encoder(encoder_json);
  load_merges(vocab_bpe, str_to_id);
  compile_pretokenizer();
}

// encoder.json: token string -> id; ids must be exactly 0..N-1. Fills id_to_bytes_ and
// byte_to_id_; returns the token string -> id map the merges are read with.
std::unordered_map<std::string, uint32_t> Gpt2Tokenizer::load_encoder(
    const std::filesystem::path& encoder_json) {
  const std::array<uint32_t, 256> byte_cp = bytes_to_unicode();
  std::array<int, 512> cp_to_byte{};
  cp_to_byte.fill(-1);
  for (int b = 0; b < 256; ++b) cp_to_byte[byte_cp[b]] = b;

  nlohmann::json enc;
  try {
    enc = nlohmann::json::parse(read_text_file(encoder_json));
  } catch (const nlohmann::json::parse_error& e) {
    bad_vocab(encoder_json, fmt::format("is not valid JSON ({})", e.what()));
  }
  if (!enc.is_object() || enc.empty()) bad_vocab(encoder_json, "is not a JSON object of ids");
  std::unordered_map<std::string, uint32_t> str_to_id;
  str_to_id.reserve(enc.size());
  id_to_bytes_.assign(enc.size(), std::string());
  std::vector<bool> seen(enc.size(), false);
  std::string raw;
  for (const auto& [token, id_json] : enc.items()) {
    if (!id_json.is_number_unsigned() || id_json.get<uint64_t>() >= enc.size()) {
      bad_vocab(encoder_json, fmt::format("token '{}' has id {} outside 0..{}", token,
                                          id_json.dump(), enc.size() - 1));
    }
    const auto id = id_json.get<uint32_t>();
    if (seen[id]) bad_vocab(encoder_json, fmt::format("id {} appears twice", id));
    if (!token_string_to_bytes(token, cp_to_byte, raw)) {
      bad_vocab(encoder_json, fmt::format("token '{}' is not in GPT-2's byte alphabet", token));
    }
    seen[id] = true;
    id_to_bytes_[id] = raw;
    str_to_id.emplace(token, id);
  }
  for (int b = 0; b < 256; ++b) {
    std::string one;
    // The UTF-8 of code point byte_cp[b] (< 0x200, so one or two bytes).
    const uint32_t cp = byte_cp[b];
    if (cp < 0x80) {
      one.push_back(static_cast<char>(cp));
    } else {
      one.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      one.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
    const auto it = str_to_id.find(one);
    if (it == str_to_id.end()) {
      bad_vocab(encoder_json, fmt::format("has no token for byte {}", b));
    }
    byte_to_id_[b] = it->second;
  }
  return str_to_id;
}

// vocab.bpe: "#version" line, then "a b" per line; rank = order. Fills merges_.
void Gpt2Tokenizer::load_merges(const std::filesystem::path& vocab_bpe,
                                const std::unordered_map<std::string, uint32_t>& str_to_id) {
  std::istringstream lines(read_text_file(vocab_bpe));
  std::string line;
  uint32_t rank = 0;
  size_t line_no = 0;
  while (std::getline(lines, line)) {
    ++line_no;
    if (line.empty() || line.starts_with("#version")) continue;
    const size_t space = line.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 == line.size() ||
        line.find(' ', space + 1) != std::string::npos) {
      bad_vocab(vocab_bpe, fmt::format("line {} is not 'first second'", line_no));
    }
    const std::string first = line.substr(0, space), second = line.substr(space + 1);
    const auto a = str_to_id.find(first), b = str_to_id.find(second),
               m = str_to_id.find(first + second);
    if (a == str_to_id.end() || b == str_to_id.end() || m == str_to_id.end()) {
      bad_vocab(vocab_bpe, fmt::format("line {}: merge '{}' uses a token missing from "
                                       "encoder.json",
                                       line_no, line));
    }
    const uint64_t key = (static_cast<uint64_t>(a->second) << 32) | b->second;
    merges_.emplace(key, Merge{rank++, m->second});  // first occurrence keeps its rank
  }
  if (merges_.empty()) bad_vocab(vocab_bpe, "has no merges");
}

// The GPT-2 pre-tokenizer regex (regex_, match_data_).
void Gpt2Tokenizer::compile_pretokenizer() {
  int err = 0;
  PCRE2_SIZE err_offset = 0;
  regex_.reset(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kGpt2Pattern), PCRE2_ZERO_TERMINATED,
                             PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &err_offset,
                             nullptr));
  if (!regex_) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof(msg));
    throw std::runtime_error(fmt::format("PCRE2 compile of the GPT-2 pattern failed at {}: {}",
                                         err_offset, reinterpret_cast<const char*>(msg)));
  }
  // JIT makes the pre-tokenizer several times faster; it is optional (falls back to the
  // interpreter if the platform has no JIT).
  pcre2_jit_compile(regex_.get(), PCRE2_JIT_COMPLETE);
  match_data_.reset(pcre2_match_data_create_from_pattern(regex_.get(), nullptr));
  if (!match_data_) throw std::runtime_error("pcre2_match_data_create_from_pattern failed");
}

void Gpt2Tokenizer::encode_piece(std::string_view piece, std::vector<uint32_t>& out) {
  std::string key(piece);
  if (const auto it = cache_.find(key); it != cache_.end()) {
    out.insert(out.end(), it->second.begin(), it->second.end());
    return;
  }
  std::vector<uint32_t> word(piece.size());
  for (size_t i = 0; i < piece.size(); ++i)
    word[i] = byte_to_id_[static_cast<unsigned char>(piece[i])];
  std::vector<uint32_t> merged;
  while (word.size() >= 2) {
    // The adjacent pair with the lowest merge rank (encoder.py's min over get_pairs).
    uint32_t best_rank = std::numeric_limits<uint32_t>::max();
    uint64_t best_key = 0;
    uint32_t best_id = 0;
    for (size_t i = 0; i + 1 < word.size(); ++i) {
      const uint64_t k = (static_cast<uint64_t>(word[i]) << 32) | word[i + 1];
      const auto it = merges_.find(k);
      if (it != merges_.end() && it->second.rank < best_rank) {
        best_rank = it->second.rank;
        best_key = k;
        best_id = it->second.merged_id;
      }
    }
    if (best_rank == std::numeric_limits<uint32_t>::max()) break;
    // Merge every non-overlapping occurrence, left to right, as encoder.py does.
    const auto first = static_cast<uint32_t>(best_key >> 32);
    const auto second = static_cast<uint32_t>(best_key & 0xffffffffu);
    merged.clear();
    for (size_t i = 0; i < word.size();) {
      if (i + 1 < word.size() && word[i] == first && word[i + 1] == second) {
        merged.push_back(best_id);
        i += 2;
      } else {
        merged.push_back(word[i]);
        i += 1;
      }
    }
    word.swap(merged);
  }
  out.insert(out.end(), word.begin(), word.end());
  if (cache_.size() >= kMaxCacheEntries) cache_.clear();
  cache_.emplace(std::move(key), std::move(word));
}

std::vector<uint32_t> Gpt2Tokenizer::encode(std::string_view text) {
  std::vector<uint32_t> ids;
  ids.reserve(text.size() / 3);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0, last_end = 0;
  while (pos < text.size()) {
    const int rc =
        pcre2_match(regex_.get(), subject, text.size(), pos, 0, match_data_.get(), nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(rc, msg, sizeof(msg));
      throw std::runtime_error(fmt::format("pcre2_match failed at byte {}: {} ({}:{})", pos,
                                           reinterpret_cast<const char*>(msg), __FILE__, __LINE__));
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match_data_.get());
    const size_t start = ovector[0], end = ovector[1];
    if (end <= start) throw std::logic_error("GPT-2 pattern matched an empty string");
    // Bytes the pattern skipped can only be invalid UTF-8: keep them as their own piece.
    if (start > last_end) encode_piece(text.substr(last_end, start - last_end), ids);
    encode_piece(text.substr(start, end - start), ids);
    last_end = pos = end;
  }
  if (last_end < text.size()) encode_piece(text.substr(last_end), ids);
  return ids;
}

std::string Gpt2Tokenizer::decode(std::span<const uint32_t> ids) const {
  std::string text;
  for (uint32_t id : ids) {
    if (id >= id_to_bytes_.size()) {
      throw std::out_of_range(
          fmt::format("gpt2 tokenizer: id {} >= vocab {}", id, id_to_bytes_.size()));
    }
    text += id_to_bytes_[id];
  }
  return text;
}

}  // namespace ss::io
