// The cropcube configuration reader (rules in config.hpp; the Python twin is inference/config.py).
#include "config.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <vector>

#include "cropcube/kernel.h"
#include "support.hpp"

namespace cropcube {
namespace {

const char* const kDevices[] = {"auto", "cpu", "cuda"};                     // = cropcube_device
const char* const kPrecisions[] = {"auto", "float32", "bfloat16", "float16"};  // = cropcube_precision

struct Key {
  const char* name;
  const char* env;
};
const Key kKeys[] = {{"model", "CROPCUBE_MODEL"},         {"threads", "CROPCUBE_THREADS"},
                     {"device", "CROPCUBE_DEVICE"},       {"precision", "CROPCUBE_PRECISION"},
                     {"tile_size", "CROPCUBE_TILE_SIZE"}, {"batch_size", "CROPCUBE_BATCH_SIZE"}};
constexpr const char* kKnown = "model, threads, device, precision, tile_size, batch_size";

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return (v && *v) ? v : nullptr;
}

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n";
  size_t a = s.find_first_not_of(ws);
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(ws) - a + 1);
}

bool regular_file(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool parse_int(const std::string& text, int32_t lo, int32_t hi, int32_t* out) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos) return false;
  long v = std::strtol(text.c_str(), nullptr, 10);
  if (v < lo || v > hi) return false;
  *out = int32_t(v);
  return true;
}

template <size_t N>
bool parse_enum(const std::string& text, const char* const (&names)[N], int32_t* out) {
  for (size_t i = 0; i < N; ++i)
    if (text == names[i]) {
      *out = int32_t(i);
      return true;
    }
  return false;
}

// Validate `value` for `key` into `s`; on failure return the problem ("is not ...").
std::string apply(const std::string& key, const std::string& value, Settings* s) {
  auto bad = [&](const char* expected) { return "'" + value + "' is not " + expected; };
  if (key == "model") {
    s->model = value;
  } else if (key == "threads") {
    if (!parse_int(value, 0, 4096, &s->threads)) return bad("an integer in 0..4096 (0 = library default)");
  } else if (key == "tile_size") {
    if (!parse_int(value, 0, 16384, &s->tile_size)) return bad("an integer in 0..16384 (0 = default)");
  } else if (key == "batch_size") {
    if (!parse_int(value, 0, 1024, &s->batch_size)) return bad("an integer in 0..1024 (0 = default)");
  } else if (key == "device") {
    if (!parse_enum(value, kDevices, &s->device)) return bad("one of auto, cpu, cuda");
  } else if (key == "precision") {
    if (!parse_enum(value, kPrecisions, &s->precision)) return bad("one of auto, float32, bfloat16, float16");
  }
  return "";
}

bool known(const std::string& key) {
  for (const Key& k : kKeys)
    if (key == k.name) return true;
  return false;
}

int read_file(const std::string& file, Settings* s) {
  std::ifstream in(file);
  if (!in) return fail(CROPCUBE_E_IO, "config file " + file + " cannot be read (" + std::strerror(errno) + ")");
  std::map<std::string, int> seen;  // key -> line
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const std::string where = "config file " + file + " line " + std::to_string(number);
    size_t hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    line = trim(line);
    if (line.empty()) continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos)
      return fail(CROPCUBE_E_INVALID_ARGUMENT, where + ": '" + line + "' is not 'key = value'");
    const std::string key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    if (!known(key))
      return fail(CROPCUBE_E_INVALID_ARGUMENT, where + ": unknown key '" + key + "' (known: " + kKnown + ")");
    auto first = seen.find(key);
    if (first != seen.end())
      return fail(CROPCUBE_E_INVALID_ARGUMENT,
                  where + ": '" + key + "' is set again (first on line " + std::to_string(first->second) + ")");
    seen[key] = number;
    if (value.empty()) return fail(CROPCUBE_E_INVALID_ARGUMENT, where + ": '" + key + "' has no value");
    std::string problem = apply(key, value, s);
    if (!problem.empty()) return fail(CROPCUBE_E_INVALID_ARGUMENT, where + ": " + key + " = " + problem);
    if (key == "model") {
      if (value[0] != '/') {
        size_t slash = file.rfind('/');
        if (slash != std::string::npos) s->model = file.substr(0, slash + 1) + value;
      }
      s->model_source = where;
    }
  }
  if (in.bad()) return fail(CROPCUBE_E_IO, "config file " + file + ": read error");
  return CROPCUBE_OK;
}

}  // namespace

const char* device_name(int32_t device) {
  return device >= 0 && device < 3 ? kDevices[device] : "";
}

const char* precision_name(int32_t precision) {
  return precision >= 0 && precision < 4 ? kPrecisions[precision] : "";
}

int find_config_file(std::string* path) {
  path->clear();
  if (const char* c = env("CROPCUBE_CONFIG")) {
    struct stat st;
    if (::stat(c, &st) != 0)
      return fail(CROPCUBE_E_IO, std::string("$CROPCUBE_CONFIG: config file ") + c + " does not exist");
    if (!S_ISREG(st.st_mode))
      return fail(CROPCUBE_E_IO, std::string("$CROPCUBE_CONFIG: config file ") + c + " is not a regular file");
    *path = c;
    return CROPCUBE_OK;
  }
  std::vector<std::string> candidates;
  if (const char* r = env("RMANHOME")) candidates.push_back(std::string(r) + "/etc/cropcube.conf");
  if (const char* x = env("XDG_CONFIG_HOME")) {
    candidates.push_back(std::string(x) + "/cropcube/kernel.conf");
  } else if (const char* h = env("HOME")) {
    candidates.push_back(std::string(h) + "/.config/cropcube/kernel.conf");
  }
  for (const auto& c : candidates)
    if (regular_file(c)) {
      *path = c;
      break;
    }
  return CROPCUBE_OK;
}

int read_settings(Settings* out) {
  Settings s;
  if (int rc = find_config_file(&s.config_file)) return rc;
  if (!s.config_file.empty())
    if (int rc = read_file(s.config_file, &s)) return rc;
  for (const Key& k : kKeys) {
    const char* v = env(k.env);
    if (!v) continue;
    std::string problem = apply(k.name, v, &s);
    if (!problem.empty()) return fail(CROPCUBE_E_INVALID_ARGUMENT, std::string("$") + k.env + ": " + problem);
    if (std::string(k.name) == "model") s.model_source = std::string("$") + k.env;
  }
  *out = std::move(s);
  return CROPCUBE_OK;
}

}  // namespace cropcube
