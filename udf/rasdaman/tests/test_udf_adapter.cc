/*
 * Tests of the crop.classify adapter with exactly the domains and layouts rasdaman hands a UDF.
 *
 *   test_udf_adapter BUNDLE.pt
 *
 * Layout tests check every stride by reading cells through the descriptor; model tests run the kernel
 * on the same scene in every layout and orientation and compare with the plain image layout.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <ctime>
#include <fstream>
#include <iterator>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "adapter.h"

using cropcube_udf::ArrayView;
using cropcube_udf::BandLayout;
using cropcube_udf::BandType;
using cropcube_udf::Interval;
using cropcube_udf::ModelShape;
using cropcube_udf::Plan;
using cropcube_udf::UdfError;

namespace {

int failures = 0;

#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond)) {                                                         \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                          \
    }                                                                      \
  } while (0)

/* The call must throw UdfError whose message contains `needle`. */
void check_error(const char* name, const std::function<void()>& call, const std::string& needle) {
  try {
    call();
    std::fprintf(stderr, "%s: expected an error containing '%s', got none\n", name, needle.c_str());
    ++failures;
  } catch (const UdfError& e) {
    const std::string text = e.what();
    if (text.find(needle) == std::string::npos || text.rfind("crop.classify: ", 0) != 0) {
      std::fprintf(stderr, "%s: error '%s' does not contain '%s'\n", name, text.c_str(), needle.c_str());
      ++failures;
    }
  } catch (...) {
    std::fprintf(stderr, "%s: threw something other than UdfError\n", name);
    ++failures;
  }
}

constexpr int64_t kT = 7;
constexpr int64_t kC = 4;
const ModelShape kShape{kT, kC};

/* A scene in image order: value(date, band, row, col), deterministic, never 0 (0 = nodata). */
struct Scene {
  int64_t height, width;
  std::vector<uint16_t> planes;  // (T*C, H, W)
  uint16_t at(int64_t t, int64_t c, int64_t row, int64_t col) const {
    return planes[static_cast<size_t>(((t * kC + c) * height + row) * width + col)];
  }
};

Scene make_scene(int64_t height, int64_t width, unsigned seed) {
  Scene s{height, width, std::vector<uint16_t>(static_cast<size_t>(kT * kC * height * width))};
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> noise(0, 400);
  for (int64_t k = 0; k < kT * kC; ++k)
    for (int64_t r = 0; r < height; ++r)
      for (int64_t c = 0; c < width; ++c) {
        // Fields: smooth per-band structure plus noise, so the map has real spatial patterns.
        const int field = static_cast<int>(((r / 5) * 7 + (c / 4) * 3 + k * 11) % 17);
        s.planes[static_cast<size_t>((k * height + r) * width + c)] =
            static_cast<uint16_t>(300 + field * 250 + noise(rng));
      }
  return s;
}

/*
 * The array rasdaman would hand for this scene: axes (E, N) [2-D, T*C-band cells] or (t, E, N)
 * [3-D, C-band cells]; E index = image col, N index = image row (index 0 = north); last axis fastest.
 */
std::vector<uint16_t> rasdaman_cells(const Scene& s, bool three_d, BandLayout layout) {
  const int64_t E = s.width, N = s.height;
  std::vector<uint16_t> out(s.planes.size());
  for (int64_t t = 0; t < kT; ++t)
    for (int64_t c = 0; c < kC; ++c)
      for (int64_t e = 0; e < E; ++e)
        for (int64_t n = 0; n < N; ++n) {
          int64_t idx = 0;
          const int64_t k = t * kC + c;
          if (!three_d && layout == BandLayout::PixelInterleaved) idx = (e * N + n) * kT * kC + k;
          if (!three_d && layout == BandLayout::ChannelInterleaved) idx = k * E * N + e * N + n;
          if (three_d && layout == BandLayout::PixelInterleaved) idx = ((t * E + e) * N + n) * kC + c;
          if (three_d && layout == BandLayout::ChannelInterleaved) idx = c * kT * E * N + (t * E + e) * N + n;
          out[static_cast<size_t>(idx)] = s.at(t, c, n, e);
        }
  return out;
}

ArrayView view_for(const std::vector<uint16_t>& cells, bool three_d, BandLayout layout, int64_t e0, int64_t n0,
                   int64_t width, int64_t height) {
  ArrayView v;
  if (three_d) v.domain.push_back(Interval{0, kT - 1, true});
  v.domain.push_back(Interval{e0, e0 + width - 1, true});
  v.domain.push_back(Interval{n0, n0 + height - 1, true});
  v.band_type = BandType::UInt16;
  v.n_bands = three_d ? kC : kT * kC;
  v.type_length = v.n_bands * 2;
  v.type_name = three_d ? "struct { ushort B02, B03, B04, B08 }" : "struct { ushort Band_1, ..., Band_28 }";
  v.band_layout = layout;
  v.data = cells.data();
  v.byte_size = cells.size() * sizeof(uint16_t);
  return v;
}

/* Every (t, c, row, col) read through the plan's strides equals the scene. */
void test_strides_read_the_scene() {
  const Scene s = make_scene(5, 3, 1);  // non-square: a missed transpose cannot go unnoticed
  for (bool three_d : {false, true})
    for (BandLayout layout : {BandLayout::PixelInterleaved, BandLayout::ChannelInterleaved}) {
      const auto cells = rasdaman_cells(s, three_d, layout);
      const Plan p = cropcube_udf::plan_classification(view_for(cells, three_d, layout, -7, 100, 3, 5), kShape);
      CHECK(p.input.height == 5 && p.input.width == 3);
      CHECK(p.input.n_elements == cells.size());
      CHECK(p.input.dtype == CROPCUBE_UINT16);
      bool same = true;
      for (int64_t t = 0; t < kT; ++t)
        for (int64_t c = 0; c < kC; ++c)
          for (int64_t r = 0; r < 5; ++r)
            for (int64_t col = 0; col < 3; ++col) {
              const int64_t i = t * p.input.stride_date + c * p.input.stride_band + r * p.input.stride_row +
                                col * p.input.stride_col;
              same = same && i >= 0 && static_cast<size_t>(i) < cells.size() &&
                     cells[static_cast<size_t>(i)] == s.at(t, c, r, col);
            }
      CHECK(same);
      // Output: same (E, N) domain as the input, [e][n] with N fastest.
      CHECK(p.out_domain.size() == 2);
      CHECK(p.out_domain[0].lo == -7 && p.out_domain[0].hi == -5);
      CHECK(p.out_domain[1].lo == 100 && p.out_domain[1].hi == 104);
      CHECK(p.out_cells == 15);
      CHECK(p.out_stride_row == 1 && p.out_stride_col == 5);
    }
}

void test_other_band_types() {
  std::vector<int16_t> shorts(2 * 2 * 28, 5);
  ArrayView v;
  v.domain = {Interval{0, 1, true}, Interval{0, 1, true}};
  v.band_type = BandType::Int16;
  v.n_bands = 28;
  v.type_length = 56;
  v.data = shorts.data();
  v.byte_size = shorts.size() * 2;
  CHECK(cropcube_udf::plan_classification(v, kShape).input.dtype == CROPCUBE_INT16);
  std::vector<float> floats(2 * 2 * 28, 5.f);
  v.band_type = BandType::Float32;
  v.type_length = 112;
  v.data = floats.data();
  v.byte_size = floats.size() * 4;
  CHECK(cropcube_udf::plan_classification(v, kShape).input.dtype == CROPCUBE_FLOAT32);
}

void test_common_band_type() {
  using cropcube_udf::common_band_type;
  CHECK(common_band_type(std::vector<BandType>(28, BandType::UInt16)) == BandType::UInt16);
  CHECK(common_band_type({BandType::Float32}) == BandType::Float32);
  CHECK(common_band_type({BandType::UInt16, BandType::Int16}) == BandType::Mixed);
  CHECK(common_band_type({}) == BandType::Other);
}

void test_errors() {
  const Scene s = make_scene(4, 4, 2);
  const auto cells = rasdaman_cells(s, false, BandLayout::PixelInterleaved);
  const ArrayView good = view_for(cells, false, BandLayout::PixelInterleaved, 0, 0, 4, 4);
  auto plan = [](ArrayView v) { return [v] { cropcube_udf::plan_classification(v, kShape); }; };

  ArrayView one_d = good;
  one_d.domain = {Interval{0, 447, true}};
  check_error("1-D", plan(one_d), "input is 1-D");
  ArrayView four_d = good;
  four_d.domain.insert(four_d.domain.begin(), 2, Interval{0, 0, true});
  check_error("4-D", plan(four_d), "input is 4-D");
  ArrayView empty = good;
  empty.domain[1] = Interval{5, 4, true};
  check_error("empty domain", plan(empty), "is empty on axis 1");
  ArrayView open = good;
  open.domain[0].bounded = false;
  check_error("open bound", plan(open), "open bound");
  ArrayView chars = good;
  chars.band_type = BandType::UInt8;
  chars.type_length = 28;
  chars.type_name = "struct { char b1, ... }";
  check_error("wrong cell type", plan(chars), "cell type 'struct { char b1, ... }' (char bands) is not supported");
  ArrayView mixed = good;
  mixed.band_type = BandType::Mixed;
  check_error("mixed struct", plan(mixed), "(mixed bands) is not supported");
  ArrayView bands = good;
  bands.n_bands = 27;
  bands.type_length = 54;
  check_error("wrong band count", plan(bands), "2-D input cells have 27 bands; this model needs 28");
  ArrayView bands3 = view_for(rasdaman_cells(s, true, BandLayout::PixelInterleaved), true,
                              BandLayout::PixelInterleaved, 0, 0, 4, 4);
  bands3.n_bands = 28;
  bands3.type_length = 56;
  check_error("3-D band count", plan(bands3), "3-D input cells have 28 bands; this model needs 4");
  ArrayView dates = view_for(rasdaman_cells(s, true, BandLayout::PixelInterleaved), true,
                             BandLayout::PixelInterleaved, 0, 0, 4, 4);
  dates.domain[0] = Interval{0, 5, true};
  check_error("3-D date count", plan(dates), "has 6 time slices");
  ArrayView size = good;
  size.byte_size -= 2;
  check_error("size mismatch", plan(size), "bytes, but domain [0:3,0:3] of 56-byte cells needs 896");
  ArrayView length = good;
  length.type_length = 60;
  check_error("type length", plan(length), "is 60 bytes, which is not 28 bands of 2 bytes");
  ArrayView null_data = good;
  null_data.data = nullptr;
  check_error("no data", plan(null_data), "no data");
  ArrayView huge = good;
  huge.domain = {Interval{INT64_MIN, INT64_MAX, true}, Interval{0, 1, true}};
  check_error("overflow", plan(huge), "too large");
}

/* One map per layout/orientation, all equal to the image-order map; the output keeps nodata. */
void test_classification_in_every_layout(cropcube_model* model) {
  const Scene s = make_scene(37, 23, 3);
  std::vector<uint8_t> reference(static_cast<size_t>(37 * 23));
  {
    cropcube_input in{};
    in.data = s.planes.data();
    in.n_elements = s.planes.size();
    in.dtype = CROPCUBE_UINT16;
    in.n_dates = kT;
    in.n_bands = kC;
    in.height = 37;
    in.width = 23;
    in.stride_date = kC * 37 * 23;
    in.stride_band = 37 * 23;
    in.stride_row = 23;
    in.stride_col = 1;
    cropcube_output out{};
    out.classes = reference.data();
    out.n_elements = reference.size();
    out.stride_row = 23;
    out.stride_col = 1;
    CHECK(cropcube_classify(model, &in, &out) == CROPCUBE_OK);
  }
  int distinct = 0;
  std::vector<bool> seen(256, false);
  for (uint8_t v : reference) {
    distinct += seen[v] ? 0 : 1;
    seen[v] = true;
  }
  CHECK(distinct > 1);  // a constant map would hide orientation errors
  CHECK(!seen[0]);      // no nodata in the scene

  for (bool three_d : {false, true})
    for (BandLayout layout : {BandLayout::PixelInterleaved, BandLayout::ChannelInterleaved}) {
      auto cells = rasdaman_cells(s, three_d, layout);
      const ArrayView view = view_for(cells, three_d, layout, 250, -40, 23, 37);
      const Plan plan = cropcube_udf::plan_classification(view, cropcube_udf::model_shape(model));
      std::vector<uint8_t> out(plan.out_cells, 255);
      cropcube_udf::classify_into(plan, model, out.data(), out.size());
      bool same = true;
      for (int64_t e = 0; e < 23; ++e)
        for (int64_t n = 0; n < 37; ++n)
          same = same && out[static_cast<size_t>(e * 37 + n)] == reference[static_cast<size_t>(n * 23 + e)];
      CHECK(same);
      CHECK(plan.out_domain[0].lo == 250 && plan.out_domain[1].lo == -40);
    }

  // A cell whose bands are all 0 is nodata: class 0 at exactly that (e, n).
  auto cells = rasdaman_cells(s, false, BandLayout::PixelInterleaved);
  const int64_t e = 4, n = 30;
  for (int64_t k = 0; k < kT * kC; ++k) cells[static_cast<size_t>((e * 37 + n) * kT * kC + k)] = 0;
  const Plan plan = cropcube_udf::plan_classification(
      view_for(cells, false, BandLayout::PixelInterleaved, 0, 0, 23, 37), cropcube_udf::model_shape(model));
  std::vector<uint8_t> out(plan.out_cells, 255);
  cropcube_udf::classify_into(plan, model, out.data(), out.size());
  CHECK(out[static_cast<size_t>(e * 37 + n)] == 0);
  CHECK(out[static_cast<size_t>(e * 37 + n + 1)] != 0);
}

std::vector<char> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_file(const std::string& path, const std::vector<char>& bytes, size_t n) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);  // in place: same inode
  out.write(bytes.data(), static_cast<std::streamsize>(n));
}

std::string metadata_of(const cropcube_udf::SharedModel& model) { return cropcube_metadata_json(model.get()); }

void age(const std::string& path, int seconds) {  // pretend the file was last changed `seconds` ago
  struct timespec times[2];
  clock_gettime(CLOCK_REALTIME, &times[0]);
  times[0].tv_sec -= seconds;
  times[1] = times[0];
  utimensat(AT_FDCWD, path.c_str(), times, 0);
}

void test_process_model(const char* bundle, const char* bundle2) {
  char dir_template[] = "/tmp/cropcube_udf_reload_XXXXXX";
  const std::string dir = mkdtemp(dir_template);
  const std::string path = dir + "/model.pt";
  const auto first = read_file(bundle), second = read_file(bundle2);
  unsetenv("CROPCUBE_CONFIG");
  // Missing bundle: a clean error naming the path, and nothing cached.
  setenv("CROPCUBE_MODEL", path.c_str(), 1);
  check_error("missing bundle", [] { cropcube_udf::process_model(); }, path);
  write_file(path, first, first.size());
  age(path, 10);
  const auto a = cropcube_udf::process_model();
  CHECK(a != nullptr);
  // Unchanged files: the same handle (stat only).
  CHECK(cropcube_udf::process_model() == a);
  const std::string meta_a = metadata_of(a);
  // Atomic replacement (rename): the next call serves the new bundle; a call in flight keeps the old one.
  const std::string tmp = dir + "/model.pt.part";
  write_file(tmp, second, second.size());
  CHECK(std::rename(tmp.c_str(), path.c_str()) == 0);
  const auto b = cropcube_udf::process_model();
  CHECK(metadata_of(b) != meta_a);
  CHECK(metadata_of(a) == meta_a);
  // In-place rewrite within the same clock tick: the stamp may not change, the content hash does.
  write_file(path, first, first.size());
  CHECK(metadata_of(cropcube_udf::process_model()) == meta_a);
  // A torn file (a writer half-way): a clean error naming the bundle, the old handle still usable.
  write_file(path, second, second.size() / 2);
  check_error("torn bundle", [] { cropcube_udf::process_model(); }, "cannot open model bundle '" + path + "'");
  CHECK(metadata_of(a) == meta_a);
  write_file(path, second, second.size());
  CHECK(metadata_of(cropcube_udf::process_model()) == metadata_of(b));
  // Settings: threads default to one per server process; the config file is re-read when it changes.
  CHECK(cropcube_udf::udf_options().num_threads == cropcube_udf::kUdfDefaultThreads);
  const std::string conf = dir + "/cropcube.conf";
  { std::ofstream(conf) << "model = model.pt\nthreads = 3\nprecision = bfloat16\n"; }
  unsetenv("CROPCUBE_MODEL");
  setenv("CROPCUBE_CONFIG", conf.c_str(), 1);
  CHECK(cropcube_udf::udf_options().num_threads == 3);
  CHECK(cropcube_udf::udf_options().precision == CROPCUBE_PRECISION_BFLOAT16);
  CHECK(metadata_of(cropcube_udf::process_model()) == metadata_of(b));
  { std::ofstream(conf) << "model = model.pt\nthreads = 2 # fewer\n"; }
  age(conf, 5);  // a different stamp even within one clock tick
  CHECK(cropcube_udf::udf_options().num_threads == 2);
  { std::ofstream(conf) << "model = model.pt\nthreads = lots\n"; }
  age(conf, 7);
  check_error("bad config line", [] { cropcube_udf::process_model(); }, conf + " line 2: threads = 'lots'");
  unsetenv("CROPCUBE_CONFIG");
  std::remove(conf.c_str());
  std::remove(path.c_str());
  rmdir(dir.c_str());
}

void test_error_text() {
  using cropcube_udf::udf_error_text;
  const std::string table =
      "Execution error $errorNo in line $lineNo, column $columnNo, near token $token: General error reported by "
      "the language template when executing the UDF.";
  CHECK(udf_error_text(table, "crop.classify: bad") ==
        "Execution error 448: General error reported by the language template when executing the UDF: crop.classify: bad");
  // Missing table or an unknown placeholder: the fixed text, never a '$'.
  for (const std::string& t : {std::string(), std::string("no explanation text available - cannot find/load file"),
                               std::string("Error $what happened at 448")}) {
    const std::string text = udf_error_text(t, "crop.classify: x");
    CHECK(text.find('$') == std::string::npos && text.find("448") != std::string::npos &&
          text.find("crop.classify: x") != std::string::npos);
  }
}

}  // namespace

int main(int argc, char** argv) {
  test_strides_read_the_scene();
  test_other_band_types();
  test_common_band_type();
  test_errors();
  if (argc < 2) {
    std::fprintf(stderr, "usage: test_udf_adapter BUNDLE.pt\n");
    return 2;
  }
  cropcube_model* model = nullptr;
  if (cropcube_open(argv[1], nullptr, &model) != CROPCUBE_OK) {
    std::fprintf(stderr, "cannot open %s: %s\n", argv[1], cropcube_last_error());
    return 1;
  }
  test_classification_in_every_layout(model);
  cropcube_close(model);
  test_error_text();
  test_process_model(argv[1], argc > 2 ? argv[2] : argv[1]);
  if (failures) {
    std::fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  std::printf("test_udf_adapter: all checks passed\n");
  return 0;
}
