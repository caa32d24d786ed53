from __future__ import annotations

from pathlib import Path

import pytest
from rasterio.transform import Affine
from rasterio.warp import transform as warp_transform

from cropcube.errors import InputError
from cropcube.readers import Grid, open_cube


def test_from_bbox_snaps_outward_to_the_resolution() -> None:
    g = Grid.from_bbox((677403.0, 5850961.0, 678395.5, 5851955.0), "EPSG:32631", 10.0)
    assert g.bounds == (677400.0, 5850960.0, 678400.0, 5851960.0)
    assert (g.width, g.height) == (100, 100)
    assert g.resolution == (10.0, 10.0)


def test_from_bbox_reprojects_a_box_given_in_another_crs() -> None:
    box = (62400, 384500, 63800, 385050)
    g = Grid.from_bbox(box, "EPSG:32631", 10.0, bbox_crs="EPSG:28992")
    xs, ys = warp_transform(
        "EPSG:28992", "EPSG:32631", [box[0], box[2], box[0], box[2]], [box[1], box[1], box[3], box[3]]
    )
    left, bottom, right, top = g.bounds
    # The grid covers the reprojected corners and is at most one pixel larger on each side.
    assert left <= min(xs) < left + 10 and right - 10 < max(xs) <= right
    assert bottom <= min(ys) < bottom + 10 and top - 10 < max(ys) <= top
    assert left % 10 == 0 and top % 10 == 0


@pytest.mark.parametrize("bbox", [(1, 2, 1, 3), (0, 5, 1, 4), (float("nan"), 0, 1, 1)])
def test_from_bbox_rejects_empty_boxes(bbox: tuple[float, float, float, float]) -> None:
    with pytest.raises(InputError, match="bbox"):
        Grid.from_bbox(bbox, "EPSG:32631")


def test_unknown_crs_is_an_input_error() -> None:
    with pytest.raises(InputError, match="coordinate reference system"):
        Grid("EPSG:99999999", Affine(10, 0, 0, 0, -10, 0), 5, 5)


def test_grid_of_file_matches_open_cube(flevoland_cube: Path) -> None:
    assert Grid.of(flevoland_cube) == open_cube(flevoland_cube).grid


def test_window_of_aligned_subgrid_and_misaligned_errors(flevoland_cube: Path) -> None:
    cube = Grid.of(flevoland_cube)
    sub = Grid.from_bbox((677500, 5851000, 677700, 5851900), cube.crs)
    w = cube.window_of(sub)
    assert (w.col_off, w.row_off, w.width, w.height) == (10, 6, 20, 90)
    assert cube.contains(sub)
    assert cube.subgrid(w) == sub
    shifted = Grid(cube.crs, cube.transform @ Affine.translation(0.5, 0), 10, 10, source="half.tif")
    with pytest.raises(InputError, match=r"half\.tif.*fraction of a pixel"):
        cube.window_of(shifted)
    other_crs = Grid("EPSG:32632", cube.transform, 10, 10, source="utm32.tif")
    with pytest.raises(InputError, match=r"utm32\.tif.*CRS"):
        cube.window_of(other_crs)


def test_differences_names_every_mismatch(flevoland_cube: Path) -> None:
    cube = Grid.of(flevoland_cube)
    other = Grid("EPSG:32632", cube.transform @ Affine.translation(3, 0), 50, 100, source="b.tif")
    diff = cube.differences(other)
    assert [d.split()[0] for d in diff] == ["CRS", "origin", "size"]
    with pytest.raises(InputError) as err:
        cube.require_same(other, "label raster")
    assert "b.tif" in str(err.value) and str(flevoland_cube) in str(err.value)
