// cropcube_config: print the settings the C++ config reader resolves from the environment and the config
// file, one `key=value` line each ("" = unset), or `error: <text>` with exit status 1. Used by
// tests/inference/test_config_rules.py to hold this reader and inference/config.py to one case table.
#include <cstdio>

#include "config.hpp"
#include "support.hpp"

int main() {
  cropcube::Settings s;
  if (cropcube::read_settings(&s) != 0) {
    std::printf("error: %s\n", cropcube::last_error_text());
    return 1;
  }
  auto number = [](int32_t v) { return v < 0 ? std::string() : std::to_string(v); };
  std::printf("config_file=%s\nmodel=%s\nthreads=%s\ndevice=%s\nprecision=%s\ntile_size=%s\nbatch_size=%s\n",
              s.config_file.c_str(), s.model.c_str(), number(s.threads).c_str(), cropcube::device_name(s.device),
              cropcube::precision_name(s.precision), number(s.tile_size).c_str(), number(s.batch_size).c_str());
  return 0;
}
