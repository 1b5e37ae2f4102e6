// A fake launcher environment for tests of runner/device_binding.h's EnvLookup users (device
// binding, lease owners): a fixed map instead of the process environment, so no test touches
// process state. Invariant: a name absent from the map is unset (std::nullopt), never "".
#pragma once

#include <map>
#include <optional>
#include <string>

#include "runner/device_binding.h"

namespace ss::test {

inline runner::EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace ss::test
