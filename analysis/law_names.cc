// Law names accepted by --law (see law_runner.h).
#include <fmt/core.h>

#include <algorithm>
#include <sstream>

#include "analysis/law_runner.h"
#include "ss/error.h"

namespace ss::analysis {

const std::vector<std::string>& known_law_names() {
  static const std::vector<std::string> kNames = {"kaplan-n",     "kaplan-d",    "kaplan-c",
                                                  "kaplan-nd",    "kaplan-ns",   "chinchilla-1",
                                                  "chinchilla-2", "chinchilla-3"};
  return kNames;
}

std::vector<std::string> parse_law_list(const std::string& text) {
  if (text == "all") return known_law_names();
  std::vector<std::string> laws;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    const auto& known = known_law_names();
    if (std::find(known.begin(), known.end(), item) == known.end())
      throw InputError(fmt::format(
          "--law: unknown law '{}'; use a comma list of kaplan-n, kaplan-d, kaplan-c, kaplan-nd, "
          "kaplan-ns, chinchilla-1, chinchilla-2, chinchilla-3, or all",
          item));
    if (std::find(laws.begin(), laws.end(), item) == laws.end()) laws.push_back(item);
  }
  if (laws.empty()) throw InputError("--law: empty list; name at least one law, or all");
  return laws;
}

}  // namespace ss::analysis
