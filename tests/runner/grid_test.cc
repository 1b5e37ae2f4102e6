// Grid expansion: parameter counts and FLOPs against hand-computed values (GPT-2 124M), token
// modes (absolute, per-parameter, isoFLOP), deterministic order, and stable, unique keys.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <set>

#include <fmt/core.h>

#include "model/comm_threads.h"
#include "model/gpt.h"
#include "tests/model/counting_backend.h"
#include "runner/grid.h"
#include "ss/error.h"
#include "tests/support/temp_dir.h"

namespace ss::runner {
namespace {

using ss::testing::TempDir;
using ss::testing::write_text;

ParamCounts counts_of(const ModelShape& shape, std::int64_t vocab) {
  return model::gpt_param_counts(gpt_config_of(shape, vocab));
}

TEST(GridFormulas, Gpt2SmallParameterCounts) {
  // GPT-2 124M: 12 layers, d_model 768, d_ff 3072, 12 heads, n_ctx 1024, vocab 50257.
  const ModelShape shape{12, 768, 12, 3072, 1024};
  const ParamCounts p = counts_of(shape, 50257);
  EXPECT_EQ(p.non_embedding, 84'934'656);  // 12 * 12 * 768^2
  EXPECT_EQ(p.embedding, 50257 * 768 + 1024 * 768);
  EXPECT_EQ(p.total, 124'439'808);  // the published count of the Hugging Face gpt2 checkpoint
  // The layout the model sizes its parameter buffer from (too large to allocate in a test).
  std::int64_t layout_total = 0;
  for (const auto& t : model::gpt_param_layout(gpt_config_of(shape, 50257), 1))
    layout_total += static_cast<std::int64_t>(t.count);
  EXPECT_EQ(layout_total, 124'439'808);
}

TEST(GridFormulas, NonStandardDff) {
  // n_layer (4 d^2 + 2 d d_ff) = 2 * (4 * 4096 + 2 * 64 * 100) = 2 * (16384 + 12800) = 58368.
  const ParamCounts p = counts_of({2, 64, 4, 100, 32}, 256);
  EXPECT_EQ(p.non_embedding, 58'368);
  // + 2 * (9 * 64 + 100) + 256 * 64 + 32 * 64 + 2 * 64 = 1352 + 16384 + 2048 + 128.
  EXPECT_EQ(p.total, 58'368 + 1'352 + 16'384 + 2'048 + 128);
}

// The grid's counts (what plan prints and the store's runs rows hold) against the parameter
// buffers the model really allocates: every tp rank's shard, sharded tensors summed over the
// ranks and replicated ones counted once, for the tp = 1 model and for tp = 2 and 4.
TEST(GridFormulas, ParamCountsMatchTheModelsBuffers) {
  const std::vector<std::pair<ModelShape, std::int64_t>> shapes = {
      {{2, 64, 4, 256, 64}, 256},   // d_ff = 4 d
      {{2, 64, 4, 100, 32}, 256},   // d_ff != 4 d
      {{3, 48, 4, 192, 16}, 300},   // 3 layers, odd vocab
      {{1, 32, 4, 40, 8}, 50257}};  // GPT-2 vocab
  for (const auto& [shape, vocab] : shapes) {
    const model::GptConfig cfg = gpt_config_of(shape, vocab);
    const ParamCounts grid = counts_of(shape, vocab);
    for (int tp : {1, 2, 4}) {
      SCOPED_TRACE(fmt::format("d_model {} d_ff {} vocab {} tp {}", shape.d_model, shape.d_ff,
                               vocab, tp));
      model::ThreadCommGroup group(tp);
      std::int64_t total = 0, matrices = 0, embedding = 0;
      for (int rank = 0; rank < tp; ++rank) {
        model::ThreadComm comm(group, rank);
        model::Gpt gpt(cfg, 1, tp > 1 ? &comm : nullptr);
        std::int64_t rank_sum = 0;
        for (const model::ParamTensor* t : gpt.layout().params.fields()) {
          const auto n = static_cast<std::int64_t>(t->count);
          rank_sum += n;
          if (rank == 0 || t->sharded) total += n;
          const bool embed = t->name == "wte" || t->name == "wpe";
          if (rank == 0 && embed) embedding += n;
          if (t->weight_decay && !embed) matrices += n;
        }
        EXPECT_EQ(rank_sum, static_cast<std::int64_t>(gpt.num_params()));
        EXPECT_EQ(gpt.params().size(), gpt.num_params());
      }
      EXPECT_EQ(total, grid.total);
      EXPECT_EQ(matrices, grid.non_embedding);
      EXPECT_EQ(embedding, grid.embedding);
    }
  }
}

TEST(GridFormulas, FlopsAndKaplanRatio) {
  const ModelShape gpt2{12, 768, 12, 3072, 1024};
  // (6 * 84934656 + 6 * 12 * 1024 * 768) * 1e9
  EXPECT_DOUBLE_EQ(training_flops(gpt2, 84'934'656, 1e9), 5.6623104e17);
  // 1e9 / (5e3 * 84934656^0.74), computed with Python.
  EXPECT_NEAR(kaplan_ratio(1e9, 84'934'656), 0.27133582972899434, 1e-12);
}

// The memory estimate by hand for 2 layers, d 64, d_ff 256, 4 heads, n_ctx 64, vocab 256,
// micro_batch 8 (BT = 512 positions), then against what the model really allocates.
TEST(GridFormulas, MemoryEstimateByHand) {
  const model::GptConfig cfg = gpt_config_of({2, 64, 4, 256, 64}, 256);
  const MemoryEstimate m = estimate_memory(cfg, 8, 1);
  EXPECT_EQ(m.state_bytes, 16 * 120'576);  // weights, grads, m, v of 120576 parameters
  // Activations per layer: 10 BT d (ln1, qkv x3, atty, attproj, res2, ln2, fcproj, res3), 4 BT
  // (LayerNorm means/rstds), 2 BT d_ff, scores 8*4*64*64 = 722944; two layers, plus encoded,
  // lnf (BT d each), lnf mean/rstd, losses (BT each), logits (BT vocab): 1644032. One layer's
  // gradients: 8 BT d + BT d_ff (d fch; fch_gelu's is never stored) = 393216; attention
  // scratch 131072; tokens 2 BT int32.
  EXPECT_EQ(m.activation_bytes, 4 * (1'644'032 + 393'216 + 131'072) + 4 * 1024);
  // tp = 2: replicated tensors (embeddings, LayerNorms, row-parallel biases) 21376 plus half of
  // the sharded 99200; per layer 6 BT d + 4 BT d/2 + 4 BT + 2 BT d_ff/2 + scores for 2 heads;
  // gradients 4 BT d + 4 BT d/2 + BT d_ff/2 = 262144.
  const MemoryEstimate split = estimate_memory(cfg, 8, 2);
  EXPECT_EQ(split.state_bytes, 16 * (21'376 + 49'600));
  EXPECT_EQ(split.activation_bytes, 4 * (1'119'744 + 262'144 + 65'536) + 4 * 1024);
}

TEST(GridFormulas, MemoryEstimateIsWhatTheModelAllocates) {
  const std::vector<std::pair<ModelShape, std::int64_t>> shapes = {
      {{2, 64, 4, 256, 64}, 256}, {{2, 64, 4, 100, 32}, 256}, {{1, 32, 4, 40, 8}, 50257}};
  for (const auto& [shape, vocab] : shapes) {
    const model::GptConfig cfg = gpt_config_of(shape, vocab);
    for (int tp : {1, 2, 4}) {
      for (int micro_batch : {1, 3}) {
        SCOPED_TRACE(fmt::format("d_ff {} vocab {} tp {} micro_batch {}", shape.d_ff, vocab, tp,
                                 micro_batch));
        model::testing::CountingBackend<float>::Counts counts;
        model::ThreadCommGroup group(tp);
        model::ThreadComm comm(group, tp - 1);
        model::Gpt gpt(cfg, micro_batch, tp > 1 ? &comm : nullptr,
                       std::make_unique<model::testing::CountingBackend<float>>(counts));
        const MemoryEstimate m = estimate_memory(cfg, micro_batch, tp);
        EXPECT_EQ(m.total(), static_cast<std::int64_t>(4 * counts.values + 4 * counts.tokens));
        EXPECT_EQ(m.state_bytes, static_cast<std::int64_t>(16 * gpt.num_params()));
      }
    }
  }
}

// A sweep file with `tokens_line` and `extra` (appended at the end) inserted.
std::string sweep_text(const std::string& tokens_line, const std::string& seeds = "[1]",
                       const std::string& extra = "") {
  return "name = \"g\"\n[data]\ntokenizer = \"gpt2\"\ntrain = \"a\"\nval = \"b\"\n"
         "[model]\nn_layer = [2, 4]\nd_model = [128, 256]\nd_head = 64\nn_ctx = 128\n"
         "[tokens]\n" +
         tokens_line +
         "\n[train]\nbatch_tokens = 8192\nmicro_batch = 4\nlr = 6e-4\nwarmup_fraction = 0.01\n"
         "seeds = " +
         seeds +
         "\n[schedule]\neval_interval = 10\neval_tokens = 1024\ncheckpoint_interval = 10\n" + extra;
}

class GridTest : public ::testing::Test {
 protected:
  std::vector<Point> expand(const std::string& text, const std::string& name = "g.toml") {
    write_text(dir_ / name, text);
    return expand_grid(load_sweep_spec(dir_ / name));
  }
  TempDir dir_;
};

TEST_F(GridTest, AbsoluteTokensOrderAndSteps) {
  const auto points = expand(sweep_text("absolute = [1e6, 2000000]", "[1, 2]"));
  ASSERT_EQ(points.size(), 4u * 2u * 2u);  // 4 shapes x 2 D x 2 seeds
  for (std::size_t i = 0; i < points.size(); ++i) EXPECT_EQ(points[i].index, (int)i);
  // Order: shape (n_layer outer, d_model inner), then D, then seed.
  EXPECT_EQ(points[0].shape.n_layer, 2);
  EXPECT_EQ(points[0].shape.d_model, 128);
  EXPECT_EQ(points[0].shape.n_head, 2);  // 128 / 64
  EXPECT_EQ(points[0].tokens, 1'000'000);
  EXPECT_EQ(points[0].seed, 1);
  EXPECT_EQ(points[1].seed, 2);
  EXPECT_EQ(points[2].tokens, 2'000'000);
  EXPECT_EQ(points[4].shape.d_model, 256);
  EXPECT_EQ(points[8].shape.n_layer, 4);
  EXPECT_EQ(points[0].steps, 123);       // ceil(1e6 / 8192) = 122.07 -> 123
  EXPECT_EQ(points[2].steps, 245);       // ceil(2e6 / 8192) = 244.14 -> 245
  EXPECT_EQ(points[0].warmup_steps, 1);  // round(0.01 * 123)
  EXPECT_EQ(points[0].grad_accum, 16);   // 8192 / 128 = 64 seqs / micro 4
  EXPECT_EQ(points[0].vocab, 50257);
  // n_layer 2, d 128: N = 12 * 2 * 128^2 = 393216.
  EXPECT_EQ(points[0].params.non_embedding, 393'216);
  EXPECT_DOUBLE_EQ(points[0].tokens_per_param, 1e6 / 393216.0);
  EXPECT_DOUBLE_EQ(points[0].flops, (6.0 * 393216 + 6.0 * 2 * 128 * 128) * 1e6);
  // Exact count: 393216 + 2 (9*128 + 512) + 50257*128 + 128*128 + 2*128 = 6846080 parameters.
  EXPECT_EQ(points[0].params.total, 6'846'080);
  EXPECT_DOUBLE_EQ(points[0].flops_exact, 41'273'088'000'000.0);
}

TEST_F(GridTest, PerParamTokens) {
  const auto points = expand(sweep_text("per_param = [20]"));
  ASSERT_EQ(points.size(), 4u);
  EXPECT_EQ(points[0].tokens, 20 * 393'216);
  EXPECT_EQ(points[3].tokens, 20 * 12 * 4 * 256 * 256);  // n_layer 4, d 256
}

TEST_F(GridTest, IsoflopExpansion) {
  const auto points = expand(sweep_text("isoflop = [6e12, 6e13]"));
  ASSERT_EQ(points.size(), 8u);  // 4 shapes x 2 budgets
  // D = C / (6 N + 6 n_layer n_ctx d): L2 d128 n_ctx 128, N = 393216:
  // 6e12 / (2359296 + 196608) = 2347506.0 -> 2347506 (nearest).
  EXPECT_EQ(points[0].tokens, 2'347'506);
  EXPECT_EQ(points[1].tokens, 23'475'060);  // 6e13 / 2555904 = 23475060.1
  // Every run of a budget records its budget as FLOPs (up to rounding D).
  EXPECT_NEAR(points[0].flops, 6e12, 6e12 * 1e-6);
  // n_layer 4, d 256: N = 3145728; 6e12 / (6 N + 6 * 4 * 128 * 256) = 305175.8 -> 305176.
  EXPECT_EQ(points[6].shape.d_model, 256);
  EXPECT_EQ(points[6].tokens, 305'176);
  EXPECT_NEAR(points[6].flops, 6e12, 6e12 * 1e-6);
  // Each point keeps the budget that gave its D; the store gets it (runs.budget).
  for (std::size_t i = 0; i < points.size(); ++i) {
    EXPECT_EQ(points[i].budget, i % 2 == 0 ? 6e12 : 6e13) << i;
    EXPECT_EQ(to_run_plan(points[i], 1).budget, points[i].budget) << i;
  }
  EXPECT_FALSE(expand(sweep_text("per_param = [20]"))[0].budget.has_value());
}

TEST_F(GridTest, IsoflopRatioWindowFiltersAndAnEmptyGridIsAnError) {
  // D/N for 6e12: 5.97 (L2 d128), 0.39 (L2 d256), 1.49 (L4 d128), 0.097 (L4 d256).
  const auto kept = expand(sweep_text("isoflop = [6e12]\nmin_ratio = 0.3\nmax_ratio = 2"));
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].shape.d_model, 256);
  EXPECT_EQ(kept[1].shape.n_layer, 4);
  EXPECT_EQ(kept[1].index, 1);
  EXPECT_THROW(expand(sweep_text("isoflop = [6e12]\nmin_ratio = 1000")), InputError);
}

TEST_F(GridTest, WarmupLongerThanTheRunIsAnError) {
  std::string text = sweep_text("absolute = [1e5]");
  text.replace(text.find("warmup_fraction = 0.01"), 22, "warmup_steps = 13");
  try {
    expand(text);
    FAIL() << "accepted warmup_steps >= steps";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(":17: train.warmup_steps = 13"), std::string::npos)
        << e.what();
  }
}

TEST_F(GridTest, DuplicatePointsAreAnError) {
  std::string text = sweep_text("absolute = [1e6]");
  text.replace(text.find("d_model = [128, 256]"), 20, "d_model = [128, 128]");
  EXPECT_THROW(expand(text), InputError);
}

TEST_F(GridTest, KaplanLrOfHugeModelIsAnError) {
  std::string text = sweep_text("absolute = [1e6]");
  text.replace(text.find("lr = 6e-4"), 9, "lr = \"kaplan\"");
  EXPECT_EQ(expand(text).size(), 4u);
  text.replace(text.find("d_model = [128, 256]"), 20, "d_model = [65536]");
  EXPECT_THROW(expand(text), InputError);  // N = 12 * 4 * 65536^2 = 2e11: lr(N) < 0
}

TEST_F(GridTest, PowerLrRuleGivesEachShapeItsOwnRate) {
  std::string text = sweep_text("absolute = [1e6]");
  text.replace(text.find("lr = 6e-4"), 9,
               "lr = {rule = \"power\", base = 1e-3, n_ref = 393216, exponent = -0.5}");
  const auto points = expand(text);
  ASSERT_EQ(points.size(), 4u);
  // N: L2 d128 393216 (= n_ref), L2 d256 4 n_ref, L4 d128 2 n_ref, L4 d256 8 n_ref.
  EXPECT_DOUBLE_EQ(points[0].lr, 1e-3);
  EXPECT_DOUBLE_EQ(points[1].lr, 1e-3 / 2);  // 4^-0.5
  EXPECT_DOUBLE_EQ(points[2].lr, 1e-3 / std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(points[3].lr, 1e-3 / std::sqrt(8.0));
  EXPECT_NE(points[0].key, expand(sweep_text("absolute = [1e6]"))[0].key);  // lr is in the key
}

TEST_F(GridTest, NormalInitChangesKeysTheDefaultDoesNot) {
  const std::string text = sweep_text("absolute = [1e6]");
  const auto plain = expand(text);
  std::string normal_text = text;
  normal_text.replace(normal_text.find("n_ctx = 128\n"), 12, "n_ctx = 128\ninit = \"normal\"\n");
  std::string gpt2_text = text;
  gpt2_text.replace(gpt2_text.find("n_ctx = 128\n"), 12, "n_ctx = 128\ninit = \"gpt2\"\n");
  const auto normal = expand(normal_text);
  const auto gpt2 = expand(gpt2_text);
  ASSERT_EQ(normal.size(), plain.size());
  EXPECT_TRUE(plain[0].init_scale_residual);
  EXPECT_FALSE(normal[0].init_scale_residual);
  EXPECT_NE(normal[0].key, plain[0].key);  // a different run
  EXPECT_EQ(gpt2[0].key, plain[0].key);    // the default spelled out: the same run
  const SweepSpec spec = load_sweep_spec(dir_ / "g.toml");
  EXPECT_EQ(point_canonical_text(plain[0], spec).find(";init="), std::string::npos);
  const std::string text_normal = point_canonical_text(normal[0], spec);
  EXPECT_EQ(text_normal.substr(text_normal.size() - 12), ";init=normal");
}

TEST_F(GridTest, KeysAreStableAndUnique) {
  const std::string text = sweep_text("absolute = [1e6, 2e6]", "[1, 2, 3]");
  const auto first = expand(text);
  const auto second = expand(text);
  std::set<std::string> keys;
  for (std::size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].key, second[i].key);
    EXPECT_EQ(first[i].key.size(), 16u);
    EXPECT_EQ(first[i].key.find_first_not_of("0123456789abcdef"), std::string::npos);
    keys.insert(first[i].key);
  }
  EXPECT_EQ(keys.size(), first.size());
}

TEST_F(GridTest, KeysIgnoreUnrelatedEditsButFollowRunFields) {
  const auto base = expand(sweep_text("absolute = [1e6]"));
  // The same sweep written differently: sections reordered, comments, other paths, other
  // eval/checkpoint settings, another file name.
  const std::string reordered =
      "name = \"renamed\"  # a comment\n"
      "[schedule]\ncheckpoint_interval = 99\neval_tokens = 4096\neval_interval = 7\n"
      "[train]\nseeds = [1]\nlr = 6e-4\nmicro_batch = 4\nbatch_tokens = 8192\n"
      "warmup_fraction = 0.01\n[tokens]\nabsolute = [1000000]\n"
      "[model]\nn_ctx = 128\nd_head = 64\nd_model = [128, 256]\nn_layer = [2, 4]\n"
      "[data]\nval = \"elsewhere/v\"\ntrain = \"elsewhere/t\"\ntokenizer = \"gpt2\"\n";
  const auto moved = expand(reordered, "other.toml");
  ASSERT_EQ(moved.size(), base.size());
  for (std::size_t i = 0; i < base.size(); ++i) EXPECT_EQ(moved[i].key, base[i].key) << i;
  // A field of the run itself changes every key.
  const auto other_lr =
      expand(sweep_text("absolute = [1e6]")
                 .replace(sweep_text("absolute = [1e6]").find("lr = 6e-4"), 9, "lr = 3e-4"));
  for (std::size_t i = 0; i < base.size(); ++i) EXPECT_NE(other_lr[i].key, base[i].key);
  const auto other_seed = expand(sweep_text("absolute = [1e6]", "[2]"));
  EXPECT_NE(other_seed[0].key, base[0].key);
}

TEST_F(GridTest, RunPlanCarriesThePoint) {
  const auto points = expand(sweep_text("absolute = [1e6]"));
  const store::RunPlan plan = to_run_plan(points[3], 42);
  EXPECT_EQ(plan.sweep_id, 42);
  EXPECT_EQ(plan.point, points[3].key);
  EXPECT_EQ(plan.point_index, 3);
  EXPECT_EQ(plan.n_layer, 4);
  EXPECT_EQ(plan.d_model, 256);
  EXPECT_EQ(plan.n_params, points[3].params.non_embedding);
  EXPECT_EQ(plan.n_params_total, points[3].params.total);
  EXPECT_EQ(plan.steps, points[3].steps);
  EXPECT_DOUBLE_EQ(plan.flops, points[3].flops);
  EXPECT_FALSE(plan.budget.has_value());  // not an isoFLOP grid
}

}  // namespace
}  // namespace ss::runner
