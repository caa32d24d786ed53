from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
import typer
from typer.testing import CliRunner

from cropcube.classes import load_class_table
from cropcube.cli import data
from cropcube.errors import InputError
from cropcube.readers import Grid, open_cube, read_cube, read_label_raster

DATES = "2018-01-08,2018-03-19,2018-05-08,2018-06-30,2018-08-06,2018-09-18,2018-11-17"
FLANDERS = "flanders_2019_s2_croptype"
NC10 = f"{FLANDERS}/S2_L2A_10m_0000280849BAC91C_32631_2018-08-01_2019-11-30.nc"
NC20 = f"{FLANDERS}/S2_L2A_20m_0000280849BAC91C_32631_2018-08-01_2019-11-30.nc"
CT = f"{FLANDERS}/0000280849BAC91C_label_crop_type_CT.tif"
FLANDERS_CUBE = f"{FLANDERS}/0000280849BAC91C_s2_7dates_x_4bands_dn.tif"
BRP = "brp_2023_sample/brpgewaspercelen_definitief_2023.gpkg"


@pytest.fixture(scope="module")
def cli() -> typer.Typer:
    app = typer.Typer()
    data.register(app)
    return app


def run(app: typer.Typer, *args: str) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


def test_cube_build_from_bands_dir_with_bbox(
    cli: typer.Typer, tmp_path: Path, tif_bands_dir: Path, flevoland: dict[str, Any]
) -> None:
    out = tmp_path / "cube.tif"
    res = run(
        cli,
        "cube",
        "build",
        "--bands-dir",
        tif_bands_dir,
        "--dates",
        DATES,
        "--bbox",
        "677400,5850960,678400,5851960",
        "--crs",
        "EPSG:32631",
        "-o",
        out,
    )
    assert res.exit_code == 0, res.output
    assert "2018-11-17 -> 2018-11-17" in res.output
    np.testing.assert_array_equal(read_cube(out), flevoland["data"])


def test_cube_build_from_safe_zips_like(
    cli: typer.Typer, tmp_path: Path, safe_zips: list[Path], flevoland_cube: Path, flevoland: dict[str, Any]
) -> None:
    out = tmp_path / "cube.tif"
    args = [a for z in safe_zips for a in ("--safe", str(z))]
    res = run(cli, "cube", "build", *args, "--dates", DATES, "--like", flevoland_cube, "-o", out)
    assert res.exit_code == 0, res.output
    np.testing.assert_array_equal(read_cube(out), flevoland["data"])


def test_cube_build_bad_arguments(cli: typer.Typer, tmp_path: Path, tif_bands_dir: Path) -> None:
    out = tmp_path / "cube.tif"
    res = run(cli, "cube", "build", "--dates", DATES, "-o", out)
    assert isinstance(res.exception, InputError) and "exactly one source" in str(res.exception)
    res = run(
        cli,
        "cube",
        "build",
        "--bands-dir",
        tif_bands_dir,
        "--dates",
        DATES,
        "--bbox",
        "1,2,3",
        "--crs",
        "EPSG:32631",
        "-o",
        out,
    )
    assert res.exit_code == 2 and "--bbox" in res.output and "'1,2,3' is not four numbers" in res.output
    res = run(cli, "cube", "build", "--bands-dir", tif_bands_dir, "--dates", "2018-13-01", "-o", out)
    assert res.exit_code == 2 and "'2018-13-01' is not a date" in res.output
    res = run(
        cli,
        "cube",
        "build",
        "--bands-dir",
        tif_bands_dir,
        "--dates",
        DATES,
        "--bbox",
        "0,0,1000,1000",
        "--crs",
        "EPSG:32631",
        "-o",
        out,
    )
    assert isinstance(res.exception, InputError) and "does not overlap" in str(res.exception)
    assert not out.exists()


def test_cube_from_netcdf_reports_dates_and_clear_fractions(
    cli: typer.Typer, tmp_path: Path, shared_data: Path
) -> None:
    out = tmp_path / "flanders.tif"
    res = run(
        cli,
        "cube",
        "from-netcdf",
        shared_data / NC10,
        "--scl",
        shared_data / NC20,
        "--dates",
        "2019-03-20,2019-04-20,2019-05-15,2019-06-20,2019-07-30,2019-08-25,2019-10-15",
        "-o",
        out,
    )
    assert res.exit_code == 0, res.output
    assert "2019-03-20 -> 2019-03-22 (+2 days), clear 99.5%" in res.output
    np.testing.assert_array_equal(read_cube(out), read_cube(shared_data / FLANDERS_CUBE))
    info = run(cli, "cube", "info", out)
    assert "7 dates x 4 bands" in info.output and "2019-10-13" in info.output


def test_labels_brp_writes_classes_and_parcel_ids(
    cli: typer.Typer, tmp_path: Path, shared_data: Path
) -> None:
    grid = Grid.from_bbox((62400.0, 384450.0, 63850.0, 385100.0), "EPSG:32631", bbox_crs="EPSG:28992")
    like = tmp_path / "like.tif"
    with rasterio.open(
        like,
        "w",
        driver="GTiff",
        width=grid.width,
        height=grid.height,
        count=1,
        dtype="uint8",
        crs=grid.crs,
        transform=grid.transform,
    ) as dst:
        dst.write(np.zeros(grid.shape, np.uint8), 1)
    labels, ids = tmp_path / "labels.tif", tmp_path / "ids.tif"
    res = run(cli, "labels", "brp", shared_data / BRP, "--like", like, "-o", labels, "--parcel-ids", ids)
    assert res.exit_code == 0, res.output
    assert "gewascodes not in the class table" in res.output and "343:" in res.output
    classes = read_label_raster(labels, grid=Grid.of(like))
    with rasterio.open(ids) as ds:
        pid = ds.read(1)
        assert ds.dtypes[0] == "int32"
    assert classes.any() and ((classes > 0) <= (pid > 0)).all()
    with rasterio.open(labels) as ds:
        assert ds.colormap(1)[1][:3] == load_class_table().by_index(1).rgb  # permanent grassland


def test_labels_brp_without_overlap_writes_nothing(
    cli: typer.Typer, tmp_path: Path, shared_data: Path, flevoland_cube: Path
) -> None:
    out = tmp_path / "labels.tif"
    res = run(cli, "labels", "brp", shared_data / BRP, "--like", flevoland_cube, "-o", out)
    assert isinstance(res.exception, InputError) and "no parcel overlaps" in str(res.exception)
    assert not out.exists()


def test_labels_flanders(cli: typer.Typer, tmp_path: Path, shared_data: Path, flevoland_cube: Path) -> None:
    out = tmp_path / "labels.tif"
    cube = shared_data / FLANDERS_CUBE
    res = run(cli, "labels", "flanders", shared_data / CT, "--like", cube, "-o", out, "--barley", "drop")
    assert res.exit_code == 0, res.output
    assert "WorldCereal code 1500: 72 pixels left unlabelled" in res.output
    labels = read_label_raster(out, grid=open_cube(cube).grid)
    assert set(np.unique(labels).tolist()) == {0, 1, 4, 10, 21, 23, 30}
    mismatch = tmp_path / "mismatch.tif"
    res = run(cli, "labels", "flanders", shared_data / CT, "--like", flevoland_cube, "-o", mismatch)
    assert isinstance(res.exception, InputError)
    assert "label_crop_type_CT.tif" in str(res.exception) and "s2_flevoland" in str(res.exception)
    assert not mismatch.exists()
