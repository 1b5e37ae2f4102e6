// The byte tokenizer (id = byte value) and the by-name factory of tokenizer.h.
#include <fmt/core.h>

#include <stdexcept>

#include "model/io/tokenizer.h"
#include "ss/error.h"

namespace ss::io {
namespace {

class BytesTokenizer final : public Tokenizer {
 public:
  std::vector<uint32_t> encode(std::string_view text) override {
    std::vector<uint32_t> ids(text.size());
    for (size_t i = 0; i < text.size(); ++i) ids[i] = static_cast<unsigned char>(text[i]);
    return ids;
  }
  std::string decode(std::span<const uint32_t> ids) const override {
    std::string out(ids.size(), '\0');
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] > 255)
        throw std::out_of_range(fmt::format("bytes tokenizer: id {} > 255", ids[i]));
      out[i] = static_cast<char>(ids[i]);
    }
    return out;
  }
  uint32_t vocab_size() const override { return 256; }
  std::string name() const override { return "bytes"; }
};

}  // namespace

std::unique_ptr<Tokenizer> make_bytes_tokenizer() {
  return std::make_unique<BytesTokenizer>();
}

std::unique_ptr<Tokenizer> make_tokenizer(std::string_view name,
                                          const std::filesystem::path& gpt2_dir) {
  if (name == "bytes") return make_bytes_tokenizer();
  if (name == "gpt2") {
    return make_gpt2_tokenizer(gpt2_dir / "encoder.json", gpt2_dir / "vocab.bpe");
  }
  throw ss::InputError(
      fmt::format("tokenizer '{}' is unknown; use 'bytes' or 'gpt2'", std::string(name)));
}

}  // namespace ss::io
