// Crafted bad bundles (tests/inference/crafted_bundles.py writes them and a manifest): each must be refused at
// its stage with a status and a message, never a crash (run under ASan/UBSan in CI), and a module that breaks
// its output contract must not write a single output pixel.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "test_common.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MANIFEST\n", argv[0]);
    return 2;
  }
  std::ifstream manifest(argv[1]);
  std::string stage, path;
  int cases = 0;
  const int64_t h = 20, w = 18;
  std::vector<uint16_t> cube(size_t(28 * h * w), 900);
  for (size_t i = 0; i < cube.size(); ++i) cube[i] = uint16_t(300 + (i * 7919) % 4000);
  while (manifest >> stage >> path) {
    ++cases;
    cropcube_model* model = nullptr;
    const int rc = cropcube_open(path.c_str(), nullptr, &model);
    if (stage == "open") {
      CHECK(rc == CROPCUBE_E_BAD_BUNDLE || rc == CROPCUBE_E_IO);
      CHECK(model == nullptr && std::strlen(cropcube_last_error()) > 0);
      if (model) cropcube_close(model);
      continue;
    }
    CHECK(rc == CROPCUBE_OK);
    if (rc != CROPCUBE_OK) continue;
    cropcube_input in = planar_input(cube.data(), CROPCUBE_UINT16, h, w);
    std::vector<uint8_t> classes(size_t(h * w), 0xAB);
    cropcube_output out = image_output(classes.data(), nullptr, h, w);
    CHECK(cropcube_classify(model, &in, &out) == CROPCUBE_E_BAD_BUNDLE);
    CHECK(std::strstr(cropcube_last_error(), "module output") != nullptr);
    for (uint8_t c : classes) CHECK(c == 0xAB);  // nothing written
    cropcube_close(model);
  }
  CHECK(cases >= 10);
  std::printf("%s: %d crafted bundles, %d failure(s)\n", argv[0], cases, g_failures);
  return g_failures == 0 ? 0 : 1;
}
