// The kernel's tile plan: the C++ twin of python_model/cropcube/tiling.py. Both are held to one case
// table (tests/tiling_cases.json, checked through cropcube_plan_tiles by tests/test_tiling.py).
// Torch-free, so that the plan builds in seconds and can be tested without a model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace cropcube {

constexpr int64_t kDefaultTileSize = 512;  // cropcube.tiling.DEFAULT_TILE_SIZE (same table holds both)

// One tile: its core (written to the output) and its window (read), as [start, stop) rows/cols of the
// input extent.
struct Tile {
  int64_t cy0, cy1, cx0, cx1;  // core rows/cols
  int64_t wy0, wy1, wx0, wx1;  // window rows/cols
  // Tiles with equal window shape and core position inside it can share one forward pass.
  bool same_batch_shape(const Tile& o) const {
    return wy1 - wy0 == o.wy1 - o.wy0 && wx1 - wx0 == o.wx1 - o.wx0 && cy0 - wy0 == o.cy0 - o.wy0 &&
           cx0 - wx0 == o.cx0 - o.wx0 && cy1 - cy0 == o.cy1 - o.cy0 && cx1 - cx0 == o.cx1 - o.cx0;
  }
};

// The area whose pixels are classified, inside the extent that is read (the "core window").
struct Area {
  int64_t row = 0, col = 0, rows = 0, cols = 0;
};

// The one rounding rule: the requested edge (0 = default) rounded up to the downsampling factor.
int64_t effective_tile_size(int64_t requested, int64_t factor);

// Cores of `tile` pixels from the area's origin in row-major order; windows = cores grown by `halo`,
// clipped to the extent; a clipped low side stops at start % factor so the window keeps the area's
// alignment to the network's pooling grid. Arguments must be valid (see check_area).
std::vector<Tile> plan_tiles(int64_t height, int64_t width, int64_t tile, int64_t halo, int64_t factor,
                             const Area& area);

// The core window of an input: rows/cols 0 = the whole extent. CROPCUBE_E_SHAPE (naming input.core_*)
// when it does not lie inside the height x width extent.
int resolve_area(int64_t height, int64_t width, int64_t row, int64_t col, int64_t rows, int64_t cols, Area* out);

// cropcube_plan_tiles (kernel.h) without the exception guard: checks every argument, then writes the plan.
int plan_tiles_abi(int64_t height, int64_t width, int32_t tile_size, int64_t factor, int64_t halo, const int64_t* core,
                   int64_t* effective_tile, int64_t* tiles, size_t max_tiles, size_t* n_tiles);

}  // namespace cropcube
