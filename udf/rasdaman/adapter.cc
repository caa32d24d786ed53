/* crop.classify adapter: validation, layout/orientation strides, the per-process bundle. */
#include "adapter.h"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>

#include "config.hpp"
#include "support.hpp"

namespace cropcube_udf {

size_t band_type_size(BandType type) {
  switch (type) {
    case BandType::UInt8:
    case BandType::Int8:
    case BandType::Bool:
      return 1;
    case BandType::UInt16:
    case BandType::Int16:
      return 2;
    case BandType::UInt32:
    case BandType::Int32:
    case BandType::Float32:
      return 4;
    case BandType::Float64:
      return 8;
    case BandType::Mixed:
    case BandType::Other:
      return 0;
  }
  return 0;
}

const char* band_type_name(BandType type) {
  switch (type) {
    case BandType::UInt8: return "char";
    case BandType::Int8: return "octet";
    case BandType::UInt16: return "ushort";
    case BandType::Int16: return "short";
    case BandType::UInt32: return "ulong";
    case BandType::Int32: return "long";
    case BandType::Float32: return "float";
    case BandType::Float64: return "double";
    case BandType::Bool: return "bool";
    case BandType::Mixed: return "mixed";
    case BandType::Other: return "other";
  }
  return "other";
}

BandType common_band_type(const std::vector<BandType>& bands) {
  if (bands.empty()) return BandType::Other;
  for (BandType type : bands) {
    if (type != bands.front()) return BandType::Mixed;
  }
  return bands.front();
}

namespace {

std::string format_domain(const std::vector<Interval>& domain) {
  std::ostringstream s;
  s << '[';
  for (size_t i = 0; i < domain.size(); ++i) {
    if (i) s << ',';
    if (domain[i].bounded) {
      s << domain[i].lo << ':' << domain[i].hi;
    } else {
      s << "*:*";
    }
  }
  s << ']';
  return s.str();
}

int64_t checked_mul(int64_t a, int64_t b, const char* what) {
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) throw UdfError(std::string(what) + " is too large (integer overflow)");
  return r;
}

int32_t kernel_dtype(const ArrayView& view) {
  switch (view.band_type) {
    case BandType::UInt16: return CROPCUBE_UINT16;
    case BandType::Int16: return CROPCUBE_INT16;
    case BandType::Float32: return CROPCUBE_FLOAT32;
    default: break;
  }
  const std::string name = view.type_name.empty() ? band_type_name(view.band_type) : view.type_name;
  throw UdfError("input cell type '" + name + "' (" + band_type_name(view.band_type) +
                 " bands) is not supported; expected cells of ushort, short or float bands");
}

const char* status_name(int status) {
  switch (status) {
    case CROPCUBE_E_INVALID_ARGUMENT: return "invalid argument";
    case CROPCUBE_E_IO: return "bundle not readable";
    case CROPCUBE_E_BAD_BUNDLE: return "not a cropcube bundle";
    case CROPCUBE_E_SHAPE: return "shape mismatch";
    case CROPCUBE_E_VALUE: return "bad input value";
    case CROPCUBE_E_RUNTIME: return "model failed";
    case CROPCUBE_E_OUT_OF_MEMORY: return "out of memory";
    case CROPCUBE_E_DEVICE: return "device error";
    default: return "kernel error";
  }
}

std::string kernel_message(int status) {
  const char* text = cropcube_last_error();
  std::string msg = status_name(status);
  if (text && *text) msg += std::string(": ") + text;
  return msg;
}

}  // namespace

std::vector<float> read_doy(const ArrayView& view) {
  if (view.domain.size() != 1 || !view.domain[0].bounded || view.domain[0].hi < view.domain[0].lo)
    throw UdfError("dates: a 1-D array of day-of-year values is needed, got domain " + format_domain(view.domain));
  const size_t elem = band_type_size(view.band_type);
  if (view.n_bands != 1 || elem == 0 || view.band_type == BandType::Bool || view.data == nullptr)
    throw UdfError("dates: cells must be one number each, got '" + view.type_name + "'");
  const int64_t span = view.domain[0].hi - view.domain[0].lo;
  if (span >= 366) throw UdfError("dates: " + std::to_string(span + 1) + " values; a season has at most 366 days");
  const size_t n = size_t(span) + 1;
  if (view.byte_size != n * elem || view.type_length != int64_t(elem))
    throw UdfError("dates: array holds " + std::to_string(view.byte_size) + " bytes for " + std::to_string(n) +
                   " cells of " + std::to_string(elem) + " bytes");
  std::vector<float> days(n);
  const auto* p = static_cast<const unsigned char*>(view.data);
  for (size_t i = 0; i < n; ++i) {
    const unsigned char* c = p + i * elem;
    switch (view.band_type) {
      case BandType::UInt8: days[i] = float(*c); break;
      case BandType::Int8: days[i] = float(int8_t(*c)); break;
      case BandType::UInt16: { uint16_t v; std::memcpy(&v, c, 2); days[i] = float(v); break; }
      case BandType::Int16: { int16_t v; std::memcpy(&v, c, 2); days[i] = float(v); break; }
      case BandType::UInt32: { uint32_t v; std::memcpy(&v, c, 4); days[i] = float(v); break; }
      case BandType::Int32: { int32_t v; std::memcpy(&v, c, 4); days[i] = float(v); break; }
      case BandType::Float32: std::memcpy(&days[i], c, 4); break;
      default: { double v; std::memcpy(&v, c, 8); days[i] = float(v); break; }
    }
  }
  return days;
}

Plan plan_classification(const ArrayView& view, const ModelShape& model, const std::vector<float>* doy) {
  const size_t dims = view.domain.size();
  if (dims != 2 && dims != 3) {
    throw UdfError("input is " + std::to_string(dims) + "-D " + format_domain(view.domain) +
                   "; expected a 2-D (E, N) array with " + std::to_string(model.n_dates * model.n_bands) +
                   "-band cells or a 3-D (t, E, N) array with " + std::to_string(model.n_bands) + "-band cells");
  }
  std::array<int64_t, 3> extent{1, 1, 1};
  for (size_t i = 0; i < dims; ++i) {
    const Interval& axis = view.domain[i];
    if (!axis.bounded) throw UdfError("input domain " + format_domain(view.domain) + " has an open bound");
    if (axis.hi < axis.lo) {
      throw UdfError("input domain " + format_domain(view.domain) + " is empty on axis " + std::to_string(i));
    }
    int64_t n = 0;
    if (__builtin_sub_overflow(axis.hi, axis.lo, &n) || n == INT64_MAX) {
      throw UdfError("input domain " + format_domain(view.domain) + " is too large");
    }
    extent[i] = n + 1;
  }
  if (view.data == nullptr) throw UdfError("input array has no data");

  const int32_t dtype = kernel_dtype(view);
  const auto elem = static_cast<int64_t>(band_type_size(view.band_type));
  if (view.n_bands < 1 || view.type_length != checked_mul(view.n_bands, elem, "cell size")) {
    throw UdfError("input cell type '" + view.type_name + "' is " + std::to_string(view.type_length) +
                   " bytes, which is not " + std::to_string(view.n_bands) + " bands of " + std::to_string(elem) +
                   " bytes");
  }
  if (view.band_layout != BandLayout::PixelInterleaved && view.band_layout != BandLayout::ChannelInterleaved) {
    throw UdfError("input band linearisation " + std::to_string(static_cast<int>(view.band_layout)) +
                   " is neither pixel- nor channel-interleaved");
  }

  const int64_t T = doy ? int64_t(doy->size()) : model.n_dates;  // the kernel checks T against the bundle
  const int64_t C = model.n_bands;
  const int64_t TC = checked_mul(T, C, "model channels");
  const bool three_d = dims == 3;
  const int64_t n_time = three_d ? extent[0] : 1;
  const int64_t E = three_d ? extent[1] : extent[0];
  const int64_t N = three_d ? extent[2] : extent[1];
  const std::string needs = doy ? "with " + std::to_string(T) + " dates given, it needs " : "this model needs ";
  if (!three_d && view.n_bands != TC) {
    throw UdfError("2-D input cells have " + std::to_string(view.n_bands) + " bands; " + needs +
                   std::to_string(TC) + " (" + std::to_string(T) + " dates x " + std::to_string(C) +
                   " bands, date-major), or a 3-D (t, E, N) array with " + std::to_string(C) + "-band cells");
  }
  if (three_d && view.n_bands != C) {
    throw UdfError("3-D input cells have " + std::to_string(view.n_bands) + " bands; this model needs " +
                   std::to_string(C) + " bands per date");
  }
  if (three_d && n_time != T) {
    throw UdfError("3-D input has " + std::to_string(n_time) + " time slices " + format_domain(view.domain) +
                   "; " + needs + std::to_string(T) + " dates");
  }

  const int64_t plane = checked_mul(E, N, "input domain");
  const int64_t cells = checked_mul(plane, n_time, "input domain");
  const int64_t n_elements = checked_mul(cells, view.n_bands, "input domain");
  const int64_t n_bytes = checked_mul(n_elements, elem, "input domain");
  if (static_cast<uint64_t>(n_bytes) != view.byte_size) {
    throw UdfError("input array holds " + std::to_string(view.byte_size) + " bytes, but domain " +
                   format_domain(view.domain) + " of " + std::to_string(view.type_length) + "-byte cells needs " +
                   std::to_string(n_bytes));
  }

  Plan plan;
  cropcube_input& in = plan.input;
  in.data = view.data;
  in.n_elements = static_cast<size_t>(n_elements);
  in.dtype = dtype;
  in.n_dates = T;
  in.n_bands = C;
  in.doy = doy ? doy->data() : nullptr;
  in.height = N;  // image row = N index (index 0 = north edge)
  in.width = E;   // image col = E index
  const bool pixel = view.band_layout == BandLayout::PixelInterleaved;
  if (!three_d && pixel) {  // cell (e, n) at (e*N + n)*TC, band k = 4*date + band
    in.stride_date = C;
    in.stride_band = 1;
    in.stride_row = TC;
    in.stride_col = TC * N;
  } else if (!three_d) {  // band k plane at k*E*N
    in.stride_date = C * plane;
    in.stride_band = plane;
    in.stride_row = 1;
    in.stride_col = N;
  } else if (pixel) {  // cell (t, e, n) at ((t*E + e)*N + n)*C
    in.stride_date = plane * C;
    in.stride_band = 1;
    in.stride_row = C;
    in.stride_col = C * N;
  } else {  // band b plane (all t) at b*T*E*N
    in.stride_date = plane;
    in.stride_band = cells;
    in.stride_row = 1;
    in.stride_col = N;
  }
  plan.out_domain.assign(view.domain.end() - 2, view.domain.end());
  plan.e_extent = E;
  plan.n_extent = N;
  plan.out_cells = static_cast<size_t>(plane);
  plan.out_stride_row = 1;
  plan.out_stride_col = N;
  return plan;
}

ModelShape model_shape(const cropcube_model* model) {
  ModelShape shape;
  int64_t classes = 0;
  int64_t halo = 0;
  int64_t factor = 0;
  const int status = cropcube_model_info(model, &shape.n_dates, &shape.n_bands, &classes, &halo, &factor);
  if (status != CROPCUBE_OK) throw UdfError("cannot read the model's input shape: " + kernel_message(status));
  return shape;
}

void classify_into(const Plan& plan, cropcube_model* model, uint8_t* out, size_t out_len) {
  if (out == nullptr || out_len < plan.out_cells) throw UdfError("output buffer is too small");
  cropcube_output output{};
  output.classes = out;
  output.n_elements = out_len;
  output.stride_row = plan.out_stride_row;
  output.stride_col = plan.out_stride_col;
  const int status = cropcube_classify(model, &plan.input, &output);
  if (status != CROPCUBE_OK) throw UdfError("classification failed: " + kernel_message(status));
}

namespace {

/* What stat() says about a file: a change in any field means "re-read it". */
struct FileStamp {
  bool exists = false;
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  bool operator==(const FileStamp& o) const {
    return exists == o.exists && dev == o.dev && ino == o.ino && size == o.size && mtime_ns == o.mtime_ns &&
           ctime_ns == o.ctime_ns;
  }
  bool operator!=(const FileStamp& o) const { return !(*this == o); }
};

FileStamp stamp_of(const std::string& path) {
  FileStamp stamp;
  struct stat st;
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return stamp;
  stamp.exists = true;
  stamp.dev = st.st_dev;
  stamp.ino = st.st_ino;
  stamp.size = st.st_size;
  stamp.mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
  stamp.ctime_ns = int64_t(st.st_ctim.tv_sec) * 1000000000LL + st.st_ctim.tv_nsec;
  return stamp;
}

/* The environment variables of the settings, as one key (a change means "re-read the settings"). */
std::string settings_environment() {
  std::string key;
  for (const char* name : {"CROPCUBE_CONFIG", "RMANHOME", "XDG_CONFIG_HOME", "HOME", "CROPCUBE_MODEL",
                           "CROPCUBE_THREADS", "CROPCUBE_DEVICE", "CROPCUBE_PRECISION", "CROPCUBE_TILE_SIZE",
                           "CROPCUBE_BATCH_SIZE"}) {
    const char* value = std::getenv(name);
    key += value ? value : "";
    key += '\0';
  }
  return key;
}

/* The process's settings and bundle handle, and the stamps they were read at. */
struct ProcessModel {
  std::mutex mutex;
  std::string environment;
  std::string config_file;
  FileStamp config_stamp;
  bool have_settings = false;
  cropcube::Settings settings;
  std::string path;
  FileStamp bundle_stamp;
  cropcube_options options{};
  SharedModel model;
};

ProcessModel& process_model_holder() {
  static ProcessModel holder;
  return holder;
}

std::string support_error() { return cropcube::last_error_text(); }

/* Re-read the settings when the environment or the config file changed. Caller holds the mutex. */
void refresh_settings(ProcessModel& holder) {
  std::string environment = settings_environment();
  std::string config_file;
  if (cropcube::find_config_file(&config_file) != CROPCUBE_OK) throw UdfError(support_error());
  const FileStamp config_stamp = stamp_of(config_file);
  if (holder.have_settings && environment == holder.environment && config_file == holder.config_file &&
      config_stamp == holder.config_stamp) {
    return;
  }
  cropcube::Settings settings;
  if (cropcube::read_settings(&settings) != CROPCUBE_OK) throw UdfError(support_error());
  holder.settings = settings;
  holder.environment = std::move(environment);
  holder.config_file = std::move(config_file);
  holder.config_stamp = config_stamp;
  holder.have_settings = true;
}

cropcube_options options_of(const cropcube::Settings& s) {
  cropcube_options options;
  cropcube_default_options(&options);
  options.num_threads = s.threads >= 0 ? s.threads : kUdfDefaultThreads;
  if (s.device >= 0) options.device = s.device;
  if (s.precision >= 0) options.precision = s.precision;
  if (s.tile_size >= 0) options.tile_size = s.tile_size;
  if (s.batch_size >= 0) options.batch_size = s.batch_size;
  return options;
}

/*
 * File times have the resolution of the kernel's clock tick, so a file rewritten twice within one tick
 * keeps its stamp. As git does with "racily clean" files, a stamp younger than kRacySeconds is not
 * trusted: the bundle is opened again, and the kernel compares the file's content hash.
 */
constexpr int64_t kRacySeconds = 2;

bool recently_changed(const FileStamp& stamp) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  const int64_t now_ns = int64_t(now.tv_sec) * 1000000000LL + now.tv_nsec;
  return now_ns - stamp.mtime_ns < kRacySeconds * 1000000000LL;
}

bool same_options(const cropcube_options& a, const cropcube_options& b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

}  // namespace

cropcube_options udf_options() {
  ProcessModel& holder = process_model_holder();
  std::lock_guard<std::mutex> lock(holder.mutex);
  refresh_settings(holder);
  return options_of(holder.settings);
}

SharedModel process_model() {
  ProcessModel& holder = process_model_holder();
  std::lock_guard<std::mutex> lock(holder.mutex);
  refresh_settings(holder);
  const std::string& path = holder.settings.model;
  if (path.empty()) {
    throw UdfError("no model bundle configured (set CROPCUBE_MODEL, or `model = PATH` in "
                   "$RMANHOME/etc/cropcube.conf or $CROPCUBE_CONFIG)");
  }
  const cropcube_options options = options_of(holder.settings);
  FileStamp before = stamp_of(path);
  if (holder.model && path == holder.path && before == holder.bundle_stamp && same_options(options, holder.options) &&
      !recently_changed(before)) {
    return holder.model;
  }
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (!before.exists) {
      throw UdfError("cannot open model bundle '" + path + "' (from " + holder.settings.model_source +
                     "): the file does not exist");
    }
    cropcube_model* opened = nullptr;
    const int status = cropcube_open(path.c_str(), &options, &opened);
    const FileStamp after = stamp_of(path);
    if (status == CROPCUBE_OK && after == before) {
      holder.model = SharedModel(opened, cropcube_close);
      holder.path = path;
      holder.bundle_stamp = after;
      holder.options = options;
      return holder.model;
    }
    cropcube_close(opened);
    if (after == before) {  // a stable file that does not open: the file is the problem
      throw UdfError("cannot open model bundle '" + path + "' (from " + holder.settings.model_source +
                     "): " + kernel_message(status));
    }
    before = after;  // rewritten while we read it: read it again
  }
  throw UdfError("model bundle '" + path + "' kept changing while it was being loaded (is it being rewritten "
                 "in place? replace it atomically with a rename)");
}

std::string udf_error_text(const std::string& table_text, const std::string& detail) {
  static const std::string kFallback =
      "Execution error 448: General error reported by the language template when executing the UDF";
  std::string text = table_text;
  // rasdaman's text for 448 reads "Execution error $errorNo in line $lineNo, column $columnNo, near token
  // $token: General error ...": a UDF error has no query position, so that clause goes.
  const std::string position = " in line $lineNo, column $columnNo, near token $token";
  const size_t at = text.find(position);
  if (at != std::string::npos) text.erase(at, position.size());
  const size_t number = text.find("$errorNo");
  if (number != std::string::npos) text.replace(number, 8, "448");
  while (!text.empty() && (text.back() == '.' || text.back() == ' ')) text.pop_back();
  if (text.empty() || text.find('$') != std::string::npos || text.find("448") == std::string::npos) {
    text = kFallback;
  }
  return detail.empty() ? text : text + ": " + detail;
}

}  // namespace cropcube_udf
