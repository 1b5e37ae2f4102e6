// Sweep config validation on real TOML files in a temp dir: a valid file parses into the
// expected spec, and every rule rejects its bad file with one "FILE:LINE: key ..." line.
#include <gtest/gtest.h>

#include "runner/config.h"
#include "ss/error.h"
#include "tests/support/temp_dir.h"

namespace ss::runner {
namespace {

using ss::testing::TempDir;
using ss::testing::write_text;

// A valid sweep; the tests below edit single lines of it. Line numbers are in the comments.
const std::string kBase =
    "name = \"t\"\n"                // 1
    "[data]\n"                      // 2
    "tokenizer = \"bytes\"\n"       // 3
    "train = \"train.bin\"\n"       // 4
    "val = \"val.bin\"\n"           // 5
    "[model]\n"                     // 6
    "n_layer = [1, 2]\n"            // 7
    "d_model = [32, 64]\n"          // 8
    "n_head = 2\n"                  // 9
    "n_ctx = 64\n"                  // 10
    "[tokens]\n"                    // 11
    "absolute = [1000000]\n"        // 12
    "[train]\n"                     // 13
    "batch_tokens = 4096\n"         // 14
    "micro_batch = 8\n"             // 15
    "lr = 1e-3\n"                   // 16
    "warmup_steps = 10\n"           // 17
    "seeds = [1, 2]\n"              // 18
    "[parallel]\n"                  // 19
    "dp = 1\n"                      // 20
    "tp = 1\n"                      // 21
    "[schedule]\n"                  // 22
    "eval_interval = 50\n"          // 23
    "eval_tokens = 8192\n"          // 24
    "checkpoint_interval = 100\n";  // 25

// kBase with the first occurrence of `from` replaced by `to` (which must exist).
std::string edit(const std::string& from, const std::string& to, std::string text = kBase) {
  const auto at = text.find(from);
  if (at == std::string::npos) throw std::logic_error("test edit: '" + from + "' not in text");
  return text.replace(at, from.size(), to);
}

class ConfigTest : public ::testing::Test {
 protected:
  SweepSpec load(const std::string& text) {
    write_text(path_, text);
    return load_sweep_spec(path_);
  }
  // The file must be rejected with one line starting "PATH:LINE: " and containing `fragment`.
  void expect_rejected(const std::string& text, int line, const std::string& fragment) {
    write_text(path_, text);
    try {
      load_sweep_spec(path_);
      ADD_FAILURE() << "accepted a bad file; expected line " << line << ": " << fragment;
    } catch (const InputError& e) {
      const std::string message = e.what();
      const std::string prefix = path_.string() + ":" + std::to_string(line) + ": ";
      EXPECT_EQ(message.rfind(prefix, 0), 0u) << "expected prefix " << prefix << " in: " << message;
      EXPECT_NE(message.find(fragment), std::string::npos) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << "not one line: " << message;
      EXPECT_NE(message.find(';'), std::string::npos) << "no 'how to fix' part: " << message;
    }
  }
  TempDir dir_;
  std::filesystem::path path_ = dir_ / "sweep.toml";
};

TEST_F(ConfigTest, ValidFileParses) {
  const SweepSpec spec = load(kBase);
  EXPECT_EQ(spec.name, "t");
  EXPECT_EQ(spec.vocab, 256);
  EXPECT_EQ(spec.data.train, "train.bin");
  ASSERT_EQ(spec.shapes.size(), 4u);  // n_layer {1,2} x d_model {32,64}
  EXPECT_EQ(spec.shapes[0].n_layer, 1);
  EXPECT_EQ(spec.shapes[0].d_model, 32);
  EXPECT_EQ(spec.shapes[1].d_model, 64);
  EXPECT_EQ(spec.shapes[2].n_layer, 2);
  EXPECT_EQ(spec.shapes[3].d_ff, 256);  // default 4 * d_model
  EXPECT_EQ(spec.tokens.mode, TokenMode::kAbsolute);
  EXPECT_EQ(spec.train.seeds, (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(spec.train.warmup_steps, 10);
  EXPECT_DOUBLE_EQ(spec.train.weight_decay, 0.1);  // documented default
  EXPECT_EQ(spec.schedule.max_attempts, 3);
  EXPECT_DOUBLE_EQ(spec.schedule.retry_backoff_seconds, 30);  // documented defaults
  EXPECT_DOUBLE_EQ(spec.schedule.retry_backoff_max_seconds, 600);
  EXPECT_EQ(spec.schedule.max_transient_failures, 10);
  EXPECT_EQ(spec.schedule.checkpoint_dir, "");  // placed beside the store by place_checkpoints
  EXPECT_EQ(spec.config_text, kBase);
  EXPECT_EQ(spec.config_hash.size(), 64u);
}

TEST_F(ConfigTest, CheckpointDirDefaultsBesideTheStore) {
  SweepSpec spec = load(kBase);  // kBase has no checkpoint_dir; its name is "t"
  place_checkpoints(spec, "/scratch/u/results.db");
  EXPECT_EQ(spec.schedule.checkpoint_dir, "/scratch/u/results-checkpoints/t");
  EXPECT_TRUE(spec.schedule.checkpoint_dir_beside_store);
  spec = load(kBase);
  place_checkpoints(spec, "results.db");  // a store in the working directory
  EXPECT_EQ(spec.schedule.checkpoint_dir, "results-checkpoints/t");
  // A given one is kept as written (relative to the working directory, as before).
  spec = load(kBase + "checkpoint_dir = \"ckpt/mine\"\n");
  place_checkpoints(spec, "/scratch/u/results.db");
  EXPECT_EQ(spec.schedule.checkpoint_dir, "ckpt/mine");
  EXPECT_FALSE(spec.schedule.checkpoint_dir_beside_store);
}

TEST_F(ConfigTest, RepositoryConfigsParse) {
  for (const char* name :
       {"quickstart.toml", "quickstart-seeds.toml", "quickstart-top.toml", "quickstart-long.toml",
        "quickstart-d36.toml", "quickstart-longer.toml", "quickstart-quick.toml", "kaplan-nd.toml",
        "chinchilla-isoflop.toml", "shape.toml"}) {
    const auto path = std::filesystem::path(SS_SOURCE_DIR) / "configs" / name;
    ASSERT_TRUE(std::filesystem::exists(path)) << path;
    EXPECT_NO_THROW(load_sweep_spec(path)) << name;
  }
  const SweepSpec quick =
      load_sweep_spec(std::filesystem::path(SS_SOURCE_DIR) / "configs" / "quickstart.toml");
  EXPECT_EQ(quick.data.tokenizer, "bytes");
  EXPECT_EQ(quick.shapes.at(0).n_ctx, 64);
}

TEST_F(ConfigTest, RangesAndDHead) {
  const SweepSpec spec =
      load(edit("n_head = 2\n", "d_head = 16\n",
                edit("n_layer = [1, 2]", "n_layer = {from = 1, to = 3, step = 1}",
                     edit("d_model = [32, 64]", "d_model = {from = 32, to = 128, factor = 2}"))));
  ASSERT_EQ(spec.shapes.size(), 9u);
  EXPECT_EQ(spec.shapes[2].d_model, 128);
  EXPECT_EQ(spec.shapes[2].n_head, 8);  // 128 / 16
  EXPECT_EQ(spec.shapes[8].n_layer, 3);
}

TEST_F(ConfigTest, TargetParamsChoosesShapes) {
  const SweepSpec spec = load(edit("n_layer = [1, 2]\nd_model = [32, 64]\n",
                                   "target_params = [1e6, 1e7]\naspect_ratio = 32\n"));
  ASSERT_EQ(spec.shapes.size(), 2u);
  for (const auto& s : spec.shapes) {
    const double n = 12.0 * s.n_layer * s.d_model * s.d_model;
    EXPECT_EQ(s.d_model % 2, 0);
    EXPECT_EQ(s.d_ff, 4 * s.d_model);
    (void)n;
  }
  // 1e6 = 12 L d^2 with d = 32 L -> L = cbrt(1e6 / 12288) = 4.33 -> 4; d = sqrt(1e6 / 48) = 144.3
  EXPECT_EQ(spec.shapes[0].n_layer, 4);
  EXPECT_EQ(spec.shapes[0].d_model, 144);
}

TEST_F(ConfigTest, TargetParamsKeepHeadsDivisibleByTp) {
  const SweepSpec spec =
      load(edit("tp = 1", "tp = 4",
                edit("n_layer = [1, 2]\nd_model = [32, 64]\nn_head = 2\n",
                     "target_params = [1e6, 3e6, 1e7, 3e7]\naspect_ratio = 48\nd_head = 16\n")));
  ASSERT_EQ(spec.shapes.size(), 4u);
  for (const auto& s : spec.shapes) {
    EXPECT_EQ(s.d_model % 64, 0) << s.d_model;  // a multiple of d_head * tp
    EXPECT_EQ(s.n_head % 4, 0) << s.n_head;
    EXPECT_EQ(s.n_head * 16, s.d_model);
  }
}

TEST_F(ConfigTest, KaplanLearningRateRule) {
  const SweepSpec spec = load(edit("lr = 1e-3", "lr = \"kaplan\""));
  EXPECT_EQ(spec.train.lr_rule, LrRule::kKaplan);
  // 0.003239 - 0.0001395 ln(1e6) = 0.003239 - 0.0019272... (by hand: ln 1e6 = 13.8155)
  EXPECT_NEAR(kaplan_learning_rate(1e6), 0.003239 - 0.0001395 * 13.815511, 1e-9);
}

TEST_F(ConfigTest, PowerLearningRateRule) {
  const SweepSpec spec =
      load(edit("lr = 1e-3", "lr = {rule = \"power\", base = 1e-2, n_ref = 1e4, exponent = -0.5}"));
  EXPECT_EQ(spec.train.lr_rule, LrRule::kPower);
  // By hand: 1e-2 * (4e4 / 1e4)^-0.5 = 1e-2 / 2 = 5e-3; at n_ref the base itself.
  ASSERT_EQ(learning_rates(spec.train, 4e4).size(), 1u);
  EXPECT_NEAR(learning_rates(spec.train, 4e4)[0], 5e-3, 1e-15);
  EXPECT_NEAR(learning_rates(spec.train, 1e4)[0], 1e-2, 1e-15);
}

TEST_F(ConfigTest, PowerLearningRateRuleErrors) {
  const std::string good = "lr = {rule = \"power\", base = 1e-2, n_ref = 1e4, exponent = -0.5}";
  auto with = [&](const std::string& lr) { return edit("lr = 1e-3", lr); };
  expect_rejected(with("lr = {rule = \"cubic\", base = 1e-2, n_ref = 1e4, exponent = -0.5}"), 16,
                  "train.lr.rule = \"cubic\" is not allowed; use one of power");
  expect_rejected(with("lr = {rule = \"power\", n_ref = 1e4, exponent = -0.5}"), 16,
                  "train.lr.base is missing");
  expect_rejected(with("lr = {rule = \"power\", base = 1e-2, exponent = -0.5}"), 16,
                  "train.lr.n_ref is missing");
  expect_rejected(with("lr = {rule = \"power\", base = 1e-2, n_ref = 1e4}"), 16,
                  "train.lr.exponent is missing");
  expect_rejected(with("lr = {rule = \"power\", base = -1e-2, n_ref = 1e4, exponent = -0.5}"),
                  16, "train.lr.base = -0.01 is out of range; it must be > 0");
  expect_rejected(with("lr = {rule = \"power\", base = 1e-2, n_ref = 0, exponent = -0.5}"), 16,
                  "train.lr.n_ref = 0 is out of range; it must be > 0");
  expect_rejected(with("lr = {rule = \"power\", base = 1e-2, n_ref = 1e4, exponent = -25}"), 16,
                  "train.lr.exponent = -25 is out of range; it must be within [-2, 2]");
  expect_rejected(with("lr = {rule = \"power\", base = 1e-2, n_ref = 1e4, exponent = \"x\"}"),
                  16, "train.lr.exponent = \"x\" is not a number");
  expect_rejected(
      with("lr = {rule = \"power\", base = 1e-2, n_ref = 1e4, exponent = -0.5, bsae = 1}"), 16,
      "train.lr.bsae = 1 is not a known key (did you mean base?)");
  EXPECT_NO_THROW(load(with(good)));
}

TEST_F(ConfigTest, InitScheme) {
  EXPECT_TRUE(load(kBase).init_scale_residual);  // default: GPT-2's scaled residual projections
  EXPECT_FALSE(load(edit("n_ctx = 64\n", "n_ctx = 64\ninit = \"normal\"\n")).init_scale_residual);
  expect_rejected(edit("n_ctx = 64\n", "n_ctx = 64\ninit = \"xavier\"\n"), 11,
                  "model.init = \"xavier\" is not allowed; use one of gpt2 | normal");
}

TEST_F(ConfigTest, SyntaxErrorNamesTheLine) {
  expect_rejected(edit("d_model = [32, 64]", "d_model = [32, 64] x"), 8, "TOML syntax error");
}

TEST_F(ConfigTest, UnknownKeyWithSuggestion) {
  expect_rejected(edit("n_ctx = 64\n", "n_ctx = 64\nn_heads = 4\n"), 11,
                  "model.n_heads = 4 is not a known key (did you mean n_head?)");
  expect_rejected(edit("[data]\n", "colour = \"red\"\n[data]\n"), 2, "colour = \"red\" is not");
  expect_rejected(edit("[schedule]\n", "[scheduel]\n"), 22, "scheduel");
}

TEST_F(ConfigTest, NHeadMustDivideDModel) {
  expect_rejected(edit("n_head = 2", "n_head = 7"), 9, "model.n_head = 7 does not divide d_model");
  expect_rejected(edit("n_head = 2", "d_head = 24"), 9, "model.d_head = 24 does not divide");
}

TEST_F(ConfigTest, NegativeOrZeroTokensRejected) {
  expect_rejected(edit("absolute = [1000000]", "absolute = [1000000, -5]"), 12,
                  "tokens.absolute = -5");
  expect_rejected(edit("absolute = [1000000]", "per_param = [0]"), 12, "tokens.per_param = 0");
}

TEST_F(ConfigTest, EmptyGridRejected) {
  expect_rejected(edit("n_layer = [1, 2]", "n_layer = []"), 7, "model.n_layer = [] is an empty");
  expect_rejected(edit("seeds = [1, 2]", "seeds = []"), 18, "train.seeds = []");
}

TEST_F(ConfigTest, TensorParallelMustDivideHeadsAndDff) {
  expect_rejected(edit("tp = 1", "tp = 4"), 21, "parallel.tp = 4 does not divide n_head = 2");
  // n_head 4 is divisible by tp 4, but d_ff 6 is not.
  expect_rejected(edit("tp = 1", "tp = 4", edit("n_head = 2", "n_head = 4\nd_ff = 6")), 22,
                  "d_ff = 6");
  expect_rejected(edit("tp = 1", "tp = 0"), 21, "parallel.tp = 0 is too small");
  expect_rejected(edit("dp = 1", "dp = -1"), 20, "parallel.dp = -1 is too small");
}

TEST_F(ConfigTest, TwoTokenModesRejected) {
  expect_rejected(edit("absolute = [1000000]", "absolute = [1000000]\nper_param = [20]"), 13,
                  "tokens.per_param is a second token mode");
  expect_rejected(edit("absolute = [1000000]", "min_ratio = 2"), 11, "gives no token mode");
  expect_rejected(edit("absolute = [1000000]", "absolute = [1000000]\nmax_ratio = 2"), 11,
                  "only apply to tokens.isoflop");
}

TEST_F(ConfigTest, MissingKeysAndTables) {
  expect_rejected(edit("n_ctx = 64\n", ""), 6, "model.n_ctx is missing");
  expect_rejected(edit("micro_batch = 8\n", ""), 13, "train.micro_batch is missing");
  expect_rejected(edit("[schedule]\neval_interval = 50\neval_tokens = 8192\n"
                       "checkpoint_interval = 100\n",
                       ""),
                  1, "the [schedule] table is missing");
  expect_rejected(edit("n_head = 2\n", ""), 6, "exactly one of n_head or d_head");
  expect_rejected(edit("n_layer = [1, 2]\n", ""), 6, "model.n_layer is missing");
}

TEST_F(ConfigTest, WrongTypesRejected) {
  expect_rejected(edit("n_layer = [1, 2]", "n_layer = [1, \"two\"]"), 7,
                  "model.n_layer = \"two\" is not an integer");
  expect_rejected(edit("n_layer = [1, 2]", "n_layer = 1.5"), 7, "model.n_layer = 1.5");
  expect_rejected(edit("tokenizer = \"bytes\"", "tokenizer = \"bpe\""), 3,
                  "data.tokenizer = \"bpe\" is not allowed; use one of bytes | gpt2");
  expect_rejected(edit("lr = 1e-3", "lr = \"fast\""), 16, "train.lr = \"fast\"");
  expect_rejected(edit("name = \"t\"\n", "name = \"t\"\nparallel = 2\n",
                       edit("[parallel]\ndp = 1\ntp = 1\n", "")),
                  2, "parallel = 2 is not a table");
}

TEST_F(ConfigTest, DataNeedsShardsOrCorpus) {
  expect_rejected(edit("val = \"val.bin\"\n", ""), 2, "data.val is missing");
  expect_rejected(edit("val = \"val.bin\"\n", "val = \"val.bin\"\ncorpus = \"text/\"\n"), 2,
                  "exactly one of (train and val) or corpus");
}

TEST_F(ConfigTest, BatchMustHoldWholeMicroBatches) {
  // 4096 / 64 = 64 sequences; micro_batch 8 * dp 3 = 24 does not divide 64.
  expect_rejected(edit("dp = 1", "dp = 3"), 14, "train.batch_tokens = 4096");
  expect_rejected(edit("batch_tokens = 4096", "batch_tokens = 4000"), 14, "multiple of n_ctx");
}

TEST_F(ConfigTest, WarmupRules) {
  expect_rejected(edit("warmup_steps = 10", "warmup_steps = 10\nwarmup_fraction = 0.1"), 18,
                  "keep exactly one");
  expect_rejected(edit("warmup_steps = 10", "warmup_fraction = 1.5"), 17,
                  "train.warmup_fraction = 1.5 is out of range");
}

TEST_F(ConfigTest, RangeMistakes) {
  expect_rejected(edit("n_layer = [1, 2]", "n_layer = {from = 1, to = 4}"), 7, "incomplete range");
  expect_rejected(edit("n_layer = [1, 2]", "n_layer = {from = 4, to = 1, step = 1}"), 7,
                  "to < from");
  expect_rejected(edit("n_layer = [1, 2]", "n_layer = {from = 1, upto = 4, step = 1}"), 7,
                  "range key 'upto'");
  // More values than a grid axis takes is refused, not cut to the first 10000 (probe C1.20).
  expect_rejected(edit("n_layer = [1, 2]", "n_layer = {from = 1, to = 1000000000, step = 1}"), 7,
                  "is a range of more than 10000 values");
}

TEST_F(ConfigTest, AspectRatioNeedsTargetParams) {
  expect_rejected(edit("n_ctx = 64\n", "n_ctx = 64\naspect_ratio = 64\n"), 6,
                  "aspect_ratio only applies with target_params");
}

TEST_F(ConfigTest, CombinePairsZipsLayersAndWidths) {
  const SweepSpec spec = load(edit("n_layer = [1, 2]\nd_model = [32, 64]\n",
                                   "n_layer = [1, 4, 16]\nd_model = [64, 32, 16]\n"
                                   "combine = \"pairs\"\n"));
  ASSERT_EQ(spec.shapes.size(), 3u);  // not 9: (1, 64), (4, 32), (16, 16), all N = 49152
  for (const auto& s : spec.shapes) EXPECT_EQ(12 * s.n_layer * s.d_model * s.d_model, 49152);
  EXPECT_EQ(spec.shapes[1].n_layer, 4);
  EXPECT_EQ(spec.shapes[1].d_model, 32);
  EXPECT_EQ(load(kBase).shapes.size(), 4u);  // the default stays the product
}

TEST_F(ConfigTest, CombinePairsNeedsListsOfOneLength) {
  expect_rejected(edit("n_ctx = 64\n", "n_ctx = 64\ncombine = \"pairs\"\n",
                       edit("d_model = [32, 64]", "d_model = [32, 64, 96]")),
                  6, "same length (got 2 and 3)");
  expect_rejected(edit("n_ctx = 64\n", "n_ctx = 64\ncombine = \"zip\"\n"), 11,
                  "combine = \"zip\" is not allowed");
}

TEST_F(ConfigTest, RetryBackoffKeys) {
  SweepSpec spec = load(kBase +
                        "retry_backoff_seconds = 1.5\nretry_backoff_max_seconds = 4\n"
                        "max_transient_failures = 7\n");
  EXPECT_DOUBLE_EQ(spec.schedule.retry_backoff_seconds, 1.5);
  EXPECT_DOUBLE_EQ(spec.schedule.retry_backoff_max_seconds, 4);
  EXPECT_EQ(spec.schedule.max_transient_failures, 7);
  // Without a cap, a first wait above the default cap is its own cap.
  spec = load(kBase + "retry_backoff_seconds = 900\n");
  EXPECT_DOUBLE_EQ(spec.schedule.retry_backoff_max_seconds, 900);
}

// Each bad value of the backoff keys: one line at its own line (26 or 27) naming the key.
TEST_F(ConfigTest, RetryBackoffMistakes) {
  expect_rejected(kBase + "retry_backoff_seconds = 0\n", 26,
                  "schedule.retry_backoff_seconds = 0 is out of range; it must be > 0");
  expect_rejected(kBase + "retry_backoff_seconds = -5\n", 26, "must be > 0");
  expect_rejected(kBase + "retry_backoff_seconds = \"30s\"\n", 26,
                  "schedule.retry_backoff_seconds = \"30s\" is not a number");
  expect_rejected(kBase + "retry_backoff_seconds = 1e9\n", 26, "must be <= 86400");
  expect_rejected(kBase + "retry_backoff_seconds = nan\n", 26, "retry_backoff_seconds = nan is not a finite number");
  expect_rejected(kBase + "retry_backoff_max_seconds = 0\n", 26,
                  "schedule.retry_backoff_max_seconds = 0 is out of range");
  expect_rejected(kBase + "retry_backoff_max_seconds = 1e6\n", 26, "must be <= 86400");
  expect_rejected(kBase + "retry_backoff_seconds = 60\nretry_backoff_max_seconds = 10\n", 27,
                  "schedule.retry_backoff_max_seconds = 10 is below retry_backoff_seconds = 60");
  expect_rejected(kBase + "max_transient_failures = 0\n", 26,
                  "schedule.max_transient_failures = 0 is too small; it must be >= 1");
  expect_rejected(kBase + "max_transient_failures = 2.5\n", 26, "is not an integer");
  expect_rejected(kBase + "max_transient_failures = 5000\n", 26, "must be <= 1000");
  expect_rejected(kBase + "retry_backof_seconds = 5\n", 26, "retry_backoff_seconds");
}

TEST_F(ConfigTest, MissingFileIsInputError) {
  EXPECT_THROW(load_sweep_spec(dir_ / "absent.toml"), InputError);
}

}  // namespace
}  // namespace ss::runner
