// Sweep file (TOML++) -> validated SweepSpec. Invariant: every rejection is one ss::InputError
// line "FILE:LINE: key = value <what is wrong>; <what is allowed>", raised before anything is
// written anywhere; unknown keys are rejected (with a "did you mean" when one is close).
#include "runner/config.h"

#include <fmt/core.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "model/io/sha256.h"
#include "ss/error.h"

namespace ss::runner {
namespace {

// A value read from the file together with the line it was written on.
template <typename T>
struct Located {
  T value;
  int line;
};

int line_of(const toml::node& node) {
  return static_cast<int>(node.source().begin.line);
}

// The node printed as TOML on one line (for "key = value" in messages): a table only as
// "(a table)" and a long value cut at 60 characters, so one bad key never prints a whole part of
// the file.
std::string show(const toml::node& node) {
  if (node.is_table()) return "(a table)";
  // Strings as the user most likely wrote them ("x"), not TOML++'s literal form ('x').
  if (node.is_string()) {
    std::string text = "\"";
    for (const unsigned char c : **node.as_string())
      text += c < 0x20 || c == 0x7f ? fmt::format("\\x{:02x}", c) : std::string(1, char(c));
    return text + "\"";
  }
  std::ostringstream out;
  node.visit([&](const auto& n) { out << toml::toml_formatter{n}; });
  std::string text = out.str();
  std::replace(text.begin(), text.end(), '\n', ' ');
  constexpr std::size_t kShown = 60;
  if (text.size() > kShown) text = text.substr(0, kShown) + "...";
  return text;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Reads one table of the file: typed getters that record which keys were used, and errors that
// name the file, the line and the dotted key.
class TableReader {
 public:
  TableReader(const std::string& file, const toml::table& table, std::string prefix)
      : file_(file), table_(table), prefix_(std::move(prefix)) {}

  [[noreturn]] void fail_at(int line, const std::string& message) const {
    throw InputError(fmt::format("{}:{}: {}", file_, std::max(line, 1), message));
  }
  // "FILE:LINE: key = value <what>; <allowed>"
  [[noreturn]] void fail(const std::string& key, const toml::node& node,
                         const std::string& what) const {
    fail_at(line_of(node), fmt::format("{} = {} {}", name(key), show(node), what));
  }
  std::string name(const std::string& key) const {
    return prefix_.empty() ? key : prefix_ + "." + key;
  }
  int line() const { return line_of(table_); }
  const std::string& file() const { return file_; }

  const toml::node* find(const std::string& key) {
    used_.insert(key);
    return table_.get(key);
  }
  bool has(const std::string& key) const { return table_.contains(key); }

  [[noreturn]] void fail_missing(const std::string& key, const std::string& how) const {
    fail_at(line(), fmt::format("{} is missing; {}", name(key), how));
  }

  std::string get_string(const std::string& key, const std::vector<std::string>& allowed,
                         std::optional<std::string> fallback, const std::string& how) {
    const toml::node* node = find(key);
    if (!node) {
      if (fallback) return *fallback;
      fail_missing(key, how);
    }
    if (!node->is_string()) fail(key, *node, "is not a string; " + how);
    std::string text = **node->as_string();
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), text) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : " | ") + a;
      fail(key, *node, "is not allowed; use one of " + list);
    }
    return text;
  }

  // One integer (no fractional floats), checked against [min, max].
  std::int64_t to_int(const std::string& key, const toml::node& node, std::int64_t min,
                      std::int64_t max = INT64_MAX) const {
    std::int64_t v = 0;
    if (node.is_integer()) {
      v = **node.as_integer();
    } else if (node.is_floating_point() &&
               std::trunc(**node.as_floating_point()) == **node.as_floating_point() &&
               std::abs(**node.as_floating_point()) < 9e18) {
      v = static_cast<std::int64_t>(**node.as_floating_point());
    } else if (node.is_floating_point() && std::isfinite(**node.as_floating_point())) {
      // Whole but beyond 64 bits (1e30 used to be "not an integer"), or fractional.
      const double f = **node.as_floating_point();
      if (f >= 9e18) fail(key, node, fmt::format("is too large; it must be <= {}", max));
      if (f <= -9e18) fail(key, node, fmt::format("is too small; it must be >= {}", min));
      fail(key, node, "is not an integer; write a whole number");
    } else {
      fail(key, node, "is not an integer; write a whole number");
    }
    if (v < min) fail(key, node, fmt::format("is too small; it must be >= {}", min));
    if (v > max) fail(key, node, fmt::format("is too large; it must be <= {}", max));
    return v;
  }
  double to_double(const std::string& key, const toml::node& node, double min_exclusive,
                   double max = HUGE_VAL) const {
    if (!node.is_number()) fail(key, node, "is not a number; write one such as 0.5 or 1e-3");
    const double v =
        node.is_integer() ? static_cast<double>(**node.as_integer()) : **node.as_floating_point();
    if (!std::isfinite(v)) fail(key, node, "is not a finite number; write one such as 0.5 or 1e-3");
    if (v <= min_exclusive) {
      fail(key, node, fmt::format("is out of range; it must be > {}", min_exclusive));
    }
    if (v > max) fail(key, node, fmt::format("is out of range; it must be <= {}", max));
    return v;
  }

  std::optional<std::int64_t> get_int(const std::string& key, std::int64_t min,
                                      std::int64_t max = INT64_MAX) {
    const toml::node* node = find(key);
    if (!node) return std::nullopt;
    return to_int(key, *node, min, max);
  }
  std::int64_t require_int(const std::string& key, std::int64_t min, const std::string& how) {
    if (!has(key)) fail_missing(key, how);
    return *get_int(key, min);
  }
  std::optional<double> get_double(const std::string& key, double min_exclusive,
                                   double max = HUGE_VAL) {
    const toml::node* node = find(key);
    if (!node) return std::nullopt;
    return to_double(key, *node, min_exclusive, max);
  }

  // An axis: a number, a list of numbers, or a range table {from, to, step | factor}.
  // Every value > `min_exclusive`. Empty lists are an error (an empty grid).
  template <typename T>
  std::vector<Located<T>> get_axis(const std::string& key, double min_exclusive) {
    const toml::node* node = find(key);
    if (!node) return {};
    auto convert = [&](const toml::node& n) -> T {
      if constexpr (std::is_integral_v<T>) {
        return to_int(key, n, static_cast<std::int64_t>(min_exclusive) + 1);
      } else {
        return to_double(key, n, min_exclusive);
      }
    };
    std::vector<Located<T>> out;
    if (const toml::array* array = node->as_array()) {
      if (array->empty()) {
        fail(key, *node, "is an empty list, so the grid is empty; give at least one value");
      }
      for (const toml::node& element : *array) out.push_back({convert(element), line_of(element)});
    } else if (const toml::table* range = node->as_table()) {
      out = range_axis<T>(key, *node, *range, convert);
    } else {
      out.push_back({convert(*node), line_of(*node)});
    }
    return out;
  }

  // Rejects every key of the table that no getter asked for.
  void reject_unknown_keys(const std::vector<std::string>& known) const {
    for (const auto& [key, node] : table_) {
      const std::string k(key.str());
      if (std::find(known.begin(), known.end(), k) != known.end()) continue;
      std::string hint;
      std::size_t best = 3;  // suggest only names within 2 edits, the closest one
      for (const auto& candidate : known) {
        const std::size_t distance = edit_distance(k, candidate);
        if (distance < best) {
          best = distance;
          hint = fmt::format(" (did you mean {}?)", candidate);
        }
      }
      std::string list;
      for (const auto& a : known) list += (list.empty() ? "" : ", ") + a;
      const std::string what = node.is_table()
                                   ? fmt::format("[{}] is not a known table", name(k))
                                   : fmt::format("{} = {} is not a known key", name(k), show(node));
      fail_at(line_of(node), fmt::format("{}{}; allowed here: {}", what, hint, list));
    }
  }

 private:
  template <typename T, typename Convert>
  std::vector<Located<T>> range_axis(const std::string& key, const toml::node& node,
                                     const toml::table& range, Convert& convert) const {
    for (const auto& [k, v] : range) {
      const std::string s(k.str());
      if (s != "from" && s != "to" && s != "step" && s != "factor") {
        fail(key, node,
             "has a range key '" + s +
                 "'; a range is {from, to, step} or "
                 "{from, to, factor}");
      }
    }
    const toml::node* from = range.get("from");
    const toml::node* to = range.get("to");
    const toml::node* step = range.get("step");
    const toml::node* factor = range.get("factor");
    if (!from || !to || (step == nullptr) == (factor == nullptr)) {
      fail(key, node,
           "is an incomplete range; write {from = A, to = B, step = S} or "
           "{from = A, to = B, factor = F}");
    }
    const T first = convert(*from);
    const T last = convert(*to);
    if (last < first) fail(key, node, "has to < from; the range must increase");
    std::vector<Located<T>> out;
    const int line = line_of(node);
    // A range of more than kMaxRangeValues values is refused, not cut short (it used to be
    // truncated silently, so {from = 1, to = 1e9, step = 1} planned 10000 points and exit 0).
    constexpr std::size_t kMaxRangeValues = 10000;
    const auto too_many = [&] {
      fail(key, node,
           fmt::format("is a range of more than {} values; narrow it or use a larger step/factor",
                       kMaxRangeValues));
    };
    if (step) {
      const T increment = convert(*step);
      for (T v = first; v <= last; v += increment) {
        if (out.size() == kMaxRangeValues) too_many();
        out.push_back({v, line});
      }
    } else {
      const double f = to_double(key, *factor, 1.0);
      // Geometric: from * f^i up to `to` (1e-9 relative slack so 1e18..1e21 by 10 includes 1e21).
      for (double v = static_cast<double>(first); v <= static_cast<double>(last) * (1 + 1e-9);
           v *= f) {
        if (out.size() == kMaxRangeValues) too_many();
        out.push_back({static_cast<T>(std::is_integral_v<T> ? std::llround(v) : v), line});
      }
    }
    return out;
  }

  std::string file_;
  const toml::table& table_;
  std::string prefix_;
  std::set<std::string> used_;
};

// A sub-table of the root, or an error naming the missing table.
const toml::table& require_table(TableReader& root, const std::string& key,
                                 const std::string& how) {
  const toml::node* node = root.find(key);
  if (!node) root.fail_at(1, fmt::format("the [{}] table is missing; {}", key, how));
  if (!node->is_table()) root.fail(key, *node, "is not a table; write it as [" + key + "]");
  return *node->as_table();
}

DataSpec parse_data(TableReader& t) {
  DataSpec data;
  data.tokenizer = t.get_string("tokenizer", {"bytes", "gpt2"}, std::nullopt,
                                "add tokenizer = \"bytes\" or \"gpt2\"");
  data.train = t.get_string("train", {}, "", "");
  data.val = t.get_string("val", {}, "", "");
  data.corpus = t.get_string("corpus", {}, "", "");
  const bool shards = !data.train.empty() || !data.val.empty();
  if (shards && (data.train.empty() || data.val.empty())) {
    t.fail_missing(data.train.empty() ? "train" : "val",
                   "give both train and val token shard paths");
  }
  if (shards == !data.corpus.empty()) {
    t.fail_at(t.line(),
              "[data] needs exactly one of (train and val) or corpus; give the token "
              "shard paths, or a corpus directory for prepare-data");
  }
  t.reject_unknown_keys({"tokenizer", "train", "val", "corpus"});
  return data;
}

// target_params -> (n_layer, d_model) pairs, each on the line of its target:
// N = 12 L d^2 with d = aspect * L  =>  L = cbrt(N / (12 aspect^2)); d = sqrt(N / (12 L))
// rounded to a multiple of `quantum` (the head width or head count) so the heads divide it.
void shapes_from_target_params(const std::vector<Located<double>>& target, std::int64_t aspect,
                               std::int64_t quantum, std::vector<Located<std::int64_t>>& n_layer,
                               std::vector<Located<std::int64_t>>& d_model) {
  for (const auto& n : target) {
    const auto layers = std::max<std::int64_t>(
        1, std::llround(std::cbrt(n.value / (12.0 * static_cast<double>(aspect * aspect)))));
    const double width = std::sqrt(n.value / (12.0 * static_cast<double>(layers)));
    const auto d = std::max<std::int64_t>(
        quantum, std::llround(width / static_cast<double>(quantum)) * quantum);
    n_layer.push_back({layers, n.line});
    d_model.push_back({d, n.line});
  }
}

// Shapes from explicit axes (n_layer x d_model x heads x d_ff x n_ctx) or from target_params.
void parse_model(TableReader& t, SweepSpec& spec) {
  spec.model_line = t.line();
  spec.family = t.get_string("family", {"gpt2"}, "gpt2", "");
  spec.init_scale_residual = t.get_string("init", {"gpt2", "normal"}, "gpt2", "") == "gpt2";
  const std::int64_t tokenizer_v = tokenizer_vocab(spec.data.tokenizer);
  spec.vocab = t.get_int("vocab", tokenizer_v).value_or(tokenizer_v);
  auto n_layer = t.get_axis<std::int64_t>("n_layer", 0);
  auto d_model = t.get_axis<std::int64_t>("d_model", 0);
  auto target = t.get_axis<double>("target_params", 0);
  auto aspect = t.get_int("aspect_ratio", 1);
  auto n_head = t.get_axis<std::int64_t>("n_head", 0);
  auto d_head = t.get_axis<std::int64_t>("d_head", 0);
  auto d_ff = t.get_axis<std::int64_t>("d_ff", 0);
  auto n_ctx = t.get_axis<std::int64_t>("n_ctx", 0);
  // combine = "pairs": shape i is (n_layer[i], d_model[i]) (e.g. several aspect ratios at one N).
  const bool pairs = t.get_string("combine", {"product", "pairs"}, "product", "") == "pairs";
  t.reject_unknown_keys({"family", "init", "vocab", "n_layer", "d_model", "target_params",
                         "aspect_ratio", "n_head", "d_head", "d_ff", "n_ctx", "combine"});
  if (n_ctx.empty()) t.fail_missing("n_ctx", "add n_ctx = <context length>");
  if (n_head.empty() == d_head.empty()) {
    t.fail_at(t.line(),
              "[model] needs exactly one of n_head or d_head; give the number of "
              "heads or the head width");
  }
  const bool explicit_shape = !n_layer.empty() || !d_model.empty();
  if (explicit_shape == !target.empty()) {
    t.fail_at(t.line(),
              "[model] needs either n_layer and d_model, or target_params (with "
              "aspect_ratio); not both, not neither");
  }
  if (explicit_shape && (n_layer.empty() || d_model.empty())) {
    t.fail_missing(n_layer.empty() ? "n_layer" : "d_model", "give both n_layer and d_model");
  }
  if (pairs && (!explicit_shape || n_layer.size() != d_model.size())) {
    t.fail_at(t.line(), fmt::format("model.combine = \"pairs\" needs n_layer and d_model lists of "
                                    "the same length (got {} and {}); make them equal or drop it",
                                    n_layer.size(), d_model.size()));
  }
  if (!target.empty()) {
    if (!d_ff.empty()) {
      t.fail_at(d_ff[0].line,
                "model.d_ff cannot be set with target_params (d_ff = 4 d_model "
                "is assumed to size the model); remove d_ff or give n_layer/d_model");
    }
    // With d_head, the quantum includes tp so that tp divides n_head and d_ff of every shape.
    const std::int64_t quantum = d_head.empty() ? n_head[0].value : d_head[0].value * spec.tp;
    shapes_from_target_params(target, aspect.value_or(64), quantum, n_layer, d_model);
  } else if (aspect) {
    t.fail_at(t.line(), "model.aspect_ratio only applies with target_params; remove it");
  }
  const auto& heads = n_head.empty() ? d_head : n_head;
  const std::string head_key = n_head.empty() ? "d_head" : "n_head";
  for (std::size_t s = 0; s < n_layer.size(); ++s) {
    // With target_params or combine = "pairs", n_layer[s] and d_model[s] are a pair; otherwise
    // a cartesian product.
    const bool paired = pairs || !target.empty();
    const std::size_t d_begin = paired ? s : 0;
    const std::size_t d_end = paired ? s + 1 : d_model.size();
    for (std::size_t di = d_begin; di < d_end; ++di) {
      for (const auto& h : heads) {
        const std::int64_t d = d_model[di].value;
        if (d % h.value != 0) {
          t.fail_at(h.line, fmt::format("model.{} = {} does not divide d_model = {}; choose "
                                        "{} among the divisors of d_model",
                                        head_key, h.value, d, head_key));
        }
        std::vector<std::int64_t> widths;
        if (d_ff.empty()) widths.push_back(4 * d);
        for (const auto& f : d_ff) widths.push_back(f.value);
        for (std::int64_t ff : widths) {
          for (const auto& c : n_ctx) {
            const std::int64_t heads_count = n_head.empty() ? d / h.value : h.value;
            spec.shapes.push_back({n_layer[s].value, d, heads_count, ff, c.value});
          }
        }
      }
    }
  }
}

TokensSpec parse_tokens(TableReader& t) {
  TokensSpec tokens;
  tokens.line = t.line();
  // The mode written last in the file is the one reported when two are given.
  std::vector<std::pair<int, std::string>> given;
  for (const char* key : {"absolute", "per_param", "isoflop"}) {
    if (t.has(key)) given.emplace_back(line_of(*t.find(key)), key);
  }
  std::sort(given.begin(), given.end());
  if (given.size() > 1) {
    t.fail_at(given.back().first,
              fmt::format("tokens.{} is a second token mode (tokens.{} is on line {}); give "
                          "exactly one of tokens.absolute, tokens.per_param or tokens.isoflop",
                          given.back().second, given.front().second, given.front().first));
  }
  const int modes = static_cast<int>(given.size());
  if (modes == 1) {
    const std::string key = given.front().second;
    const auto values = t.get_axis<double>(key, 0);
    tokens.mode = key == "absolute"    ? TokenMode::kAbsolute
                  : key == "per_param" ? TokenMode::kPerParam
                                       : TokenMode::kIsoflop;
    tokens.line = values.front().line;
    for (const auto& v : values) tokens.values.push_back(v.value);
  }
  if (modes == 0) {
    t.fail_at(t.line(),
              "[tokens] gives no token mode; add absolute = [D...], per_param = "
              "[ratio...] or isoflop = [C...]");
  }
  tokens.min_ratio = t.get_double("min_ratio", 0);
  tokens.max_ratio = t.get_double("max_ratio", 0);
  if ((tokens.min_ratio || tokens.max_ratio) && tokens.mode != TokenMode::kIsoflop) {
    t.fail_at(t.line(), "tokens.min_ratio/max_ratio only apply to tokens.isoflop; remove them");
  }
  t.reject_unknown_keys({"absolute", "per_param", "isoflop", "min_ratio", "max_ratio"});
  return tokens;
}

// lr = {rule = "power", base = B, n_ref = N0, exponent = X}: every key required, base and n_ref
// > 0, the exponent within [-2, 2] (a typo such as -25 would give absurd rates).
LrPower parse_lr_power(TableReader& train, const toml::node& node) {
  TableReader t(train.file(), *node.as_table(), train.name("lr"));
  t.get_string("rule", {"power"}, std::nullopt, "");
  LrPower rule;
  const std::string how = "write lr = {rule = \"power\", base = 1e-2, n_ref = 1e4, exponent = -0.3}";
  for (const char* key : {"base", "n_ref", "exponent"}) {
    if (!t.has(key)) t.fail_missing(key, how);
  }
  rule.base = *t.get_double("base", 0);
  rule.n_ref = *t.get_double("n_ref", 0);
  const toml::node* exponent = t.find("exponent");
  rule.exponent = t.to_double("exponent", *exponent, -HUGE_VAL);
  if (std::abs(rule.exponent) > 2.0) {
    t.fail("exponent", *exponent, "is out of range; it must be within [-2, 2]");
  }
  t.reject_unknown_keys({"rule", "base", "n_ref", "exponent"});
  return rule;
}

TrainSpec parse_train(TableReader& t) {
  TrainSpec train;
  if (!t.has("batch_tokens")) t.fail_missing("batch_tokens", "add batch_tokens = <tokens/step>");
  const auto batches = t.get_axis<std::int64_t>("batch_tokens", 0);
  train.batch_line = batches.front().line;
  for (const auto& b : batches) train.batch_tokens.push_back(b.value);
  train.micro_batch =
      t.require_int("micro_batch", 1, "add micro_batch = <sequences per micro step>");
  const toml::node* lr = t.find("lr");
  if (!lr) t.fail_missing("lr", "add lr = 1e-3 (or a list, or \"kaplan\")");
  if (lr->is_string()) {
    t.get_string("lr", {"kaplan"}, std::nullopt, "");
    train.lr_rule = LrRule::kKaplan;
  } else if (lr->is_table() && lr->as_table()->contains("rule")) {
    train.lr_rule = LrRule::kPower;
    train.lr_power = parse_lr_power(t, *lr);
  } else {
    for (const auto& v : t.get_axis<double>("lr", 0)) train.lr.push_back(v.value);
  }
  train.warmup_steps = t.get_int("warmup_steps", 0);
  train.warmup_fraction = t.get_double("warmup_fraction", -1e-300, 1.0);
  if (train.warmup_steps && train.warmup_fraction) {
    t.fail_at(line_of(*t.find("warmup_fraction")),
              "train.warmup_fraction is given with train.warmup_steps; keep exactly one");
  }
  if (t.has("warmup_steps")) train.warmup_line = line_of(*t.find("warmup_steps"));
  if (!train.warmup_steps && !train.warmup_fraction) train.warmup_fraction = 0.0;
  train.lr_min_ratio = t.get_double("lr_min_ratio", -1e-300, 1.0).value_or(0.1);
  train.weight_decay = t.get_double("weight_decay", -1e-300).value_or(0.1);
  train.grad_clip = t.get_double("grad_clip", -1e-300).value_or(1.0);
  for (const auto& s : t.get_axis<std::int64_t>("seeds", -1)) train.seeds.push_back(s.value);
  if (train.seeds.empty()) train.seeds.push_back(0);
  t.reject_unknown_keys({"batch_tokens", "micro_batch", "lr", "warmup_steps", "warmup_fraction",
                         "lr_min_ratio", "weight_decay", "grad_clip", "seeds"});
  return train;
}

// The backoff of transient failures (runner/failure_kind.h): both waits in (0, 1 day], the cap
// at least the first wait (when the cap is not given: 600 s or the first wait if longer), at
// most 1000 transient failures per point.
void parse_retry_backoff(TableReader& t, ScheduleSpec& s) {
  constexpr double kDay = 86400;
  s.retry_backoff_seconds = t.get_double("retry_backoff_seconds", 0, kDay).value_or(30);
  const auto cap = t.get_double("retry_backoff_max_seconds", 0, kDay);
  s.retry_backoff_max_seconds = cap.value_or(std::max(600.0, s.retry_backoff_seconds));
  s.max_transient_failures = t.get_int("max_transient_failures", 1, 1000).value_or(10);
  if (s.retry_backoff_max_seconds < s.retry_backoff_seconds) {
    t.fail("retry_backoff_max_seconds", *t.find("retry_backoff_max_seconds"),
           fmt::format("is below retry_backoff_seconds = {}; the cap must be at least the first "
                       "wait",
                       s.retry_backoff_seconds));
  }
}

ScheduleSpec parse_schedule(TableReader& t) {
  ScheduleSpec s;
  s.eval_interval = t.require_int("eval_interval", 1, "add eval_interval = <steps>");
  s.eval_tokens = t.require_int("eval_tokens", 1, "add eval_tokens = <val tokens per eval>");
  s.checkpoint_interval =
      t.require_int("checkpoint_interval", 1, "add checkpoint_interval = <steps>");
  s.keep_checkpoints = t.get_int("keep_checkpoints", 1).value_or(2);
  s.max_attempts = t.get_int("max_attempts", 1).value_or(3);
  parse_retry_backoff(t, s);
  s.checkpoint_dir = t.get_string("checkpoint_dir", {}, "", "");  // "": place_checkpoints()
  t.reject_unknown_keys({"eval_interval", "eval_tokens", "checkpoint_interval", "keep_checkpoints",
                         "max_attempts", "retry_backoff_seconds", "retry_backoff_max_seconds",
                         "max_transient_failures", "checkpoint_dir"});
  return s;
}

// Rules that relate sections: tp vs heads and d_ff, batch vs n_ctx, micro batch and dp.
void check_cross_rules(const SweepSpec& spec, TableReader& parallel, int tp_line, int dp_line) {
  for (const ModelShape& shape : spec.shapes) {
    if (shape.n_head % spec.tp != 0 || shape.d_ff % spec.tp != 0) {
      parallel.fail_at(tp_line, fmt::format("parallel.tp = {} does not divide n_head = {} and "
                                            "d_ff = {} (d_model = {}); tp must divide the heads "
                                            "and d_ff of every shape",
                                            spec.tp, shape.n_head, shape.d_ff, shape.d_model));
    }
    for (std::int64_t batch : spec.train.batch_tokens) {
      const std::int64_t per_step = spec.train.micro_batch * spec.dp;
      if (batch % shape.n_ctx != 0 || (batch / shape.n_ctx) % per_step != 0) {
        parallel.fail_at(
            spec.train.batch_line,
            fmt::format("train.batch_tokens = {} is not a whole number of micro batches for "
                        "n_ctx = {}, micro_batch = {}, dp = {} (line {}); batch_tokens must be "
                        "a multiple of n_ctx * micro_batch * dp = {}",
                        batch, shape.n_ctx, spec.train.micro_batch, spec.dp, dp_line,
                        shape.n_ctx * per_step));
      }
    }
  }
}

// The name is a directory name (the default checkpoint directory <store>-checkpoints/<name>)
// and one line of output: "../x" used to put checkpoints outside that directory.
void check_sweep_name(TableReader& top, const std::string& name) {
  const bool control = std::any_of(name.begin(), name.end(),
                                   [](unsigned char c) { return c < 0x20 || c == 0x7f; });
  if (!control && name.find_first_of("/\\") == std::string::npos && name != "." && name != "..")
    return;
  const std::string what =
      "is not a plain name (it names the checkpoint directory <store>-checkpoints/<name>); use "
      "no '/', '\\' or control characters, e.g. name = \"my-sweep\"";
  if (top.has("name")) top.fail(std::string("name"), *top.find("name"), what);
  top.fail_at(1, fmt::format("the sweep's name \"{}\" (from the file name) {}", name, what));
}

}  // namespace

double kaplan_learning_rate(double n_params) {
  return 0.003239 - 0.0001395 * std::log(n_params);
}

std::vector<double> learning_rates(const TrainSpec& train, double n_params) {
  switch (train.lr_rule) {
    case LrRule::kKaplan:
      return {kaplan_learning_rate(n_params)};
    case LrRule::kPower:
      return {train.lr_power.base *
              std::pow(n_params / train.lr_power.n_ref, train.lr_power.exponent)};
    case LrRule::kFixed:
      break;
  }
  return train.lr;
}

std::int64_t tokenizer_vocab(const std::string& tokenizer) {
  if (tokenizer == "bytes") return 256;
  if (tokenizer == "gpt2") return 50257;
  return 0;
}

SweepSpec parse_sweep_spec(const std::string& text, const std::string& path) {
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    std::string description(e.description());
    std::replace(description.begin(), description.end(), '\n', ' ');
    throw InputError(fmt::format("{}:{}: TOML syntax error: {}; fix the syntax at that line", path,
                                 std::max<int>(1, e.source().begin.line), description));
  }
  SweepSpec spec;
  spec.config_path = path;
  spec.config_text = text;
  spec.config_hash = io::sha256_hex(text);
  TableReader top(path, root, "");
  top.reject_unknown_keys({"name", "data", "model", "tokens", "train", "parallel", "schedule"});
  spec.name = top.get_string("name", {}, std::filesystem::path(path).stem().string(), "");
  if (spec.name.empty()) top.fail(std::string("name"), *top.find("name"), "is empty; name it");
  check_sweep_name(top, spec.name);

  TableReader data(path, require_table(top, "data", "add [data] with tokenizer, train, val"),
                   "data");
  spec.data = parse_data(data);
  static const toml::table kNoTable;
  const toml::table* parallel_table = &kNoTable;
  if (top.has("parallel")) parallel_table = &require_table(top, "parallel", "");
  TableReader parallel(path, *parallel_table, "parallel");
  spec.dp = parallel.get_int("dp", 1).value_or(1);
  spec.tp = parallel.get_int("tp", 1).value_or(1);
  const int tp_line = parallel.has("tp") ? line_of(*parallel.find("tp")) : 1;
  const int dp_line = parallel.has("dp") ? line_of(*parallel.find("dp")) : 1;
  parallel.reject_unknown_keys({"dp", "tp"});
  TableReader model(path, require_table(top, "model", "add [model] with the shape grid"), "model");
  parse_model(model, spec);
  TableReader tokens(path, require_table(top, "tokens", "add [tokens] with one token mode"),
                     "tokens");
  spec.tokens = parse_tokens(tokens);
  TableReader train(path, require_table(top, "train", "add [train] with batch_tokens, lr, ..."),
                    "train");
  spec.train = parse_train(train);

  TableReader schedule(path, require_table(top, "schedule", "add [schedule] with intervals"),
                       "schedule");
  spec.schedule = parse_schedule(schedule);
  if (spec.train.lr_rule == LrRule::kFixed && spec.train.lr.empty()) {
    train.fail_missing("lr", "give at least one learning rate");
  }
  check_cross_rules(spec, parallel, tp_line, dp_line);
  return spec;
}

SweepSpec load_sweep_spec(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in || std::filesystem::is_directory(path)) {
    throw InputError(fmt::format("{}: cannot read the sweep file; check the path", path.string()));
  }
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  return parse_sweep_spec(text, path.string());
}

std::filesystem::path default_checkpoint_dir(const std::filesystem::path& store,
                                             const std::string& sweep_name) {
  return store.parent_path() / (store.stem().string() + "-checkpoints") / sweep_name;
}

void place_checkpoints(SweepSpec& spec, const std::filesystem::path& store) {
  if (!spec.schedule.checkpoint_dir.empty()) return;
  spec.schedule.checkpoint_dir = default_checkpoint_dir(store, spec.name).string();
  spec.schedule.checkpoint_dir_beside_store = true;
}

}  // namespace ss::runner
