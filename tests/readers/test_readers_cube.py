from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

from cropcube.cube_spec import REFERENCE_2018_SPEC, CubeSpec
from cropcube.errors import InputError
from cropcube.io import write_geotiff
from cropcube.readers import Grid, open_cube, read_cube, read_label_raster


def test_open_real_cube_reads_its_descriptions(flevoland_cube: Path) -> None:
    info = open_cube(flevoland_cube)
    assert info.described
    assert info.spec.dates == REFERENCE_2018_SPEC.dates
    assert info.spec.bands == ("B02", "B03", "B04", "B08")
    assert info.dtype == "uint16" and info.count == 28
    assert (info.grid.width, info.grid.height) == (100, 100)
    assert info.grid.transform.c == 677400 and info.grid.transform.f == 5851960


def test_read_cube_whole_and_window(flevoland_cube: Path, flevoland: dict[str, Any]) -> None:
    arr = read_cube(flevoland_cube)
    assert arr.dtype == np.uint16 and arr.shape == (28, 100, 100)
    np.testing.assert_array_equal(arr, flevoland["data"])
    part = read_cube(flevoland_cube, Window(10, 20, 30, 40))
    np.testing.assert_array_equal(part, flevoland["data"][:, 20:60, 10:40])
    with pytest.raises(InputError, match="outside"):
        read_cube(flevoland_cube, Window(90, 0, 20, 10))


def test_band_major_file_is_reordered_to_date_major(tmp_path: Path, flevoland: dict[str, Any]) -> None:
    data = flevoland["data"]
    spec = REFERENCE_2018_SPEC
    order = [spec.channel(t, b) for b in range(4) for t in range(7)]  # band-major storage
    path = write_geotiff(
        tmp_path / "band_major.tif",
        data[order],
        flevoland["transform"],
        flevoland["crs"],
        descriptions=[spec.descriptions()[i] for i in order],
        cog=False,
    )
    info = open_cube(path)
    assert info.spec.dates == spec.dates and info.spec.bands == spec.bands
    np.testing.assert_array_equal(read_cube(path), data)


def test_cube_without_descriptions_assumes_the_given_spec(tmp_path: Path, flevoland: dict[str, Any]) -> None:
    path = write_geotiff(
        tmp_path / "plain.tif", flevoland["data"], flevoland["transform"], flevoland["crs"], cog=False
    )
    info = open_cube(path)
    assert not info.described and info.spec.dates == REFERENCE_2018_SPEC.dates
    other = REFERENCE_2018_SPEC.with_dates(
        ["2019-03-22", "2019-04-21", "2019-05-16", "2019-06-20", "2019-07-30", "2019-08-24", "2019-10-13"]
    )
    assert open_cube(path, other).spec.dates == other.dates


def test_wrong_band_count_names_the_file(tmp_path: Path, flevoland: dict[str, Any]) -> None:
    path = write_geotiff(
        tmp_path / "27.tif", flevoland["data"][:27], flevoland["transform"], flevoland["crs"], cog=False
    )
    with pytest.raises(InputError, match=r"27\.tif.*27 bands.*expected 28"):
        open_cube(path)


def test_descriptions_that_contradict_the_spec_are_an_error(flevoland_cube: Path) -> None:
    spec = CubeSpec(
        dates=(
            "2019-03-22",
            "2019-04-21",
            "2019-05-16",
            "2019-06-20",
            "2019-07-30",
            "2019-08-24",
            "2019-10-13",
        )
    )
    with pytest.raises(InputError, match="expected"):
        open_cube(flevoland_cube, spec)


def test_incomplete_description_grid_is_an_error(tmp_path: Path, flevoland: dict[str, Any]) -> None:
    desc = REFERENCE_2018_SPEC.descriptions()
    desc[5] = desc[4]  # date 2 has B02 twice and no B03
    path = write_geotiff(
        tmp_path / "dup.tif",
        flevoland["data"],
        flevoland["transform"],
        flevoland["crs"],
        descriptions=desc,
        cog=False,
    )
    with pytest.raises(InputError, match=r"dup\.tif.*repeat"):
        open_cube(path)


def test_uint8_cube_is_rejected(tmp_path: Path, flevoland: dict[str, Any]) -> None:
    data = (flevoland["data"] // 256).astype(np.uint8)
    path = write_geotiff(tmp_path / "u8.tif", data, flevoland["transform"], flevoland["crs"], cog=False)
    with pytest.raises(InputError, match=r"u8\.tif.*dtype uint8"):
        open_cube(path)


def test_missing_and_corrupt_files_are_input_errors(tmp_path: Path, flevoland_cube: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        open_cube(tmp_path / "nope.tif")
    broken = tmp_path / "broken.tif"
    broken.write_bytes(flevoland_cube.read_bytes()[:5000])  # truncated download
    with pytest.raises(InputError, match=r"broken\.tif"):
        read_cube(broken)
    text = tmp_path / "notes.tif"
    text.write_text("not a raster")
    with pytest.raises(InputError, match=r"notes\.tif.*cannot open"):
        open_cube(text)


def test_label_raster_on_the_cube_grid(tmp_path: Path, flevoland_cube: Path) -> None:
    grid = open_cube(flevoland_cube).grid
    labels = (np.arange(100 * 100) % 77).reshape(100, 100).astype(np.uint8)
    path = write_geotiff(tmp_path / "labels.tif", labels, grid.transform, grid.crs)
    np.testing.assert_array_equal(read_label_raster(path, grid=grid), labels)


def test_label_raster_on_another_grid_names_both_files(shared_data: Path, flevoland_cube: Path) -> None:
    grid = open_cube(flevoland_cube).grid
    other = shared_data / "flevoland_2018_s2_100px/model_pred_segnet_250x250_pseudolabels.tif"
    with pytest.raises(InputError) as err:
        read_label_raster(other, grid=grid)
    msg = str(err.value)
    assert "model_pred_segnet" in msg and "s2_flevoland_2018" in msg and "size 100x100 vs 250x250" in msg


def test_label_raster_in_another_crs_is_rejected(tmp_path: Path, flevoland_cube: Path) -> None:
    grid = open_cube(flevoland_cube).grid
    path = write_geotiff(tmp_path / "utm32.tif", np.ones((100, 100), np.uint8), grid.transform, "EPSG:32632")
    with pytest.raises(InputError, match=r"utm32\.tif.*CRS EPSG:32631 vs EPSG:32632"):
        read_label_raster(path, grid=grid)


def test_crop_code_raster_is_not_a_label_raster(shared_data: Path) -> None:
    ct = shared_data / "flanders_2019_s2_croptype/0000280849BAC91C_label_crop_type_CT.tif"
    with pytest.raises(InputError, match="not class indices"):
        read_label_raster(ct, grid=Grid.of(ct))


def test_multiband_label_raster_is_rejected(flevoland_cube: Path) -> None:
    with pytest.raises(InputError, match="1 band"):
        read_label_raster(flevoland_cube)


def test_read_cube_matches_rasterio(flevoland_cube: Path) -> None:
    with rasterio.open(flevoland_cube) as ds:
        np.testing.assert_array_equal(
            read_cube(flevoland_cube, Window(0, 0, 7, 9)), ds.read(window=Window(0, 0, 7, 9))
        )


def test_label_raster_window(tmp_path: Path, flevoland_cube: Path) -> None:
    grid = open_cube(flevoland_cube).grid
    labels = (np.arange(100 * 100) % 77).reshape(100, 100).astype(np.uint8)
    path = write_geotiff(tmp_path / "labels.tif", labels, grid.transform, grid.crs)
    np.testing.assert_array_equal(read_label_raster(path, grid, Window(5, 10, 20, 30)), labels[10:40, 5:25])
    with pytest.raises(InputError, match="outside"):
        read_label_raster(path, grid, Window(95, 0, 10, 10))
