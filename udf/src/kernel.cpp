// cropcube inference kernel: the C ABI of kernel.h over a libtorch TorchScript bundle.
//
// The only translation unit that includes libtorch headers (each costs about a minute to compile).
// Every ABI function catches everything: no C++ exception crosses the ABI.
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <torch/cuda.h>
#include <torch/script.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "cpu_load.hpp"
#include "sha256.hpp"
#include "cropcube/kernel.h"
#include "support.hpp"
#include "tiling.hpp"

#ifndef CROPCUBE_VERSION
#define CROPCUBE_VERSION "0.1.0"
#endif

namespace cropcube {
namespace {

constexpr const char* kMetadataFile = "cropcube/metadata.json";
constexpr int64_t kDefaultBatchCpu = 1;
constexpr int64_t kDefaultBatchCuda = 4;

// One loaded bundle, shared by every handle that opened the same unchanged file on the same device.
struct LoadedBundle {
  torch::jit::Module module;
  std::string metadata_json;
  std::string content_hash;
  std::string path;  // where it was read from, for error messages
  int64_t n_dates = 0, n_bands = 0, n_classes = 0, halo = 0, downsampling = 1, receptive_field = 0;
  // The calendars it accepts (format 2); a format-1 bundle: exactly its default dates.
  bool has_calendar = false;
  int64_t min_dates = 0, max_dates = 0;
  double season_start = 1, season_end = 366;
  std::vector<float> default_doy;
  float nodata = 0.f;
  bool bfloat16_parity = false;  // the metadata records bfloat16 parity on the benchmark scenes
  c10::Device device{c10::kCPU};
};

struct CacheEntry {
  FileFingerprint fingerprint;
  std::shared_ptr<LoadedBundle> bundle;
};

std::mutex g_cache_mutex;
std::map<std::string, CacheEntry> g_cache;  // key: device + '|' + path

}  // namespace
}  // namespace cropcube

struct cropcube_model {
  std::shared_ptr<cropcube::LoadedBundle> bundle;
  cropcube_options options;
};

namespace cropcube {
namespace {

// A module that breaks the output contract its metadata declares.
struct BundleError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Python's str() of a tensor dtype, as bundle/io.py content_hash spells it.
std::string torch_dtype_name(c10::ScalarType t) {
  switch (t) {
    case c10::kFloat: return "torch.float32";
    case c10::kDouble: return "torch.float64";
    case c10::kHalf: return "torch.float16";
    case c10::kBFloat16: return "torch.bfloat16";
    case c10::kLong: return "torch.int64";
    case c10::kInt: return "torch.int32";
    case c10::kShort: return "torch.int16";
    case c10::kChar: return "torch.int8";
    case c10::kByte: return "torch.uint8";
    case c10::kBool: return "torch.bool";
    default: return std::string("torch.") + c10::toString(t);
  }
}

// Python's repr() of a shape tuple: (), (5,), (3, 4).
std::string shape_tuple(c10::IntArrayRef sizes) {
  std::string s = "(";
  for (size_t i = 0; i < sizes.size(); ++i) s += (i ? ", " : "") + std::to_string(sizes[i]);
  return s + (sizes.size() == 1 ? ",)" : ")");
}

// The content hash of bundle/io.py: sha256 over every parameter and buffer (sorted by name:
// "name|dtype|shape|" + raw bytes) and the canonical metadata JSON without its content_hash entry.
// Checked here as on the Python path, so that no backend runs weights the metadata does not vouch for.
int check_content_hash(const torch::jit::Module& module, const std::string& js, const std::string& path) {
  const std::string key = "\"content_hash\":\"";
  const size_t at = js.find(key);
  const size_t end = at == std::string::npos ? at : js.find('"', at + key.size());
  if (end == std::string::npos || end + 1 >= js.size() || js[end + 1] != ',')
    return fail(CROPCUBE_E_BAD_BUNDLE, path + ": bundle metadata has no content hash");
  const std::string stored = js.substr(at + key.size(), end - at - key.size());
  std::map<std::string, torch::Tensor> state;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) state[p.name] = p.value;
  for (const auto& p : module.named_buffers(/*recurse=*/true)) state[p.name] = p.value;
  Sha256 h;
  for (const auto& [name, value] : state) {
    torch::Tensor t = value.detach().to(torch::kCPU).contiguous();
    h.update(name + "|" + torch_dtype_name(t.scalar_type()) + "|" + shape_tuple(t.sizes()) + "|");
    if (t.numel()) h.update(t.data_ptr(), size_t(t.numel()) * t.element_size());
  }
  h.update(js.substr(0, at) + js.substr(end + 2));  // the JSON as written before the hash was added
  if ("sha256:" + h.hex() != stored)
    return fail(CROPCUBE_E_BAD_BUNDLE, path + ": content hash mismatch: the bundle was modified or damaged");
  return CROPCUBE_OK;
}

// Load a bundle from the bytes read once from `path` (read_bundle_bytes): structure, format, content
// hash and metadata are checked on exactly the bytes the module comes from.
int load_bundle(const std::string& bytes, const std::string& path, const c10::Device& device,
                std::shared_ptr<LoadedBundle>* out) {
  auto b = std::make_shared<LoadedBundle>();
  torch::jit::ExtraFilesMap extra{{kMetadataFile, ""}};
  std::string why;
  // A TorchScript archive holds <name>/data.pkl and <name>/version; a cropcube bundle its metadata too.
  static const std::vector<std::string> kEntries{"/data.pkl", "/version", std::string("extra/") + kMetadataFile};
  if (!zip_intact(bytes, kEntries, &why))
    return fail(CROPCUBE_E_BAD_BUNDLE, path + ": not a cropcube bundle (" + why + ")");
  try {
    std::istringstream stream(bytes);
    b->module = torch::jit::load(stream, device, extra);
  } catch (const std::exception& e) {
    std::string what = e.what();
    what = what.substr(0, what.find('\n'));
    return fail(CROPCUBE_E_BAD_BUNDLE, path + ": not a loadable TorchScript file (" + what + ")");
  }
  b->metadata_json = extra[kMetadataFile];
  const std::string& js = b->metadata_json;
  std::string format;
  if (js.empty() || !json_string(js, "format", &format) || format != "cropcube-bundle")
    return fail(CROPCUBE_E_BAD_BUNDLE, path + ": not a cropcube bundle (no embedded cropcube metadata)");
  double version = 0;
  if (!json_number(js, "format_version", &version) || (version != 1 && version != 2))
    return fail(CROPCUBE_E_BAD_BUNDLE, path + ": bundle format version is not 1 or 2 (written by another cropcube?)");
  if (int rc = check_content_hash(b->module, js, path)) return rc;
  double halo = -1, down = -1, rf = -1, classes = -1;
  if (!json_number(js, "halo", &halo) || !json_number(js, "downsampling_factor", &down) ||
      !json_number(js, "receptive_field", &rf) || !json_number(js, "channels", &classes))
    return fail(CROPCUBE_E_BAD_BUNDLE, path + ": bundle metadata lacks halo/downsampling_factor/receptive_field/channels");
  json_string(js, "content_hash", &b->content_hash);
  // Written by scripts/bench_precision.py --record: arg-max agreement with float32 and the largest
  // change of OA/mIoU (points) on the benchmark scenes.
  double agreement = 0, delta = 1e9;
  b->bfloat16_parity = json_number(js, "bfloat16_agreement", &agreement) && agreement >= 0.99 &&
                       json_number(js, "bfloat16_max_accuracy_change", &delta) && delta <= 0.2;
  try {
    b->n_dates = b->module.attr("n_dates").toInt();
    b->n_bands = b->module.attr("n_bands").toInt();
    b->nodata = static_cast<float>(b->module.attr("nodata").toDouble());
    torch::Tensor doy = b->module.attr("doy").toTensor().to(torch::kCPU, torch::kFloat32).contiguous();
    b->default_doy.assign(doy.data_ptr<float>(), doy.data_ptr<float>() + doy.numel());
    b->min_dates = b->max_dates = b->n_dates;
    if (b->module.hasattr("has_calendar") && b->module.attr("has_calendar").toBool()) {
      b->has_calendar = true;
      b->min_dates = b->module.attr("min_dates").toInt();
      b->max_dates = b->module.attr("max_dates").toInt();
      b->season_start = b->module.attr("season_start").toDouble();
      b->season_end = b->module.attr("season_end").toDouble();
    }
  } catch (const std::exception&) {
    return fail(CROPCUBE_E_BAD_BUNDLE, path + ": module is not a cropcube InferenceModule (no n_dates/n_bands/nodata)");
  }
  b->halo = int64_t(halo);
  b->downsampling = int64_t(down);
  b->receptive_field = int64_t(rf);
  b->n_classes = int64_t(classes);
  if (b->n_dates < 1 || b->n_bands < 1 || b->downsampling < 1 || b->halo < 0 || b->halo % b->downsampling != 0 ||
      b->n_classes < 1 || b->n_classes > 255 || int64_t(b->default_doy.size()) != b->n_dates || b->min_dates < 1 ||
      b->min_dates > b->n_dates || b->max_dates < b->n_dates || b->max_dates > 366)
    return fail(CROPCUBE_E_BAD_BUNDLE, path + ": inconsistent bundle metadata (dates, bands, halo, downsampling, classes)");
  b->module.eval();
  b->device = device;
  b->path = path;
  *out = std::move(b);
  return CROPCUBE_OK;
}

// Copy one tile window from the strided input into a float (K, h, w) block.
template <typename T>
void gather(const cropcube_input& in, const Tile& t, float* dst) {
  const T* src = static_cast<const T*>(in.data);
  const int64_t h = t.wy1 - t.wy0, w = t.wx1 - t.wx0;
  for (int64_t d = 0; d < in.n_dates; ++d)
    for (int64_t b = 0; b < in.n_bands; ++b) {
      const int64_t k = d * in.n_bands + b;
      for (int64_t y = 0; y < h; ++y) {
        const T* row = src + d * in.stride_date + b * in.stride_band + (t.wy0 + y) * in.stride_row + t.wx0 * in.stride_col;
        float* out = dst + (k * h + y) * w;
        if (in.stride_col == 1) {
          for (int64_t x = 0; x < w; ++x) out[x] = static_cast<float>(row[x]);
        } else {
          const int64_t sc = in.stride_col;
          for (int64_t x = 0; x < w; ++x) out[x] = static_cast<float>(row[x * sc]);
        }
      }
    }
}

void gather_any(const cropcube_input& in, const Tile& t, float* dst) {
  switch (in.dtype) {
    case CROPCUBE_UINT16: gather<uint16_t>(in, t, dst); break;
    case CROPCUBE_INT16: gather<int16_t>(in, t, dst); break;
    default: gather<float>(in, t, dst); break;
  }
}

// Digital numbers are never negative, and NaN/inf (float input, nonfinite = error) are refused:
// CROPCUBE_E_VALUE naming the count and the first position (row-major pixel order). Scans band by
// band, row by row: sequential for band-planar buffers.
template <typename T>
int check_values_of(const cropcube_input& in, bool refuse_nonfinite) {
  const T* src = static_cast<const T*>(in.data);
  int64_t counts[2] = {0, 0}, first[2][4] = {{in.height, 0, 0, 0}, {in.height, 0, 0, 0}};  // r, c, date, band
  for (int64_t d = 0; d < in.n_dates; ++d)
    for (int64_t b = 0; b < in.n_bands; ++b)
      for (int64_t r = 0; r < in.height; ++r) {
        const T* row = src + d * in.stride_date + b * in.stride_band + r * in.stride_row;
        for (int64_t c = 0; c < in.width; ++c) {
          const T v = row[c * in.stride_col];
          int kind;
          if constexpr (std::is_floating_point_v<T>) {
            if (!std::isfinite(v)) {
              if (!refuse_nonfinite) continue;
              kind = 0;
            } else if (v < 0) {
              kind = 1;
            } else {
              continue;
            }
          } else {
            if (!(v < 0)) continue;
            kind = 1;
          }
          ++counts[kind];
          int64_t* f = first[kind];
          if (r < f[0] || (r == f[0] && c < f[1])) f[0] = r, f[1] = c, f[2] = d, f[3] = b;
        }
      }
  for (int kind = 0; kind < 2; ++kind) {
    if (counts[kind] == 0) continue;
    const int64_t* f = first[kind];
    return fail(CROPCUBE_E_VALUE,
                "input: " + std::to_string(counts[kind]) + (kind ? " negative values" : " NaN/inf values") +
                    ", the first at row " + std::to_string(f[0]) + " col " + std::to_string(f[1]) + " (date " +
                    std::to_string(f[2]) + " band " + std::to_string(f[3]) + ")" +
                    (kind ? "; digital numbers must be >= 0"
                          : "; pass nonfinite = CROPCUBE_NONFINITE_NODATA to treat such pixels as nodata"));
  }
  return CROPCUBE_OK;
}

int check_values(const cropcube_input& in, bool refuse_nonfinite) {
  switch (in.dtype) {
    case CROPCUBE_INT16: return check_values_of<int16_t>(in, refuse_nonfinite);
    case CROPCUBE_FLOAT32: return check_values_of<float>(in, refuse_nonfinite);
    default: return CROPCUBE_OK;  // uint16 cannot be negative
  }
}

// Pixels with any NaN/inf band become all-nodata (so the network sees an ordinary nodata pixel).
void blank_nonfinite(float* block, int64_t k, int64_t n_px, float nodata, std::vector<uint8_t>& bad) {
  bad.assign(size_t(n_px), 0);
  for (int64_t c = 0; c < k; ++c) {
    const float* p = block + c * n_px;
    for (int64_t i = 0; i < n_px; ++i) bad[size_t(i)] |= !std::isfinite(p[i]);
  }
  for (int64_t c = 0; c < k; ++c) {
    float* p = block + c * n_px;
    for (int64_t i = 0; i < n_px; ++i)
      if (bad[size_t(i)]) p[i] = nodata;
  }
}

struct AutocastScope {
  bool active = false;
  c10::DeviceType type = c10::kCPU;
  AutocastScope(int32_t precision, c10::DeviceType t) : type(t) {
    if (precision == CROPCUBE_PRECISION_BFLOAT16 || precision == CROPCUBE_PRECISION_FLOAT16) {
      at::autocast::set_autocast_enabled(type, true);
      at::autocast::set_autocast_dtype(type, precision == CROPCUBE_PRECISION_BFLOAT16 ? at::kBFloat16 : at::kHalf);
      active = true;
    }
  }
  ~AutocastScope() {
    if (active) {
      at::autocast::set_autocast_enabled(type, false);
      at::autocast::clear_cache();
    }
  }
};

// precision=auto: bfloat16 on a CPU with native bfloat16 dot products (AVX512-BF16, AMX) for a
// bundle whose metadata records parity (>= 99 % arg-max agreement, accuracy within 0.2 points);
// float32 otherwise, and always on CUDA, where reduced precision has not been measured.
int32_t effective_precision(const LoadedBundle& b, const cropcube_options& o) {
  if (o.precision != CROPCUBE_PRECISION_AUTO) return o.precision;
  if (!b.device.is_cuda() && b.bfloat16_parity && cpu_has_bfloat16()) return CROPCUBE_PRECISION_BFLOAT16;
  return CROPCUBE_PRECISION_FLOAT32;
}

int64_t effective_batch(const LoadedBundle& b, const cropcube_options& o) {
  return o.batch_size > 0 ? o.batch_size : (b.device.is_cuda() ? kDefaultBatchCuda : kDefaultBatchCpu);
}

// A batch of same-shaped tiles in flight: host input block and the reduced device results.
struct Batch {
  std::vector<Tile> tiles;
  torch::Tensor host;  // (B, K, h, w) float32, pinned on CUDA
  torch::Tensor index, conf, probs;
};

class Runner {
 public:
  Runner(const LoadedBundle& b, const cropcube_options& o, const cropcube_input& in, const Area& area,
         const cropcube_output& out)
      : b_(b), o_(o), in_(in), area_(area), out_(out), module_(b.module) {
    cuda_ = b.device.is_cuda();
    tile_ = effective_tile_size(o.tile_size, b.downsampling);
    batch_ = effective_batch(b, o);
    k_ = in.n_dates * b.n_bands;
    // Days of year go to the module only for a calendar (format 2); a format-1 module has its own.
    if (b.has_calendar && in.doy)
      doy_ = torch::from_blob(const_cast<float*>(in.doy), {in.n_dates}, torch::kFloat32).clone().to(b.device);
  }

  int run() {
    std::vector<Tile> tiles = plan_tiles(in_.height, in_.width, tile_, b_.halo, b_.downsampling, area_);
    const int64_t max_h = std::min(in_.height, tile_ + 2 * b_.halo), max_w = std::min(in_.width, tile_ + 2 * b_.halo);
    const int64_t block = std::min<int64_t>(batch_, int64_t(tiles.size())) * k_ * max_h * max_w;
    auto opts = torch::TensorOptions().dtype(torch::kFloat32).pinned_memory(cuda_);
    torch::Tensor storage[2] = {torch::empty({block}, opts), cuda_ ? torch::empty({block}, opts) : torch::Tensor()};
    want_soft_ = out_.confidence != nullptr || out_.probabilities != nullptr;

    AutocastScope autocast(effective_precision(b_, o_), b_.device.type());
    // Pipeline: batch i runs on the device while batch i+1 is gathered on the host (double buffer).
    std::unique_ptr<Batch> pending;
    size_t next = 0;
    int slot = 0;
    while (next < tiles.size() || pending) {
      std::unique_ptr<Batch> current;
      if (next < tiles.size()) {
        current = std::make_unique<Batch>();
        while (next < tiles.size() && int64_t(current->tiles.size()) < batch_ &&
               (current->tiles.empty() || current->tiles.front().same_batch_shape(tiles[next])))
          current->tiles.push_back(tiles[next++]);
        fill(current.get(), cuda_ ? storage[slot] : storage[0]);
        slot ^= 1;
      }
      if (pending) scatter(*pending);  // waits for the device results of the previous batch
      pending.reset();
      if (current) {
        launch(current.get());
        if (!cuda_) {
          scatter(*current);
        } else {
          pending = std::move(current);
        }
      }
    }
    return CROPCUBE_OK;
  }

 private:
  void fill(Batch* batch, const torch::Tensor& storage) {
    const Tile& t0 = batch->tiles.front();
    const int64_t h = t0.wy1 - t0.wy0, w = t0.wx1 - t0.wx0, n = int64_t(batch->tiles.size());
    batch->host = storage.narrow(0, 0, n * k_ * h * w).view({n, k_, h, w});
    float* base = batch->host.data_ptr<float>();
    for (int64_t i = 0; i < n; ++i) {
      float* dst = base + i * k_ * h * w;
      gather_any(in_, batch->tiles[size_t(i)], dst);
      if (in_.dtype == CROPCUBE_FLOAT32 && o_.nonfinite == CROPCUBE_NONFINITE_NODATA)
        blank_nonfinite(dst, k_, h * w, b_.nodata, bad_);
    }
  }

  void launch(Batch* batch) {
    if (!cuda_ && o_.num_threads == 0) size_threads();
    const Tile& t0 = batch->tiles.front();
    torch::Tensor x = cuda_ ? batch->host.to(b_.device, /*non_blocking=*/true) : batch->host;
    torch::Tensor logits = checked_logits(doy_.defined() ? module_.forward({x, doy_}) : module_.forward({x}), x);
    const int64_t oy = t0.cy0 - t0.wy0, ox = t0.cx0 - t0.wx0, ch = t0.cy1 - t0.cy0, cw = t0.cx1 - t0.cx0;
    // The arg-max reads the logits in the precision they come in: converting bfloat16 logits (76 per
    // pixel) to float32 first cost as much as bfloat16 saved in the network. Confidence and
    // probabilities are computed in float32.
    logits = logits.slice(2, oy, oy + ch).slice(3, ox, ox + cw);
    auto [top, index] = logits.max(1);
    batch->index = index.to(torch::kUInt8);
    if (want_soft_) {
      logits = logits.to(torch::kFloat32);
      torch::Tensor lse = logits.logsumexp(1);
      batch->conf = (top.to(torch::kFloat32) - lse).exp();
      if (out_.probabilities) batch->probs = (logits - lse.unsqueeze(1)).exp();
    }
    if (cuda_) {
      batch->index = batch->index.to(torch::kCPU, /*non_blocking=*/true);
      if (batch->conf.defined()) batch->conf = batch->conf.to(torch::kCPU, true);
      if (batch->probs.defined()) batch->probs = batch->probs.to(torch::kCPU, true);
    }
  }

  // The module's real output, held to the metadata and the input before anything is written: a
  // bundle whose module disagrees with its metadata would otherwise write past the output or write
  // class indices beyond K.
  torch::Tensor checked_logits(const c10::IValue& result, const torch::Tensor& x) const {
    auto bad = [&](const std::string& what) {
      throw BundleError(b_.path + ": module output " + what + " does not match the bundle metadata (expected float logits (" +
                        std::to_string(x.size(0)) + ", " + std::to_string(b_.n_classes) + ", " +
                        std::to_string(x.size(2)) + ", " + std::to_string(x.size(3)) + "))");
    };
    if (!result.isTensor()) bad("of type " + result.tagKind());
    torch::Tensor t = result.toTensor();
    if (!at::isFloatingType(t.scalar_type())) bad(std::string("of dtype ") + c10::toString(t.scalar_type()));
    if (t.dim() != 4 || t.size(0) != x.size(0) || t.size(1) != b_.n_classes || t.size(2) != x.size(2) ||
        t.size(3) != x.size(3))
      bad("of shape " + shape_tuple(t.sizes()));
    return t;
  }

  // Default CPU threads, re-sized before every batch to the CPUs free at that moment (cpu_load.hpp),
  // at most the caller's thread count: a process that starts on a core mid-run costs one batch.
  void size_threads() {
    const int n = free_cpus(max_threads_);
    if (n != at::get_num_threads()) at::set_num_threads(n);
  }

  void scatter(Batch& batch) {
    if (cuda_) torch::cuda::synchronize();
    batch.index = batch.index.contiguous();
    if (batch.conf.defined()) batch.conf = batch.conf.contiguous();
    if (batch.probs.defined()) batch.probs = batch.probs.contiguous();
    const Tile& t0 = batch.tiles.front();
    const int64_t h = t0.wy1 - t0.wy0, w = t0.wx1 - t0.wx0;
    const int64_t oy = t0.cy0 - t0.wy0, ox = t0.cx0 - t0.wx0, ch = t0.cy1 - t0.cy0, cw = t0.cx1 - t0.cx0;
    const float* host = batch.host.data_ptr<float>();
    const uint8_t* idx = batch.index.data_ptr<uint8_t>();
    const float* conf = batch.conf.defined() ? batch.conf.data_ptr<float>() : nullptr;
    const float* probs = batch.probs.defined() ? batch.probs.data_ptr<float>() : nullptr;
    std::vector<uint8_t> valid(size_t(ch * cw));
    for (size_t i = 0; i < batch.tiles.size(); ++i) {
      const Tile& t = batch.tiles[i];
      // A pixel has data when any band differs from the nodata value.
      std::fill(valid.begin(), valid.end(), 0);
      const float* block = host + int64_t(i) * k_ * h * w;
      for (int64_t c = 0; c < k_; ++c)
        for (int64_t y = 0; y < ch; ++y) {
          const float* row = block + (c * h + oy + y) * w + ox;
          uint8_t* v = valid.data() + y * cw;
          for (int64_t x = 0; x < cw; ++x) v[x] |= row[x] != b_.nodata;
        }
      const int64_t px0 = int64_t(i) * ch * cw;
      for (int64_t y = 0; y < ch; ++y)
        for (int64_t x = 0; x < cw; ++x) {
          const int64_t p = px0 + y * cw + x;
          const bool ok = valid[size_t(y * cw + x)];
          const int64_t o = (t.cy0 - area_.row + y) * out_.stride_row + (t.cx0 - area_.col + x) * out_.stride_col;
          out_.classes[o] = ok ? uint8_t(idx[p] + 1) : uint8_t(0);
          if (out_.confidence) {
            float c = conf[p];
            out_.confidence[o] = ok && std::isfinite(c) ? uint8_t(std::lround(std::clamp(c, 0.f, 1.f) * 255.f)) : 0;
          }
        }
      if (out_.probabilities) {
        const int64_t plane = ch * cw, n_cls = b_.n_classes;
        for (int64_t k = 0; k < n_cls; ++k)
          for (int64_t y = 0; y < ch; ++y)
            for (int64_t x = 0; x < cw; ++x) {
              const bool ok = valid[size_t(y * cw + x)];
              const int64_t o = k * out_.prob_stride_class + (t.cy0 - area_.row + y) * out_.prob_stride_row +
                                (t.cx0 - area_.col + x) * out_.prob_stride_col;
              out_.probabilities[o] = ok ? probs[(int64_t(i) * n_cls + k) * plane + y * cw + x] : 0.f;
            }
      }
    }
  }

  const LoadedBundle& b_;
  const cropcube_options& o_;
  const cropcube_input& in_;
  const Area area_;  // the core window: the output's origin
  const cropcube_output& out_;
  torch::jit::Module module_;
  bool cuda_ = false, want_soft_ = false;
  int max_threads_ = at::get_num_threads();
  int64_t tile_ = 0, batch_ = 1, k_ = 0;
  std::vector<uint8_t> bad_;
  torch::Tensor doy_;  // (T,) on the device, or undefined: the module's default dates
};

// Restores the calling thread's intra-op thread count on exit (the kernel sizes its own per batch).
struct ThreadCountScope {
  int saved = at::get_num_threads();
  ~ThreadCountScope() {
    if (at::get_num_threads() != saved) at::set_num_threads(saved);
  }
};

int choose_device(int32_t requested, c10::Device* device) {
  const bool has_cuda = torch::cuda::is_available();
  if (requested == CROPCUBE_DEVICE_CUDA && !has_cuda)
    return fail(CROPCUBE_E_DEVICE, "options.device: CUDA was asked for but no CUDA device is available");
  *device = (requested == CROPCUBE_DEVICE_CPU || !has_cuda) ? c10::Device(c10::kCPU) : c10::Device(c10::kCUDA, 0);
  return CROPCUBE_OK;
}

int open_model(const char* path_arg, const cropcube_options* opts_arg, cropcube_model** out) {
  if (!out) return fail(CROPCUBE_E_INVALID_ARGUMENT, "out: NULL pointer for the model handle");
  *out = nullptr;
  cropcube_options opts;
  cropcube_default_options(&opts);
  if (opts_arg) opts = *opts_arg;
  if (int rc = check_options(opts)) return rc;
  std::string path;
  if (path_arg && *path_arg) {
    path = path_arg;
  } else if (int rc = resolve_model_path(&path)) {
    return rc;
  }
  FileFingerprint fp;
  std::string bytes;
  if (int rc = read_bundle_bytes(path, &bytes, &fp)) return rc;
  c10::Device device(c10::kCPU);
  if (int rc = choose_device(opts.device, &device)) return rc;

  const std::string key = device.str() + "|" + path;
  std::shared_ptr<LoadedBundle> bundle;
  {
    std::lock_guard<std::mutex> lock(g_cache_mutex);
    auto it = g_cache.find(key);
    if (it != g_cache.end() && it->second.fingerprint == fp) bundle = it->second.bundle;
  }
  if (!bundle) {
    if (int rc = load_bundle(bytes, path, device, &bundle)) return rc;
    std::lock_guard<std::mutex> lock(g_cache_mutex);
    g_cache[key] = CacheEntry{fp, bundle};  // a changed file replaces the entry; old handles keep theirs
  }
  auto* handle = new cropcube_model{bundle, opts};
  *out = handle;
  return CROPCUBE_OK;
}

// The input's calendar against the bundle's: T within its range, days of year finite, strictly
// increasing and inside its season; a format-1 bundle takes only its own fixed dates.
std::string shortest(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

int check_dates(const LoadedBundle& b, const cropcube_input& in) {
  const int64_t t = in.n_dates;
  if (!in.doy) {
    if (t == b.n_dates) return CROPCUBE_OK;
    return fail(CROPCUBE_E_SHAPE, "input: " + std::to_string(t) + " dates without their days of year (doy); the bundle's " +
                                      "default calendar has " + std::to_string(b.n_dates));
  }
  if (t < b.min_dates || t > b.max_dates)
    return fail(CROPCUBE_E_SHAPE, "input: " + std::to_string(t) + " dates, but the bundle takes " +
                                      std::to_string(b.min_dates) + ".." + std::to_string(b.max_dates));
  for (int64_t i = 0; i < t; ++i) {
    const float d = in.doy[i];
    if (!std::isfinite(d)) return fail(CROPCUBE_E_VALUE, "doy: value " + std::to_string(i) + " is not finite");
    if (i > 0 && !(d > in.doy[i - 1]))
      return fail(CROPCUBE_E_VALUE, "doy: dates must be strictly increasing (value " + std::to_string(i) + ")");
    if (d < b.season_start || d > b.season_end)
      return fail(CROPCUBE_E_VALUE, "doy: day " + shortest(d) + " is outside the bundle's season " +
                                        shortest(b.season_start) + ".." + shortest(b.season_end));
  }
  if (!b.has_calendar && !std::equal(b.default_doy.begin(), b.default_doy.end(), in.doy))
    return fail(CROPCUBE_E_VALUE, "doy: this bundle (format 1) was trained on fixed dates and takes only those");
  return CROPCUBE_OK;
}

int classify(cropcube_model* model, const cropcube_input* input, const cropcube_output* output) {
  if (!model) return fail(CROPCUBE_E_INVALID_ARGUMENT, "model: NULL handle");
  const LoadedBundle& b = *model->bundle;
  if (!input) return fail(CROPCUBE_E_INVALID_ARGUMENT, "input: NULL descriptor");
  if (int rc = check_dates(b, *input)) return rc;
  if (int rc = check_input(input, input->n_dates, b.n_bands)) return rc;
  Area area;
  if (int rc = resolve_area(input->height, input->width, input->core_row, input->core_col, input->core_rows,
                            input->core_cols, &area))
    return rc;
  if (int rc = check_output(output, area.rows, area.cols, b.n_classes)) return rc;
  if (int rc = check_values(*input, model->options.nonfinite == CROPCUBE_NONFINITE_ERROR)) return rc;
  // Thread counts are per calling thread under OpenMP: apply the handle's on the thread that runs,
  // and give the caller its own back afterwards.
  ThreadCountScope threads;
  if (model->options.num_threads > 0 && at::get_num_threads() != model->options.num_threads)
    at::set_num_threads(model->options.num_threads);
  c10::InferenceMode guard;
  Runner runner(b, model->options, *input, area, *output);
  return runner.run();
}

template <typename F>
int guarded(F&& f) {
  try {
    clear_error();
    return f();
  } catch (const BundleError& e) {
    return fail(CROPCUBE_E_BAD_BUNDLE, e.what());
  } catch (const std::bad_alloc&) {
    return fail(CROPCUBE_E_OUT_OF_MEMORY, "out of memory");
  } catch (const c10::OutOfMemoryError& e) {
    return fail(CROPCUBE_E_OUT_OF_MEMORY, std::string("out of device memory: ") + e.what_without_backtrace());
  } catch (const c10::Error& e) {
    return fail(CROPCUBE_E_RUNTIME, std::string("model failed: ") + e.what_without_backtrace());
  } catch (const std::exception& e) {
    return fail(CROPCUBE_E_RUNTIME, std::string("model failed: ") + e.what());
  } catch (...) {
    return fail(CROPCUBE_E_RUNTIME, "model failed with an unknown exception");
  }
}

}  // namespace
}  // namespace cropcube

extern "C" {

const char* cropcube_version(void) { return CROPCUBE_VERSION; }

int cropcube_abi_version(void) { return CROPCUBE_ABI_VERSION; }

void cropcube_default_options(cropcube_options* opts) {
  if (!opts) return;
  std::memset(opts, 0, sizeof(*opts));
  opts->device = CROPCUBE_DEVICE_AUTO;
  opts->precision = CROPCUBE_PRECISION_AUTO;
  opts->nonfinite = CROPCUBE_NONFINITE_ERROR;
}

const char* cropcube_last_error(void) { return cropcube::last_error_text(); }

int cropcube_resolve_model_path(char* buf, size_t buf_len) {
  return cropcube::guarded([&] {
    if (!buf || buf_len == 0) return cropcube::fail(CROPCUBE_E_INVALID_ARGUMENT, "buf: NULL or zero length");
    std::string path;
    if (int rc = cropcube::resolve_model_path(&path)) return rc;
    if (path.size() + 1 > buf_len)
      return cropcube::fail(CROPCUBE_E_INVALID_ARGUMENT,
                            "buf: " + std::to_string(buf_len) + " bytes cannot hold the path " + path);
    std::memcpy(buf, path.c_str(), path.size() + 1);
    return int(CROPCUBE_OK);
  });
}

int cropcube_open(const char* path, const cropcube_options* opts, cropcube_model** out) {
  return cropcube::guarded([&] { return cropcube::open_model(path, opts, out); });
}

void cropcube_close(cropcube_model* model) { delete model; }

const char* cropcube_metadata_json(const cropcube_model* model) {
  return model ? model->bundle->metadata_json.c_str() : nullptr;
}

int cropcube_model_info(const cropcube_model* model, int64_t* n_dates, int64_t* n_bands, int64_t* n_classes,
                        int64_t* halo, int64_t* downsampling_factor) {
  if (!model) return cropcube::fail(CROPCUBE_E_INVALID_ARGUMENT, "model: NULL handle");
  if (!n_dates || !n_bands || !n_classes || !halo || !downsampling_factor)
    return cropcube::fail(CROPCUBE_E_INVALID_ARGUMENT, "model_info: NULL output pointer");
  const auto& b = *model->bundle;
  *n_dates = b.n_dates;
  *n_bands = b.n_bands;
  *n_classes = b.n_classes;
  *halo = b.halo;
  *downsampling_factor = b.downsampling;
  return CROPCUBE_OK;
}

int cropcube_get_info(const cropcube_model* model, cropcube_info* info) {
  if (!model) return cropcube::fail(CROPCUBE_E_INVALID_ARGUMENT, "model: NULL handle");
  if (!info) return cropcube::fail(CROPCUBE_E_INVALID_ARGUMENT, "info: NULL pointer");
  const auto& b = *model->bundle;
  const auto& o = model->options;
  *info = cropcube_info{b.n_dates, b.n_bands, b.n_classes, b.halo, b.downsampling,
                        cropcube::effective_tile_size(o.tile_size, b.downsampling), cropcube::effective_batch(b, o),
                        b.device.is_cuda() ? CROPCUBE_DEVICE_CUDA : CROPCUBE_DEVICE_CPU, o.num_threads,
                        cropcube::effective_precision(b, o), o.nonfinite, b.min_dates, b.max_dates,
                        b.season_start, b.season_end};
  return CROPCUBE_OK;
}

int cropcube_plan_tiles(int64_t height, int64_t width, int32_t tile_size, int64_t downsampling_factor, int64_t halo,
                        const int64_t* core, int64_t* effective_tile_size, int64_t* tiles, size_t max_tiles,
                        size_t* n_tiles) {
  return cropcube::guarded([&] { return cropcube::plan_tiles_abi(height, width, tile_size, downsampling_factor, halo,
                                                                 core, effective_tile_size, tiles, max_tiles, n_tiles); });
}

int cropcube_classify(cropcube_model* model, const cropcube_input* input, const cropcube_output* output) {
  return cropcube::guarded([&] { return cropcube::classify(model, input, output); });
}

}  // extern "C"
