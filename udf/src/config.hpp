// The cropcube configuration: environment + one config file, the C++ twin of
// python_model/cropcube/inference/config.py. Both follow the same rules and are checked against ONE
// case table (tests/inference/config_cases.json) by tests/inference/test_config_rules.py, which runs
// this reader through the `cropcube_config` tool.
//
// Rules:
//   * The config file is $CROPCUBE_CONFIG when set (it must exist), else the first regular file of
//     $RMANHOME/etc/cropcube.conf, $XDG_CONFIG_HOME/cropcube/kernel.conf (or ~/.config/cropcube/kernel.conf).
//     Only that one file is read.
//   * Lines are `key = value`; `#` starts a comment; blank lines are ignored. Keys: model, threads,
//     device, precision, tile_size, batch_size. An unknown key, a line without `=`, an
//     empty value, a key given twice or a bad value is an error naming the file, line and key.
//   * $CROPCUBE_MODEL, $CROPCUBE_THREADS, $CROPCUBE_DEVICE, $CROPCUBE_PRECISION, $CROPCUBE_TILE_SIZE,
//     $CROPCUBE_BATCH_SIZE (when non-empty) override the file; a bad value is an error naming the variable.
//   * A relative `model` in a config file is relative to the file's folder.
//   * Values: threads 0..4096 (0 = library default), tile_size 0..16384 (0 = default), batch_size
//     0..1024 (0 = default), device auto|cpu|cuda, precision auto|float32|bfloat16|float16.
#pragma once

#include <cstdint>
#include <string>

namespace cropcube {

struct Settings {
  std::string config_file;  // "" when no config file was found
  std::string model;        // "" when unset
  std::string model_source; // where `model` came from (for messages)
  int32_t threads = -1;     // -1 = unset (the caller picks its run mode's default)
  int32_t tile_size = -1;
  int32_t batch_size = -1;
  int32_t device = -1;      // cropcube_device, -1 = unset
  int32_t precision = -1;   // cropcube_precision, -1 = unset
};

// Read the environment and the config file. Returns CROPCUBE_OK or an error status (the text is set
// with fail(), see support.hpp).
int read_settings(Settings* out);

// The config file read_settings would use ("" when none); CROPCUBE_OK or an error status.
int find_config_file(std::string* path);

// Names of device/precision values ("auto", "cpu", ...), "" for -1.
const char* device_name(int32_t device);
const char* precision_name(int32_t precision);

}  // namespace cropcube
