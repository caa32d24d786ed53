// Torch-free helpers of the cropcube kernel: error text, argument checks, config lookup, metadata
// scanning. Kept out of the libtorch translation unit so that editing them rebuilds in seconds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cropcube/kernel.h"

namespace cropcube {

// Record the text of the last error on this thread and return the status unchanged.
int fail(int status, const std::string& message);
void clear_error();
const char* last_error_text();

// Bytes per element of a cropcube_dtype, 0 if the value is not a known dtype.
size_t dtype_size(int32_t dtype);

// Validate options (enums, ranges). Returns CROPCUBE_OK or sets the error.
int check_options(const cropcube_options& opts);

// Validate an input descriptor against the model's band layout before any memory is touched:
// non-NULL data, known dtype, extents >= 1, every addressed element within [0, n_elements).
int check_input(const cropcube_input* input, int64_t n_dates, int64_t n_bands);

// Validate an output descriptor for a height x width image with n_classes probability planes.
int check_output(const cropcube_output* output, int64_t height, int64_t width, int64_t n_classes);

// Model path from the settings (config.hpp: $CROPCUBE_MODEL, else the config file); an error when none.
// On failure returns a status and sets the error.
int resolve_model_path(std::string* path);

// What identifies one version of a bundle file: its size and a 64-bit FNV-1a hash of its bytes.
struct FileFingerprint {
  uint64_t size = 0;
  uint64_t hash = 0;
  bool operator==(const FileFingerprint& o) const { return size == o.size && hash == o.hash; }
};
// Read the whole bundle file into `bytes` (one read: what is checked is what is loaded, even when the
// file is replaced meanwhile) and fingerprint those bytes.
int read_bundle_bytes(const std::string& path, std::string* bytes, FileFingerprint* out);

// Whether bytes form a complete zip archive (local header first, end-of-central-directory record,
// every central directory entry and the data it points to within bounds) holding an entry whose name
// ends with each of `required`; else the reason in `why`. Checked before libtorch's zip reader sees
// the bytes: it leaks on damaged and on foreign archives.
bool zip_intact(const std::string& bytes, const std::vector<std::string>& required, std::string* why);

// Number after "key": at its first occurrence in compact JSON (our canonical metadata); false if absent.
bool json_number(const std::string& json, const std::string& key, double* value);
// String value of "key": at its first occurrence; false if absent.
bool json_string(const std::string& json, const std::string& key, std::string* value);

}  // namespace cropcube
