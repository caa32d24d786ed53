#include "tiling.hpp"

#include <algorithm>
#include <string>

#include "cropcube/kernel.h"
#include "support.hpp"

namespace cropcube {

int64_t effective_tile_size(int64_t requested, int64_t factor) {
  const int64_t size = requested > 0 ? requested : kDefaultTileSize;
  return std::max(factor, (size + factor - 1) / factor * factor);
}

namespace {
// Window [lo, hi) of the core [start, stop) on one axis.
void window(int64_t start, int64_t stop, int64_t halo, int64_t limit, int64_t factor, int64_t* lo, int64_t* hi) {
  *lo = start - halo >= 0 ? start - halo : start % factor;  // clip, keeping the offset a multiple of factor
  *hi = std::min(stop + halo, limit);
}
}  // namespace

std::vector<Tile> plan_tiles(int64_t height, int64_t width, int64_t tile, int64_t halo, int64_t factor,
                             const Area& a) {
  std::vector<Tile> tiles;
  for (int64_t y = a.row; y < a.row + a.rows; y += tile)
    for (int64_t x = a.col; x < a.col + a.cols; x += tile) {
      Tile t{y, std::min(y + tile, a.row + a.rows), x, std::min(x + tile, a.col + a.cols), 0, 0, 0, 0};
      window(t.cy0, t.cy1, halo, height, factor, &t.wy0, &t.wy1);
      window(t.cx0, t.cx1, halo, width, factor, &t.wx0, &t.wx1);
      tiles.push_back(t);
    }
  return tiles;
}

int resolve_area(int64_t height, int64_t width, int64_t row, int64_t col, int64_t rows, int64_t cols, Area* out) {
  if (rows == 0 && cols == 0 && row == 0 && col == 0) {
    *out = Area{0, 0, height, width};
    return CROPCUBE_OK;
  }
  if (row < 0 || col < 0 || rows < 1 || cols < 1 || row > height - rows || col > width - cols)
    return fail(CROPCUBE_E_SHAPE, "input.core_*: rows " + std::to_string(row) + "+" + std::to_string(rows) + ", cols " +
                                      std::to_string(col) + "+" + std::to_string(cols) + " is not inside the " +
                                      std::to_string(height) + " x " + std::to_string(width) + " input extent");
  *out = Area{row, col, rows, cols};
  return CROPCUBE_OK;
}

int plan_tiles_abi(int64_t height, int64_t width, int32_t tile_size, int64_t factor, int64_t halo, const int64_t* core,
                   int64_t* effective_tile, int64_t* tiles, size_t max_tiles, size_t* n_tiles) {
  constexpr int64_t kMax = int64_t(1) << 31;
  if (!effective_tile || !n_tiles || (max_tiles > 0 && !tiles))
    return fail(CROPCUBE_E_INVALID_ARGUMENT, "plan_tiles: NULL output pointer");
  if (height < 1 || width < 1 || height > kMax || width > kMax)
    return fail(CROPCUBE_E_SHAPE, "extent: " + std::to_string(height) + " x " + std::to_string(width) +
                                      " is not within 1..2^31 rows and columns");
  if (factor < 1 || factor > 4096)
    return fail(CROPCUBE_E_INVALID_ARGUMENT, "downsampling_factor: " + std::to_string(factor) + " is not in 1..4096");
  if (tile_size < 0 || tile_size > 16384)
    return fail(CROPCUBE_E_INVALID_ARGUMENT, "tile_size: " + std::to_string(tile_size) + " is not in 0..16384");
  if (halo < 0 || halo > kMax) return fail(CROPCUBE_E_INVALID_ARGUMENT, "halo: " + std::to_string(halo) + " must be >= 0");
  Area area;
  if (int rc = core ? resolve_area(height, width, core[0], core[1], core[2], core[3], &area)
                    : resolve_area(height, width, 0, 0, 0, 0, &area))
    return rc;
  const int64_t tile = effective_tile_size(tile_size, factor);
  const std::vector<Tile> plan = plan_tiles(height, width, tile, halo, factor, area);
  *effective_tile = tile;
  *n_tiles = plan.size();
  if (plan.size() > max_tiles)
    return max_tiles == 0 && !tiles ? int(CROPCUBE_OK)
                                    : fail(CROPCUBE_E_INVALID_ARGUMENT, "max_tiles: " + std::to_string(max_tiles) +
                                                                             " cannot hold the " + std::to_string(plan.size()) + " tiles");
  for (size_t i = 0; i < plan.size(); ++i) {
    const Tile& t = plan[i];
    const int64_t v[8] = {t.cy0, t.cy1, t.cx0, t.cx1, t.wy0, t.wy1, t.wx0, t.wx1};
    std::copy(v, v + 8, tiles + 8 * i);
  }
  return CROPCUBE_OK;
}

}  // namespace cropcube
