// The kernel owns tile geometry: a core window inside a larger buffer, the handle's effective settings,
// and the tile plan it runs (cropcube_plan_tiles; tests/test_tiling.py holds that plan to the Python one).
//
// Usage: test_kernel_core_window FIXTURE_BUNDLE.pt [unused]
#include <cstring>

#include "test_common.hpp"

namespace {

const char* g_bundle = nullptr;

// Classes of the core window (row, col, rows, cols) of a planar cube of h x w.
std::vector<uint8_t> run_core(cropcube_model* m, const std::vector<uint16_t>& cube, int64_t h, int64_t w, int64_t row,
                              int64_t col, int64_t rows, int64_t cols) {
  cropcube_input in = planar_input(cube.data(), CROPCUBE_UINT16, h, w);
  in.core_row = row, in.core_col = col, in.core_rows = rows, in.core_cols = cols;
  const int64_t oh = rows ? rows : h, ow = cols ? cols : w;  // all 0: the whole extent
  std::vector<uint8_t> out(size_t(oh * ow), 0xAB);
  cropcube_output o = image_output(out.data(), nullptr, oh, ow);
  CHECK_RC(cropcube_classify(m, &in, &o), CROPCUBE_OK);
  return out;
}

// A core window on the pooling grid equals the whole-image result cut to it, whatever the tile size.
void test_core_window_equals_whole_image() {
  const int64_t h = 70, w = 90;
  const auto cube = make_cube(h, w, 5);
  cropcube_options opts;
  cropcube_default_options(&opts);
  opts.num_threads = 1;
  cropcube_model* whole_model = open_or_die(g_bundle, &opts);
  const auto whole = run_core(whole_model, cube, h, w, 0, 0, 0, 0);  // all 0: the whole extent
  opts.tile_size = 16;
  cropcube_model* m = open_or_die(g_bundle, &opts);
  const int64_t row = 12, col = 20, rows = 33, cols = 41;
  const auto core = run_core(m, cube, h, w, row, col, rows, cols);
  int64_t differ = 0;
  for (int64_t y = 0; y < rows; ++y)
    for (int64_t x = 0; x < cols; ++x) differ += core[size_t(y * cols + x)] != whole[size_t((row + y) * w + col + x)];
  CHECK(differ == 0);
  cropcube_close(m);
  cropcube_close(whole_model);
}

// A core outside the extent is refused before anything is written; the error names the core.
void test_bad_core_windows() {
  const int64_t h = 20, w = 20;
  const auto cube = make_cube(h, w, 1);
  cropcube_model* m = open_or_die(g_bundle, nullptr);
  const int64_t bad[][4] = {{-1, 0, 4, 4}, {0, 0, 21, 4}, {10, 10, 11, 1}, {0, 0, 0, 5}, {3, 0, 0, 0}};
  for (const auto& c : bad) {
    cropcube_input in = planar_input(cube.data(), CROPCUBE_UINT16, h, w);
    in.core_row = c[0], in.core_col = c[1], in.core_rows = c[2], in.core_cols = c[3];
    std::vector<uint8_t> out(size_t(h * w), 0xAB);
    cropcube_output o = image_output(out.data(), nullptr, h, w);
    CHECK_RC(cropcube_classify(m, &in, &o), CROPCUBE_E_SHAPE);
    CHECK(std::strstr(cropcube_last_error(), "input.core_") != nullptr);
    CHECK(std::all_of(out.begin(), out.end(), [](uint8_t v) { return v == 0xAB; }));
  }
  // The output must hold the core, not the extent: a core-sized buffer is enough, a smaller one is refused.
  cropcube_input in = planar_input(cube.data(), CROPCUBE_UINT16, h, w);
  in.core_row = 2, in.core_col = 2, in.core_rows = 8, in.core_cols = 8;
  std::vector<uint8_t> out(size_t(8 * 7));
  cropcube_output o = image_output(out.data(), nullptr, 8, 7);
  CHECK_RC(cropcube_classify(m, &in, &o), CROPCUBE_E_SHAPE);
  cropcube_close(m);
}

// get_info reports the effective settings: tile rounded to the downsampling factor, resolved defaults.
void test_get_info() {
  cropcube_options opts;
  cropcube_default_options(&opts);
  opts.tile_size = 30;
  opts.num_threads = 2;
  opts.device = CROPCUBE_DEVICE_CPU;
  cropcube_model* m = open_or_die(g_bundle, &opts);
  cropcube_info info;
  std::memset(&info, 0xFF, sizeof(info));
  CHECK_RC(cropcube_get_info(m, &info), CROPCUBE_OK);
  CHECK(info.n_dates == 7 && info.n_bands == 4 && info.n_classes == 76);
  CHECK(info.downsampling_factor == 4 && info.tile_size == 32);
  CHECK(info.batch_size == 1 && info.device == CROPCUBE_DEVICE_CPU && info.num_threads == 2);
  CHECK(info.precision == CROPCUBE_PRECISION_FLOAT32 && info.nonfinite == CROPCUBE_NONFINITE_ERROR);
  CHECK_RC(cropcube_get_info(m, nullptr), CROPCUBE_E_INVALID_ARGUMENT);
  CHECK_RC(cropcube_get_info(nullptr, &info), CROPCUBE_E_INVALID_ARGUMENT);
  cropcube_close(m);
}

// The plan: the 608 x 608 window of one 512 core with a 48 px halo is one tile; a buffer too small is refused.
void test_plan_tiles() {
  const int64_t core[4] = {48, 48, 512, 512};
  int64_t tile = 0, tiles[16];
  size_t n = 0;
  CHECK_RC(cropcube_plan_tiles(608, 608, 512, 16, 48, core, &tile, tiles, 2, &n), CROPCUBE_OK);
  CHECK(tile == 512 && n == 1);
  const int64_t expected[8] = {48, 560, 48, 560, 0, 608, 0, 608};
  CHECK(std::equal(expected, expected + 8, tiles));
  CHECK_RC(cropcube_plan_tiles(2144, 2144, 512, 16, 48, nullptr, &tile, nullptr, 0, &n), CROPCUBE_OK);
  CHECK(n == 25);  // re-tiling a file block window: what the core window avoids
  const int64_t block_core[4] = {48, 48, 2048, 2048};
  CHECK_RC(cropcube_plan_tiles(2144, 2144, 512, 16, 48, block_core, &tile, nullptr, 0, &n), CROPCUBE_OK);
  CHECK(n == 16);
  CHECK_RC(cropcube_plan_tiles(2144, 2144, 512, 16, 48, block_core, &tile, tiles, 1, &n), CROPCUBE_E_INVALID_ARGUMENT);
  CHECK_RC(cropcube_plan_tiles(0, 10, 0, 4, 8, nullptr, &tile, nullptr, 0, &n), CROPCUBE_E_SHAPE);
  CHECK_RC(cropcube_plan_tiles(10, 10, -1, 4, 8, nullptr, &tile, nullptr, 0, &n), CROPCUBE_E_INVALID_ARGUMENT);
  CHECK_RC(cropcube_plan_tiles(10, 10, 0, 4, 8, nullptr, nullptr, nullptr, 0, &n), CROPCUBE_E_INVALID_ARGUMENT);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FIXTURE_BUNDLE.pt\n", argv[0]);
    return 2;
  }
  g_bundle = argv[1];
  test_core_window_equals_whole_image();
  test_bad_core_windows();
  test_get_info();
  test_plan_tiles();
  if (g_failures) std::fprintf(stderr, "%d check(s) failed\n", g_failures);
  return g_failures ? 1 : 0;
}
