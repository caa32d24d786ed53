// Torch-free helpers of the cropcube kernel (see support.hpp).
#include "support.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "config.hpp"

namespace cropcube {

namespace {
thread_local std::string g_last_error;

constexpr int64_t kMaxExtent = int64_t(1) << 31;  // rows/cols; far beyond any raster we serve

// Smallest and largest element offset reached by index i in [0, n) along a stride, added to lo/hi;
// false on int64 overflow.
bool add_axis(int64_t n, int64_t stride, int64_t* lo, int64_t* hi) {
  int64_t span = 0;
  if (__builtin_mul_overflow(n - 1, stride, &span)) return false;
  int64_t* target = span < 0 ? lo : hi;
  return !__builtin_add_overflow(*target, span, target);
}
}  // namespace

int fail(int status, const std::string& message) {
  g_last_error = message;
  return status;
}

void clear_error() { g_last_error.clear(); }

const char* last_error_text() { return g_last_error.c_str(); }

size_t dtype_size(int32_t dtype) {
  switch (dtype) {
    case CROPCUBE_UINT16:
    case CROPCUBE_INT16:
      return 2;
    case CROPCUBE_FLOAT32:
      return 4;
    default:
      return 0;
  }
}

int check_options(const cropcube_options& o) {
  if (o.device < CROPCUBE_DEVICE_AUTO || o.device > CROPCUBE_DEVICE_CUDA)
    return fail(CROPCUBE_E_INVALID_ARGUMENT, "options.device: " + std::to_string(o.device) + " is not a cropcube_device");
  if (o.num_threads < 0 || o.num_threads > 4096)
    return fail(CROPCUBE_E_INVALID_ARGUMENT, "options.num_threads: " + std::to_string(o.num_threads) + " is not in 0..4096");
  if (o.tile_size < 0 || o.tile_size > 16384)
    return fail(CROPCUBE_E_INVALID_ARGUMENT, "options.tile_size: " + std::to_string(o.tile_size) + " is not in 0..16384");
  if (o.batch_size < 0 || o.batch_size > 1024)
    return fail(CROPCUBE_E_INVALID_ARGUMENT, "options.batch_size: " + std::to_string(o.batch_size) + " is not in 0..1024");
  if (o.precision < CROPCUBE_PRECISION_AUTO || o.precision > CROPCUBE_PRECISION_FLOAT16)
    return fail(CROPCUBE_E_INVALID_ARGUMENT, "options.precision: " + std::to_string(o.precision) + " is not a cropcube_precision");
  if (o.nonfinite != CROPCUBE_NONFINITE_ERROR && o.nonfinite != CROPCUBE_NONFINITE_NODATA)
    return fail(CROPCUBE_E_INVALID_ARGUMENT, "options.nonfinite: " + std::to_string(o.nonfinite) + " is not a cropcube_nonfinite");
  return CROPCUBE_OK;
}

int check_input(const cropcube_input* in, int64_t n_dates, int64_t n_bands) {
  if (!in) return fail(CROPCUBE_E_INVALID_ARGUMENT, "input: NULL descriptor");
  if (!in->data) return fail(CROPCUBE_E_INVALID_ARGUMENT, "input.data: NULL pointer");
  if (dtype_size(in->dtype) == 0)
    return fail(CROPCUBE_E_INVALID_ARGUMENT, "input.dtype: " + std::to_string(in->dtype) + " is not uint16, int16 or float32");
  if (in->n_dates != n_dates || in->n_bands != n_bands)
    return fail(CROPCUBE_E_SHAPE, "input: " + std::to_string(in->n_dates) + " dates x " + std::to_string(in->n_bands) +
                                      " bands, but the bundle expects " + std::to_string(n_dates) + " x " + std::to_string(n_bands));
  if (in->height < 1 || in->width < 1 || in->height > kMaxExtent || in->width > kMaxExtent)
    return fail(CROPCUBE_E_SHAPE, "input: extent " + std::to_string(in->height) + " x " + std::to_string(in->width) +
                                      " is not within 1..2^31 rows and columns");
  int64_t lo = 0, hi = 0;
  if (!add_axis(in->n_dates, in->stride_date, &lo, &hi) || !add_axis(in->n_bands, in->stride_band, &lo, &hi) ||
      !add_axis(in->height, in->stride_row, &lo, &hi) || !add_axis(in->width, in->stride_col, &lo, &hi))
    return fail(CROPCUBE_E_SHAPE, "input: strides overflow 64-bit offsets");
  if (lo < 0 || in->n_elements == 0 || uint64_t(hi) >= uint64_t(in->n_elements))
    return fail(CROPCUBE_E_SHAPE, "input: strides address elements " + std::to_string(lo) + ".." + std::to_string(hi) +
                                      " outside the buffer of " + std::to_string(in->n_elements) + " elements");
  return CROPCUBE_OK;
}

int check_output(const cropcube_output* out, int64_t height, int64_t width, int64_t n_classes) {
  if (!out) return fail(CROPCUBE_E_INVALID_ARGUMENT, "output: NULL descriptor");
  if (!out->classes) return fail(CROPCUBE_E_INVALID_ARGUMENT, "output.classes: NULL pointer");
  int64_t lo = 0, hi = 0;
  if (!add_axis(height, out->stride_row, &lo, &hi) || !add_axis(width, out->stride_col, &lo, &hi))
    return fail(CROPCUBE_E_SHAPE, "output: strides overflow 64-bit offsets");
  if (lo < 0 || out->n_elements == 0 || uint64_t(hi) >= uint64_t(out->n_elements))
    return fail(CROPCUBE_E_SHAPE, "output: strides address elements " + std::to_string(lo) + ".." + std::to_string(hi) +
                                      " outside the buffer of " + std::to_string(out->n_elements) + " elements");
  if (out->probabilities) {
    int64_t plo = 0, phi = 0;
    if (!add_axis(n_classes, out->prob_stride_class, &plo, &phi) || !add_axis(height, out->prob_stride_row, &plo, &phi) ||
        !add_axis(width, out->prob_stride_col, &plo, &phi))
      return fail(CROPCUBE_E_SHAPE, "output.probabilities: strides overflow 64-bit offsets");
    if (plo < 0 || out->prob_n_elements == 0 || uint64_t(phi) >= uint64_t(out->prob_n_elements))
      return fail(CROPCUBE_E_SHAPE, "output.probabilities: strides address elements " + std::to_string(plo) + ".." +
                                        std::to_string(phi) + " outside the buffer of " +
                                        std::to_string(out->prob_n_elements) + " elements");
  }
  return CROPCUBE_OK;
}

int resolve_model_path(std::string* path) {
  path->clear();
  Settings settings;
  if (int rc = read_settings(&settings)) return rc;
  if (settings.model.empty())
    return fail(CROPCUBE_E_IO,
                "model path: none given, $CROPCUBE_MODEL is unset and no config file has a 'model = PATH' line "
                "($CROPCUBE_CONFIG, $RMANHOME/etc/cropcube.conf, ~/.config/cropcube/kernel.conf)");
  *path = settings.model;
  return CROPCUBE_OK;
}

int read_bundle_bytes(const std::string& path, std::string* bytes, FileFingerprint* out) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return fail(CROPCUBE_E_IO, path + ": bundle file cannot be read (" + std::strerror(errno) + ")");
  if (!S_ISREG(st.st_mode)) return fail(CROPCUBE_E_IO, path + ": bundle path is not a regular file");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return fail(CROPCUBE_E_IO, path + ": bundle file cannot be opened (" + std::strerror(errno) + ")");
  bytes->clear();
  std::vector<char> buf(1 << 16);
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) bytes->append(buf.data(), n);
  bool err = std::ferror(f);
  std::fclose(f);
  if (err) return fail(CROPCUBE_E_IO, path + ": read error on bundle file");
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : *bytes) h = (h ^ c) * 1099511628211ULL;
  out->size = bytes->size();
  out->hash = h;
  return CROPCUBE_OK;
}

namespace {
uint32_t le32(const std::string& b, size_t at) {
  return uint32_t(uint8_t(b[at])) | uint32_t(uint8_t(b[at + 1])) << 8 | uint32_t(uint8_t(b[at + 2])) << 16 |
         uint32_t(uint8_t(b[at + 3])) << 24;
}
uint16_t le16(const std::string& b, size_t at) { return uint16_t(uint8_t(b[at]) | uint8_t(b[at + 1]) << 8); }
}  // namespace

bool zip_intact(const std::string& b, const std::vector<std::string>& required, std::string* why) {
  constexpr size_t kEocd = 22;
  if (b.size() < kEocd + 4 || le32(b, 0) != 0x04034b50u) return *why = "not a zip archive", false;
  // The end-of-central-directory record: within the last 64 KiB + 22 bytes (its comment is at most 64 KiB).
  size_t eocd = std::string::npos;
  for (size_t at = b.size() - kEocd + 1; at-- > 0 && b.size() - at <= kEocd + 0xFFFF;)
    if (le32(b, at) == 0x06054b50u) {
      eocd = at;
      break;
    }
  if (eocd == std::string::npos) return *why = "truncated or damaged zip archive (no end of central directory)", false;
  const uint32_t entries = le16(b, eocd + 10), cd_size = le32(b, eocd + 12), cd_offset = le32(b, eocd + 16);
  if (cd_size == 0xFFFFFFFFu || cd_offset == 0xFFFFFFFFu || entries == 0xFFFF) return true;  // zip64: torch checks
  std::vector<bool> found(required.size(), false);
  if (uint64_t(cd_offset) + cd_size > eocd) return *why = "truncated or damaged zip archive (central directory out of bounds)", false;
  size_t at = cd_offset;
  for (uint32_t i = 0; i < entries; ++i) {
    if (at + 46 > uint64_t(cd_offset) + cd_size || le32(b, at) != 0x02014b50u)
      return *why = "damaged zip archive (central directory entry " + std::to_string(i) + ")", false;
    const uint64_t local = le32(b, at + 42), packed = le32(b, at + 20);
    if (local + 30 + packed > cd_offset) return *why = "truncated zip archive (entry " + std::to_string(i) + ")", false;
    const size_t name_len = le16(b, at + 28);
    if (at + 46 + name_len > uint64_t(cd_offset) + cd_size) return *why = "damaged zip archive (entry name)", false;
    const std::string name = b.substr(at + 46, name_len);
    for (size_t k = 0; k < required.size(); ++k)
      found[k] = found[k] || (name.size() >= required[k].size() &&
                              name.compare(name.size() - required[k].size(), required[k].size(), required[k]) == 0);
    at += 46 + name_len + le16(b, at + 30) + le16(b, at + 32);
  }
  for (size_t k = 0; k < required.size(); ++k)
    if (!found[k]) return *why = "a zip archive without '" + required[k] + "'", false;
  return true;
}

bool json_number(const std::string& json, const std::string& key, double* value) {
  std::string pat = "\"" + key + "\":";
  size_t p = json.find(pat);
  if (p == std::string::npos) return false;
  const char* start = json.c_str() + p + pat.size();
  char* end = nullptr;
  double v = std::strtod(start, &end);
  if (end == start) return false;
  *value = v;
  return true;
}

bool json_string(const std::string& json, const std::string& key, std::string* value) {
  std::string pat = "\"" + key + "\":\"";
  size_t p = json.find(pat);
  if (p == std::string::npos) return false;
  size_t b = p + pat.size();
  size_t e = json.find('"', b);
  if (e == std::string::npos) return false;
  *value = json.substr(b, e - b);
  return true;
}

}  // namespace cropcube
