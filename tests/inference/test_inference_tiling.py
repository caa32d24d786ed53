"""The tiling plan: cores partition the image; windows hold a full halo and stay aligned."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cropcube.errors import InputError
from cropcube.inference.tiling import DEFAULT_TILE_SIZE, effective_tile_size, plan_tiles


@settings(max_examples=60, deadline=None)
@given(
    height=st.integers(1, 300),
    width=st.integers(1, 300),
    tile_units=st.integers(1, 20),
    halo_units=st.integers(0, 6),
    factor=st.sampled_from([1, 2, 4, 8]),
)
def test_plan_partitions_the_image_with_aligned_halos(height, width, tile_units, halo_units, factor):
    tile, halo = tile_units * factor, halo_units * factor
    covered = np.zeros((height, width), dtype=np.int32)
    for t in plan_tiles(height, width, tile, halo):
        (cy0, cy1), (cx0, cx1) = t.core_rows, t.core_cols
        (wy0, wy1), (wx0, wx1) = t.window_rows, t.window_cols
        covered[cy0:cy1, cx0:cx1] += 1
        assert 0 <= wy0 <= cy0 < cy1 <= wy1 <= height and 0 <= wx0 <= cx0 < cx1 <= wx1 <= width
        assert wy0 % factor == 0 and wx0 % factor == 0  # the network's pooling grid is the image's
        # A full halo on every side that is not the image border.
        assert wy0 == 0 or cy0 - wy0 == halo
        assert wx0 == 0 or cx0 - wx0 == halo
        assert wy1 == height or wy1 - cy1 == halo
        assert wx1 == width or wx1 - cx1 == halo
        r, c = t.core_in_window
        assert (r.stop - r.start, c.stop - c.start) == (cy1 - cy0, cx1 - cx0)
    assert (covered == 1).all()


def test_tile_size_is_rounded_up_to_the_downsampling_factor():
    assert effective_tile_size(0, 4) == DEFAULT_TILE_SIZE
    assert effective_tile_size(30, 8) == 32
    assert effective_tile_size(1, 16) == 16
    with pytest.raises(InputError, match="tile_size"):
        effective_tile_size(-1, 4)


def test_bad_extents_are_refused():
    with pytest.raises(InputError, match="extent"):
        list(plan_tiles(0, 5, 8, 0))
