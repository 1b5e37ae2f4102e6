// Shape of a GPT model and the parameter counts derived from it. Invariant: a
// GptConfig that passed validate_gpt_config(cfg, tp) can be built with tp
// tensor-parallel ranks (every dimension positive, heads divide d_model, tp
// divides n_head and d_ff, vocab fits the uint16 token shards).
#pragma once

#include <cstdint>
#include <string>

namespace ss::model {

struct GptConfig {
  int n_layer = 0;
  int d_model = 0;
  int n_head = 0;
  int d_ff = 0;  // 4 * d_model in GPT-2
  int n_ctx = 0;
  int vocab = 0;
};

// Throws ss::InputError (one line naming the field, its value and the fix) when
// the shape cannot be built with tp ranks. `where` names the source (e.g. a
// config file and point) and starts the message.
void validate_gpt_config(const GptConfig& cfg, int tp, const std::string& where);

// Parameter counts of the whole (tp = 1) model: the one formula the grid, the store's runs
// rows and the model's own buffers agree on (tests/runner/grid_test.cc ties them together).
struct GptParamCounts {
  int64_t non_embedding = 0;  // attention + MLP weight matrices (Kaplan's N): L (4 C^2 + 2 C F)
  int64_t embedding = 0;      // wte + wpe: V C + n_ctx C
  int64_t total = 0;          // every trainable scalar: biases and LayerNorms too; the
                              // unembedding is tied to wte, so it adds nothing
};
GptParamCounts gpt_param_counts(const GptConfig& cfg);

}  // namespace ss::model
