"""The client job gives the model a coverage's own dates: its time axis (3-D) or its stored layout (2-D).

A synthetic scene at another calendar (5 dates of 2019, not the bundle's 7 of 2018) is ingested into
the fake petascope as a 3-D (ansi, E, N) and a 2-D 20-band coverage, and classified in client mode with
a format-2 bundle (tests/inference/calendar_bundle.py). The written map must equal classifying the cube
in memory with the 2019 day-of-year values.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
import requests
from fake_petascope import FakePetascope

from cropcube.calendar import day_of_year
from cropcube.errors import InputError
from cropcube.inference import Classifier
from cropcube.rasdaman.ingest.job import ingest
from cropcube.rasdaman.transport.gml import parse_description
from cropcube.rasdaman.transport.petascope import PetascopeClient
from cropcube.rasdaman.writeback.job import classify_coverage
from cropcube.synthetic import SceneConfig, generate_scene, write_scene

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "inference"))
from calendar_bundle import dates_2019, make_calendar_bundle

DATES = dates_2019(5)


@pytest.fixture
def scene2019(tmp_path: Path) -> Path:
    cfg = SceneConfig(seed=4, height=40, width=36, supersample=1, dates=DATES)
    return write_scene(generate_scene(cfg), tmp_path / "scene")["cube"]


@pytest.mark.parametrize(("layout", "coverage"), [("3d", "S2_features_3d"), ("2d", "S2_features_2d")])
def test_client_job_classifies_with_the_coverages_own_dates(
    client: PetascopeClient, fake: FakePetascope, scene2019: Path, tmp_path: Path, layout: str, coverage: str
) -> None:
    ingest(client, scene2019, None, tmp_path / "ingest", layout=layout, method="wcst", tile_size=64)
    clf = Classifier(make_calendar_bundle(tmp_path / "cal.pt"), backend="python")
    classify_coverage(
        client,
        coverage,
        "crops",
        clf.metadata,
        classifier=clf,
        tile_size=16,
        progress_path=tmp_path / "p.json",
    )
    with rasterio.open(scene2019) as src:
        cube = src.read()
    want = clf.classify_array(cube, doy=day_of_year(DATES))
    got = fake.array("crops")[0, 0]
    assert len(np.unique(want)) > 3
    np.testing.assert_array_equal(got, want)
    assert (got != clf.classify_array(cube, doy=day_of_year(DATES) + 30)).mean() > 0.05  # dates matter
    if layout == "3d":
        with pytest.raises(InputError, match="udf mode needs the 2-D"):
            classify_coverage(client, coverage, "x", clf.metadata, mode="udf", progress_path=tmp_path / "q")
    else:
        with pytest.raises(InputError, match=r"udf mode runs crop\.classify with the bundle's default dates"):
            classify_coverage(client, coverage, "x", clf.metadata, mode="udf", progress_path=tmp_path / "q")


def test_time_axis_of_non_dates_is_a_named_error(
    client: PetascopeClient, fake: FakePetascope, scene2019: Path, tmp_path: Path
) -> None:
    ingest(client, scene2019, None, tmp_path / "ingest", layout="3d", method="wcst", tile_size=64)
    query = {
        "service": "WCS",
        "version": "2.0.1",
        "request": "DescribeCoverage",
        "coverageId": "S2_features_3d",
    }
    body = requests.get(fake.url, params=query, timeout=10).content
    good = parse_description(body, "S2_features_3d")
    assert good.dates == [d.isoformat() for d in DATES]
    index_axis = body.replace(f'"{DATES[0].isoformat()}T00:00:00.000Z"'.encode(), b"0")
    with pytest.raises(InputError, match=r"time axis coordinate 0 \('0'\) is not a date"):
        parse_description(index_axis, "S2_features_3d")
