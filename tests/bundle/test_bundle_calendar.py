"""Bundle format 2: a calendar block, per-band normalisation, a module that takes any dates it declares."""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cropcube.bundle import load_bundle
from cropcube.bundle.io import read_metadata
from cropcube.bundle.metadata import METADATA_FILE, BundleMetadata
from cropcube.calendar import day_of_year
from cropcube.cube_spec import REFERENCE_2018_SPEC
from cropcube.errors import InputError
from cropcube.models import default_bundle_path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "inference"))
from calendar_bundle import CALENDAR, MEAN, dates_2019, make_calendar_bundle
from fixture_bundle import make_fixture_bundle


@pytest.fixture(scope="module")
def bundle2(tmp_path_factory):
    return make_calendar_bundle(tmp_path_factory.mktemp("cal") / "cal.pt")


@pytest.fixture(scope="module")
def bundle2_module(bundle2):
    return load_bundle(bundle2).module


def _cube(t: int, size: int = 24, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.integers(200, 4000, (1, 4 * t, size, size)).astype(np.float32))


def _message(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[-1]


def test_format_2_metadata_holds_the_calendar_and_per_band_normalisation(bundle2):
    meta = read_metadata(bundle2)
    assert meta.format_version == 2 and meta.calendar == CALENDAR
    with zipfile.ZipFile(bundle2) as zf:
        raw = json.loads(zf.read(next(n for n in zf.namelist() if n.endswith(METADATA_FILE))))
    assert raw["format_version"] == 2
    assert raw["calendar"] == {
        "n_dates": [3, 12],
        "season_doy": [1, 335],
        "default_dates": [d.isoformat() for d in CALENDAR.default_dates],
        "trained_on": "untrained test network",
    }
    assert raw["normalisation"]["mean"] == MEAN and raw["input"]["dates"] == raw["calendar"]["default_dates"]
    card = bundle2.with_suffix(".md").read_text()
    assert "Calendar (bundle format 2): 3..12 dates within day of year 1..335" in card


def test_format_1_bundles_still_load_and_run_without_dates(tmp_path):
    b = load_bundle(make_fixture_bundle(tmp_path / "f1.pt"))  # one fixed calendar
    assert b.metadata.format_version == 1 and b.metadata.calendar is None
    x = _cube(7, 16)
    assert b.module(x).shape == (1, 76, 16, 16)
    np.testing.assert_array_equal(b.metadata.accepted_calendar().default_doy, b.metadata.spec.day_of_year())


def test_the_shipped_demo_bundle_is_calendar_free_with_the_reference_layout_as_default():
    b = load_bundle(default_bundle_path())
    cal = b.metadata.calendar
    assert b.metadata.format_version == 2 and cal is not None and (cal.min_dates, cal.max_dates) == (4, 12)
    assert cal.default_dates == REFERENCE_2018_SPEC.dates  # crop.classify on the reference 28-band arrays
    for t in (4, 7, 12):  # any T in its range, at other days
        doy = torch.linspace(60, 300, t)
        assert b.module(_cube(t, 16), doy).shape == (1, 76, 16, 16)


def test_other_format_versions_and_a_missing_calendar_are_named(bundle2):
    meta = read_metadata(bundle2)
    d = json.loads(meta.to_json())
    d["format_version"] = 3
    with pytest.raises(InputError, match=r"bundle format version 3 is not one of \[1, 2\]"):
        BundleMetadata.from_json(json.dumps(d))
    d["format_version"] = 2
    del d["calendar"]
    with pytest.raises(InputError, match="format 2 metadata has no 'calendar' block"):
        BundleMetadata.from_json(json.dumps(d))


@pytest.mark.parametrize("t", [3, 5, 7, 12])
def test_module_takes_any_t_in_range_and_the_dates_change_the_answer(bundle2, t):
    module = load_bundle(bundle2).module
    x = _cube(t)
    doy = torch.from_numpy(day_of_year(dates_2019(t)))
    out = module(x, doy)
    assert out.shape == (1, 76, 24, 24) and torch.isfinite(out).all()
    shifted = module(x, doy + 40.0)  # the same pixels six weeks later in the season
    assert (out.argmax(1) != shifted.argmax(1)).float().mean() > 0.05
    batch = module(torch.cat([x, x]), torch.stack([doy, doy + 40.0]))  # one calendar per sample
    torch.testing.assert_close(batch[0], out[0], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(batch[1], shifted[0], rtol=1e-4, atol=1e-4)


def test_module_without_dates_runs_its_default_calendar(bundle2):
    module = load_bundle(bundle2).module
    x = _cube(7)
    torch.testing.assert_close(module(x), module(x, torch.from_numpy(CALENDAR.default_doy)))


@pytest.mark.parametrize(
    ("t", "doy", "says"),
    [
        (2, [100.0, 200.0], "8 bands = 2 dates; the bundle takes 3..12 dates"),
        (13, [float(v) for v in range(10, 140, 10)], "52 bands = 13 dates"),
        (5, [100.0, 90.0, 150.0, 200.0, 250.0], "strictly increasing"),
        (5, [100.0, 100.0, 150.0, 200.0, 250.0], "strictly increasing"),
        (5, [100.0, 120.0, 150.0, 200.0, 350.0], "outside the bundle's season 1..335"),
        (5, [100.0, float("nan"), 150.0, 200.0, 250.0], "NaN or infinite"),
        (5, [100.0, 120.0, 150.0, 200.0], r"doy must have shape \(5,\)"),
        (5, None, "no doy was given; the default calendar has 7"),
    ],
)
def test_module_refuses_bad_dates_with_a_clear_runtime_error(bundle2, t, doy, says):
    module = load_bundle(bundle2).module
    args = (_cube(t, 8),) if doy is None else (_cube(t, 8), torch.tensor(doy))
    with pytest.raises((RuntimeError, torch.jit.Error)) as info:
        module(*args)
    assert _message(info.value).startswith("builtins.RuntimeError: cropcube: ")
    assert info.match(says)


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_any_calendar_inside_the_declared_one_runs_and_any_other_is_refused(bundle2_module, data):
    t = data.draw(st.integers(min_value=1, max_value=14), label="T")
    days = data.draw(
        st.lists(st.integers(min_value=-5, max_value=370), min_size=t, max_size=t, unique=True), label="doy"
    )
    doy = torch.tensor(sorted(days), dtype=torch.float32)
    x = _cube(t, 6, seed=t)
    inside = 3 <= t <= 12 and doy.min() >= 1 and doy.max() <= 335
    if inside:
        out = bundle2_module(x, doy)
        assert out.shape == (1, 76, 6, 6) and torch.isfinite(out).all()
    else:
        with pytest.raises((RuntimeError, torch.jit.Error), match="cropcube: "):
            bundle2_module(x, doy)
