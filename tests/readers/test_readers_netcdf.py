from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio

from cropcube.errors import InputError
from cropcube.readers import Grid, open_cube, read_cube
from cropcube.readers.netcdf_stack import build_cube_from_netcdf, choose_clearest, clear_fractions, open_stack

NC10 = "S2_L2A_10m_0000280849BAC91C_32631_2018-08-01_2019-11-30.nc"
NC20 = "S2_L2A_20m_0000280849BAC91C_32631_2018-08-01_2019-11-30.nc"
SHIPPED = "0000280849BAC91C_s2_7dates_x_4bands_dn.tif"


@pytest.fixture(scope="module")
def flanders(shared_data: Path) -> dict[str, Any]:
    folder = shared_data / "flanders_2019_s2_croptype"
    meta = json.loads((folder / "meta.json").read_text())["0000280849BAC91C"]
    return {"dir": folder, "meta": meta, "nc10": folder / NC10, "nc20": folder / NC20}


def _iso(dates: Any) -> list[str]:
    return [d.isoformat() for d in dates]


def test_stack_layout_matches_the_shipped_cube(flanders: dict[str, Any]) -> None:
    stack = open_stack(flanders["nc10"])
    assert stack.grid == Grid.of(flanders["dir"] / SHIPPED)
    assert _iso(stack.dates) == flanders["meta"]["all_dates"]
    assert {"B02", "B03", "B04", "B08"} <= set(stack.variables)
    assert open_stack(flanders["nc20"]).grid.resolution == (20.0, 20.0)


def test_clear_fractions_match_meta_json(flanders: dict[str, Any]) -> None:
    dates, clear = clear_fractions(flanders["nc20"])
    assert _iso(dates) == flanders["meta"]["all_dates"]
    np.testing.assert_allclose(clear, flanders["meta"]["clear_fraction_scl45_per_date"], atol=5e-4)


def test_selected_dates_reproduce_the_shipped_cube_pixel_exactly(
    tmp_path: Path, flanders: dict[str, Any]
) -> None:
    out = tmp_path / "flanders.tif"
    report = build_cube_from_netcdf(
        flanders["nc10"], flanders["nc20"], flanders["meta"]["selected_7_dates"], out
    )
    assert _iso(c.chosen for c in report.choices) == flanders["meta"]["selected_7_dates"]
    np.testing.assert_allclose(
        [c.clear_fraction for c in report.choices], flanders["meta"]["selected_clear_fraction"], atol=5e-4
    )
    shipped = flanders["dir"] / SHIPPED
    assert open_cube(out).grid == open_cube(shipped).grid
    with rasterio.open(out) as a, rasterio.open(shipped) as b:
        assert a.descriptions == b.descriptions
    np.testing.assert_array_equal(read_cube(out), read_cube(shipped))


def test_dates_near_the_selection_pick_the_meta_json_dates(tmp_path: Path, flanders: dict[str, Any]) -> None:
    selected = [dt.date.fromisoformat(d) for d in flanders["meta"]["selected_7_dates"]]
    wanted = [d + dt.timedelta(days=2) for d in selected]
    report = build_cube_from_netcdf(
        flanders["nc10"], flanders["nc20"], wanted, tmp_path / "c.tif", max_days=10
    )
    assert [c.chosen for c in report.choices] == selected
    assert "(-2 days), clear" in report.summary()


def test_a_cloudy_wanted_date_moves_to_a_clear_one(flanders: dict[str, Any]) -> None:
    dates, clear = clear_fractions(flanders["nc20"])
    cloudy = next(d for d, c in zip(dates, clear, strict=True) if c == 0 and d.year == 2019)
    [choice] = choose_clearest([cloudy], dates, clear.tolist(), max_days=10)
    window = [c for d, c in zip(dates, clear, strict=True) if abs((d - cloudy).days) <= 10]
    assert choice.chosen != cloudy and choice.clear_fraction >= max(window) - 0.01 > 0
    with pytest.raises(InputError, match=f"date {cloudy.isoformat()} missing"):
        choose_clearest([cloudy], [cloudy + dt.timedelta(days=30)], [1.0], max_days=10)


def test_errors_leave_no_output(tmp_path: Path, flanders: dict[str, Any]) -> None:
    out = tmp_path / "c.tif"
    with pytest.raises(InputError, match=r"S2_L2A_10m.*no 'SCL' variable"):
        build_cube_from_netcdf(flanders["nc10"], flanders["nc10"], ["2019-03-22"], out)
    with pytest.raises(InputError, match="date 2019-01-05 missing"):
        build_cube_from_netcdf(flanders["nc10"], flanders["nc20"], ["2019-01-05"], out, max_days=2)
    with pytest.raises(InputError, match=r"S2_L2A_20m.*bands \['B02', 'B03', 'B04', 'B08'\] missing"):
        build_cube_from_netcdf(flanders["nc20"], flanders["nc20"], ["2019-03-22"], out)
    broken = tmp_path / "broken.nc"
    broken.write_bytes(flanders["nc10"].read_bytes()[:4096])
    with pytest.raises(InputError, match=r"broken\.nc"):
        build_cube_from_netcdf(broken, flanders["nc20"], ["2019-03-22"], out)
    assert list(tmp_path.iterdir()) == [broken]


def test_part_of_the_stack_on_an_aligned_sub_grid(tmp_path: Path, flanders: dict[str, Any]) -> None:
    shipped = flanders["dir"] / SHIPPED
    full = Grid.of(shipped)
    left, bottom, _right, top = full.bounds
    sub = Grid.from_bbox((left + 100, bottom + 200, left + 420, top - 40), full.crs)
    out = tmp_path / "sub.tif"
    report = build_cube_from_netcdf(
        flanders["nc10"], flanders["nc20"], flanders["meta"]["selected_7_dates"], out, grid=sub
    )
    w = full.window_of(sub)
    rows, cols = slice(w.row_off, w.row_off + w.height), slice(w.col_off, w.col_off + w.width)
    np.testing.assert_array_equal(read_cube(out), read_cube(shipped)[:, rows, cols])
    assert open_cube(out).grid == sub
    # Clear fractions are counted inside the sub-grid only (20 m SCL pixels with centres inside it).
    _, clear_sub = clear_fractions(flanders["nc20"], area=sub)
    assert [c.clear_fraction for c in report.choices] == [clear_sub[c.index] for c in report.choices]
    half_pixel = Grid.from_bbox((left + 105, bottom + 200, left + 425, top - 40), full.crs, resolution=5.0)
    with pytest.raises(InputError):
        build_cube_from_netcdf(
            flanders["nc10"], flanders["nc20"], ["2019-03-22"], tmp_path / "x.tif", grid=half_pixel
        )
    outside = Grid.from_bbox((left - 100, bottom, left + 100, top), full.crs)
    with pytest.raises(InputError, match="is not inside"):
        build_cube_from_netcdf(
            flanders["nc10"], flanders["nc20"], ["2019-03-22"], tmp_path / "x.tif", grid=outside
        )
    assert not (tmp_path / "x.tif").exists()


def test_a_date_whose_whole_window_is_cloudy_is_a_warning_not_a_silent_choice(
    tmp_path: Path, flanders: dict[str, Any]
) -> None:
    """A window of only cloudy acquisitions (real SCL): the build says so, naming the date."""
    dates, clear = clear_fractions(flanders["nc20"])
    cloudy = [d for d, c in zip(dates, clear, strict=True) if c < 0.2 and d.year == 2019]
    clearest = [d for d, c in zip(dates, clear, strict=True) if c > 0.8 and d.year == 2019]
    assert cloudy and clearest  # the real stack has both
    wanted = sorted({cloudy[0], clearest[-1] if clearest[-1] != cloudy[0] else clearest[0]})
    stacks = (flanders["nc10"], flanders["nc20"])
    report = build_cube_from_netcdf(*stacks, wanted, tmp_path / "c.tif", max_days=0)
    assert len(report.warnings) == 1 and cloudy[0].isoformat() in report.warnings[0]
    assert "below --min-clear 50%" in report.summary().splitlines()[-1]
    quiet = build_cube_from_netcdf(
        flanders["nc10"], flanders["nc20"], wanted, tmp_path / "q.tif", max_days=0, min_clear=0.0
    )
    assert quiet.warnings == []
    with pytest.raises(InputError, match="min-clear"):
        build_cube_from_netcdf(flanders["nc10"], flanders["nc20"], wanted, tmp_path / "b.tif", min_clear=1.5)
