// Property-based test of the ABI: random extents, dtypes, layouts, strides, buffer sizes, options and
// values (NaN, inf, extremes, denormals) must give an error code or a valid map, never a crash or an
// out-of-bounds access (run under AddressSanitizer/UBSan by scripts/test_cpp.sh).
//
// Usage: test_kernel_fuzz FIXTURE_BUNDLE.pt [ignored] [iterations] [seed]
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "test_common.hpp"

namespace {

struct Case {
  int32_t dtype;
  int64_t h, w;
  int layout;  // 0 planar image, 1 interleaved image, 2 rasdaman interleaved [E][N], 3 rasdaman planar
};

float random_value(std::mt19937& rng, int32_t dtype) {
  std::uniform_int_distribution<int> pick(0, 19);
  const int p = pick(rng);
  if (dtype == CROPCUBE_UINT16) {
    const uint16_t specials[] = {0, 1, 65535, 10000};
    return p < 4 ? specials[p] : float(std::uniform_int_distribution<int>(0, 12000)(rng));
  }
  if (dtype == CROPCUBE_INT16) {
    const int16_t specials[] = {0, -32768, 32767, -1};
    return p < 4 ? specials[p] : float(std::uniform_int_distribution<int>(-100, 12000)(rng));
  }
  const float specials[] = {0.f,
                            std::numeric_limits<float>::quiet_NaN(),
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::max(),
                            -std::numeric_limits<float>::max(),
                            std::numeric_limits<float>::denorm_min(),
                            -1e9f};
  return p < 8 && std::uniform_int_distribution<int>(0, 9)(rng) == 0
             ? specials[p]
             : std::uniform_real_distribution<float>(0.f, 12000.f)(rng);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FIXTURE_BUNDLE.pt [CRAFTED_MANIFEST] [iterations] [seed]\n", argv[0]);
    return 2;
  }
  const int iterations = argc > 3 ? std::atoi(argv[3]) : 250;
  std::mt19937 rng(argc > 4 ? uint32_t(std::atoi(argv[4])) : 20260611u);
  cropcube_options opts[2];
  cropcube_default_options(&opts[0]);
  opts[0].tile_size = 8;  // many tiles even on tiny inputs
  opts[1] = opts[0];
  opts[1].nonfinite = CROPCUBE_NONFINITE_NODATA;
  opts[1].tile_size = 0;
  cropcube_model* models[2] = {open_or_die(argv[1], &opts[0]), open_or_die(argv[1], &opts[1])};
  int counts[16] = {0};
  // Crafted bad bundles (tests/inference/crafted_bundles.py): every tenth call runs one of them instead.
  std::vector<std::string> crafted;
  if (argc > 2) {
    std::ifstream manifest(argv[2]);
    std::string stage, path;
    while (manifest >> stage >> path) crafted.push_back(path);
  }
  int crafted_calls = 0;

  for (int it = 0; it < iterations; ++it) {
    std::uniform_int_distribution<int> ext(1, 24), coin(0, 9);
    Case c{int32_t(std::uniform_int_distribution<int>(0, 2)(rng)), ext(rng), ext(rng),
           std::uniform_int_distribution<int>(0, 3)(rng)};
    if (coin(rng) == 0) c.h = 1;
    if (coin(rng) == 0) c.w = std::uniform_int_distribution<int>(25, 200)(rng);
    const int64_t n = 28, h = c.h, w = c.w;
    int64_t sd = 0, sb = 0, sr = 0, sc = 0;
    switch (c.layout) {
      case 0: sd = 4 * h * w, sb = h * w, sr = w, sc = 1; break;
      case 1: sd = 4, sb = 1, sr = n * w, sc = n; break;
      case 2: sd = 4, sb = 1, sr = n, sc = n * h; break;
      default: sd = 4 * h * w, sb = h * w, sr = 1, sc = h; break;
    }
    size_t n_elem = size_t(n * h * w);
    // Sometimes corrupt the descriptor: a short buffer, a wild stride, a wrong extent or dtype.
    const int corrupt = std::uniform_int_distribution<int>(0, 19)(rng);
    if (corrupt == 1) n_elem -= size_t(std::uniform_int_distribution<int>(1, int(std::min<int64_t>(n * h * w, 50)))(rng));
    if (corrupt == 2) sr = std::uniform_int_distribution<int64_t>(-1000000, 1000000)(rng);
    if (corrupt == 3) sc = std::numeric_limits<int64_t>::min() / 3;
    const size_t esize = c.dtype == CROPCUBE_FLOAT32 ? 4 : 2;
    // Exactly n_elem elements, so that ASan flags any read beyond the declared bounds.
    std::unique_ptr<unsigned char[]> buf(new unsigned char[std::max<size_t>(n_elem, 1) * esize]);
    bool negative = false;  // negative digital numbers are refused (CROPCUBE_E_VALUE), not classified
    for (size_t i = 0; i < n_elem; ++i) {
      const float v = random_value(rng, c.dtype);
      negative |= v < 0 && std::isfinite(v);
      if (c.dtype == CROPCUBE_UINT16) reinterpret_cast<uint16_t*>(buf.get())[i] = uint16_t(v);
      else if (c.dtype == CROPCUBE_INT16) reinterpret_cast<int16_t*>(buf.get())[i] = int16_t(v);
      else reinterpret_cast<float*>(buf.get())[i] = v;
    }
    cropcube_input in = planar_input(buf.get(), c.dtype, h, w);
    in.n_elements = n_elem;
    in.stride_date = sd, in.stride_band = sb, in.stride_row = sr, in.stride_col = sc;
    if (corrupt == 4) {  // an unknown dtype, or the other 16-bit one (same element size: honest bounds)
      const int32_t wrong[] = {-3, -1, 3, 9, c.dtype == CROPCUBE_UINT16 ? CROPCUBE_INT16 : 42};
      in.dtype = wrong[std::uniform_int_distribution<int>(0, 4)(rng)];
    }
    if (corrupt == 5) in.height = -in.height;

    const size_t n_out = size_t(h * w) - (corrupt == 6 ? 1 : 0);
    std::unique_ptr<uint8_t[]> cls(new uint8_t[std::max<size_t>(n_out, 1)]);
    std::unique_ptr<uint8_t[]> conf(new uint8_t[std::max<size_t>(n_out, 1)]);
    std::memset(cls.get(), 0xAB, std::max<size_t>(n_out, 1));
    cropcube_output out = image_output(cls.get(), coin(rng) < 5 ? conf.get() : nullptr, h, w);
    out.n_elements = n_out;
    std::unique_ptr<float[]> probs;
    if (coin(rng) == 0) {
      probs.reset(new float[size_t(76 * h * w)]);
      out.probabilities = probs.get();
      out.prob_n_elements = size_t(76 * h * w);
      out.prob_stride_class = h * w, out.prob_stride_row = w, out.prob_stride_col = 1;
    }
    const int which = coin(rng) < 5 ? 0 : 1;
    if (!crafted.empty() && coin(rng) == 0) {  // a bad bundle: refused at open or at classify, never OK
      cropcube_model* bad = nullptr;
      const std::string& path = crafted[std::uniform_int_distribution<size_t>(0, crafted.size() - 1)(rng)];
      if (cropcube_open(path.c_str(), &opts[which], &bad) == CROPCUBE_OK) {
        CHECK(cropcube_classify(bad, &in, &out) != CROPCUBE_OK);
        cropcube_close(bad);
      }
      ++crafted_calls;
      continue;
    }
    const int rc = cropcube_classify(models[which], &in, &out);
    CHECK(rc >= CROPCUBE_OK && rc <= CROPCUBE_E_DEVICE);
    counts[rc & 15]++;
    if (rc == CROPCUBE_OK) {
      CHECK(!negative);
      for (size_t i = 0; i < n_out; ++i) CHECK(cls[i] <= 76);
    } else {
      CHECK(std::strlen(cropcube_last_error()) > 0);
      if (corrupt == 0 && c.dtype != CROPCUBE_FLOAT32 && !negative) {
        std::fprintf(stderr, "iteration %d: unexpected failure on a valid input: %s\n", it, cropcube_last_error());
        ++g_failures;
      }
    }
  }
  cropcube_close(models[0]);
  cropcube_close(models[1]);
  std::printf("%s: %d iterations (%d with crafted bundles), ok=%d invalid=%d shape=%d value=%d runtime=%d; %d failure(s)\n",
              argv[0], iterations, crafted_calls, counts[0], counts[1], counts[4], counts[5], counts[6], g_failures);
  return g_failures == 0 ? 0 : 1;
}
