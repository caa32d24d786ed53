// Minimal test helpers shared by the kernel's C++ tests (no framework needed for a C ABI).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "cropcube/kernel.h"

static int g_failures = 0;

#define CHECK(cond)                                                                                   \
  do {                                                                                                \
    if (!(cond)) {                                                                                    \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, __LINE__, #cond, \
                   cropcube_last_error());                                                            \
      ++g_failures;                                                                                   \
    }                                                                                                 \
  } while (0)

#define CHECK_RC(call, expected)                                                                     \
  do {                                                                                               \
    int rc_ = (call);                                                                                \
    if (rc_ != (expected)) {                                                                         \
      std::fprintf(stderr, "%s:%d: %s returned %d, expected %d (last error: %s)\n", __FILE__, __LINE__, \
                   #call, rc_, int(expected), cropcube_last_error());                                \
      ++g_failures;                                                                                  \
    }                                                                                                \
  } while (0)

// A realistic band-planar (28, H, W) uint16 cube: field-like blocks with per-date spectra and noise.
inline std::vector<uint16_t> make_cube(int64_t h, int64_t w, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> noise(-150, 150);
  std::vector<uint16_t> cube(size_t(28 * h * w));
  for (int64_t k = 0; k < 28; ++k)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) {
        int field = int((y / 9) * 7 + (x / 11)) % 13;
        int band = int(k % 4), date = int(k / 4);
        int base = band == 3 ? 1500 + 300 * ((field * 5 + date * 3) % 11) : 300 + 90 * ((field * 3 + date + band) % 9);
        cube[size_t((k * h + y) * w + x)] = uint16_t(std::max(1, base + noise(rng)));
      }
  return cube;
}

inline cropcube_input planar_input(const void* data, int32_t dtype, int64_t h, int64_t w) {
  cropcube_input in{};
  in.data = data;
  in.n_elements = size_t(28 * h * w);
  in.dtype = dtype;
  in.n_dates = 7;
  in.n_bands = 4;
  in.height = h;
  in.width = w;
  in.stride_date = 4 * h * w;
  in.stride_band = h * w;
  in.stride_row = w;
  in.stride_col = 1;
  return in;
}

inline cropcube_output image_output(uint8_t* classes, uint8_t* conf, int64_t h, int64_t w) {
  cropcube_output out{};
  out.classes = classes;
  out.confidence = conf;
  out.n_elements = size_t(h * w);
  out.stride_row = w;
  out.stride_col = 1;
  return out;
}

inline double agreement(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  if (a.size() != b.size() || a.empty()) return 0.0;
  size_t same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
  return double(same) / double(a.size());
}

inline cropcube_model* open_or_die(const char* path, const cropcube_options* opts) {
  cropcube_model* m = nullptr;
  if (cropcube_open(path, opts, &m) != CROPCUBE_OK) {
    std::fprintf(stderr, "cannot open fixture bundle %s: %s\n", path, cropcube_last_error());
    std::exit(2);
  }
  return m;
}
