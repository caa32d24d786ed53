"""Training, resume, evaluation and export on the real Flanders sample, through the API and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from typer.testing import CliRunner

from cropcube.bundle import load_bundle
from cropcube.cli.main import app
from cropcube.datasets import cross_validation_splits
from cropcube.errors import InputError
from cropcube.evaluation import segmentation_metrics
from cropcube.readers.flanders import worldcereal_lookup
from cropcube.trainers import config_from_dict, load_checkpoint, load_config, train


@pytest.mark.slow
def test_train_evaluate_export_on_flanders(flanders_config, flanders_paths, tmp_path):
    cfg_path = tmp_path / "train.yaml"
    import yaml

    cfg_path.write_text(yaml.safe_dump(flanders_config))
    runner = CliRunner()
    res = runner.invoke(app, ["train", str(cfg_path), "--no-resume"])
    assert res.exit_code == 0, res.output
    run = Path(flanders_config["out_dir"])
    history = (run / "metrics.csv").read_text().splitlines()
    assert history[0].startswith("epoch,loss,lr,val_oa,val_miou") and len(history) == 3
    bundle = load_bundle(run / "model.pt")
    assert bundle.metadata.training["train_pixels_per_class"]  # training summary carried
    assert "overall_accuracy" in bundle.metadata.metrics and (run / "model.md").is_file()

    cube, labels = flanders_paths
    out = tmp_path / "eval"
    res = runner.invoke(
        app,
        [
            "evaluate",
            str(run / "model.pt"),
            "--cube",
            str(cube),
            "--labels",
            str(labels),
            "--label-codes",
            "worldcereal",
            "-o",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    report = json.loads((out / "report.json").read_text())
    for name in ("report.md", "confusion.csv", "confusion.png", "prediction.tif"):
        assert (out / name).stat().st_size > 0
    # The report agrees with an independent recount from the written prediction and the raw labels.
    with rasterio.open(out / "prediction.tif") as src:
        pred = src.read(1)
    with rasterio.open(labels) as src:
        raw = src.read(1)
    truth = np.zeros_like(pred)
    for code, idx in worldcereal_lookup().items():
        truth[raw == code] = idx
    m = segmentation_metrics(truth, pred, 76)
    assert report["pixel"]["overall_accuracy"] == pytest.approx(m.overall_accuracy)
    assert report["pixel"]["miou"] == pytest.approx(m.miou)
    assert report["pixel"]["labelled_pixels"] == int((truth > 0).sum()) == 3725

    res = runner.invoke(app, ["export", str(run / "checkpoint.pt"), "-o", str(tmp_path / "again.pt")])
    assert res.exit_code == 0, res.output
    again = load_bundle(tmp_path / "again.pt")
    x = torch.randint(1, 8000, (1, 28, 16, 16)).float()
    torch.testing.assert_close(again.module(x), bundle.module(x))  # the same best weights


@pytest.mark.slow
@pytest.mark.parametrize("ema_decay", [0.0, 0.9])
def test_resume_continues_identically(flanders_config, tmp_path, ema_decay):
    flanders_config = {**flanders_config, "train": {**flanders_config["train"], "ema_decay": ema_decay}}
    straight = config_from_dict({**flanders_config, "out_dir": str(tmp_path / "a")})
    full = train(straight, resume=False)
    interrupted = config_from_dict({**flanders_config, "out_dir": str(tmp_path / "b")})
    train(interrupted, resume=False, max_epochs=1)  # as if stopped after the first epoch
    saved = load_checkpoint(tmp_path / "b" / "checkpoint.pt")
    assert saved["epoch"] == 0 and (saved["ema_state"] is not None) == (ema_decay > 0)
    resumed = train(config_from_dict({**flanders_config, "out_dir": str(tmp_path / "b")}), resume=True)
    for (name, a), (_, b) in zip(
        full.module.state_dict().items(), resumed.module.state_dict().items(), strict=True
    ):
        torch.testing.assert_close(a, b, msg=name)
    assert [h["loss"] for h in full.history] == pytest.approx([h["loss"] for h in resumed.history])


def test_weight_average_is_what_gets_selected_and_differs_from_the_raw_weights(flanders_config, tmp_path):
    cfg = {**flanders_config, "train": {**flanders_config["train"], "epochs": 1, "ema_decay": 0.5}}
    cfg["data"] = {**cfg["data"], "chips_per_epoch": 32}  # 4 steps: the average lags the raw weights
    res = train(config_from_dict(cfg), resume=False)
    state = load_checkpoint(Path(cfg["out_dir"]) / "checkpoint.pt")
    raw, avg, best = state["model_state"], state["ema_state"], state["best_state"]
    assert int(avg["n_averaged"]) == 4
    name = next(n for n, t in raw.items() if t.is_floating_point() and t.ndim == 4)
    assert not torch.allclose(raw[name], avg[f"module.{name}"])
    torch.testing.assert_close(best[name], avg[f"module.{name}"])  # one epoch: the best is the average
    torch.testing.assert_close(res.module.state_dict()[name], avg[f"module.{name}"])


def test_label_raster_on_another_grid_is_rejected(flanders_config, flanders_paths, tmp_path):
    _, labels = flanders_paths
    moved = tmp_path / "moved.tif"
    with rasterio.open(labels) as src:
        profile = src.profile
        data = src.read()
    profile["transform"] = profile["transform"] @ rasterio.Affine.translation(3, 0)
    with rasterio.open(moved, "w", **profile) as dst:
        dst.write(data)
    cfg = config_from_dict({**flanders_config, "data": {**flanders_config["data"], "labels": str(moved)}})
    with pytest.raises(InputError, match=r"moved\.tif"):
        train(cfg)
    assert not (Path(flanders_config["out_dir"]) / "checkpoint.pt").exists()


def test_cube_with_wrong_dates_is_rejected_by_evaluate(flanders_paths, tmp_path):
    """A bundle trained on the 2018 dates refuses the 2019 Flanders cube."""
    from cropcube.bundle.export import export_bundle
    from cropcube.classes import load_class_table
    from cropcube.cube_spec import REFERENCE_2018_SPEC
    from cropcube.evaluation.evaluate import evaluate_bundle
    from cropcube.models import build_model

    path = tmp_path / "b2018.pt"
    norm = {"kind": "standardize", "mean": [0.1] * 28, "std": [0.05] * 28}
    net = build_model("tae_unet", widths=(8, 16, 32), d_model=16, n_heads=4)
    export_bundle(net, REFERENCE_2018_SPEC, load_class_table(), norm, {}, {}, path, "tae_unet", "t")
    cube, labels = flanders_paths
    with pytest.raises(InputError, match="2019-03-22"):
        evaluate_bundle(path, cube, labels, tmp_path / "ev", label_codes=worldcereal_lookup())
    assert not (tmp_path / "ev" / "report.json").exists()


def test_config_files_load_and_bad_keys_are_named(tmp_path, flanders_config):
    toml = tmp_path / "c.toml"
    toml.write_text(
        'out_dir = "x"\n[data]\nsynthetic = { seed = 1, height = 128, width = 128 }\n'
        '[train]\nloss = "focal"\n'
    )
    cfg = load_config(toml)
    assert cfg.train.loss == "focal" and cfg.data.synthetic == {"seed": 1, "height": 128, "width": 128}
    bad = tmp_path / "bad.yaml"
    bad.write_text("data:\n  cube: a.tif\n  labels: b.tif\n  chip_sise: 16\n")
    with pytest.raises(InputError, match="chip_sise"):
        load_config(bad)
    with pytest.raises(InputError, match=r"train\.loss"):
        config_from_dict({**flanders_config, "train": {"loss": "dice"}})
    with pytest.raises(InputError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")


@pytest.mark.parametrize("split", [[1.0, 0.0, 0.0], [0.8, 0.0, 0.2], [0.0, 0.5, 0.5]])
def test_a_split_without_training_or_validation_blocks_is_refused(flanders_config, split):
    """Without validation blocks every epoch scored 0.0 and the epoch-1 weights were exported."""
    cfg = {**flanders_config, "data": {**flanders_config["data"], "split": split}}
    with pytest.raises(InputError, match=r"data\.split.*needs a training and a validation share"):
        config_from_dict(cfg)


def test_a_given_split_is_the_one_trained_and_scored_on(flanders_config):
    """A cross-validation fold replaces the config's own split; one for another grid is refused."""
    cfg = config_from_dict({**flanders_config, "train": {**flanders_config["train"], "epochs": 1}})
    fold = cross_validation_splits(64, 64, 16, 4, 3, seed=1)[2]
    result = train(cfg, resume=False, split=fold)
    assert result.summary["split"]["block_size"] == 16
    assert result.summary["split"]["blocks"] == {"train": 9, "val": 3, "test": 4}
    assert result.summary["split"]["fractions"] == [0.562, 0.188, 0.25]
    with pytest.raises(InputError, match=r"split.*made for 32x32 px, the scene is 64x64"):
        train(cfg, resume=False, split=cross_validation_splits(32, 32, 8, 4, 3)[0])
