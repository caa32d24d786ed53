"""Training that learns calendars (issue 13): date subsets per batch, a calendar-free network, a
format-2 bundle that classifies cubes of other dates and other T on both backends."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import torch

from cropcube.bundle.io import read_metadata
from cropcube.calendar import day_of_year
from cropcube.errors import InputError
from cropcube.inference import Classifier, kernel_library_path
from cropcube.synthetic import SceneConfig, generate_scene
from cropcube.trainers import config_from_dict, train
from cropcube.trainers.calendars import calendar_sampling
from cropcube.trainers.data import scene_from_config
from cropcube.trainers.export import export_result


def _season(n: int, year: int = 2018) -> list[str]:
    start, end = dt.date(year, 3, 10), dt.date(year, 10, 25)
    step = (end - start).days / (n - 1)
    return [(start + dt.timedelta(days=round(i * step))).isoformat() for i in range(n)]


def _config(tmp_path, calendar=None, options=None) -> dict:
    return {
        "seed": 0,
        "out_dir": str(tmp_path / "run"),
        "data": {
            "synthetic": {"seed": 1, "height": 128, "width": 128, "dates": _season(16)},
            "block_size": 32,
            "split": [0.6, 0.2, 0.2],
            "chip_size": 32,
            "chips_per_epoch": 24,
            "calendar": calendar if calendar is not None else {"n_dates": [4, 10], "default_dates": 6},
        },
        "model": {"name": "tae_fpn", "options": options if options is not None else {"calendar_free": True}},
        "train": {"epochs": 2, "batch_size": 8, "lr": 0.005, "progress": False},
    }


def test_batches_draw_sorted_date_subsets_with_their_days_shifted_inside_the_season(tmp_path):
    cfg = config_from_dict(_config(tmp_path, {"n_dates": [4, 10], "shift_days": 20}))
    scene = scene_from_config(cfg.data)
    sampling = calendar_sampling(cfg.data.calendar, scene)
    start, end = sampling.season
    x = np.arange(2 * 64 * 4 * 4, dtype=np.float32).reshape(2, 64, 4, 4)
    seen = set()
    for seed in range(40):
        sub, doy = sampling.sample(torch.from_numpy(x), np.random.default_rng(seed))
        t = sub.shape[1] // 4
        seen.add(t)
        assert 4 <= t <= 10 and doy.shape == (t,) and bool((doy[1:] > doy[:-1]).all())
        assert start <= float(doy.min()) and float(doy.max()) <= end
        # the channels are whole dates of the full series, in order, and the shift is one per batch
        dates = (sub[0, ::4, 0, 0] / 64).round().long().numpy()  # x[0, k, 0, 0] = 16 k, 4 bands a date
        shift = doy.numpy() - sampling.doy[dates]
        np.testing.assert_array_equal(shift, shift[0])
    assert len(seen) >= 4


def test_a_model_trained_on_calendar_subsets_classifies_unseen_calendars_on_both_backends(tmp_path):
    result = train(config_from_dict(_config(tmp_path)), resume=False)
    meta = export_result(result, tmp_path / "b.pt", "test")
    assert read_metadata(tmp_path / "b.pt").calendar is not None and meta.calendar.min_dates == 4
    assert len(meta.calendar.default_dates) == 6 and "16 acquisitions" in meta.calendar.trained_on
    # another scene, another year, 5 dates none of which was a training date
    dates = tuple(dt.date(2019, m, d) for m, d in ((4, 2), (5, 20), (7, 1), (8, 15), (9, 30)))
    other = generate_scene(SceneConfig(seed=5, height=64, width=64, dates=dates))
    cube, doy = np.asarray(other.cube, dtype=np.uint16), day_of_year(dates)
    python = Classifier(tmp_path / "b.pt", backend="python").classify_array(cube, doy=doy)
    assert python.shape == (64, 64) and len(np.unique(python)) > 1
    if kernel_library_path().is_file():
        native = Classifier(tmp_path / "b.pt", backend="native").classify_array(cube, doy=doy)
        np.testing.assert_array_equal(native, python)
    with pytest.raises(InputError, match="outside the bundle's range"):
        Classifier(tmp_path / "b.pt", backend="python").classify_array(cube[:12], doy=doy[:3])


def test_calendar_training_needs_a_calendar_free_model_and_a_range_the_series_has(tmp_path):
    with pytest.raises(InputError, match="calendar_free"):
        config_from_dict(_config(tmp_path, options={})).validate()
    cfg = config_from_dict(_config(tmp_path, {"n_dates": [20, 24]}))
    with pytest.raises(InputError, match=r"data\.calendar\.n_dates"):
        calendar_sampling(cfg.data.calendar, scene_from_config(cfg.data))
    with pytest.raises(InputError, match="unknown keys"):
        calendar_sampling({"dates": 3}, scene_from_config(cfg.data))
