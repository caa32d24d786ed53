from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from rasterio.transform import Affine
from rasterio.windows import Window

from cropcube.cube_spec import REFERENCE_2018_SPEC
from cropcube.errors import InputError
from cropcube.readers import Grid, open_cube, read_cube
from cropcube.readers.sentinel2 import (
    Acquisitions,
    band_file_from_name,
    build_cube_from_band_files,
    choose_dates,
    find_band_files,
)
from cropcube.readers.writer import write_cube

DATES = list(REFERENCE_2018_SPEC.dates)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize(
    ("name", "parents", "date", "band", "res"),
    [
        ("T31UFU_20180108T105421_B02_10m.jp2", [], "2018-01-08", "B02", 10),
        ("T31UFU_20180319T105021_B8A_20m.jp2", [], "2018-03-19", "B8A", 20),
        ("T31UFU_20180108T105421_B04.jp2", [], "2018-01-08", "B04", None),
        ("S2_L2A_B08.tif", ["2018-06-30"], "2018-06-30", "B08", None),
        ("B03.TIF", ["R10m", "20181117"], "2018-11-17", "B03", None),
    ],
)
def test_band_file_names(name: str, parents: list[str], date: str, band: str, res: int | None) -> None:
    bf = band_file_from_name(name, parents)
    assert bf is not None
    assert (bf.date.isoformat(), bf.band, bf.resolution_m) == (date, band, res)


@pytest.mark.parametrize("name", ["MTD_MSIL2A.xml", "T31UFU_20180108T105421_TCI_10m.jp2", "B02.tif"])
def test_non_band_files_are_ignored(name: str) -> None:
    assert band_file_from_name(name, []) is None  # B02.tif has no date anywhere


def test_choose_dates_exact_nearest_and_missing() -> None:
    avail = [dt.date(2018, 1, 8), dt.date(2018, 1, 13), dt.date(2018, 3, 19)]
    assert choose_dates([dt.date(2018, 1, 8)], avail, 0, "here") == [dt.date(2018, 1, 8)]
    assert choose_dates([dt.date(2018, 1, 12), dt.date(2018, 3, 17)], avail, 3, "here") == avail[1:]
    with pytest.raises(InputError, match=r"here: date 2018-03-10 missing.*within 3 days.*2018-03-19"):
        choose_dates([dt.date(2018, 3, 10)], avail, 3, "here")
    with pytest.raises(InputError, match="not strictly increasing"):
        choose_dates([dt.date(2018, 1, 9), dt.date(2018, 1, 10)], avail, 3, "here")


def _check_rebuilt(path: Path, flevoland: dict[str, Any]) -> None:
    info = open_cube(path)
    assert info.described and info.spec.dates == REFERENCE_2018_SPEC.dates
    with rasterio.open(path) as ds:
        assert list(ds.descriptions) == REFERENCE_2018_SPEC.descriptions()
        assert ds.profile["tiled"] and ds.compression is not None
    np.testing.assert_array_equal(read_cube(path), flevoland["data"])


def test_rebuild_from_geotiff_date_folders(
    tmp_path: Path, tif_bands_dir: Path, flevoland: dict[str, Any]
) -> None:
    acq = Acquisitions.of(find_band_files(tif_bands_dir), str(tif_bands_dir))
    report = build_cube_from_band_files(acq, DATES, tmp_path / "cube.tif")
    assert report.chosen == DATES
    _check_rebuilt(tmp_path / "cube.tif", flevoland)
    assert _leftovers(tmp_path) == ["cube.tif"]


def test_rebuild_from_product_named_jp2(
    tmp_path: Path, jp2_bands_dir: Path, flevoland: dict[str, Any]
) -> None:
    acq = Acquisitions.of(find_band_files(jp2_bands_dir), str(jp2_bands_dir))
    grid = Grid.of(jp2_bands_dir / "T31UFU_20180108T105421_B02_10m.jp2")
    build_cube_from_band_files(acq, DATES, tmp_path / "cube.tif", grid=grid, cog=False)
    _check_rebuilt(tmp_path / "cube.tif", flevoland)


def test_nearest_date_within_tolerance_and_descriptions_give_the_real_date(
    tmp_path: Path, tif_bands_dir: Path, flevoland: dict[str, Any]
) -> None:
    acq = Acquisitions.of(find_band_files(tif_bands_dir), str(tif_bands_dir))
    wanted = [d + dt.timedelta(days=2) for d in DATES]
    with pytest.raises(InputError, match=r"date 2018-01-10 missing.*within 0 days"):
        build_cube_from_band_files(acq, wanted, tmp_path / "cube.tif")
    report = build_cube_from_band_files(acq, wanted, tmp_path / "cube.tif", max_days=3)
    assert report.chosen == DATES and "(+2 days)" not in report.summary() and "(-2 days)" in report.summary()
    _check_rebuilt(tmp_path / "cube.tif", flevoland)
    with rasterio.open(tmp_path / "cube.tif") as ds:
        assert ds.tags()["CROPCUBE_WANTED_DATES"].split(",")[0] == "2018-01-10"


def test_cropping_to_a_sub_grid(tmp_path: Path, tif_bands_dir: Path, flevoland: dict[str, Any]) -> None:
    acq = Acquisitions.of(find_band_files(tif_bands_dir), str(tif_bands_dir))
    grid = Grid.from_bbox((677500, 5851000, 677700, 5851900), "EPSG:32631")
    build_cube_from_band_files(acq, DATES, tmp_path / "sub.tif", grid=grid)
    np.testing.assert_array_equal(read_cube(tmp_path / "sub.tif"), flevoland["data"][:, 6:96, 10:30])


def test_missing_band_names_date_band_and_folder(tmp_path: Path, tif_bands_dir: Path) -> None:
    bands = tmp_path / "bands"
    shutil.copytree(tif_bands_dir, bands)
    (bands / "2018-06-30" / "S2_L2A_B08.tif").unlink()
    acq = Acquisitions.of(find_band_files(bands), str(bands))
    with pytest.raises(InputError) as err:
        build_cube_from_band_files(acq, DATES, tmp_path / "cube.tif")
    assert (
        str(bands) in str(err.value)
        and "2018-06-30" in str(err.value)
        and "band B08 missing" in str(err.value)
    )
    assert not (tmp_path / "cube.tif").exists()


def test_corrupt_band_file_leaves_no_output(tmp_path: Path, tif_bands_dir: Path) -> None:
    bands = tmp_path / "bands"
    shutil.copytree(tif_bands_dir, bands)
    bad = bands / "2018-09-18" / "S2_L2A_B03.tif"
    bad.write_bytes(b"II*\x00garbage")
    acq = Acquisitions.of(find_band_files(bands), str(bands))
    with pytest.raises(InputError, match=r"S2_L2A_B03\.tif.*unreadable or corrupt"):
        build_cube_from_band_files(acq, DATES, tmp_path / "out" / "cube.tif")
    assert not (tmp_path / "out" / "cube.tif").exists()


def test_truncated_band_fails_while_streaming_and_leaves_nothing(tmp_path: Path, tif_bands_dir: Path) -> None:
    bands = tmp_path / "bands"
    shutil.copytree(tif_bands_dir, bands)
    victim = bands / "2018-11-17" / "S2_L2A_B04.tif"
    full = victim.read_bytes()
    victim.write_bytes(full[: len(full) // 2])  # header intact, pixels cut off
    acq = Acquisitions.of(find_band_files(bands), str(bands))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(InputError, match=r"S2_L2A_B04\.tif"):
        build_cube_from_band_files(acq, DATES, out / "cube.tif")
    assert _leftovers(out) == []


def test_bbox_outside_the_data(tmp_path: Path, tif_bands_dir: Path) -> None:
    acq = Acquisitions.of(find_band_files(tif_bands_dir), str(tif_bands_dir))
    far = Grid.from_bbox((600000, 5700000, 601000, 5701000), "EPSG:32631")
    with pytest.raises(InputError, match="does not overlap the target grid"):
        build_cube_from_band_files(acq, DATES, tmp_path / "cube.tif", grid=far)
    assert not (tmp_path / "cube.tif").exists()


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no Sentinel-2 band files"):
        find_band_files(tmp_path)
    with pytest.raises(InputError, match="not a folder"):
        find_band_files(tmp_path / "missing")


def test_write_cube_streams_windows(tmp_path: Path, flevoland: dict[str, Any]) -> None:
    grid = Grid("EPSG:32631", flevoland["transform"], 100, 100)
    seen: list[Window] = []

    def fill(w: Window) -> Any:
        seen.append(w)
        return flevoland["data"][:, w.row_off : w.row_off + w.height, w.col_off : w.col_off + w.width]

    write_cube(tmp_path / "c.tif", grid, REFERENCE_2018_SPEC, fill, chunk=32)
    assert len(seen) == 16 and max(w.width * w.height for w in seen) == 32 * 32
    np.testing.assert_array_equal(read_cube(tmp_path / "c.tif"), flevoland["data"])


def test_write_cube_failure_leaves_nothing(tmp_path: Path, flevoland: dict[str, Any]) -> None:
    grid = Grid("EPSG:32631", flevoland["transform"], 100, 100)

    def fill(w: Window) -> Any:
        if w.row_off > 0:
            raise InputError("band x", "vanished")
        return flevoland["data"][:, : w.height, : w.width]

    with pytest.raises(InputError, match="vanished"):
        write_cube(tmp_path / "c.tif", grid, REFERENCE_2018_SPEC, fill, chunk=32)
    assert _leftovers(tmp_path) == []


def test_tiles_of_one_date_are_mosaicked(tmp_path: Path, flevoland: dict[str, Any], band_writer: Any) -> None:
    # Each band split into a west and an east tile (overlapping by 10 columns), plus a far-away tile
    # of the same date that misses the grid and must be ignored.
    data, transform = flevoland["data"], flevoland["transform"]
    for t, d in enumerate(DATES):
        stamp = d.strftime("%Y%m%d")
        for b, band in enumerate(("B02", "B03", "B04", "B08")):
            band_writer(
                tmp_path / "in" / f"T31UFU_{stamp}T105421_{band}_10m.tif", data[4 * t + b][:, :60], transform
            )
            east = transform @ Affine.translation(50, 0)
            band_writer(
                tmp_path / "in" / f"T31UFV_{stamp}T105421_{band}_10m.tif", data[4 * t + b][:, 50:], east
            )
            far = transform @ Affine.translation(5000, 0)
            band_writer(tmp_path / "in" / f"T31UGU_{stamp}T105421_{band}_10m.tif", data[4 * t + b], far)
    acq = Acquisitions.of(find_band_files(tmp_path / "in"), "in")
    assert all(len(paths) == 3 for bands in acq.files.values() for paths in bands.values())
    grid = Grid("EPSG:32631", transform, 100, 100)
    report = build_cube_from_band_files(acq, DATES, tmp_path / "cube.tif", grid=grid)
    assert all("T31UGU" not in p for paths in report.sources.values() for p in paths)
    np.testing.assert_array_equal(read_cube(tmp_path / "cube.tif"), data)
