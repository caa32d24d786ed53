"""cropcube.calendar: dates from every source become day of year, and every bad calendar is named."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cropcube.calendar import (
    Calendar,
    check_order,
    dates_from_descriptions,
    dates_from_time_axis,
    day_of_year,
    parse_dates,
)
from cropcube.cube_spec import REFERENCE_2018_SPEC
from cropcube.errors import InputError

SEASON = Calendar(4, 12, 60, 320, tuple(dt.date(2019, m, 15) for m in (3, 5, 7, 9, 11)), "test")


def test_day_of_year_counts_from_the_first_dates_year():
    dates = (dt.date(2019, 1, 1), dt.date(2019, 12, 31), dt.date(2020, 1, 2))
    np.testing.assert_array_equal(day_of_year(dates), [1, 365, 367])  # keeps increasing past 31 Dec
    np.testing.assert_array_equal(day_of_year((dt.date(2020, 12, 31),)), [366])  # leap year


def test_parse_dates_names_duplicates_and_disorder():
    assert parse_dates("2019-03-01, 2019-04-01") == (dt.date(2019, 3, 1), dt.date(2019, 4, 1))
    with pytest.raises(InputError, match="2019-03-01 appears twice"):
        parse_dates("2019-03-01,2019-03-01")
    with pytest.raises(InputError, match="2019-02-01 comes after 2019-03-01"):
        parse_dates("2019-03-01,2019-02-01")
    with pytest.raises(InputError, match="'2019-02-30' is not a date"):
        parse_dates("2019-02-30")
    with pytest.raises(InputError, match="no date given"):
        parse_dates(" , ")


def test_descriptions_give_dates_or_name_the_band_without_one():
    desc = REFERENCE_2018_SPEC.descriptions()
    assert dates_from_descriptions(desc, "c.tif") == REFERENCE_2018_SPEC.dates
    with pytest.raises(InputError, match=r"c\.tif: band 2 description 'B03' has no date"):
        dates_from_descriptions([desc[0], "B03", *desc[2:]], "c.tif")
    with pytest.raises(InputError, match="band 1 description None has no date"):
        dates_from_descriptions([None] * 28, "c.tif")
    swapped = desc[4:8] + desc[:4] + desc[8:]
    with pytest.raises(InputError, match="2018-01-08 comes after 2018-03-19"):
        dates_from_descriptions(swapped, "c.tif")


def test_time_axis_takes_iso_dates_and_refuses_other_coordinates():
    coords = ['"2019-04-02T00:00:00.000Z"', "2019-05-12T10:56:31Z", "2019-06-01", dt.date(2019, 7, 1)]
    assert dates_from_time_axis(coords, "S2_CUBE") == (
        dt.date(2019, 4, 2),
        dt.date(2019, 5, 12),
        dt.date(2019, 6, 1),
        dt.date(2019, 7, 1),
    )
    for bad, shown in (
        (["0", "1", "2"], "'0'"),
        (["2019-04-02", "151"], "'151'"),
        (["2019-13-01"], "2019-13-01"),
    ):
        with pytest.raises(InputError, match=f"S2_CUBE: time axis coordinate .*{shown}.* is not a date"):
            dates_from_time_axis(bad, "S2_CUBE")
    with pytest.raises(InputError, match="appears twice"):
        dates_from_time_axis(["2019-04-02", "2019-04-02T12:00:00Z"], "S2_CUBE")


def test_calendar_round_trips_and_checks_itself():
    assert Calendar.from_dict(SEASON.to_dict()) == SEASON
    assert SEASON.to_dict()["n_dates"] == [4, 12] and SEASON.to_dict()["season_doy"] == [60, 320]
    with pytest.raises(InputError, match="n_dates"):
        Calendar(5, 4, 1, 366, SEASON.default_dates)
    with pytest.raises(InputError, match="season_doy"):
        Calendar(1, 9, 200, 100, SEASON.default_dates)
    with pytest.raises(InputError, match="outside the bundle's season"):
        Calendar(1, 9, 100, 200, SEASON.default_dates)  # default dates outside the own season
    with pytest.raises(InputError, match="incomplete or malformed"):
        Calendar.from_dict({"n_dates": [4, 12]})


def test_doy_for_names_each_bad_calendar():
    ok = (dt.date(2019, 4, 1), dt.date(2019, 5, 1), dt.date(2019, 6, 1), dt.date(2019, 8, 1))
    np.testing.assert_array_equal(SEASON.doy_for(ok, 4, "cube"), day_of_year(ok))
    np.testing.assert_array_equal(SEASON.doy_for(None, 5, "cube"), SEASON.default_doy)
    with pytest.raises(InputError, match=r"3 dates is outside the bundle's range of 4\.\.12"):
        SEASON.doy_for(ok[:3], 3, "cube")
    with pytest.raises(InputError, match="4 dates given, but the cube has 5"):
        SEASON.doy_for(ok, 5, "cube")
    with pytest.raises(
        InputError, match=r"day of year 335 \(date 4\) is outside the bundle's season 60..320"
    ):
        SEASON.doy_for((*ok[:3], dt.date(2019, 12, 1)), 4, "cube")
    with pytest.raises(InputError, match="comes after"):
        SEASON.doy_for((ok[1], ok[0], ok[2], ok[3]), 4, "cube")
    with pytest.raises(InputError, match="no dates are known for it"):
        SEASON.doy_for(None, 4, "cube")
    with pytest.raises(InputError, match="not a finite number"):
        SEASON.check_doy([100.0, np.nan, 150.0, 200.0], "dates")
    with pytest.raises(InputError, match="does not come after"):
        SEASON.check_doy([100.0, 150.0, 150.0, 200.0], "dates")
    with pytest.raises(InputError, match="must be 1-D"):
        SEASON.check_doy([[100.0, 150.0, 160.0, 200.0]], "dates")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=16, unique=True),
    st.integers(min_value=2015, max_value=2030),
)
def test_any_calendar_within_the_season_and_range_passes_and_any_other_fails(offsets, year):
    start = dt.date(year, 1, 1)
    dates = tuple(sorted(start + dt.timedelta(days=o) for o in offsets))
    doy = day_of_year(dates)
    inside = SEASON.min_dates <= len(dates) <= SEASON.max_dates and doy.min() >= 60 and doy.max() <= 320
    if inside:
        np.testing.assert_array_equal(SEASON.doy_for(dates, len(dates), "cube"), doy)
    else:
        with pytest.raises(InputError):
            SEASON.doy_for(dates, len(dates), "cube")
    assert check_order(dates, "x") == dates
