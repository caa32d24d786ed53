// Unit tests of the kernel's C ABI: layouts, axis orders, dtypes, extents, nodata, NaN handling,
// invalid arguments, missing/corrupt bundles, the bundle cache and thread safety.
//
// Usage: test_kernel_abi FIXTURE_BUNDLE.pt OTHER_FIXTURE_BUNDLE.pt
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <thread>

#include "test_common.hpp"

namespace {

const char* g_bundle = nullptr;
const char* g_bundle2 = nullptr;

std::vector<uint8_t> run(cropcube_model* m, const cropcube_input& in, int64_t h, int64_t w) {
  std::vector<uint8_t> out(size_t(h * w), 0xAB);
  cropcube_output o = image_output(out.data(), nullptr, h, w);
  CHECK_RC(cropcube_classify(m, &in, &o), CROPCUBE_OK);
  return out;
}

void test_version() {
  CHECK(cropcube_abi_version() == CROPCUBE_ABI_VERSION);
  CHECK(std::strlen(cropcube_version()) > 0);
  CHECK(std::string(cropcube_last_error()).empty() || true);
}

void test_open_errors() {
  cropcube_model* m = nullptr;
  CHECK_RC(cropcube_open("/nonexistent/dir/model.pt", nullptr, &m), CROPCUBE_E_IO);
  CHECK(m == nullptr);
  CHECK(std::string(cropcube_last_error()).find("/nonexistent/dir/model.pt") != std::string::npos);
  CHECK_RC(cropcube_open(g_bundle, nullptr, nullptr), CROPCUBE_E_INVALID_ARGUMENT);

  const std::string garbage = "garbage_bundle.pt";
  {
    std::ofstream f(garbage, std::ios::binary);
    f << "this is not a TorchScript archive at all";
  }
  CHECK_RC(cropcube_open(garbage.c_str(), nullptr, &m), CROPCUBE_E_BAD_BUNDLE);
  CHECK(m == nullptr);

  // A truncated copy of a real bundle (a download cut short).
  std::ifstream src(g_bundle, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(src)), std::istreambuf_iterator<char>());
  const std::string truncated = "truncated_bundle.pt";
  {
    std::ofstream f(truncated, std::ios::binary);
    f.write(bytes.data(), std::streamsize(bytes.size() / 2));
  }
  CHECK_RC(cropcube_open(truncated.c_str(), nullptr, &m), CROPCUBE_E_BAD_BUNDLE);
  CHECK(m == nullptr);

  cropcube_options bad;
  cropcube_default_options(&bad);
  bad.device = 7;
  CHECK_RC(cropcube_open(g_bundle, &bad, &m), CROPCUBE_E_INVALID_ARGUMENT);
  cropcube_default_options(&bad);
  bad.nonfinite = -1;
  CHECK_RC(cropcube_open(g_bundle, &bad, &m), CROPCUBE_E_INVALID_ARGUMENT);
  cropcube_default_options(&bad);
  bad.tile_size = -5;
  CHECK_RC(cropcube_open(g_bundle, &bad, &m), CROPCUBE_E_INVALID_ARGUMENT);
  cropcube_close(nullptr);  // must be harmless
}

void test_model_info() {
  cropcube_model* m = open_or_die(g_bundle, nullptr);
  int64_t t = 0, c = 0, k = 0, halo = 0, d = 0;
  CHECK_RC(cropcube_model_info(m, &t, &c, &k, &halo, &d), CROPCUBE_OK);
  CHECK(t == 7 && c == 4 && k == 76 && d == 4 && halo == 12);
  CHECK_RC(cropcube_model_info(nullptr, &t, &c, &k, &halo, &d), CROPCUBE_E_INVALID_ARGUMENT);
  CHECK_RC(cropcube_model_info(m, nullptr, &c, &k, &halo, &d), CROPCUBE_E_INVALID_ARGUMENT);
  std::string meta = cropcube_metadata_json(m);
  CHECK(meta.find("\"format\":\"cropcube-bundle\"") != std::string::npos);
  CHECK(cropcube_metadata_json(nullptr) == nullptr);
  cropcube_close(m);
}

void test_invalid_arguments() {
  cropcube_model* m = open_or_die(g_bundle, nullptr);
  const int64_t h = 5, w = 6;
  auto cube = make_cube(h, w, 1);
  std::vector<uint8_t> out(size_t(h * w), 0xAB);
  cropcube_input in = planar_input(cube.data(), CROPCUBE_UINT16, h, w);
  cropcube_output o = image_output(out.data(), nullptr, h, w);

  CHECK_RC(cropcube_classify(nullptr, &in, &o), CROPCUBE_E_INVALID_ARGUMENT);
  CHECK_RC(cropcube_classify(m, nullptr, &o), CROPCUBE_E_INVALID_ARGUMENT);
  CHECK_RC(cropcube_classify(m, &in, nullptr), CROPCUBE_E_INVALID_ARGUMENT);
  cropcube_input bad = in;
  bad.data = nullptr;
  CHECK_RC(cropcube_classify(m, &bad, &o), CROPCUBE_E_INVALID_ARGUMENT);
  bad = in;
  bad.dtype = 9;
  CHECK_RC(cropcube_classify(m, &bad, &o), CROPCUBE_E_INVALID_ARGUMENT);
  bad = in;
  bad.n_bands = 3;
  CHECK_RC(cropcube_classify(m, &bad, &o), CROPCUBE_E_SHAPE);
  CHECK(std::string(cropcube_last_error()).find("bands") != std::string::npos);
  bad = in;
  bad.height = 0;
  CHECK_RC(cropcube_classify(m, &bad, &o), CROPCUBE_E_SHAPE);
  bad = in;
  bad.width = -3;
  CHECK_RC(cropcube_classify(m, &bad, &o), CROPCUBE_E_SHAPE);
  bad = in;
  bad.n_elements -= 1;  // the last element is out of bounds
  CHECK_RC(cropcube_classify(m, &bad, &o), CROPCUBE_E_SHAPE);
  bad = in;
  bad.stride_row = -w;  // negative offsets from data
  CHECK_RC(cropcube_classify(m, &bad, &o), CROPCUBE_E_SHAPE);
  bad = in;
  bad.stride_date = std::numeric_limits<int64_t>::max() / 2;  // overflow
  CHECK_RC(cropcube_classify(m, &bad, &o), CROPCUBE_E_SHAPE);

  cropcube_output bo = o;
  bo.classes = nullptr;
  CHECK_RC(cropcube_classify(m, &in, &bo), CROPCUBE_E_INVALID_ARGUMENT);
  bo = o;
  bo.n_elements = size_t(h * w - 1);
  CHECK_RC(cropcube_classify(m, &in, &bo), CROPCUBE_E_SHAPE);
  std::vector<float> probs(10);
  bo = o;
  bo.probabilities = probs.data();
  bo.prob_n_elements = probs.size();
  bo.prob_stride_class = h * w;
  bo.prob_stride_row = w;
  bo.prob_stride_col = 1;
  CHECK_RC(cropcube_classify(m, &in, &bo), CROPCUBE_E_SHAPE);
  for (uint8_t v : out) CHECK(v == 0xAB);  // nothing was written on any failure
  cropcube_close(m);
}

void test_layouts_and_axis_orders() {
  cropcube_model* m = open_or_die(g_bundle, nullptr);
  const int64_t h = 37, w = 53, n = 28;
  auto planar = make_cube(h, w, 2);
  const auto ref = run(m, planar_input(planar.data(), CROPCUBE_UINT16, h, w), h, w);
  int distinct[256] = {0};
  for (uint8_t v : ref) distinct[v] = 1;
  int n_distinct = 0;
  for (int v : distinct) n_distinct += v;
  CHECK(n_distinct >= 3);  // the fixture separates the synthetic fields
  CHECK(distinct[0] == 0 && distinct[0xAB] == 0);

  // Pixel-interleaved image (H, W, 28).
  std::vector<uint16_t> inter(planar.size());
  for (int64_t k = 0; k < n; ++k)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) inter[size_t((y * w + x) * n + k)] = planar[size_t((k * h + y) * w + x)];
  cropcube_input in = planar_input(inter.data(), CROPCUBE_UINT16, h, w);
  in.stride_date = 4, in.stride_band = 1, in.stride_row = n * w, in.stride_col = n;
  CHECK(run(m, in, h, w) == ref);

  // rasdaman [E][N] with 28-band struct cells (pixel-interleaved), output also [E][N].
  std::vector<uint16_t> ras(planar.size());
  for (int64_t k = 0; k < n; ++k)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) ras[size_t((x * h + y) * n + k)] = planar[size_t((k * h + y) * w + x)];
  in = planar_input(ras.data(), CROPCUBE_UINT16, h, w);
  in.stride_date = 4, in.stride_band = 1, in.stride_row = n, in.stride_col = n * h;
  std::vector<uint8_t> out_en(size_t(h * w), 0xAB);
  cropcube_output o = image_output(out_en.data(), nullptr, h, w);
  o.stride_row = 1, o.stride_col = h;  // out[e][n]
  CHECK_RC(cropcube_classify(m, &in, &o), CROPCUBE_OK);
  size_t same = 0;
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) same += out_en[size_t(x * h + y)] == ref[size_t(y * w + x)];
  CHECK(same == ref.size());

  // rasdaman band-planar (28, E, N).
  std::vector<uint16_t> rasp(planar.size());
  for (int64_t k = 0; k < n; ++k)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) rasp[size_t((k * w + x) * h + y)] = planar[size_t((k * h + y) * w + x)];
  in = planar_input(rasp.data(), CROPCUBE_UINT16, h, w);
  in.stride_date = 4 * h * w, in.stride_band = h * w, in.stride_row = 1, in.stride_col = h;
  CHECK(run(m, in, h, w) == ref);

  // Negative strides reaching before data are refused (bounds are [0, n_elements) from data).
  std::vector<uint16_t> flipped(planar.size());
  for (int64_t k = 0; k < n; ++k)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x)
        flipped[size_t((k * h + (h - 1 - y)) * w + x)] = planar[size_t((k * h + y) * w + x)];
  in = planar_input(flipped.data() + (h - 1) * w, CROPCUBE_UINT16, h, w);
  in.stride_row = -w;
  in.n_elements = flipped.size() - size_t((h - 1) * w);  // bounds are relative to data
  CHECK_RC(cropcube_classify(m, &in, &o), CROPCUBE_E_SHAPE);
  cropcube_close(m);
}

void test_dtypes() {
  cropcube_model* m = open_or_die(g_bundle, nullptr);
  const int64_t h = 21, w = 19;
  auto cube = make_cube(h, w, 3);
  const auto ref = run(m, planar_input(cube.data(), CROPCUBE_UINT16, h, w), h, w);
  std::vector<int16_t> i16(cube.begin(), cube.end());
  std::vector<float> f32(cube.begin(), cube.end());
  CHECK(run(m, planar_input(i16.data(), CROPCUBE_INT16, h, w), h, w) == ref);
  CHECK(run(m, planar_input(f32.data(), CROPCUBE_FLOAT32, h, w), h, w) == ref);
  cropcube_close(m);
}

void test_extents_and_tiling() {
  cropcube_options whole;
  cropcube_default_options(&whole);
  whole.tile_size = 4096;
  cropcube_options tiny = whole;
  tiny.tile_size = 16;
  tiny.batch_size = 3;
  cropcube_model* mw = open_or_die(g_bundle, &whole);
  cropcube_model* mt = open_or_die(g_bundle, &tiny);

  auto one = make_cube(1, 1, 4);
  auto r1 = run(mw, planar_input(one.data(), CROPCUBE_UINT16, 1, 1), 1, 1);
  CHECK(r1[0] >= 1 && r1[0] <= 76);

  const int64_t h = 7, w = 3000;
  auto strip = make_cube(h, w, 5);
  auto a = run(mw, planar_input(strip.data(), CROPCUBE_UINT16, h, w), h, w);
  auto b = run(mt, planar_input(strip.data(), CROPCUBE_UINT16, h, w), h, w);
  CHECK(agreement(a, b) >= 0.9999);
  for (uint8_t v : a) CHECK(v >= 1 && v <= 76);

  const int64_t hh = 70, ww = 45;  // not multiples of the tile or the downsampling factor
  auto img = make_cube(hh, ww, 6);
  a = run(mw, planar_input(img.data(), CROPCUBE_UINT16, hh, ww), hh, ww);
  b = run(mt, planar_input(img.data(), CROPCUBE_UINT16, hh, ww), hh, ww);
  CHECK(agreement(a, b) >= 0.9999);
  cropcube_close(mw);
  cropcube_close(mt);
}

void test_nodata_confidence_probabilities() {
  cropcube_model* m = open_or_die(g_bundle, nullptr);
  const int64_t h = 12, w = 16, n = 28;
  auto cube = make_cube(h, w, 7);
  for (int64_t k = 0; k < n; ++k) {
    cube[size_t((k * h + 3) * w + 4)] = 0;  // (3, 4): all bands nodata
    if (k < 8) cube[size_t((k * h + 5) * w + 6)] = 0;  // (5, 6): two dates missing only
  }
  std::vector<uint8_t> cls(size_t(h * w)), conf(size_t(h * w));
  std::vector<float> probs(size_t(76 * h * w), -1.f);
  cropcube_output o = image_output(cls.data(), conf.data(), h, w);
  o.probabilities = probs.data();
  o.prob_n_elements = probs.size();
  o.prob_stride_class = h * w, o.prob_stride_row = w, o.prob_stride_col = 1;
  cropcube_input in = planar_input(cube.data(), CROPCUBE_UINT16, h, w);
  CHECK_RC(cropcube_classify(m, &in, &o), CROPCUBE_OK);
  CHECK(cls[size_t(3 * w + 4)] == 0 && conf[size_t(3 * w + 4)] == 0);
  CHECK(cls[size_t(5 * w + 6)] != 0);
  for (int64_t p = 0; p < h * w; ++p) {
    double sum = 0, best = -1;
    int arg = -1;
    for (int64_t k = 0; k < 76; ++k) {
      float v = probs[size_t(k * h * w + p)];
      sum += v;
      if (v > best) best = v, arg = int(k);
    }
    if (cls[size_t(p)] == 0) {
      CHECK(sum == 0.0);
    } else {
      CHECK(std::fabs(sum - 1.0) < 1e-4);
      CHECK(arg + 1 == cls[size_t(p)]);
      CHECK(std::abs(int(conf[size_t(p)]) - int(std::lround(best * 255))) <= 1);
      CHECK(conf[size_t(p)] >= 255 / 76);
    }
  }
  cropcube_close(m);
}

void test_nonfinite() {
  const int64_t h = 9, w = 10;
  auto cube = make_cube(h, w, 8);
  std::vector<float> f(cube.begin(), cube.end());
  f[size_t((5 * h + 2) * w + 7)] = std::numeric_limits<float>::quiet_NaN();  // (2, 7), channel 5
  f[size_t((9 * h + 4) * w + 1)] = -std::numeric_limits<float>::infinity();  // (4, 1), channel 9
  cropcube_model* m = open_or_die(g_bundle, nullptr);
  std::vector<uint8_t> out(size_t(h * w), 0xAB);
  cropcube_output o = image_output(out.data(), nullptr, h, w);
  cropcube_input in = planar_input(f.data(), CROPCUBE_FLOAT32, h, w);
  CHECK_RC(cropcube_classify(m, &in, &o), CROPCUBE_E_VALUE);
  std::string err = cropcube_last_error();
  CHECK(err.find("2 NaN/inf") != std::string::npos && err.find("row 2 col 7") != std::string::npos);
  for (uint8_t v : out) CHECK(v == 0xAB);
  cropcube_close(m);

  cropcube_options opts;
  cropcube_default_options(&opts);
  opts.nonfinite = CROPCUBE_NONFINITE_NODATA;
  m = open_or_die(g_bundle, &opts);
  auto got = run(m, in, h, w);
  std::vector<float> blanked = f;  // the same pixels as explicit nodata
  for (int64_t k = 0; k < 28; ++k) blanked[size_t((k * h + 2) * w + 7)] = blanked[size_t((k * h + 4) * w + 1)] = 0.f;
  auto expect = run(m, planar_input(blanked.data(), CROPCUBE_FLOAT32, h, w), h, w);
  CHECK(got == expect);
  CHECK(got[size_t(2 * w + 7)] == 0 && got[size_t(4 * w + 1)] == 0);
  cropcube_close(m);
}

void test_cache_and_reload() {
  const std::string path = "reload_bundle.pt";
  auto copy = [&](const char* from) {
    std::ifstream s(from, std::ios::binary);
    std::ofstream d(path + ".tmp", std::ios::binary);
    d << s.rdbuf();
    d.close();
    std::rename((path + ".tmp").c_str(), path.c_str());
  };
  copy(g_bundle);
  cropcube_model* a = open_or_die(path.c_str(), nullptr);
  cropcube_model* b = open_or_die(path.c_str(), nullptr);
  CHECK(cropcube_metadata_json(a) == cropcube_metadata_json(b));  // one cached bundle, shared
  const std::string before = cropcube_metadata_json(a);
  copy(g_bundle2);
  cropcube_model* c = open_or_die(path.c_str(), nullptr);
  const std::string after = cropcube_metadata_json(c);
  CHECK(after != before && after.find("test-seed1") != std::string::npos);
  CHECK(std::string(cropcube_metadata_json(a)) == before);  // old handles keep their bundle
  cropcube_close(a);
  cropcube_close(b);
  cropcube_close(c);
}

void test_model_path_resolution() {
  char buf[512];
  setenv("CROPCUBE_MODEL", g_bundle, 1);
  CHECK_RC(cropcube_resolve_model_path(buf, sizeof buf), CROPCUBE_OK);
  CHECK(std::string(buf) == g_bundle);
  cropcube_model* m = nullptr;
  CHECK_RC(cropcube_open(nullptr, nullptr, &m), CROPCUBE_OK);
  cropcube_close(m);
  CHECK_RC(cropcube_resolve_model_path(buf, 3), CROPCUBE_E_INVALID_ARGUMENT);
  unsetenv("CROPCUBE_MODEL");
  {
    std::ofstream f("kernel_test.conf");
    f << "# cropcube kernel configuration\nmodel = /srv/models/crops.pt  # trailing comment\n";
  }
  setenv("CROPCUBE_CONFIG", "kernel_test.conf", 1);
  CHECK_RC(cropcube_resolve_model_path(buf, sizeof buf), CROPCUBE_OK);
  CHECK(std::string(buf) == "/srv/models/crops.pt");
  setenv("CROPCUBE_CONFIG", "missing.conf", 1);
  CHECK_RC(cropcube_resolve_model_path(buf, sizeof buf), CROPCUBE_E_IO);
  unsetenv("CROPCUBE_CONFIG");
}

void test_threads_share_a_handle() {
  cropcube_model* m = open_or_die(g_bundle, nullptr);
  const int64_t h = 40, w = 33;
  auto cube = make_cube(h, w, 9);
  cropcube_input in = planar_input(cube.data(), CROPCUBE_UINT16, h, w);
  const auto ref = run(m, in, h, w);
  std::vector<std::vector<uint8_t>> results(4, std::vector<uint8_t>(size_t(h * w)));
  std::vector<int> codes(4, -1);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      cropcube_output o = image_output(results[size_t(i)].data(), nullptr, h, w);
      codes[size_t(i)] = cropcube_classify(m, &in, &o);
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < 4; ++i) CHECK(codes[size_t(i)] == CROPCUBE_OK && results[size_t(i)] == ref);
  cropcube_close(m);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s FIXTURE_BUNDLE.pt OTHER_FIXTURE_BUNDLE.pt\n", argv[0]);
    return 2;
  }
  g_bundle = argv[1];
  g_bundle2 = argv[2];
  test_version();
  test_open_errors();
  test_model_info();
  test_invalid_arguments();
  test_layouts_and_axis_orders();
  test_dtypes();
  test_extents_and_tiling();
  test_nodata_confidence_probabilities();
  test_nonfinite();
  test_cache_and_reload();
  test_model_path_resolution();
  test_threads_share_a_handle();
  std::printf("%s: %d failure(s)\n", argv[0], g_failures);
  return g_failures == 0 ? 0 : 1;
}
