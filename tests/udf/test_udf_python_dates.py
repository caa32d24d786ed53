"""Dates reach the Python UDF: crop.classify_dates(cube, doy) on REAL Sentinel-2 pixels of another calendar.

The cube is the shared Flanders 2019 tile at 6 clear acquisitions picked from its 72 (not the bundle's
7 default dates of 2018, not even its T); the bundle is a format-2 bundle of a small calendar-free
network (tests/inference/calendar_bundle.py). What the UDF returns must equal `cropcube classify` of
the same pixels written as a GeoTIFF whose band descriptions carry the dates.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import numpy.typing as npt
import pytest
import rasterio
from rasterio.transform import from_origin
from typer.testing import CliRunner

from cropcube.calendar import day_of_year
from cropcube.cli.main import app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "inference"))
from calendar_bundle import make_calendar_bundle

TILE = "flanders_2019_s2_croptype"
PICK = ("2019-04-01", "2019-04-21", "2019-05-16", "2019-07-05", "2019-07-30", "2019-08-24")


@pytest.fixture(scope="module")
def flanders(shared_data: Path) -> tuple[tuple[dt.date, ...], npt.NDArray[np.uint16], dict]:
    """The picked dates and their pixels (T, C, rows, cols) from the full 72-date stack."""
    folder = shared_data / TILE
    meta = json.loads((folder / "meta.json").read_text())
    (key, info), *_ = ((k, v) for k, v in meta.items() if isinstance(v, dict) and "all_dates" in v)
    stack = np.load(folder / f"{key}_s2_full_T72_C4_dn.npy")
    index = [info["all_dates"].index(d) for d in PICK]
    return tuple(dt.date.fromisoformat(d) for d in PICK), stack[index].astype(np.uint16), info


@pytest.fixture
def udf2(crop_udf: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, Path]:
    """The Python UDF serving a format-2 bundle."""
    bundle = make_calendar_bundle(tmp_path / "cal.pt")
    monkeypatch.setenv("CROPCUBE_MODEL", str(bundle))
    return crop_udf, bundle


def test_classify_dates_equals_classifying_the_dated_geotiff(udf2, flanders, tmp_path):
    udf, bundle = udf2
    dates, tcyx, info = flanders
    t, c, h, w = tcyx.shape
    cube_3d = np.ascontiguousarray(
        tcyx.transpose(1, 0, 3, 2)
    )  # (C, T, E, N) as rasdaman hands a 3-D coverage
    got = udf.classify_dates(cube_3d, day_of_year(dates))
    assert got.dtype == np.uint8 and got.shape == (w, h)
    tif = tmp_path / "flanders_6dates.tif"
    profile = {"driver": "GTiff", "width": w, "height": h, "count": t * c, "dtype": "uint16"}
    transform = from_origin(*info["ul_corner"], 10, 10)
    with rasterio.open(tif, "w", crs="EPSG:32631", transform=transform, **profile) as dst:
        dst.write(tcyx.reshape(t * c, h, w))
        for i, desc in enumerate(f"{d.isoformat()}_{b}" for d in dates for b in info["band_order"]):
            dst.set_band_description(i + 1, desc)
    args = ["classify", str(tif), "-o", str(tmp_path / "map.tif"), "--model", str(bundle)]
    res = CliRunner().invoke(app, [*args, "--backend", "python", "--no-progress", "--no-quicklook"])
    assert res.exit_code == 0, res.output
    with rasterio.open(tmp_path / "map.tif") as src:
        mapped = src.read(1)
    on = mapped > 0  # classify also zeroes clearly-not-cropland pixels
    assert on.mean() > 0.5
    np.testing.assert_array_equal(got.T[on], mapped[on])
    # The same pixels as a 2-D coverage of T*C bands: the same answer.
    cube_2d = np.ascontiguousarray(tcyx.reshape(t * c, h, w).transpose(0, 2, 1))
    np.testing.assert_array_equal(udf.classify_dates(cube_2d, day_of_year(dates)), got)
    # Dates are used, not replaced: the same pixels a month later give another map.
    later = udf.classify_dates(cube_3d, day_of_year(dates) + 30)
    assert (later != got).mean() > 0.05


def test_classify_without_dates_runs_the_default_calendar_only(udf2, flanders):
    udf, _ = udf2
    _dates, tcyx, _ = flanders
    seven = np.concatenate([tcyx, tcyx[-1:]])  # 7 time slices: the default calendar's T
    cube = np.ascontiguousarray(seven.transpose(1, 0, 3, 2))
    default = udf.classify(cube)
    assert default.shape == cube.shape[2:]
    with pytest.raises(
        udf.UdfError, match=r"^crop\.classify: 3-D input has 6 time slices; this model needs 7"
    ):
        udf.classify(np.ascontiguousarray(tcyx.transpose(1, 0, 3, 2)))


@pytest.mark.parametrize(
    ("doy", "says"),
    [
        (np.array([91, 111, 136, 186, 211]), "5 dates"),  # wrong length for the 6 slices
        (np.array([91, 111, 136, 186, 211, 340]), "outside the bundle's season 1..335"),
        (np.array([91, 111, 111, 186, 211, 236]), "strictly increasing"),
        (np.array([91, 111, 136, 186, 236, 211]), "strictly increasing"),
        (np.array([91, 111, np.nan, 186, 211, 236]), "not a finite number"),
        (np.zeros((2, 6)), "expected one day of year per date"),
        ("2019-04-01", "not a numeric array"),
    ],
)
def test_bad_dates_give_a_clean_error(udf2, flanders, doy, says):
    udf, _ = udf2
    _, tcyx, _ = flanders
    cube = np.ascontiguousarray(tcyx.transpose(1, 0, 3, 2))
    with pytest.raises(udf.UdfError, match=r"^crop\.classify_dates: ") as err:
        udf.classify_dates(cube, doy)
    assert says in str(err.value)


def test_a_format_1_bundle_takes_only_its_own_dates(crop_udf, s2_window):
    data = s2_window[1]
    cube = np.ascontiguousarray(data.transpose(0, 2, 1))
    own = crop_udf.classify(cube)
    spec_doy = np.array([8, 78, 128, 181, 218, 261, 321], np.float32)  # the 2018 reference dates
    np.testing.assert_array_equal(crop_udf.classify_dates(cube, spec_doy), own)
    with pytest.raises(crop_udf.UdfError, match="format 1"):
        crop_udf.classify_dates(cube, spec_doy + 10)
