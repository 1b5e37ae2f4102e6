// Validation of a GptConfig (see gpt_config.h).
#include "model/gpt_config.h"

#include <fmt/core.h>

#include "ss/error.h"

namespace ss::model {

void validate_gpt_config(const GptConfig& c, int tp, const std::string& where) {
  auto positive = [&](const char* key, int v) {
    if (v <= 0) throw InputError(fmt::format("{}: {} = {} must be > 0", where, key, v));
  };
  positive("n_layer", c.n_layer);
  positive("d_model", c.d_model);
  positive("n_head", c.n_head);
  positive("d_ff", c.d_ff);
  positive("n_ctx", c.n_ctx);
  positive("vocab", c.vocab);
  positive("tp", tp);
  if (c.d_model % c.n_head != 0) {
    throw InputError(
        fmt::format("{}: n_head = {} does not divide d_model = {}; pick n_head so "
                    "that d_model / n_head is an integer (e.g. 64)",
                    where, c.n_head, c.d_model));
  }
  if (c.n_head % tp != 0) {
    throw InputError(
        fmt::format("{}: tp = {} does not divide n_head = {}; use a tp that divides the head count",
                    where, tp, c.n_head));
  }
  if (c.d_ff % tp != 0) {
    throw InputError(fmt::format(
        "{}: tp = {} does not divide d_ff = {}; use a tp that divides d_ff", where, tp, c.d_ff));
  }
  if (c.vocab > 65536) {
    throw InputError(fmt::format("{}: vocab = {} exceeds 65536, the range of uint16 token shards",
                                 where, c.vocab));
  }
}

}  // namespace ss::model
