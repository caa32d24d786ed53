"""The cube's own dates reach the model on the file paths: `cropcube classify` and `cropcube evaluate`.

The cube is a synthetic Noordoostpolder scene generated at another calendar than the bundle's
default (5 dates of 2019 instead of the 7 reference dates of 2018); the bundle is a format-2 bundle
of a small calendar-free network (calendar_bundle.py).
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from calendar_bundle import dates_2019, make_calendar_bundle
from typer.testing import CliRunner

from cropcube.bundle import load_bundle
from cropcube.calendar import day_of_year
from cropcube.cli.main import app
from cropcube.errors import InputError
from cropcube.inference import Classifier
from cropcube.synthetic import SceneConfig, generate_scene, write_scene

DATES = dates_2019(5)


@pytest.fixture(scope="module")
def bundle2(tmp_path_factory):
    return make_calendar_bundle(tmp_path_factory.mktemp("cal") / "cal.pt")


@pytest.fixture(scope="module")
def scene2019(tmp_path_factory) -> dict[str, Path]:
    cfg = SceneConfig(seed=11, height=64, width=64, supersample=1, dates=DATES)
    return write_scene(generate_scene(cfg), tmp_path_factory.mktemp("scene2019"))


def _without_descriptions(cube: Path, out: Path) -> Path:
    with rasterio.open(cube) as src:
        profile, data = src.profile, src.read()
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(data)  # no band descriptions: the dates are unknown
    return out


def _classify(cube: Path, out: Path, model: Path, *extra: str) -> np.ndarray:
    args = ["classify", str(cube), "-o", str(out), "--model", str(model), "--backend", "python"]
    res = CliRunner().invoke(app, [*args, "--no-progress", "--no-quicklook", *extra])
    assert res.exit_code == 0, res.output
    with rasterio.open(out) as src:
        return src.read(1)


def test_classify_gives_the_model_the_cubes_own_dates(bundle2, scene2019, tmp_path):
    classes = _classify(scene2019["cube"], tmp_path / "map.tif", bundle2)
    with rasterio.open(scene2019["cube"]) as src:
        x = torch.from_numpy(src.read().astype(np.float32))[None]
    with torch.inference_mode():
        want = load_bundle(bundle2).module(x, torch.from_numpy(day_of_year(DATES))).argmax(1)[0] + 1
    mapped = classes > 0  # 0: nodata or clearly not cropland
    assert mapped.mean() > 0.5
    np.testing.assert_array_equal(classes[mapped], want.numpy()[mapped])


def test_dates_given_on_the_command_line_equal_dated_band_descriptions(bundle2, scene2019, tmp_path):
    described = _classify(scene2019["cube"], tmp_path / "a.tif", bundle2)
    bare = _without_descriptions(scene2019["cube"], tmp_path / "bare.tif")
    given = ",".join(d.isoformat() for d in DATES)
    np.testing.assert_array_equal(_classify(bare, tmp_path / "b.tif", bundle2, "--dates", given), described)
    later = ",".join((d + dt.timedelta(days=35)).isoformat() for d in DATES)
    shifted = _classify(bare, tmp_path / "c.tif", bundle2, "--dates", later)
    assert (shifted != described).mean() > 0.05  # the dates are used, not replaced


def test_classify_refuses_dates_that_disagree_with_the_band_descriptions(bundle2, scene2019, tmp_path):
    later = ",".join((d + dt.timedelta(days=1)).isoformat() for d in DATES)
    res = CliRunner().invoke(
        app,
        [
            "classify",
            str(scene2019["cube"]),
            "-o",
            str(tmp_path / "m.tif"),
            "--model",
            str(bundle2),
            "--dates",
            later,
            "--no-progress",
        ],
    )
    assert res.exit_code == 2 and "band descriptions give dates" in res.output
    assert not list(tmp_path.iterdir())


def test_evaluate_scores_a_cube_of_another_calendar_with_a_format_2_bundle(bundle2, scene2019, tmp_path):
    res = CliRunner().invoke(
        app,
        [
            "evaluate",
            str(bundle2),
            "--cube",
            str(scene2019["cube"]),
            "--labels",
            str(scene2019["labels"]),
            "-o",
            str(tmp_path / "r"),
        ],
    )
    assert res.exit_code == 0, res.output
    with rasterio.open(tmp_path / "r" / "prediction.tif") as src:
        pred = src.read(1)
    with rasterio.open(scene2019["cube"]) as src:
        x = torch.from_numpy(src.read().astype(np.float32))[None]
    with torch.inference_mode():
        want = load_bundle(bundle2).module(x, torch.from_numpy(day_of_year(DATES))).argmax(1)[0] + 1
    np.testing.assert_array_equal(pred[pred > 0], want.numpy()[pred > 0])


def test_evaluate_keeps_the_old_rule_for_a_format_1_bundle(bundle_path, scene2019, tmp_path):
    bare = _without_descriptions(scene2019["cube"], tmp_path / "bare.tif")
    res = CliRunner().invoke(
        app,
        [
            "evaluate",
            str(bundle_path),
            "--cube",
            str(scene2019["cube"]),
            "--labels",
            str(scene2019["labels"]),
            "-o",
            str(tmp_path / "r"),
        ],
    )
    assert res.exit_code == 2 and "band descriptions give dates" in res.output
    given = ",".join(d.isoformat() for d in DATES)
    res = CliRunner().invoke(
        app,
        [
            "evaluate",
            str(bundle_path),
            "--cube",
            str(bare),
            "--labels",
            str(scene2019["labels"]),
            "-o",
            str(tmp_path / "r2"),
            "--dates",
            given,
        ],
    )
    assert res.exit_code == 2 and "fixed to its training dates" in res.output


def test_classify_with_a_format_1_bundle_warns_and_keeps_its_own_dates(bundle_path, tmp_path, caplog):
    cfg = SceneConfig(seed=3, height=32, width=32, supersample=1, dates=dates_2019(7))
    scene = write_scene(generate_scene(cfg), tmp_path / "s")
    with caplog.at_level(logging.WARNING):
        _classify(scene["cube"], tmp_path / "m.tif", bundle_path)
    assert "differ from the model's training dates" in caplog.text and "datetime.date" not in caplog.text


def test_native_kernel_takes_the_cubes_own_dates_like_the_python_backend(bundle2, scene2019, native_lib):
    """The kernel's doy input: other dates (and another T) give the python backend's classes, and the
    dates change the map (they are used, not replaced by the default calendar)."""
    native, python = Classifier(bundle2, backend="native"), Classifier(bundle2, backend="python")
    with rasterio.open(scene2019["cube"]) as src:
        cube = src.read()
    days = day_of_year(DATES)
    got = native.classify_array(cube, doy=days)
    np.testing.assert_array_equal(got, python.classify_array(cube, doy=days))
    shifted = native.classify_array(cube, doy=days - 40)
    assert (shifted != got).mean() > 0.01
    with pytest.raises(InputError, match="strictly increasing"):
        native.run(cube, doy=days[::-1].copy())  # checked by the Classifier before the kernel


def test_the_kernel_checks_dates_itself(bundle2, scene2019, native_lib):
    """The C ABI refuses bad calendars even from a caller that skips the Classifier's checks."""
    with rasterio.open(scene2019["cube"]) as src:
        cube = src.read()
    native = Classifier(bundle2, backend="native")._runner
    days = day_of_year(DATES).astype(np.float32)
    with pytest.raises(InputError, match="strictly increasing"):
        native.run(cube, doy=days[::-1].copy())
    with pytest.raises(InputError, match="outside the bundle's season"):
        native.run(cube, doy=np.linspace(5, 400, days.size, dtype=np.float32))
    with pytest.raises(InputError, match="days of year for a cube of"):
        native.run(cube, doy=days[:-1])


def test_classifier_checks_dates_before_running(bundle2, bundle_path):
    clf = Classifier(bundle2, backend="python")
    cube = np.full((20, 8, 8), 1000, np.uint16)
    with pytest.raises(InputError, match="outside the bundle's season"):
        clf.classify_array(cube, doy=[100, 150, 200, 250, 350])
    with pytest.raises(InputError, match="strictly increasing"):
        clf.classify_array(cube, doy=[100, 150, 150, 250, 300])
    with pytest.raises(InputError, match="a cube of other dates needs their day of year"):
        clf.classify_array(cube)  # 5 dates, none given: the default calendar has 7
    old = Classifier(bundle_path, backend="python")
    with pytest.raises(InputError, match="format 1"):
        old.classify_array(np.full((28, 8, 8), 1000, np.uint16), doy=np.arange(7) * 30.0 + 60)


def test_a_cube_without_dates_gets_the_default_calendar_and_the_user_is_told(bundle2, tmp_path):
    cfg = SceneConfig(seed=8, height=32, width=32, supersample=1)  # the 7 default dates
    scene = write_scene(generate_scene(cfg), tmp_path / "s")
    bare = _without_descriptions(scene["cube"], tmp_path / "bare.tif")
    args = [
        "classify",
        str(bare),
        "-o",
        str(tmp_path / "m.tif"),
        "--model",
        str(bundle2),
        "--backend",
        "python",
    ]
    res = CliRunner().invoke(app, [*args, "--no-progress", "--no-quicklook"])
    assert res.exit_code == 0, res.output
    report = res.output.split("WARNING:", 1)[1]  # repeated after the report, where the eye lands
    assert "no dates known" in report and "assuming the bundle's default calendar 2018-01-08" in report
    with rasterio.open(tmp_path / "m.tif") as got:
        np.testing.assert_array_equal(got.read(1), _classify(scene["cube"], tmp_path / "d.tif", bundle2))
