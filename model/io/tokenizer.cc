// BytesTokenizer and the tokenizer factory.
#include "model/io/tokenizer.h"

#include <stdexcept>

#include <fmt/core.h>

#include "model/io/tokenizer_gpt2.h"
#include "ss/error.h"

namespace ss::io {

std::vector<uint32_t> BytesTokenizer::encode(std::string_view text) {
  std::vector<uint32_t> ids(text.size());
  for (size_t i = 0; i < text.size(); ++i) ids[i] = static_cast<unsigned char>(text[i]);
  return ids;
}

std::string BytesTokenizer::decode(std::span<const uint32_t> ids) const {
  std::string text(ids.size(), '\0');
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] > 255) throw std::out_of_range(fmt::format("bytes tokenizer: id {} > 255", ids[i]));
    text[i] = static_cast<char>(ids[i]);
  }
  return text;
}

std::filesystem::path default_gpt2_dir() {
  // model/io/ -> repo root; the data directory is not installed anywhere else.
  return std::filesystem::path(SS_REPO_ROOT) / "data" / "gpt2";
}

std::unique_ptr<Tokenizer> make_tokenizer(std::string_view name,
                                          const std::filesystem::path& gpt2_dir) {
  if (name == "bytes") return std::make_unique<BytesTokenizer>();
  if (name == "gpt2") {
    return std::make_unique<Gpt2Tokenizer>(gpt2_dir / "encoder.json", gpt2_dir / "vocab.bpe");
  }
  throw ss::InputError(
      fmt::format("tokenizer '{}' is unknown; use 'bytes' or 'gpt2'", std::string(name)));
}

}  // namespace ss::io
