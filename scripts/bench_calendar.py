#!/usr/bin/env python
"""Cross-calendar benchmark (issue 13): trained on some calendars, scored on calendars never seen.

    .venv/bin/python scripts/bench_calendar.py [--seeds 0,1,2] [--quick]

Side by side, same splits, several seeds:

* fixed: the default network fixed to 7 dates (format 1), trained on 7 dates of the training series; on a
  test calendar it gets, for each of its 7 dates, the test acquisition nearest in day of year (what a
  user of a fixed-calendar model has to do);
* free: the calendar-free network (``calendar_free``) trained on subsets of 4..12 dates of the training
  series shifted by up to 15 days (``data.calendar``), given the test calendar's real days of year;
* segnet: the reference SegNet, fixed to the same 7 dates as "fixed";
* rf: a pixel RandomForest (scikit-learn) on each band's nearest valid value at 8 fixed days of year (the
  usual calendar-agnostic pixel baseline), trained on the same training pixels and dates.

Synthetic: trained on a 2018 scene (seed s) with 18 dates, tested on another scene (seed s + 100) at
calendars of other years, other T, a season 14 days late and a drought. Real: the Flanders 2019 tile
(../shared/data, 64x64 px, 72 acquisitions): clear 2019 acquisitions split alternately into a training
and a test set (no test date is ever a training date), 16x16-px blocks split into train/val/test
(only test blocks are scored). Prints one table per scene with the mean and spread over seeds.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import functools
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from cropcube.calendar import day_of_year
from cropcube.cube_spec import REFERENCE_2018_SPEC
from cropcube.datasets import BlockSplit, SceneData, blocked_split, cross_validation_splits
from cropcube.evaluation.metrics import confusion_matrix, scores_from_confusion
from cropcube.inference import Classifier
from cropcube.synthetic import SceneConfig, generate_scene
from cropcube.trainers import config_from_dict, train
from cropcube.trainers.export import export_result

FLANDERS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "flanders_2019_s2_croptype"
FLANDERS_SPLIT_SEED = 2019
# The default network's recipe on the 64 px tile: the best of the sweeps in docs/model.md (lr 0.01 and
# 64 chips per epoch under-train its 2,300 training pixels; plain cross-entropy, as OA is the score).
FLANDERS_RECIPE = {"lr": 0.03, "loss": "ce"}
SYNTHETIC_RECIPE = {"lr": 0.01}
FEATURE_DAYS = np.array([80, 110, 140, 170, 200, 230, 260, 290], dtype=np.float32)
SERIES_2018 = [
    "2018-01-08", "2018-02-12", "2018-03-19", "2018-04-10", "2018-04-25", "2018-05-08", "2018-05-25",
    "2018-06-12", "2018-06-30", "2018-07-15", "2018-07-28", "2018-08-06", "2018-08-22", "2018-09-02",
    "2018-09-18", "2018-10-05", "2018-10-22", "2018-11-17",
]  # fmt: skip


def _dates(*iso: str) -> tuple[dt.date, ...]:
    return tuple(dt.date.fromisoformat(d) for d in iso)


def _days(year: int, *month_day: tuple[int, int]) -> tuple[dt.date, ...]:
    return tuple(dt.date(year, m, d) for m, d in month_day)


SYNTHETIC_TESTS: dict[str, dict[str, Any]] = {
    "trained 7 dates (2018)": {"dates": REFERENCE_2018_SPEC.dates},
    "2019, 6 other dates": {"dates": _days(2019, (3, 30), (5, 2), (6, 5), (7, 11), (8, 20), (10, 1))},
    "2020, 10 dates": {
        "dates": _days(
            2020, (3, 3), (3, 28), (4, 20), (5, 14), (6, 6), (7, 1), (7, 24), (8, 17), (9, 9), (10, 4)
        )
    },
    "2019, 5 dates, season +14 d": {
        "dates": _days(2019, (4, 6), (5, 21), (7, 2), (8, 13), (9, 24)),
        "phenology_shift_days": 14.0,
    },
    "2019, 8 dates, drought 0.8": {
        "dates": _days(2019, (3, 12), (4, 16), (5, 19), (6, 22), (7, 20), (8, 17), (9, 14), (10, 19)),
        "drought": 0.8,
    },
}


def rf_features(cube: npt.NDArray[Any], doy: npt.NDArray[Any], n_bands: int) -> npt.NDArray[np.float32]:
    """(pixels, 8 * C): each band's value at the valid date nearest each of FEATURE_DAYS."""
    t = doy.size
    x = cube.reshape(t, n_bands, -1).astype(np.float32)
    valid = (x != 0).any(axis=1) & (x[:, 0] * 1e-4 < 0.25)  # data and not bright blue (cloud)
    feats = []
    for day in FEATURE_DAYS:
        dist = np.where(valid, np.abs(doy - day)[:, None], np.inf)
        nearest = dist.argmin(axis=0)
        feats.append(np.take_along_axis(x, nearest[None, None, :].repeat(n_bands, 1), axis=0)[0])
    return np.concatenate(feats, axis=0).T


def nearest_dates(doy_from: npt.NDArray[Any], doy_to: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """For each day in ``doy_to`` the index of the nearest day in ``doy_from``."""
    return np.abs(doy_from[None, :] - doy_to[:, None]).argmin(axis=1)


def take_dates(cube: npt.NDArray[Any], index: npt.NDArray[np.int64], n_bands: int) -> npt.NDArray[Any]:
    channels = (index[:, None] * n_bands + np.arange(n_bands)[None, :]).reshape(-1)
    return np.ascontiguousarray(cube[channels])


def subset_scene(scene: SceneData, index: npt.NDArray[np.int64]) -> SceneData:
    spec = scene.spec.with_dates([scene.spec.dates[i] for i in index])
    return dataclasses.replace(scene, cube=take_dates(scene.cube, index, scene.spec.n_bands), spec=spec)


def oa(pred: npt.NDArray[Any], labels: npt.NDArray[Any], mask: npt.NDArray[np.bool_], k: int) -> float:
    m = mask & (labels > 0)
    return 100.0 * scores_from_confusion(confusion_matrix(labels[m], pred[m], k)).overall_accuracy


def train_model(scene: SceneData, name: str, options: dict[str, Any], data: dict[str, Any], seed: int,
                epochs: int, out: Path, split: BlockSplit | None,
                recipe: dict[str, Any]) -> Path:  # fmt: skip
    cfg = config_from_dict(
        {
            "seed": seed,
            "out_dir": str(out / "run"),
            "data": {"cube": "x", "labels": "y", **data},
            "model": {"name": name, "options": options},
            "train": {
                "epochs": epochs,
                "batch_size": 8,
                "lr": 0.005,
                "progress": False,
                "ema_decay": 0.99,
                **(recipe if name == "tae_fpn" else {}),
            },
        }
    )
    result = train(cfg, resume=False, scene=scene, split=split)
    export_result(result, out / "b.pt", "bench")
    return out / "b.pt"


Test = tuple[npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[np.bool_]]
"""A test calendar: cube (T*C, H, W), its days of year, labels, the pixels scored."""

Maps = dict[str, dict[str, npt.NDArray[Any]]]
"""Predicted class map per model and test calendar."""


def run_models(train_scene: SceneData, train_fixed_idx: npt.NDArray[np.int64], data: dict[str, Any],
               tests: dict[str, Test], split: BlockSplit, seed: int, epochs: int, out: Path,
               models: list[str], recipe: dict[str, Any]) -> Maps:  # fmt: skip
    """Class maps per model and test calendar, every model trained on ``split``'s training blocks."""
    from sklearn.ensemble import RandomForestClassifier

    c = train_scene.spec.n_bands
    fixed_scene = subset_scene(train_scene, train_fixed_idx)
    fixed_doy = day_of_year(fixed_scene.spec.dates).astype(np.float32)
    maps: Maps = {m: {} for m in models}
    bundles = {}
    fit = functools.partial(train_model, seed=seed, epochs=epochs, split=split, recipe=recipe)
    if "free" in models:
        default = [d.isoformat() for d in fixed_scene.spec.dates]
        cal = {"n_dates": [4, 12], "shift_days": 15, "default_dates": default}
        free = {"calendar_free": True}
        bundles["free"] = fit(train_scene, "tae_fpn", free, {**data, "calendar": cal}, out=out / "free")
    if "fixed" in models:
        bundles["fixed"] = fit(fixed_scene, "tae_fpn", {}, data, out=out / "fixed")
    if "segnet" in models:
        bundles["segnet"] = fit(fixed_scene, "reference_segnet", {}, data, out=out / "segnet")
    rf = None
    if "rf" in models:
        full_doy = day_of_year(train_scene.spec.dates).astype(np.float32)
        feats = rf_features(train_scene.cube, full_doy, c)
        keep = (split.mask("train") & (train_scene.labels > 0)).reshape(-1)
        rf = RandomForestClassifier(n_estimators=200, n_jobs=2, random_state=seed, min_samples_leaf=2)
        rf.fit(feats[keep], train_scene.labels.reshape(-1)[keep])
    for name, (cube, doy, labels, _) in tests.items():
        for m in models:
            if m == "rf":
                assert rf is not None
                maps[m][name] = rf.predict(rf_features(cube, doy, c)).reshape(labels.shape)
            elif m == "free":
                maps[m][name] = Classifier(bundles[m]).classify_array(cube, doy=doy)
            else:  # fixed calendar: the test acquisitions nearest to its own 7 dates
                maps[m][name] = Classifier(bundles[m]).classify_array(
                    take_dates(cube, nearest_dates(doy, fixed_doy), c)
                )
    return maps


def scores(maps: Maps, tests: dict[str, Test]) -> dict[str, dict[str, float]]:
    """OA per model and test calendar on each test's scored pixels."""
    return {m: {n: oa(p, tests[n][2], tests[n][3], 76) for n, p in by.items()} for m, by in maps.items()}


def synthetic(seed: int, size: int, epochs: int, out: Path, models: list[str]) -> dict[str, dict[str, float]]:
    def scene(cfg: SceneConfig) -> SceneData:
        s = generate_scene(cfg)
        cube, labels, ids = (
            np.asarray(s.cube, np.uint16),
            np.asarray(s.labels, np.uint8),
            np.asarray(s.parcel_ids),
        )
        return SceneData(
            cube,
            labels,
            s.spec,
            s.transform,
            str(s.spec.crs),
            ids.astype(np.int32),
            f"synthetic(seed={cfg.seed})",
        )

    train_scene = scene(SceneConfig(seed=seed, height=size, width=size, dates=_dates(*SERIES_2018)))
    ref = [SERIES_2018.index(d.isoformat()) for d in REFERENCE_2018_SPEC.dates]
    split = blocked_split(size, size, 64, (0.7, 0.15, 0.15), seed=seed, buffer=0)
    tests = {}
    for name, opts in SYNTHETIC_TESTS.items():
        s = scene(SceneConfig(seed=seed + 100, height=size // 2, width=size // 2, **opts))
        full = np.ones(s.labels.shape, bool)
        tests[name] = (s.cube, day_of_year(s.spec.dates).astype(np.float32), s.labels, full)
    data = {"block_size": 64, "split": [0.7, 0.15, 0.15], "chip_size": 32, "chips_per_epoch": 256}
    maps = run_models(
        train_scene, np.array(ref), data, tests, split, seed, epochs, out, models, SYNTHETIC_RECIPE
    )
    return scores(maps, tests)


def flanders(seed: int, epochs: int, out: Path, models: list[str]) -> dict[str, dict[str, float]]:
    import rasterio

    from cropcube.readers.flanders import worldcereal_lookup

    meta = json.loads((FLANDERS / "meta.json").read_text())["0000280849BAC91C"]
    dates = _dates(*meta["all_dates"])
    clear = np.array(meta["clear_fraction_scl45_per_date"])
    full = np.load(FLANDERS / "0000280849BAC91C_s2_full_T72_C4_dn.npy")  # (72, 4, 64, 64)
    with rasterio.open(next(FLANDERS.glob("*_s2_7dates_x_4bands_dn.tif"))) as src:
        transform, crs = src.transform, str(src.crs)
    with rasterio.open(next(FLANDERS.glob("*_label_crop_type_CT.tif"))) as src:
        codes = src.read(1)
    lut = worldcereal_lookup()
    labels = np.vectorize(lambda v: lut.get(int(v), 0))(codes).astype(np.uint8)
    # the clear acquisitions of the 2019 season; alternate ones train, the others test
    season = [
        i
        for i, d in enumerate(dates)
        if d.year == 2019 and 60 <= d.timetuple().tm_yday <= 300 and clear[i] >= 0.5
    ]
    train_idx, test_idx = np.array(season[0::2]), np.array(season[1::2])  # disjoint date sets
    spec = REFERENCE_2018_SPEC.with_dates([dates[i] for i in train_idx])
    cube = full[train_idx].reshape(-1, 64, 64).astype(np.uint16)
    train_scene = SceneData(cube, labels, spec, transform, crs, None, "flanders 2019 (train dates)")
    fixed_idx = np.unique(np.round(np.linspace(0, train_idx.size - 1, 7)).astype(np.int64))
    # The same folds and test calendars for every seed: the spread over seeds is the models' own.
    rng = np.random.default_rng(FLANDERS_SPLIT_SEED)
    tests: dict[str, Test] = {}
    for j in range(3):
        t = int(rng.integers(5, min(9, test_idx.size) + 1))
        pick = np.sort(rng.choice(test_idx, size=t, replace=False))
        doy = day_of_year([dates[i] for i in pick]).astype(np.float32)
        cube_t = full[pick].reshape(-1, 64, 64).astype(np.uint16)
        tests[f"unseen calendar {j + 1} ({t} dates)"] = (cube_t, doy, labels, np.ones(labels.shape, bool))
    data = {"block_size": 16, "split": [0.6, 0.2, 0.2], "chip_size": 16, "chips_per_epoch": 128}
    folds = cross_validation_splits(64, 64, 16, folds=4, n_val=3, seed=FLANDERS_SPLIT_SEED)
    pooled: Maps = {m: {n: np.zeros(labels.shape, np.uint8) for n in tests} for m in models}
    for f, split in enumerate(folds):
        test = split.mask("test")
        maps = run_models(train_scene, fixed_idx, data, tests, split, seed, epochs, out / f"fold{f}", models,
                          FLANDERS_RECIPE)  # fmt: skip
        for m, by in maps.items():
            for n, pred in by.items():
                pooled[m][n][test] = pred[test]
    return scores(pooled, tests)


def table(title: str, runs: list[dict[str, dict[str, float]]], models: list[str]) -> str:
    names = list(runs[0][models[0]])
    head = f"\n{title}: OA %, mean (min-max) over {len(runs)} seeds"
    lines = [head, "", "| test calendar | " + " | ".join(models) + " |", "|---|" + "---|" * len(models)]
    for n in names:
        cells = []
        for m in models:
            v = np.array([r[m][n] for r in runs])
            cells.append(f"{v.mean():.1f} ({v.min():.1f}-{v.max():.1f})")
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--quick", action="store_true", help="small scene, few epochs (minutes)")
    p.add_argument("--models", default="fixed,free,segnet,rf")
    p.add_argument("--out", type=Path, default=Path("runs/bench_calendar"))
    p.add_argument("--skip-synthetic", action="store_true")
    args = p.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    models = args.models.split(",")
    size, epochs = (256, 4) if args.quick else (512, 12)
    t0 = time.perf_counter()
    if not args.skip_synthetic:
        runs = [synthetic(s, size, epochs, args.out / f"syn{s}", models) for s in seeds]
        title = f"Synthetic (train {size}² at 18 dates of 2018, test scene {size // 2}² of another seed)"
        print(table(title, runs, models))
    if FLANDERS.is_dir():
        runs = [flanders(s, epochs * 6, args.out / f"fl{s}", models) for s in seeds]
        title = "Real Flanders 2019 tile (4-fold spatial CV; test dates disjoint from training dates)"
        print(table(title, runs, models))
    print(f"\n{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
