from __future__ import annotations

from pathlib import Path

import numpy as np
import pyogrio.raw
import pytest
import shapely
from rasterio.transform import xy
from rasterio.warp import transform as warp_transform

from cropcube.classes import load_class_table
from cropcube.errors import InputError
from cropcube.readers import Grid
from cropcube.readers.brp import rasterize_brp, read_brp_parcels

# A box (RD New) around a cluster of seven real parcels in Zeeland, with codes in and outside the table.
ZEELAND_RD = (62400.0, 384450.0, 63850.0, 385100.0)


@pytest.fixture(scope="module")
def gpkg(shared_data: Path) -> Path:
    return shared_data / "brp_2023_sample/brpgewaspercelen_definitief_2023.gpkg"


@pytest.fixture(scope="module")
def grid() -> Grid:
    return Grid.from_bbox(ZEELAND_RD, "EPSG:32631", 10.0, bbox_crs="EPSG:28992")


def test_read_real_parcels(gpkg: Path) -> None:
    parcels = read_brp_parcels(gpkg)
    assert len(parcels) == 100 and parcels.layer == "brp_gewas" and parcels.crs == "EPSG:28992"
    assert parcels.gewascodes.dtype == np.int64 and (parcels.gewascodes > 0).all()
    assert len(set(parcels.parcel_ids.tolist())) == 100 and parcels.parcel_ids.min() >= 1


def test_rasterised_pixels_lie_inside_their_parcel(gpkg: Path, grid: Grid) -> None:
    parcels = read_brp_parcels(gpkg)
    table = load_class_table()
    classes, ids, report = rasterize_brp(parcels, grid, table)
    assert classes.shape == ids.shape == grid.shape and classes.dtype == np.uint8 and ids.dtype == np.int32
    assert report.parcels_in_grid >= 5 and report.parcel_pixels > 500
    # Every burnt pixel centre, taken back to RD New, lies in the parcel whose id it carries.
    rows, cols = np.nonzero(ids)
    xs, ys = xy(grid.transform, rows, cols, offset="center")
    rx, ry = warp_transform(grid.crs, "EPSG:28992", xs, ys)
    by_id = dict(zip(parcels.parcel_ids.tolist(), parcels.geometries, strict=True))
    inside = [
        shapely.contains_xy(by_id[i], x, y) for i, x, y in zip(ids[rows, cols].tolist(), rx, ry, strict=True)
    ]
    assert np.mean(inside) > 0.999
    # The class raster agrees with the parcel raster through the class table.
    code_of = dict(zip(parcels.parcel_ids.tolist(), parcels.gewascodes.tolist(), strict=True))
    expected = [table.index_of_code(code_of[i]) for i in ids[rows, cols].tolist()]
    np.testing.assert_array_equal(classes[rows, cols], expected)
    assert (classes[ids == 0] == 0).all()
    # A large parcel gets about its area in 10 m pixels.
    areas = dict(zip(parcels.parcel_ids.tolist(), shapely.area(parcels.geometries).tolist(), strict=True))
    big = max((i for i in np.unique(ids) if i), key=lambda i: areas[i])
    assert abs((ids == big).sum() * 100 / areas[big] - 1) < 0.05


def test_unknown_codes_are_counted_and_mapped(gpkg: Path, grid: Grid) -> None:
    parcels = read_brp_parcels(gpkg)
    table = load_class_table()
    known = {c.gewascode for c in table}
    _, ids, report = rasterize_brp(parcels, grid, table)
    in_grid = [
        c
        for c, i in zip(parcels.gewascodes.tolist(), parcels.parcel_ids.tolist(), strict=True)
        if i in set(ids.ravel().tolist())
    ]
    assert set(report.unknown_parcels) == {c for c in in_grid if c not in known} and report.unknown_parcels
    assert report.labelled_pixels == report.parcel_pixels - sum(report.unknown_pixels.values())
    other = load_class_table(unknown_index=76)
    _, _, report76 = rasterize_brp(parcels, grid, other)
    assert report76.class_pixels[76] >= sum(report76.unknown_pixels.values()) > 0
    assert "not in the class table (-> class 76)" in report76.summary()


def test_all_touched_burns_more_pixels(gpkg: Path, grid: Grid) -> None:
    parcels = read_brp_parcels(gpkg)
    _, centre, _ = rasterize_brp(parcels, grid)
    _, touched, _ = rasterize_brp(parcels, grid, all_touched=True)
    assert (touched > 0).sum() > (centre > 0).sum()


def test_grid_without_parcels_gives_empty_rasters(gpkg: Path) -> None:
    far = Grid.from_bbox((700000, 5000000, 700500, 5000500), "EPSG:32631")
    classes, ids, report = rasterize_brp(read_brp_parcels(gpkg), far)
    assert report.parcels_in_grid == 0 and not classes.any() and not ids.any()


def _write(
    path: Path, geoms: list[shapely.Geometry], fields: dict[str, np.ndarray], geometry_type: str
) -> Path:
    pyogrio.raw.write(
        path,
        shapely.to_wkb(np.array(geoms, dtype=object)),
        list(fields.values()),
        list(fields),
        layer="brp_gewas",
        driver="GPKG",
        crs="EPSG:28992",
        geometry_type=geometry_type,
    )
    return path


def test_empty_geopackage(tmp_path: Path) -> None:
    path = _write(tmp_path / "empty.gpkg", [], {"gewascode": np.array([], dtype=np.int32)}, "Polygon")
    with pytest.raises(InputError, match=r"empty\.gpkg.*empty \(no parcels\)"):
        read_brp_parcels(path)


def test_geopackage_without_gewascode(tmp_path: Path) -> None:
    square = shapely.box(0, 0, 10, 10)
    path = _write(tmp_path / "nocode.gpkg", [square], {"code": np.array([265], dtype=np.int32)}, "Polygon")
    with pytest.raises(InputError, match=r"nocode\.gpkg.*no 'gewascode' column.*\['code'\]"):
        read_brp_parcels(path)


def test_geopackage_with_points(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "points.gpkg",
        [shapely.Point(1, 2)],
        {"gewascode": np.array([265], dtype=np.int32)},
        "Point",
    )
    with pytest.raises(InputError, match=r"points\.gpkg.*Point geometries, expected polygons"):
        read_brp_parcels(path)


@pytest.mark.filterwarnings("ignore:GPKG. bad application_id:RuntimeWarning")
def test_unreadable_geopackage(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gpkg"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    with pytest.raises(InputError, match=r"bad\.gpkg"):
        read_brp_parcels(bad)
    with pytest.raises(InputError, match="does not exist"):
        read_brp_parcels(tmp_path / "gone.gpkg")


def test_unknown_layer(gpkg: Path) -> None:
    with pytest.raises(InputError, match=r"no layer 'percelen' \(layers: \['brp_gewas'\]\)"):
        read_brp_parcels(gpkg, layer="percelen")
