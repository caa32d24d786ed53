"""The one tiling plan: cores partition the area; windows hold a full halo and keep the area's alignment."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cropcube.errors import InputError
from cropcube.tiling import DEFAULT_TILE_SIZE, effective_tile_size, plan_tiles


@settings(max_examples=80, deadline=None)
@given(
    height=st.integers(1, 300),
    width=st.integers(1, 300),
    tile_units=st.integers(1, 20),
    halo_units=st.integers(0, 6),
    factor=st.sampled_from([1, 2, 4, 8]),
    area_fraction=st.tuples(*[st.floats(0, 1)] * 4),
)
def test_plan_partitions_the_area_with_aligned_halos(
    height, width, tile_units, halo_units, factor, area_fraction
):
    tile, halo = tile_units * factor, halo_units * factor
    fr, fc, fh, fw = area_fraction
    row, col = int(fr * (height - 1)), int(fc * (width - 1))
    rows, cols = max(1, int(fh * (height - row))), max(1, int(fw * (width - col)))
    covered = np.zeros((height, width), dtype=np.int32)
    for t in plan_tiles(height, width, tile, halo, factor=factor, area=(row, col, rows, cols)):
        (cy0, cy1), (cx0, cx1) = t.core_rows, t.core_cols
        (wy0, wy1), (wx0, wx1) = t.window_rows, t.window_cols
        covered[t.core] += 1
        assert 0 <= wy0 <= cy0 < cy1 <= wy1 <= height and 0 <= wx0 <= cx0 < cx1 <= wx1 <= width
        # The network's pooling grid is the area's: cores and windows start on it.
        assert (cy0 - row) % tile == 0 and (cx0 - col) % tile == 0
        assert (cy0 - wy0) % factor == 0 and (cx0 - wx0) % factor == 0
        # A full halo wherever the extent allows one; a clipped side loses less than one factor step.
        assert cy0 - wy0 == halo or wy0 < factor
        assert cx0 - wx0 == halo or wx0 < factor
        assert wy1 == height or wy1 - cy1 == halo
        assert wx1 == width or wx1 - cx1 == halo
        r, c = t.core_in_window
        assert (r.stop - r.start, c.stop - c.start) == t.core_shape
        assert t.key == f"r{cy0}_c{cx0}"
    expected = np.zeros_like(covered)
    expected[row : row + rows, col : col + cols] = 1
    assert (covered == expected).all()


def test_an_image_at_the_origin_is_clipped_at_zero():
    tiles = list(plan_tiles(100, 70, 32, 8, factor=8))
    assert [t.window_rows for t in tiles[:1]] == [(0, 40)]
    assert tiles[-1].window_rows == (88, 100) and tiles[-1].window_cols == (56, 70)


def test_tile_size_is_rounded_up_to_the_downsampling_factor():
    assert effective_tile_size(0, 4) == DEFAULT_TILE_SIZE
    assert effective_tile_size(30, 8) == 32
    assert effective_tile_size(1, 16) == 16
    with pytest.raises(InputError, match="tile_size"):
        effective_tile_size(-1, 4)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((0, 5, 8, 0), {}, "extent"),
        ((5, 5, 12, 0), {"factor": 8}, "tile size"),
        ((5, 5, 8, -8), {}, "halo"),
        ((5, 5, 8, 0), {"area": (4, 0, 2, 1)}, "area"),
        ((5, 5, 8, 0), {"area": (0, 0, 0, 1)}, "area"),
        ((5, 5, 8, 0), {"factor": 0}, "factor"),
    ],
)
def test_bad_plans_are_refused(args, kwargs, match):
    with pytest.raises(InputError, match=match):
        list(plan_tiles(*args, **kwargs))


# -- one case table for both languages ---------------------------------------------------------------

CASES = json.loads((Path(__file__).parent / "tiling_cases.json").read_text(encoding="utf-8"))["cases"]


def _python_plan(case: dict[str, Any]) -> tuple[int, list[list[int]]]:
    effective = effective_tile_size(case["tile_size"], case["factor"])
    core = tuple(case["core"]) if case["core"] is not None else None
    tiles = plan_tiles(*case["extent"], effective, case["halo"], factor=case["factor"], area=core)
    return effective, [[*t.core_rows, *t.core_cols, *t.window_rows, *t.window_cols] for t in tiles]


def _kernel_plan(case: dict[str, Any]) -> tuple[int, list[list[int]]]:
    from cropcube.inference.native import kernel_library_path
    from cropcube.inference.native import plan_tiles as kernel_plan_tiles

    if not kernel_library_path().is_file():
        pytest.skip(f"C++ kernel not built at {kernel_library_path()}: run `cropcube kernel build`")
    core = tuple(case["core"]) if case["core"] is not None else None
    effective, tiles = kernel_plan_tiles(
        *case["extent"], case["tile_size"], case["halo"], case["factor"], core
    )
    return effective, [[*t.core_rows, *t.core_cols, *t.window_rows, *t.window_cols] for t in tiles]


@pytest.mark.parametrize("plan", ["python", "kernel"])
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_tile_plan_cases(case: dict[str, Any], plan: str) -> None:
    run = _python_plan if plan == "python" else _kernel_plan
    if "error" in case:
        with pytest.raises(InputError, match=case["error"]):
            run(case)
        return
    effective, tiles = run(case)
    assert effective == case["effective_tile_size"]
    assert tiles == case["tiles"]


@settings(max_examples=60, deadline=None)
@given(
    height=st.integers(1, 700),
    width=st.integers(1, 700),
    tile_size=st.integers(0, 300),
    factor=st.sampled_from([1, 2, 4, 8, 16, 32]),
    halo_units=st.integers(0, 4),
    area_fraction=st.tuples(*[st.floats(0, 1)] * 4),
)
def test_kernel_plan_equals_python_plan_anywhere(height, width, tile_size, factor, halo_units, area_fraction):
    """Beyond the table: the two plans agree on any extent, tile size, factor, halo and core window."""
    fr, fc, fh, fw = area_fraction
    row, col = int(fr * (height - 1)), int(fc * (width - 1))
    core = [row, col, max(1, int(fh * (height - row))), max(1, int(fw * (width - col)))]
    case = {"extent": [height, width], "tile_size": tile_size, "factor": factor,
            "halo": halo_units * factor, "core": core}  # fmt: skip
    assert _kernel_plan(case) == _python_plan(case)
