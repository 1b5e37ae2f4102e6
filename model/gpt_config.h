// Shape of a GPT model and its validation (the tensors and counts derived from it are in
// gpt_layout.h). Invariant: a
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

}  // namespace ss::model
